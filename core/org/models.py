from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.auth.normalize import SEARCH_KEY_LENGTH, nfc, search_key
from core.extensions import db
from core.plugins import components
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId

UNIT_KINDS = ("agency", "department", "commune", "ward", "special_zone")
# Kinds that are paying units (đơn vị dự toán) unless said otherwise: each commune-level
# unit is a level of the state budget, so its bonus fund is its own (Decree 73/2024).
PAYING_KINDS = ("commune", "ward", "special_zone")
POSITION_GROUPS = ("leadership", "professional", "support")
# The dated facts that keep a person out of streamlining (Decree 154/2025, Art. 3): pregnant,
# on maternity leave, raising a child under 36 months, under a discipline review not yet
# closed. An open "to" date means it still holds.
PROTECTION_FIELDS = components.PROTECTION_FIELDS


class OrgUnit(TenantScoped, db.Model):
    __tablename__ = "org_units"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    # The official code of a commune-level unit (vietnam-provinces), when it has one.
    official_code: Mapped[int | None] = mapped_column(Integer)
    # A paying unit (đơn vị dự toán: an agency or a commune) owns a bonus fund (Decree 73/2024).
    is_paying_unit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    @validates("name")
    def _nfc_name(self, key: str, value: str) -> str:
        return nfc(value)


class JobPosition(TenantScoped, db.Model):
    __tablename__ = "job_positions"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(16))
    # The legal regime of whoever holds the post when none is recorded for the person
    # (an elected office such as a commune chair is held by cán bộ); None: công chức.
    regime: Mapped[str | None] = mapped_column(String(16))


class Employee(TenantScoped, db.Model):
    __tablename__ = "employees"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), UniqueConstraint("tenant_id", "user_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("job_positions.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    salary_coefficient: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("2.34"))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    pregnant_from: Mapped[date | None] = mapped_column(Date)
    pregnant_to: Mapped[date | None] = mapped_column(Date)
    maternity_leave_from: Mapped[date | None] = mapped_column(Date)
    maternity_leave_to: Mapped[date | None] = mapped_column(Date)
    youngest_child_born_on: Mapped[date | None] = mapped_column(Date)
    discipline_review_from: Mapped[date | None] = mapped_column(Date)
    discipline_review_to: Mapped[date | None] = mapped_column(Date)
    # Name and code without marks, for searches typed without them ("nguyen van" finds
    # "Nguyễn Văn"): set with them here; bulk writers (imports, generate) write it too.
    search_key: Mapped[str] = mapped_column(String(SEARCH_KEY_LENGTH), default="", server_default="")

    unit = relationship(OrgUnit, lazy="joined", innerjoin=True)
    position = relationship(JobPosition, lazy="joined")
    user = relationship("User", lazy="joined")

    @validates("full_name", "code")
    def _nfc_name(self, key: str, value: str) -> str:
        # Stored as NFC so a search typed either way finds it (core/auth/normalize.py).
        value = nfc(value) if key == "full_name" else value
        name, code = (value, self.code) if key == "full_name" else (self.full_name, value)
        self.search_key = search_key(name, code)
        return value


class DeputyField(TenantScoped, db.Model):
    """A deputy's (cấp phó's) field in charge over a span of dates: one unit (its own
    people, not its sub-units: list those too) or one person per row. A deputy is scored
    on the results of their field as a head is on their unit's (Decree 335, Art. 15)."""

    __tablename__ = "deputy_fields"
    __table_args__ = (CheckConstraint("(unit_id IS NULL) <> (member_id IS NULL)", name="unit_or_member"),
                      CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
                      Index("ix_deputy_fields_tenant_deputy", "tenant_id", "deputy_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deputy_id: Mapped[int] = mapped_column(BigId, ForeignKey("employees.id"))
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
