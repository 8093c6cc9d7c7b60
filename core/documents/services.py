"""Official documents: who may have which, rendering them as PDF or DOCX, the tenant's
templates, and the signed decision uploaded back.

Who may download: a person their own forms, a manager the forms of the people they
manage, the tenant admin and the auditor everyone's (as for scores); an agency's decision
the tenant admin, the auditor, the agency's deciding person and the managers of that
agency. Only the deciding person or the tenant admin uploads the signed decision, and the
signature must be the deciding person's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from core.audit.services import record
from core.auth.guards import can_write
from core.auth.principal import Principal
from core.classification.models import EvaluationDecision
from core.documents import data, pdf, signing
from core.documents import docx as docx_templates
from core.documents.models import DOCUMENT_KINDS, DocumentTemplate, IssuedDecision
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.org.models import Employee, OrgUnit
from core.org.services import can_see_employee
from core.timeutil import utcnow
from core.work import calendar as cal

FORMATS = ("pdf", "docx")
MIME = {"pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
NUMBER = re.compile(r"^[0-9]{1,6}$")
MAX_SIGNED_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Rendered:
    content: bytes
    filename: str
    mimetype: str


def today() -> date:
    return cal.local_today()


def _tenant_name() -> str:
    return cal.current_tenant().name


def check_format(fmt: str | None) -> str:
    fmt = (fmt or "pdf").lower()
    if fmt not in FORMATS:
        raise Invalid("Unknown document format.", {"format": ["Use pdf or docx."]})
    return fmt


def _check_kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise NotFound("No such kind of document.")
    return kind


def template_bytes(kind: str) -> bytes:
    own = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.kind == kind))
    return base64.b64decode(own.content_b64) if own is not None else docx_templates.default_template(kind)


def _render(kind: str, ctx: dict, fmt: str, stem: str) -> Rendered:
    if fmt == "pdf":
        content = pdf.RENDERERS[kind](ctx)
    else:
        content = docx_templates.render(template_bytes(kind), ctx)
    return Rendered(content, f"{stem}.{fmt}", MIME[fmt])


def _may_see(principal: Principal, employee_id: int) -> None:
    if not can_see_employee(principal, employee_id):
        raise NotFound("Employee not found.")


# ---------------------------------------------------------------- the three documents


def evaluation_form(principal: Principal, employee_id: int, period: str, fmt: str, extra: dict | None = None) -> Rendered:
    _may_see(principal, employee_id)
    fmt = check_format(fmt)
    ctx = data.evaluation_form(_tenant_name(), employee_id, period, today(), extra)
    return _render("evaluation_form", ctx, fmt, f"phieu-danh-gia-{ctx['code']}-{period}")


def classification_form(principal: Principal, employee_id: int, year: int, fmt: str,
                        extra: dict | None = None) -> Rendered:
    _may_see(principal, employee_id)
    fmt = check_format(fmt)
    ctx = data.classification_form(_tenant_name(), employee_id, _year(year), today(), extra)
    return _render("classification_form", ctx, fmt, f"phieu-xep-loai-{ctx['code']}-{year}")


def _year(year: int) -> int:
    from core.classification.services import check_year

    return check_year(year)


def _may_read_decision(principal: Principal, agency: OrgUnit) -> None:
    if principal.has_role("tenant_admin", "auditor"):
        return
    if principal.employee_id is None:
        raise Forbidden("Only the agency's leaders and the tenant's administrators read its decision.")
    me = db.session.get(Employee, principal.employee_id)
    if principal.employee_id in _deciders(agency):
        return
    if principal.has_role("manager") and me is not None and data.agency_unit(me.unit_id).id == agency.id:
        return
    raise Forbidden("Only the agency's leaders and the tenant's administrators read its decision.")


def _deciders(agency: OrgUnit) -> set[int]:
    """Who decides the agency's classification: its head by default, and whoever took a
    decision step of the evaluation procedure in force for it (the level above, for its
    leaders)."""
    decider = data.deciding_person(agency, today())
    out = {decider.id} if decider is not None else set()
    out.update(i for i in db.session.scalars(select(EvaluationDecision.decider_id).where(
        EvaluationDecision.agency_id == agency.id, EvaluationDecision.status == "decided")) if i is not None)
    return out


def check_number(number: str | None) -> str | None:
    if number in (None, ""):
        return None
    if not NUMBER.match(number):
        raise Invalid("Not a document number.", {"number": ["Digits only, at most 6 (the number in the register)."]})
    return number


def check_scope(scope: str | None) -> str:
    scope = scope or "staff"
    if scope not in ("staff", "leaders"):
        raise Invalid("Unknown scope.", {"scope": ["Use staff or leaders."]})
    return scope


def decision(principal: Principal, unit_id: int, year: int, fmt: str, number: str | None = None,
             extra: dict | None = None, scope: str | None = "staff") -> Rendered:
    """The decision and its list. A PDF is recorded as issued (its hash, the list's
    fingerprint) so that the signed copy uploaded back can be matched to it. Under the
    evaluation procedure the decision printed is the one taken for ``scope``."""
    agency = data.check_agency(unit_id)
    _may_read_decision(principal, agency)
    fmt, number, year, scope = check_format(fmt), check_number(number), _year(year), check_scope(scope)
    ctx = data.decision(_tenant_name(), agency, year, today(), number, extra, scope)
    stem = f"quyet-dinh-xep-loai-{agency.code}-{year}" + ("-lanh-dao" if scope == "leaders" else "")
    rendered = _render("decision", ctx, fmt, stem)
    if fmt == "pdf" and can_write(principal):  # an auditor's copy is for reading, not for signing
        issued = IssuedDecision(agency_id=agency.id, year=year, number=number,
                                sha256=hashlib.sha256(rendered.content).hexdigest(), size=len(rendered.content),
                                content_hash=ctx["content_hash"], decider_id=ctx["decider_id"],
                                decision_id=ctx["decision_id"], issued_by=principal.actor)
        db.session.add(issued)
        db.session.flush()
        record("decision.issue", "issued_decision", issued.id, after=issued_view(issued))
    return rendered


# ---------------------------------------------------------------- the signed decision


def issued_view(d: IssuedDecision) -> dict:
    return {"id": d.id, "agency_id": d.agency_id, "year": d.year, "number": d.number, "sha256": d.sha256,
            "status": d.status, "issued_at": d.issued_at, "decider_id": d.decider_id,
            "signer_subject": d.signer_subject, "signer_id": d.signer_id, "signed_at": d.signed_at,
            "decision_id": d.decision_id}


def _normal(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _unaccented(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", _normal(name).replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def signer_matches(signature: signing.Signature, full_name: str, email: str | None) -> bool:
    """The certificate names the deciding person: its common name is their full name —
    with diacritics, or without them as some certification authorities write it ("TRAN
    THI HUONG") — and when both the certificate and the record (staff, or the configured
    signatory) have an e-mail address, they agree too."""
    cn = signature.common_name
    if not full_name or (_normal(cn) != _normal(full_name) and not (
            _unaccented(cn) == _normal(cn) and _unaccented(cn) == _unaccented(full_name))):
        return False
    if signature.emails and email:
        return email.lower() in signature.emails
    return True


def upload_signed(principal: Principal, unit_id: int, year: int, content: bytes) -> IssuedDecision:
    """Accept a signed decision: a valid, trusted signature over the whole file, made on a
    PDF this tenant issued for that agency and year whose list is still the current one,
    by the agency's deciding person. Anything else is refused and nothing changes."""
    agency = data.check_agency(unit_id)
    year = _year(year)
    if not principal.has_role("tenant_admin") and principal.employee_id not in _deciders(agency):
        raise Forbidden("Only the agency's deciding person or the tenant admin uploads its signed decision.")
    if not content:
        raise Invalid("No file.", {"file": ["Choose the signed PDF."]})
    if len(content) > MAX_SIGNED_BYTES:
        raise Invalid("The file is too large.", {"file": [f"At most {MAX_SIGNED_BYTES // (1024 * 1024)} MiB."]})
    if not content.startswith(b"%PDF-"):
        raise Invalid("The signed document is not accepted.", {"file": ["This is not a PDF file."]})
    issued = list(db.session.scalars(select(IssuedDecision).where(IssuedDecision.agency_id == agency.id,
                                                                  IssuedDecision.year == year)
                                     .order_by(IssuedDecision.id.desc())))
    match = next((d for d in issued if len(content) > d.size
                  and hashlib.sha256(content[:d.size]).hexdigest() == d.sha256), None)
    if match is None:
        raise Invalid("The signed document is not accepted.",
                      {"file": ["This PDF is not a decision issued here for this agency and year, or it was changed."]})
    cfg = current_app.config
    signature = signing.verify(content, signing.trust_roots(cfg.get("CONGVU_SIGNING_TRUST_ROOTS")),
                               bool(int(cfg.get("CONGVU_SIGNING_FETCH_REVOCATION") or 0)))
    # The person the issued document names in its signature block must be the one who signed:
    # the procedure's decision names its signatory (a staff record, or for the leaders the
    # configured signatory of the level above); otherwise the head the PDF was issued for.
    made = db.session.get(EvaluationDecision, match.decision_id) if match.decision_id is not None else None
    named = db.session.get(Employee, match.decider_id) if match.decider_id is not None else None
    if made is not None and made.decider_name:
        full_name, email = made.decider_name, made.decider_email
        named = db.session.get(Employee, made.decider_id) if made.decider_id is not None else None
    else:
        full_name, email = (named.full_name, named.email) if named is not None else ("", None)
    if not signer_matches(signature, full_name, email):
        raise Invalid("The signed document is not accepted.",
                      {"file": ["The signer is not the agency's deciding person.", signature.subject]})
    if made is not None and made.status != "decided":
        raise Conflict("This decision was reopened; sign the decision taken again.",
                       {"file": ["The decision this PDF was printed from is no longer in force."]})
    rows = data.procedure_rows(made) if made is not None else data.decision_rows(agency, year)
    if match.content_hash != data.content_hash(rows):
        raise Conflict("The classification list changed after this decision was issued; issue and sign it again.",
                       {"file": ["The list no longer matches the classification."]})
    if match.status == "signed" or (made is not None and made.signed_at is not None):
        raise Conflict("This decision is already signed.", {"file": ["Already signed."]})
    before = issued_view(match)
    moment = cal.now()  # the tenant's clock, as the procedure's steps read it
    match.status, match.signed_at, match.signed_by = "signed", moment, principal.actor
    match.signer_subject, match.signer_id = signature.subject, named.id if named is not None else None
    match.signed_pdf_b64 = base64.b64encode(content).decode()
    db.session.flush()
    record("decision.sign", "issued_decision", match.id, before=before, after=issued_view(match),
           actor=principal.actor)
    if made is not None:
        # The procedure's decision step is now signed: the evaluation page shows who and when.
        from core.classification.procedure import decision_view

        before_decision = decision_view(made)
        made.signed_at, made.signed_by = moment, principal.actor
        made.signer_id = named.id if named is not None else None
        made.signer_subject = signature.subject
        db.session.flush()
        record("evaluation.sign", "evaluation_decision", made.id, before=before_decision,
               after=decision_view(made), actor=principal.actor)
    return match


