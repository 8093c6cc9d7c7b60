"""Pages shared by every role: the front door, the operator's home, API doc assets."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from core import unit_of_work
from core.admin.forms import field_errors
from core.errors import ServiceError
from core.jobs import runner
from core.messages import localise
from core.tenants import suspension
from core.tenants.schemas import TenantSchema
from core.tenants.services import all_tenants, create_with_admin, find_tenant, slug_of, tenant_view

pages = Blueprint("pages", __name__)


@pages.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth_pages.login"))
    if current_user.is_operator:
        return redirect(url_for("pages.operator_home"))
    return redirect(url_for("org_pages.home", t=slug_of(current_user.tenant_id)))


@pages.get("/operator/")
@login_required
def operator_home():
    if not current_user.is_operator:
        abort(403)
    tenants = [tenant_view(t) | ({"suspended_since": suspension.since_text(t), "suspended_reason": t.suspended_reason}
                                 if t.status == "suspended" else {}) for t in all_tenants()]
    return render_template("operator_home.html", tenants=tenants)


@pages.get("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico on documents without an icon link (a JSON or an
    # error answered outside the layout); the layout's icon is the same SVG.
    return send_from_directory(Path(current_app.static_folder), "favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)


def register_swagger_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the swagger-ui-bundle package: no CDN."""
    import swagger_ui_bundle

    folder = swagger_ui_bundle.swagger_ui_path

    @app.get("/api/docs/static/<path:filename>")
    def swagger_asset(filename: str):
        return send_from_directory(folder, filename, max_age=86400)


USERNAME = r"^[A-Za-z0-9._-]{1,64}$"


@pages.route("/operator/tenants/new", methods=["GET", "POST"])
@login_required
def operator_tenant_new():
    """"Thêm tỉnh": a tenant, its communes (from a province code) and its first tenant
    admin, whose temporary password is shown once, as after a password reset."""
    if not current_user.is_operator:
        abort(403)
    raw = {k: request.form.get(k, "").strip() for k in ("slug", "name", "province_code", "username")}
    raw["username"] = raw["username"] or ("admin" if request.method == "GET" else "")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {k: raw[k] for k in ("slug", "name") if raw[k]}
        if raw["province_code"]:
            data["province_code"] = raw["province_code"]
        try:
            data = TenantSchema().load(data)
        except ValidationError as exc:
            errors = field_errors(exc.messages)
        if not re.fullmatch(USERNAME, raw["username"]):
            errors["username"] = [_("1–64 letters, digits, '.', '_' or '-'.")]
        if not errors:
            try:
                tenant, units, password = create_with_admin(data["slug"], data["name"], data.get("province_code"),
                                                            unicodedata.normalize("NFC", raw["username"]))
                unit_of_work.commit()
                return render_template("operator_tenant_created.html", tenant=tenant, units=units,
                                       username=raw["username"], password=password)
            except ServiceError as exc:
                unit_of_work.rollback()
                errors = {k: [localise(m) for m in (v if isinstance(v, list) else [v])]
                          for k, v in (exc.errors or {}).items()} or {"_": [localise(exc.message)]}
    return render_template("operator_tenant_new.html", raw=raw, errors=errors), 422 if errors else 200


@pages.route("/operator/tenants/<slug>/suspend", methods=["GET", "POST"])
@login_required
def operator_tenant_suspend(slug: str):
    """"Tạm ngừng": the operator gives the reason and confirms; nothing of the tenant's
    data is touched (core/tenants/suspension.py)."""
    if not current_user.is_operator:
        abort(403)
    tenant = find_tenant(slug)
    if tenant is None:
        abort(404)
    raw = {"reason": request.form.get("reason", "").strip(), "confirm": request.form.get("confirm", "")}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not raw["reason"]:
            errors["reason"] = [_("Give the reason for the suspension.")]
        if raw["confirm"] != "yes":
            errors["confirm"] = [_("Tick the box to confirm the suspension.")]
        status = 422
        if not errors:
            try:
                suspension.suspend(slug, raw["reason"])
                unit_of_work.commit()
                return redirect(url_for("pages.operator_home"))
            except ServiceError as exc:
                unit_of_work.rollback()
                errors = {k: [localise(m) for m in (v if isinstance(v, list) else [v])]
                          for k, v in (exc.errors or {}).items()} or {"_": [localise(exc.message)]}
                status = exc.status
    return render_template("operator_tenant_suspend.html", tenant=tenant, raw=raw, errors=errors), status


@pages.post("/operator/tenants/<slug>/resume")
@login_required
def operator_tenant_resume(slug: str):
    """"Mở lại": the tenant is back as it was; a tenant not suspended is a 409."""
    if not current_user.is_operator:
        abort(403)
    try:
        tenant, requeued = suspension.resume(slug)
        unit_of_work.commit()
    except ServiceError as exc:
        unit_of_work.rollback()
        abort(exc.status, localise(exc.message))
    runner.send(tenant.id, requeued)  # the jobs refused while suspended, once the resume is committed
    return redirect(url_for("pages.operator_home"))
