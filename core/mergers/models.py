"""Unit history: which unit a person belonged to over time, and the unit merges that
changed it, so reports of a day before a merge still show the old units; and the tenant
mergers whose people a tenant scores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow


class UnitAssignment(TenantScoped, db.Model):
    """An employee's unit from `valid_from` (None: since ever) to `valid_to` (inclusive;
    None: still). Written when a unit merge moves people; an employee with no row has
    always been in `employees.unit_id`."""

    __tablename__ = "unit_assignments"
    __table_args__ = (Index("ix_unit_assignments_tenant_employee_from", "tenant_id", "employee_id", "valid_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class UnitMerge(TenantScoped, db.Model):
    """A unit merged into another from a date; the source unit stays for history."""

    __tablename__ = "unit_merges"
    __table_args__ = (Index("ix_unit_merges_tenant_source", "tenant_id", "source_unit_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    into_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    people_moved: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TenantMerge(TenantScoped, db.Model):
    """A tenant merger whose people this tenant scores: the source, the tenant it merged
    into, the effective date and who moved (`[first, last]` id ranges). Written with the
    merger in the target; it moves like every tenant row when that tenant merges on, so
    after A into B and B into C, C holds both and scoring reads them in one query
    (core/scoring/sides.py). The source's audit chain keeps the hashed original (its
    closing `tenant.merged` event); migration 0012 filled this table from those events."""

    __tablename__ = "tenant_merges"
    __table_args__ = (Index("ix_tenant_merges_tenant_source", "tenant_id", "source_tenant_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    into_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    effective_date: Mapped[date] = mapped_column(Date)
    moved_employees: Mapped[list] = mapped_column(JSON)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
