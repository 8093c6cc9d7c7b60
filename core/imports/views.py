"""The admin page for imports and exports: upload a file for a connector (dry run or
commit), follow the job, read its errors by row and column; download templates and
exports. The same functions as the API do the work, so both behave alike."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from core import unit_of_work
from core.errors import ServiceError
from core.i18n import month_input
from core.imports.api import export_response, start_import
from core.jobs.runner import get_run, latest_runs
from core.messages import localise
from core.plugins.manager import current_manager, current_tenant_slug
from core.tenants import choices as tenant_choices
from core.work import calendar as cal

import_pages = Blueprint("import_pages", __name__, template_folder="templates")


def _admin() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    if not current_user.has_role("tenant_admin"):
        abort(403)


def _connectors() -> list[dict]:
    choice = tenant_choices.choice_in_force("import_connectors")
    keys = choice.settings.get("keys", []) if choice else []
    manager, slug, locale = current_manager(), current_tenant_slug(), str(get_locale() or "vi")
    out = []
    for key in keys:
        found = manager.registered("import_connector", key, slug)
        if found is not None:
            out.append({"key": key, "title": found.component.title(locale), "columns": found.component.columns})
    return out


@import_pages.route("/t/<t>/admin/imports", methods=["GET", "POST"])
@login_required
def imports_page(t):
    _admin()
    error, field_errors, status = None, {}, 200
    chosen, dry_run = request.args.get("connector"), True
    if request.args.get("too_large"):
        field_errors = {"file": [_too_large()]}
    if request.method == "POST":
        try:
            chosen, dry_run = request.form.get("connector", ""), bool(request.form.get("dry_run"))
            run = start_import(chosen, request.files.get("file"), dry_run, current_user.actor)
            return redirect(url_for("import_pages.imports_page", t=t, job=run.id))
        except RequestEntityTooLarge:
            field_errors, status = {"file": [_too_large()]}, 413
        except ServiceError as exc:
            unit_of_work.rollback()
            status = exc.status
            field_errors = {k: [localise(m) for m in (v if isinstance(v, list) else [v])]
                            for k, v in (exc.errors or {}).items() if k in ("file", "connector")}
            error = None if field_errors else localise(exc.message)
    run = get_run(request.args["job"]) if request.args.get("job") else None
    if run is not None and run.kind != "import":
        run = None
    result = dict(run.result or {}) if run is not None else None
    if result:
        result["errors"] = [{**e, "message": localise(e["message"])} for e in result.get("errors", [])]
        result["warnings"] = [{**e, "message": localise(e["message"])} for e in result.get("warnings", [])]
    recent = latest_runs(10, kind="import")
    return render_template("imports/admin.html", tenant=g.tenant, connectors=_connectors(), run=run,
                           result=result, error=error, field_errors=field_errors, chosen=chosen, dry_run=dry_run,
                           recent=recent, default_period=_last_month()), status


def _last_month() -> str:
    """The export's month picker starts on last month: the one whose scores are complete."""
    today = cal.local_today(g.tenant)
    return f"{today.year - (today.month == 1):04d}-{(today.month - 2) % 12 + 1:02d}"


def _too_large() -> str:
    megabytes = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 2**20
    return _("The file is larger than %(mb)s MB.", mb=megabytes)


@import_pages.errorhandler(RequestEntityTooLarge)
def _upload_too_large(error: RequestEntityTooLarge):
    """An upload over the limit is refused while the request is read (the CSRF check reads
    the form before the page runs): back to the form, with the error beside the file.
    The body was not read, so what was chosen is unknown and the form shows its defaults."""
    if request.endpoint == "import_pages.imports_page" and request.view_args:
        return redirect(url_for("import_pages.imports_page", t=request.view_args["t"], too_large=1), 303)
    from core.errors import handle_http_exception

    return handle_http_exception(error)


@import_pages.get("/t/<t>/admin/exports/<kind>")
@login_required
def export_page(t, kind):
    _admin()
    try:
        period = request.args.get("period") or None
        return export_response(kind, (month_input(period) or period) if period else None, request.args.get("year") or None,
                               "csv" if request.args.get("format") == "csv" else "xlsx")
    except ServiceError as exc:
        abort(exc.status if exc.status in (404, 422) else 400, localise(exc.message))


@import_pages.get("/t/<t>/admin/imports/templates/<connector>")
@login_required
def template_page(t, connector):
    _admin()
    import io

    from flask import send_file

    from core.imports.api import XLSX, enabled_connector
    from core.imports.templates import template_xlsx

    try:
        component = enabled_connector(connector)
    except ServiceError:
        abort(404)
    return send_file(io.BytesIO(template_xlsx(component)), mimetype=XLSX, as_attachment=True,
                     download_name=f"mau-{connector}.xlsx")
