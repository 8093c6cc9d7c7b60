"""A tenant's classification of a year, one row per employee, discipline records and appeals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.plugins import components
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

YEAR_STATUSES = ("draft", "final")
# The forms of discipline of Decree 172/2025/NĐ-CP (in force 1 July 2025): khiển trách
# (reprimand), cảnh cáo (warning), cách chức (removal from a post), buộc thôi việc (dismissal,
# công chức and viên chức) and bãi nhiệm (recall, cán bộ only).
DISCIPLINE_FORMS = ("reprimand", "warning", "removal", "dismissal", "recall")
# Forms of Decree 112/2020 that Decree 172/2025 abolished: hạ bậc lương ("demotion", the key
# the API always had) and giáng chức ("rank_demotion"). A record decided before 1 July 2025
# may carry them; a later one may not.
FORMS_BEFORE_DECREE_172 = ("demotion", "rank_demotion")
DECREE_172_IN_FORCE = date(2025, 7, 1)
# Grounds for KHT that are not discipline, recorded as the competent authority concluded them:
# corruption or waste in the unit or field a leader is in charge of, and degradation in
# political ideology, ethics or lifestyle ("tự diễn biến", "tự chuyển hóa").
OTHER_KHT_GROUNDS = ("unit_corruption", "degradation")
# Every recordable kind; each makes the year KHT whatever the score (Decree 335/2025; Decree
# 90/2020, Art. 7 as amended by Decree 48/2023: a discipline in the year evaluated).
DISCIPLINE_KINDS = DISCIPLINE_FORMS + FORMS_BEFORE_DECREE_172 + OTHER_KHT_GROUNDS
APPEAL_STATUSES = ("pending", "upheld", "rejected")


class ClassificationYear(TenantScoped, db.Model):
    """The state of a tenant's year: draft while managers review, final (locked) once the admin finalises."""

    __tablename__ = "classification_years"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="draft")
    scheme_key: Mapped[str] = mapped_column(String(100))
    scheme_version: Mapped[str] = mapped_column(String(40))
    settings_hash: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Appeals are taken until this moment (the run plus the tenant's appeal window).
    appeal_until: Mapped[datetime] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_by: Mapped[str | None] = mapped_column(String(200))


class EmployeeClassification(TenantScoped, db.Model):
    """What the scheme decided for a person and year, and the manager's reasoned override."""

    __tablename__ = "employee_classifications"
    __table_args__ = (UniqueConstraint("tenant_id", "year", "employee_id"),
                      Index("ix_employee_classifications_tenant_year_unit", "tenant_id", "year", "unit_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    # "<agency unit id>:<position group>": where the HTXS quota was counted.
    quota_group: Mapped[str] = mapped_column(String(80))
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    task_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    months_worked: Mapped[int] = mapped_column(Integer, default=0)
    forced_kht: Mapped[bool] = mapped_column(Boolean, default=False)
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_level: Mapped[str | None] = mapped_column(String(4))
    demoted_by_quota: Mapped[bool] = mapped_column(Boolean, default=False)
    override_level: Mapped[str | None] = mapped_column(String(4))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(String(200))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def level(self) -> str | None:
        """The level in force: the override when there is one."""
        return self.override_level or self.computed_level


class DisciplineRecord(TenantScoped, db.Model):
    """A disciplinary decision about an employee in a year: an input of the classification."""

    __tablename__ = "discipline_records"
    __table_args__ = (Index("ix_discipline_records_tenant_year_employee", "tenant_id", "year", "employee_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassificationAppeal(TenantScoped, db.Model):
    """An employee's appeal against their level, resolved with a reason."""

    __tablename__ = "classification_appeals"
    __table_args__ = (Index("ix_classification_appeals_tenant_year_status", "tenant_id", "year", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    level_appealed: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution: Mapped[str | None] = mapped_column(Text)
    new_level: Mapped[str | None] = mapped_column(String(4))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------- the procedure (docs/procedure.md)

# Legal regimes (Law on Cán bộ, Công chức 2025; Law on Viên chức 2025; Labour Code for contract staff).
REGIMES = components.REGIMES
DEFAULT_REGIME = "cong_chuc"
# The default procedure (Decree 335/2025, Art. 19): each step waits for the one before.
STEPS = ("self", "manager", "meeting", "decision")
DECISION_SCOPES = ("staff", "leaders")


class EmployeeRegime(TenantScoped, db.Model):
    """A person's legal regime from a date on; the latest one starting on or before a day is in force."""

    __tablename__ = "employee_regimes"
    __table_args__ = (UniqueConstraint("tenant_id", "employee_id", "valid_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    regime: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)


class EvaluationStep(TenantScoped, db.Model):
    """One step of a person's annual evaluation: who did it, when, the level and the words."""

    __tablename__ = "evaluation_steps"
    __table_args__ = (UniqueConstraint("tenant_id", "year", "employee_id", "step"),
                      Index("ix_evaluation_steps_tenant_year_agency", "tenant_id", "year", "agency_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    step: Mapped[str] = mapped_column(String(12))
    level: Mapped[str | None] = mapped_column(String(4))
    comment: Mapped[str | None] = mapped_column(Text)
    # The meeting's minutes ({"meeting_date","attendees","votes_for","votes_against"}) or the decision's id.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    actor_employee_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgencyEvaluation(TenantScoped, db.Model):
    """An agency's annual evaluation: opened in December with the months that count, then decided."""

    __tablename__ = "agency_evaluations"
    __table_args__ = (UniqueConstraint("tenant_id", "year", "agency_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    months: Mapped[list] = mapped_column(JSON, default=list)  # ["2026-01", ..., "2026-11"]
    counted_to: Mapped[date] = mapped_column(Date)  # the last day whose work counts
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(200))
    # After the tenant's deadline the agency moves on only under an override with a reason.
    late_reason: Mapped[str | None] = mapped_column(Text)
    late_by: Mapped[str | None] = mapped_column(String(200))
    late_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EvaluationDecision(TenantScoped, db.Model):
    """A decision on an agency's staff (by its head) or on its head and deputies (by the level
    above). A reopened decision stays, with the reason, beside the one that replaces it."""

    __tablename__ = "evaluation_decisions"
    __table_args__ = (Index("ix_evaluation_decisions_tenant_year_agency", "tenant_id", "year", "agency_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    scope: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="decided")  # decided | reopened
    confirmation: Mapped[str] = mapped_column(String(300))
    levels: Mapped[dict] = mapped_column(JSON, default=dict)  # {employee_id: level} as frozen
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    appeal_until: Mapped[datetime] = mapped_column(UTCDateTime)
    reopened_by: Mapped[str | None] = mapped_column(String(200))
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    # The person who took the decision step: the document names them and only they may sign it.
    decider_id: Mapped[int | None] = mapped_column(BigId)
    # The signatory named in the signature block, as at the decision: the decider's staff
    # record, or for the leaders the procedure's configured signatory (the level above's
    # chairman, who need not be on the staff). Uploads are verified against this name.
    decider_name: Mapped[str | None] = mapped_column(String(200))
    decider_title: Mapped[str | None] = mapped_column(String(200))
    decider_email: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by: Mapped[str | None] = mapped_column(String(200))  # who uploaded the signed PDF
    signer_id: Mapped[int | None] = mapped_column(BigId)
    signer_subject: Mapped[str | None] = mapped_column(Text)
