"""Pages shared by every role: the front door, the operator's home, API doc assets."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, send_from_directory, url_for
from flask_login import current_user, login_required

from core.tenants.services import all_tenants, slug_of, tenant_view

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
    return render_template("operator_home.html", tenants=[tenant_view(t) for t in all_tenants()])


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
