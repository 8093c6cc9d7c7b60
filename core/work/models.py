"""Work items and what they are measured against: deadlines and their extensions,
reviews, leave, the tenant's own calendar days, closed periods and work settings.

A work item keeps a copy of the norm it was declared under (minutes, weight,
coefficient) so that a later change of the catalogue never rewrites a measured day.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

STATUSES = ("planned", "in_progress", "done", "cancelled")
OPEN_STATUSES = ("planned", "in_progress")
ROLES = ("lead", "support")
PRIORITIES = (1, 2, 3)
VERIFICATION = ("pending", "verified", "refused")
CALENDAR_KINDS = ("day_off", "working_day")
POSITION_CHECKS = ("refuse", "warn")


class WorkItem(TenantScoped, db.Model):
    __tablename__ = "work_items"
    __table_args__ = (
        # Few indexes on purpose: each one costs every insert, import and merger a write per
        # row. Employee ids are global, so (employee_id, work_date) serves the per-person
        # queries (the tenant filter rides along) and the foreign key from employees.
        Index("ix_work_items_employee_date", "employee_id", "work_date"),
        Index("ix_work_items_tenant_date", "tenant_id", "work_date"),
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
    )

    # tenant_id leads the composite indexes; a single-column index of it would only slow writes.
    tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"))
    task_type_id: Mapped[int] = mapped_column(BigId, ForeignKey("task_types.id"), index=True)
    norm_version_id: Mapped[int] = mapped_column(BigId, ForeignKey("norm_versions.id"))
    title: Mapped[str] = mapped_column(String(300))
    work_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("1"))
    complexity_level: Mapped[int | None] = mapped_column(SmallInteger)
    # The norm in force on the work date, copied when the item was declared.
    norm_minutes: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    product_weight: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    complexity_coefficient: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("1"))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    planned: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[str] = mapped_column(String(8), default="lead")
    priority: Mapped[int] = mapped_column(SmallInteger, default=1)
    assigned_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    # Declared with a task type outside the employee's position (tenant setting "warn").
    outside_position: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[date | None] = mapped_column(Date)
    original_deadline: Mapped[date | None] = mapped_column(Date)
    # Deadlines already replaced by an extension that had passed while unfinished.
    missed_before: Mapped[int] = mapped_column(SmallInteger, default=0)
    # missed_before plus the current deadline when it passed unfinished (kept current on writes).
    missed_deadlines: Mapped[int] = mapped_column(SmallInteger, default=0)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the result was entered in the system (marked done), as opposed to when the work ended.
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    result_note: Mapped[str | None] = mapped_column(Text)
    failed_reviews: Mapped[int] = mapped_column(SmallInteger, default=0)
    stars: Mapped[int | None] = mapped_column(SmallInteger)
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    exempt_reason: Mapped[str | None] = mapped_column(Text)
    exempted_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    verification: Mapped[str] = mapped_column(String(16), default="pending")
    verification_note: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Key of an imported row (work-items-csv, one-stop dossiers): re-imports update, not duplicate.
    external_id: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    task_type = relationship("TaskType", lazy="joined", innerjoin=True)


class DeadlineExtension(TenantScoped, db.Model):
    __tablename__ = "deadline_extensions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_items.id", ondelete="CASCADE"), index=True)
    old_deadline: Mapped[date | None] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)
    # Whether the old deadline had already passed, unfinished, when it was replaced.
    old_missed: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkReview(TenantScoped, db.Model):
    __tablename__ = "work_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_items.id", ondelete="CASCADE"), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    stars: Mapped[int | None] = mapped_column(SmallInteger)
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaveRecord(TenantScoped, db.Model):
    """Approved leave takes the days out of an employee's working days."""

    __tablename__ = "leave_records"
    __table_args__ = (Index("ix_leave_records_tenant_employee_start", "tenant_id", "employee_id", "start_date"),
                      CheckConstraint("end_date >= start_date", name="dates_ordered"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32), default="annual")
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarDay(TenantScoped, db.Model):
    """A tenant's own day off, or a make-up working day (often a Saturday), over the
    national calendar."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))


class ClosedPeriod(TenantScoped, db.Model):
    """A closed month refuses changes to its items (409) until reopened."""

    __tablename__ = "closed_periods"
    __table_args__ = (UniqueConstraint("tenant_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # "2026-10"
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkSettings(TenantScoped, db.Model):
    """The tenant's rules for declarations; a tenant without a row uses the defaults."""

    __tablename__ = "work_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A task type outside the employee's position: refuse (422) or accept with a warning.
    position_check: Mapped[str] = mapped_column(String(8), default="refuse")
    # Working days after the completion day within which a result must be reported.
    report_within_working_days: Mapped[int] = mapped_column(SmallInteger, default=1)


class ClosedMonthPass(db.Model):
    """SQLite's leave for a transaction to write into closed months (core/work/closed_guard.py).

    The database refuses changes of items, leave and calendar days in a closed month
    (migration 0042's triggers). The few writers that must carry history into closed
    months (a tenant merger) insert a row here and delete it before their transaction
    ends: SQLite has one writer at a time, so no other transaction ever sees the row.
    PostgreSQL uses a transaction-local setting instead and leaves this table empty."""

    __tablename__ = "closed_month_passes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
