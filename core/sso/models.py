from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

# Which local field the chosen claim of the ID token is matched against.
MAPS_TO = ("username", "employee_code")


class SsoConfig(TenantScoped, db.Model):
    """A tenant's OpenID Connect provider: at most one per tenant."""

    __tablename__ = "sso_configs"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    # Fernet token (core/sso/crypto.py); the plain secret is never stored nor shown again.
    client_secret_enc: Mapped[str] = mapped_column(Text)
    claim: Mapped[str] = mapped_column(String(64), default="preferred_username")
    maps_to: Mapped[str] = mapped_column(String(16), default="username")
    # Passwords off for the tenant, except the break-glass admin's.
    sso_only: Mapped[bool] = mapped_column(Boolean, default=False)
    break_glass_username: Mapped[str | None] = mapped_column(String(100))
    # Create a login at first sign-on for a person of the roster who has none.
    jit_create: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))
