from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

# A variant names up to this many summable components per item; they are stored in
# c0…c7 in the order of its `item_components`, so sums are plain SQL on both databases.
MAX_COMPONENTS = 8
COMPONENT_COLUMNS = tuple(f"c{i}" for i in range(MAX_COMPONENTS))


class ItemScore(TenantScoped, db.Model):
    """An item's components under the variant and settings that produced them.

    Derived data, rewritten in bulk by every recalculation: it carries no foreign keys
    (their per-row checks tripled the cost of writing millions of rows); the engine
    keeps it consistent, removing the rows of items that are gone.
    """

    __tablename__ = "item_scores"
    # Two indexes only (each costs every one of a month's millions of rows a write):
    # per-person reads go through work_items' (employee_id, work_date) and this key.
    __table_args__ = (Index("ix_item_scores_tenant_date", "tenant_id", "work_date"),
                      {"info": {"references": {"employee_id": "employees", "work_item_id": "work_items"}}})

    tenant_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId)
    work_date: Mapped[date] = mapped_column(Date)
    variant_key: Mapped[str] = mapped_column(String(100))
    variant_version: Mapped[str] = mapped_column(String(40))
    settings_hash: Mapped[str] = mapped_column(String(64))
    c0: Mapped[float] = mapped_column(Float, default=0.0)
    c1: Mapped[float] = mapped_column(Float, default=0.0)
    c2: Mapped[float] = mapped_column(Float, default=0.0)
    c3: Mapped[float] = mapped_column(Float, default=0.0)
    c4: Mapped[float] = mapped_column(Float, default=0.0)
    c5: Mapped[float] = mapped_column(Float, default=0.0)
    c6: Mapped[float] = mapped_column(Float, default=0.0)
    c7: Mapped[float] = mapped_column(Float, default=0.0)


class PeriodScore(TenantScoped, db.Model):
    """An employee's score for a month: the stored aggregate that pages and decisions read."""

    __tablename__ = "period_scores"
    __table_args__ = (UniqueConstraint("tenant_id", "employee_id", "period"),
                      Index("ix_period_scores_tenant_period", "tenant_id", "period"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"))
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    period: Mapped[str] = mapped_column(String(10))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    working_days: Mapped[int] = mapped_column(Integer, default=0)
    task_score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    general_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    components: Mapped[dict] = mapped_column(JSON, default=dict)
    sums: Mapped[dict] = mapped_column(JSON, default=dict)
    variant_key: Mapped[str] = mapped_column(String(100))
    variant_version: Mapped[str] = mapped_column(String(40))
    settings_hash: Mapped[str] = mapped_column(String(64))
    provisional: Mapped[bool] = mapped_column(Boolean, default=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoredPeriod(TenantScoped, db.Model):
    """A month of a tenant: how it was last scored, whether that is stale, whether closed."""

    __tablename__ = "scored_periods"
    __table_args__ = (UniqueConstraint("tenant_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    variant_key: Mapped[str | None] = mapped_column(String(100))
    variant_version: Mapped[str | None] = mapped_column(String(40))
    settings_hash: Mapped[str | None] = mapped_column(String(64))
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    stale_reason: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScoringStamp(TenantScoped, db.Model):
    """What a month's stamp (variant key, version, settings hash) meant when it was scored:
    the settings, titles, descriptions, labels and item component names of that version.

    A closed month is explained from it with its own numbers and words, also once the
    plugin is upgraded or gone. Written once per stamp (insert-or-ignore), never updated.
    """

    __tablename__ = "scoring_stamps"
    __table_args__ = (UniqueConstraint("tenant_id", "variant_key", "variant_version", "settings_hash",
                                       name="uq_scoring_stamps_stamp"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    variant_key: Mapped[str] = mapped_column(String(100))
    variant_version: Mapped[str] = mapped_column(String(40))
    settings_hash: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    item_components: Mapped[list] = mapped_column(JSON, default=list)
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # {key: [Vietnamese, English]}: the component's labels, its settings' labels included.
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


GENERAL_FIELDS = ("politics_ethics", "competence_attitude", "innovation")
# How pages name the general criteria (Vietnamese, English).
GENERAL_LABELS = {
    "politics_ethics": ("Chính trị, đạo đức, văn hóa, kỷ luật", "Politics, ethics, culture, discipline"),
    "competence_attitude": ("Năng lực, trách nhiệm, thái độ phục vụ", "Competence, responsibility, service attitude"),
    "innovation": ("Đổi mới, sáng tạo, dám nghĩ dám làm", "Innovation and daring"),
    "leadership": ("Năng lực lãnh đạo, quản lý, tổ chức thực hiện (cấp trưởng, cấp phó)",
                   "Leadership and organisation (heads and deputies)"),
}


class GeneralScore(TenantScoped, db.Model):
    """General criteria (Art. 12): three groups of 10 points, proposed by the employee,
    set by the manager."""

    __tablename__ = "general_scores"
    __table_args__ = (UniqueConstraint("tenant_id", "employee_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"))
    period: Mapped[str] = mapped_column(String(10))
    politics_ethics: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    competence_attitude: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    innovation: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    comment: Mapped[str | None] = mapped_column(Text)
    set_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    self_politics_ethics: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    self_competence_attitude: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    self_innovation: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    self_comment: Mapped[str | None] = mapped_column(Text)
    self_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A head's or deputy's leadership and organisation (Decree 335, Art. 15), 0–100, scored
    # by whoever evaluates them; the decree335 variant reads it (leader_leadership_source).
    leadership: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    @property
    def total(self) -> Decimal | None:
        values = [self.politics_ethics, self.competence_attitude, self.innovation]
        return None if any(v is None for v in values) else sum(values, Decimal(0))


class ScoringMark(TenantScoped, db.Model):
    """A person's month has changes its stored scores do not reflect yet (docs/scoring.md).

    Written in the transaction of the change, taken and deleted by the scorer
    (core/scoring/scorer.py) in the transaction that re-scores the month. Rows are only
    ever inserted by writers, never updated: a unique (tenant, person, month) row updated
    by each writer would make a declaration wait on the row lock of a scorer's batch, so
    writers coalesce within their transaction and the scorer coalesces across them.
    """

    __tablename__ = "scoring_marks"
    # No foreign key: a mark is a note to the scorer, written on the hot path.
    __table_args__ = (Index("ix_scoring_marks_tenant_period_employee", "tenant_id", "period", "employee_id"),
                      {"info": {"references": {"employee_id": "employees"}}})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId)
    period: Mapped[str] = mapped_column(String(7))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