def signed_decisions(principal: Principal, unit_id: int, year: int) -> list[dict]:
    agency = data.check_agency(unit_id)
    _may_read_decision(principal, agency)
    rows = db.session.scalars(select(IssuedDecision).where(IssuedDecision.agency_id == agency.id,
                                                           IssuedDecision.year == _year(year))
                              .order_by(IssuedDecision.id))
    return [issued_view(d) for d in rows]


def signed_pdf(principal: Principal, unit_id: int, year: int) -> Rendered:
    agency = data.check_agency(unit_id)
    _may_read_decision(principal, agency)
    row = db.session.scalar(select(IssuedDecision).where(IssuedDecision.agency_id == agency.id,
                                                         IssuedDecision.year == _year(year),
                                                         IssuedDecision.status == "signed")
                            .order_by(IssuedDecision.signed_at.desc(), IssuedDecision.id.desc()).limit(1))
    if row is None:
        raise NotFound("No signed decision for that agency and year.")
    return Rendered(base64.b64decode(row.signed_pdf_b64 or ""), f"quyet-dinh-da-ky-{agency.code}-{year}.pdf",
                    MIME["pdf"])


# ---------------------------------------------------------------- templates


def template_view(kind: str, own: DocumentTemplate | None) -> dict:
    return {"kind": kind, "custom": own is not None, "filename": own.filename if own else None,
            "uploaded_at": own.uploaded_at if own else None, "uploaded_by": own.uploaded_by if own else None,
            "required": sorted(docx_templates.REQUIRED[kind]), "available": sorted(docx_templates.PROVIDED[kind])}


