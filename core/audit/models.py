from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow


class AuditEvent(TenantScoped, db.Model):
    """One thing someone did. `seq` numbers a tenant's events; `hash` chains them.

    `content_hash` is written with the event; seq, prev_hash and hash are filled in as
    the transaction commits (core/audit/services.py): a committed event always has them."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # "user:N:login via job <uuid>"
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))  # NULL: an event chained before migration 0038
    # How and from where (migration 0040; NULL before it): the channel — "page", "api" or
    # "api:token:<id>", "cli", "job", "system" — the request's client address and the id its
    # log lines carry. The content hash covers each one that is set.
    via: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
