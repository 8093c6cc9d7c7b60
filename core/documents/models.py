"""A tenant's replacement DOCX templates and the official documents it issued for signing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.tenancy import TenantScoped
from core.tenancy.mixin import BigId
from core.timeutil import UTCDateTime, utcnow

DOCUMENT_KINDS = ("evaluation_form", "classification_form", "decision")


class DocumentTemplate(TenantScoped, db.Model):
    """A tenant's own DOCX template for one kind of document (the built-in one otherwise).

    The file is kept base64-encoded in a text column so that tenant export (JSON lines) and
    both databases carry it unchanged."""

    __tablename__ = "document_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    content_b64: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IssuedDecision(TenantScoped, db.Model):
    """An agency's classification decision as a PDF handed out for signing.

    A PAdES signature is an incremental update, so the signed file starts with exactly
    the bytes issued: ``sha256``/``size`` identify them, ``content_hash`` the list
    (people and levels) it was made from, so a signed copy of a list since changed is
    refused."""

    __tablename__ = "issued_decisions"
    __table_args__ = (Index("ix_issued_decisions_tenant_agency_year", "tenant_id", "agency_id", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    decider_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(8), default="issued")
    signed_pdf_b64: Mapped[str | None] = mapped_column(Text)
    signer_subject: Mapped[str | None] = mapped_column(Text)
    signer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("employees.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by: Mapped[str | None] = mapped_column(String(200))
    # The procedure's decision the PDF was made from (none for a tenant not under the procedure).
    decision_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("evaluation_decisions.id"))
