"""Stored aggregates the dashboards read instead of scanning work items."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId


class WeekHours(TenantScoped, db.Model):
    """Credited norm minutes (norm minutes × quantity × complexity coefficient) of a
    person's completed items in one ISO week of one month: the part of the week that
    falls in the month, so a week across two months has a row in each.

    Derived data: the scoring engine rewrites a month's rows in a full recalculation and
    a person's rows of a month when their items change (core/dashboards/aggregates.py).
    `unit_id` is the unit of the person's month row in period_scores (their unit on the
    month's first day after a recalculation), so the heat map groups hours like the
    province ranking groups scores, and a month before a unit merge keeps its old units.
    """

    __tablename__ = "week_hours"
    __table_args__ = (UniqueConstraint("tenant_id", "employee_id", "period", "week_start"),
                      Index("ix_week_hours_tenant_period", "tenant_id", "period"),
                      # What its id columns point at, without foreign keys: a tenant merger
                      # rewrites them like any reference (core/mergers/services.py).
                      {"info": {"references": {"unit_id": "org_units", "employee_id": "employees"}}})

    # Like item_scores, no foreign keys and no single-column tenant index (migration 0009):
    # a full recalculation writes a row per person and week, 250,000 for a province, and
    # the per-row key checks cost more than computing them. The engine keeps it consistent.
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId)
    unit_id: Mapped[int] = mapped_column(BigId)
    period: Mapped[str] = mapped_column(String(10))
    week_start: Mapped[date] = mapped_column(Date)  # the Monday of the ISO week
    minutes: Mapped[float] = mapped_column(Float, default=0.0)
    items: Mapped[int] = mapped_column(Integer, default=0)


class UnitWeekHours(TenantScoped, db.Model):
    """The `week_hours` of a unit: the sum of its rows per unit, month and ISO week (about
    10,000 rows for a province's month instead of 250,000), which the heat map reads.

    Kept by the code that writes week_hours (core/dashboards/aggregates.py), in the same
    statement sequence: rebuilt for the month in a full recalculation; in the per-item
    refresh the changed people's old rows are subtracted and their new rows added, cell
    by cell (an upsert), so two refreshes of one unit at once both count. A cell whose
    people have no hours left stays, with 0 items and 0 minutes. A tenant merger
    rebuilds the target's rows from its week_hours (a mapped unit may meet the target's
    own cell of the same week).
    """

    __tablename__ = "unit_week_hours"
    __table_args__ = (UniqueConstraint("tenant_id", "period", "unit_id", "week_start"),
                      {"info": {"references": {"unit_id": "org_units"}}})

    # No foreign keys, like week_hours: derived data the engine rewrites.
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(BigId)
    period: Mapped[str] = mapped_column(String(10))
    week_start: Mapped[date] = mapped_column(Date)  # the Monday of the ISO week
    minutes: Mapped[float] = mapped_column(Float, default=0.0)
    items: Mapped[int] = mapped_column(Integer, default=0)
