"""Task types with versioned norms, and competencies required per position.

A task type's identity (code, name, group, unit of measure, the positions it applies
to) changes in place; its norm (minutes per unit, converted-product weight,
complexity coefficients) is a series of versions by effective date, so a change of
norm applies from a date on and never rewrites what was measured before it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

TASK_GROUPS = ("A", "B", "C", "D")
# The most one work item may declare when the catalogue says nothing else: a day's
# count of dossiers or documents is far below it, a slipped finger (99999) is not.
DEFAULT_MAX_QUANTITY = Decimal("100")
# A norm with no start date given is in force from the beginning of time.
BEGINNING = date(1970, 1, 1)


class TaskType(TenantScoped, db.Model):
    __tablename__ = "task_types"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    group: Mapped[str] = mapped_column(String(1))
    unit_of_measure: Mapped[str] = mapped_column(String(64))
    # Lower-case, without diacritics: what the phone search matches typed text against.
    search_text: Mapped[str] = mapped_column(String(400), default="")
    max_quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=DEFAULT_MAX_QUANTITY,
                                                  server_default=str(DEFAULT_MAX_QUANTITY))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    positions = relationship("TaskTypePosition", lazy="selectin", cascade="all, delete-orphan",
                             order_by="TaskTypePosition.position_id")


class TaskTypePosition(TenantScoped, db.Model):
    """A position the task type applies to; a type with none applies to every position."""

    __tablename__ = "task_type_positions"
    __table_args__ = (UniqueConstraint("tenant_id", "task_type_id", "position_id"),
                      Index("ix_task_type_positions_tenant_position", "tenant_id", "position_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_type_id: Mapped[int] = mapped_column(BigId, ForeignKey("task_types.id", ondelete="CASCADE"), index=True)
    position_id: Mapped[int] = mapped_column(BigId, ForeignKey("job_positions.id"), index=True)

    position = relationship("JobPosition", lazy="joined")


class NormVersion(TenantScoped, db.Model):
    """The norm of a task type from `effective_from` until the next version."""

    __tablename__ = "norm_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "task_type_id", "effective_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_type_id: Mapped[int] = mapped_column(BigId, ForeignKey("task_types.id", ondelete="CASCADE"), index=True)
    effective_from: Mapped[date] = mapped_column(Date, default=BEGINNING)
    norm_minutes: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    product_weight: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal("1"))
    # [{"level": 1, "coefficient": 0.8}, ...], ordered by level.
    complexity_levels: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Competency(TenantScoped, db.Model):
    __tablename__ = "competencies"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    max_level: Mapped[int] = mapped_column(Integer, default=5)


class PositionCompetency(TenantScoped, db.Model):
    """The level of a competency a job position requires."""

    __tablename__ = "position_competencies"
    __table_args__ = (UniqueConstraint("tenant_id", "position_id", "competency_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    position_id: Mapped[int] = mapped_column(BigId, ForeignKey("job_positions.id"), index=True)
    competency_id: Mapped[int] = mapped_column(BigId, ForeignKey("competencies.id"), index=True)
    required_level: Mapped[int] = mapped_column(Integer)

    competency = relationship(Competency, lazy="joined", innerjoin=True)
