"""Bonus runs and their amounts, in whole đồng."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow


class BonusRun(TenantScoped, db.Model):
    """A year's fund shared once by the scheme in force; runs are kept, never rewritten by another."""

    __tablename__ = "bonus_runs"
    __table_args__ = (Index("ix_bonus_runs_tenant_year", "tenant_id", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    # None until the job works it out from the scheme (when the request gave none).
    fund: Mapped[int | None] = mapped_column(BigInteger)
    fund_requested: Mapped[int | None] = mapped_column(BigInteger)
    # The paying unit whose fund this is (Decree 73/2024); None: the whole tenant.
    paying_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    # The share of the fund set aside for ad-hoc bonuses, as asked (percent) and in đồng.
    adhoc_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    adhoc_reserve: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    scheme_key: Mapped[str | None] = mapped_column(String(100))
    scheme_version: Mapped[str | None] = mapped_column(String(40))
    settings_hash: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(36))
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BonusAllocation(TenantScoped, db.Model):
    __tablename__ = "bonus_allocations"
    __table_args__ = (UniqueConstraint("tenant_id", "bonus_run_id", "employee_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bonus_run_id: Mapped[int] = mapped_column(BigId, ForeignKey("bonus_runs.id", ondelete="CASCADE"), index=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    level: Mapped[str | None] = mapped_column(String(4))
    months_worked: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    explain: Mapped[dict] = mapped_column(JSON, default=dict)
