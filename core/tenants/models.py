from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

# "suspended": the operator stopped the tenant's use of the platform (contract ended,
# security incident) without touching its data; core/tenants/suspension.py.
TENANT_STATUSES = ("active", "merged", "archived", "suspended")
COMPONENT_KINDS = ("scoring_variant", "classification_scheme", "bonus_scheme", "import_connectors")
# A component choice with no start date is in force from the beginning of time.
BEGINNING = date(1970, 1, 1)
# Closing months on the tenant's schedule (core/jobs/schedule.close_months) is stored like
# the import connectors: a choice of its own kind, in force from the beginning, whose
# settings hold the working days after month end ({"after_working_days": N}); no row or
# null means the tenant closes its months by hand (the default).
MONTH_CLOSE_KIND = "month_close"
MAX_CLOSE_AFTER_DAYS = 20


class Tenant(db.Model):
    """A platform-level row: no personal data, readable by the operator."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province_code: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    morning_cutoff: Mapped[str] = mapped_column(String(5), default="09:00")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the database whenever the tenant's closed months, calendar, work settings or
    # webhook subscriptions change (migration 0039's triggers): what a process read of
    # them holds while the stamp does (core/tenants/config_cache.py). Never written here.
    config_stamp: Mapped[int | None] = mapped_column(BigInteger)
    # While status is "suspended": since when and why (the why is the operator's; its
    # users see the date only). Both cleared when it is resumed; the audit log keeps them.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_reason: Mapped[str | None] = mapped_column(String(500))


class ComponentChoice(TenantScoped, db.Model):
    """Which plugin component a tenant uses for one kind, from a date on."""

    __tablename__ = "component_choices"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "effective_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(100))
    # The version the tenant adopted; null follows whatever version is installed. A
    # plugin may keep an older version installed beside a newer one: the tenant scores
    # with the version it adopted while that is installed (docs/writing-a-plugin.md,
    # "Versions and upgrades").
    version: Mapped[str | None] = mapped_column(String(40))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    effective_from: Mapped[date] = mapped_column(Date, default=BEGINNING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
