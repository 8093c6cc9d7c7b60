""""Văn bản, biểu mẫu": download one's forms (and, for managers and admins, a staff
member's by code), an agency's decision and its signed copy, upload the signed decision,
and the tenant admin's DOCX templates. The same services as the API."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import unit_of_work
from core.classification.services import AGENCY_KINDS
from core.documents import services
from core.documents.api import send
from core.documents.models import DOCUMENT_KINDS
from core.errors import Invalid, NotFound, ServiceError
from core.org import directory
from core.org.models import OrgUnit
from core.org.services import can_see_employee

document_pages = Blueprint("document_pages", __name__, template_folder="templates")
KIND_LABELS = {"evaluation_form": "Evaluation form (month or quarter)", "classification_form": "Annual classification form",
               "decision": "Classification decision of an agency"}


def _member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def _today_year() -> int:
    return services.today().year


def _agencies() -> list[OrgUnit]:
    if current_user.has_role("tenant_admin", "auditor", "manager"):
        return directory.units_of_kinds(AGENCY_KINDS)
    return []


def _messages(exc: ServiceError) -> dict[str, str]:
    """Each field's errors in the reader's language, for display beside the field."""
    out = {}
    for field, errors in exc.errors.items():
        items = errors if isinstance(errors, list) else [errors]
        out[field] = " ".join(_(str(e)) for e in items)
    return out


def _page(status: int = 200, errors: dict | None = None, form: str | None = None, message: str | None = None):
    raw = {k: request.values.get(k, "") for k in ("code", "period", "year", "format", "unit_id", "number")}
    return render_template("documents/index.html", tenant=g.tenant, agencies=_agencies(), raw=raw,
                           errors=errors or {}, form=form, message=message, year=_today_year(),
                           kinds=DOCUMENT_KINDS, kind_labels=KIND_LABELS,
                           templates=services.templates() if current_user.has_role("tenant_admin") else []), status


@document_pages.get("/t/<t>/documents")
@login_required
def index(t):
    _member()
    return _page()[0]


def _employee_id(form: str) -> int:
    """The person whose form is asked: oneself, or a staff code the reader may see."""
    code = request.values.get("code", "").strip()
    if not code:
        if current_user.employee_id is None:
            raise Invalid("Enter a staff code.", {"code": ["Required."]})
        return current_user.employee_id
    employee_id = directory.employee_id_by_code(code)
    if employee_id is None or not can_see_employee(current_user, employee_id):
        raise Invalid("No such person among those you may see.", {"code": ["No such person among those you may see."]})
    return employee_id


def _year_value() -> int:
    try:
        return int(request.values.get("year", ""))
    except ValueError:
        raise Invalid("Not a year.", {"year": ["Enter a year, e.g. 2026."]}) from None


def _download(form: str, make):
    _member()
    try:
        return send(make())
    except ServiceError as exc:
        unit_of_work.rollback()
        return _page(exc.status if exc.status != 403 else 403, _messages(exc), form, _(exc.message))


@document_pages.get("/t/<t>/documents/evaluation-form")
@login_required
def evaluation_form(t):
    return _download("evaluation", lambda: services.evaluation_form(
        current_user, _employee_id("evaluation"), request.args.get("period", "").strip(), request.args.get("format")))


@document_pages.get("/t/<t>/documents/classification-form")
@login_required
def classification_form(t):
    return _download("classification", lambda: services.classification_form(
        current_user, _employee_id("classification"), _year_value(), request.args.get("format")))


def _unit_id() -> int:
    try:
        return int(request.values.get("unit_id", ""))
    except ValueError:
        raise Invalid("Choose an agency.", {"unit_id": ["Choose an agency."]}) from None


def _agency_or_404(unit_id: int) -> int:
    if not directory.unit_exists(unit_id):
        raise NotFound("Unit not found.", {"unit_id": ["Choose an agency."]})
    return unit_id


@document_pages.get("/t/<t>/documents/decision")
@login_required
def decision(t):
    def make():
        rendered = services.decision(current_user, _agency_or_404(_unit_id()), _year_value(),
                                     request.args.get("format"), request.args.get("number", "").strip() or None,
                                     scope=request.args.get("scope") or "staff")
        unit_of_work.commit()
        return rendered

    return _download("decision", make)


@document_pages.get("/t/<t>/documents/decision/signed")
@login_required
def signed_decision(t):
    return _download("signed", lambda: services.signed_pdf(current_user, _agency_or_404(_unit_id()), _year_value()))


@document_pages.post("/t/<t>/documents/decision/signed")
@login_required
def upload_signed(t):
    _member()
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise Invalid("No file.", {"file": ["Choose the signed PDF."]})
        services.upload_signed(current_user, _agency_or_404(_unit_id()), _year_value(), upload.read())
        unit_of_work.commit()
    except ServiceError as exc:
        unit_of_work.rollback()
        return _page(exc.status, _messages(exc), "upload", _(exc.message))
    flash(_("The signed decision was verified and recorded."), "success")
    return redirect(url_for("document_pages.index", t=t))


def _admin() -> None:
    _member()
    if not current_user.has_role("tenant_admin"):
        abort(403)


@document_pages.get("/t/<t>/documents/templates/<kind>")
@login_required
def template_file(t, kind):
    _admin()
    try:
        return send(services.template_file(kind))
    except NotFound:
        abort(404)


@document_pages.post("/t/<t>/documents/templates/<kind>")
@login_required
def upload_template(t, kind):
    _admin()
    if kind not in DOCUMENT_KINDS:
        abort(404)
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise Invalid("No file.", {"file": ["Choose a .docx template."]})
        services.upload_template(current_user, kind, upload.filename, upload.read())
        unit_of_work.commit()
    except ServiceError as exc:
        unit_of_work.rollback()
        return _page(exc.status, _messages(exc), f"template-{kind}", _(exc.message))
    flash(_("The template was checked and saved."), "success")
    return redirect(url_for("document_pages.index", t=t) + "#templates")


@document_pages.post("/t/<t>/documents/templates/<kind>/reset")
@login_required
def reset_template(t, kind):
    _admin()
    try:
        services.reset_template(current_user, kind)
        unit_of_work.commit()
    except NotFound:
        abort(404)
    flash(_("The built-in template is in use again."), "success")
    return redirect(url_for("document_pages.index", t=t) + "#templates")