def templates() -> list[dict]:
    own = {t.kind: t for t in db.session.scalars(select(DocumentTemplate))}
    return [template_view(kind, own.get(kind)) for kind in DOCUMENT_KINDS]


def template_file(kind: str) -> Rendered:
    return Rendered(template_bytes(_check_kind(kind)), f"mau-{kind}.docx", MIME["docx"])


def upload_template(principal: Principal, kind: str, filename: str, content: bytes) -> dict:
    _check_kind(kind)
    if not principal.has_role("tenant_admin"):
        raise Forbidden("Only the tenant admin replaces a document template.")
    if not content:
        raise Invalid("No file.", {"file": ["Choose a .docx template."]})
    docx_templates.check_template(kind, content)
    own = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.kind == kind))
    before = template_view(kind, own) if own else None
    if own is None:
        own = DocumentTemplate(kind=kind)
        db.session.add(own)
    own.filename = (filename or f"{kind}.docx")[:200]
    own.content_b64 = base64.b64encode(content).decode()
    own.sha256 = hashlib.sha256(content).hexdigest()
    own.uploaded_by, own.uploaded_at = principal.actor, utcnow()
    db.session.flush()
    record("document_template.upload", "document_template", own.id, before=before,
           after={**template_view(kind, own), "sha256": own.sha256})
    return template_view(kind, own)


def reset_template(principal: Principal, kind: str) -> None:
    _check_kind(kind)
    if not principal.has_role("tenant_admin"):
        raise Forbidden("Only the tenant admin replaces a document template.")
    own = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.kind == kind))
    if own is None:
        raise NotFound("This document uses the built-in template.")
    before = template_view(kind, own)
    db.session.delete(own)
    db.session.flush()
    record("document_template.reset", "document_template", own.id, before=before)
