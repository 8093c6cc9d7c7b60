from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from core.auth.normalize import nfc, search_key
from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

ROLES = ("employee", "manager", "tenant_admin", "auditor")


class User(TenantScoped, db.Model):
    """A tenant's login. The platform operator is an `Operator`, with no tenant."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    roles_csv: Mapped[str] = mapped_column("roles", String(200), default="employee")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised by logout (every session of this login ends: services.password_stamp).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The username without marks, for the logins page's search (set with the username).
    search_key: Mapped[str] = mapped_column(String(100), default="", server_default="")

    @property
    def roles(self) -> list[str]:
        return [r for r in self.roles_csv.split(",") if r]

    @roles.setter
    def roles(self, value: list[str]) -> None:
        self.roles_csv = ",".join(r for r in ROLES if r in set(value))

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @validates("username")
    def _nfc_username(self, key: str, value: str) -> str:
        # `nguyễn` typed with combining marks is the same login (core/auth/normalize.py).
        value = nfc(value)
        self.search_key = search_key(value)[:100]
        return value


class Operator(db.Model):
    """A platform operator: manages tenants and plugins, reads no tenant's personal data."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("username")
    def _nfc_username(self, key: str, value: str) -> str:
        return nfc(value)


class ApiToken(db.Model):
    """A bearer token, stored as its SHA-256 so a database leak yields no usable token.

    Platform-level on purpose: a token is looked up before its tenant is known.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigId, index=True)
    operator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("operators.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
