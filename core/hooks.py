"""Request hooks: bind the tenant of the URL, and the security headers of every answer."""

from __future__ import annotations

from flask import Flask, g, request
from sqlalchemy import select

from core.auth.guards import OPERATOR_ENDPOINTS, api_principal, check_path_objects, tenant_member
from core.errors import abort
from core.extensions import db, login_manager
from core.tenancy.context import reset_tenant, set_tenant
from core.tenants.models import Tenant

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
# The interactive API docs are a third-party page that needs an inline start-up script.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")


def bind_tenant() -> None:
    """`t` in the URL names the tenant; an unknown slug is a 404 for everyone."""
    slug = (request.view_args or {}).get("t")
    if slug is None:
        return
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        abort(404, "Tenant not found.")
    g.tenant = tenant
    g.tenant_token = set_tenant(tenant.id)
    if request.path.startswith("/api/"):
        # Authenticate and check membership before the body is even validated, so a
        # stranger learns nothing (404) rather than which fields were wrong (422).
        principal = api_principal()
        if not (principal.is_operator and request.endpoint in OPERATOR_ENDPOINTS):
            tenant_member(principal)
            check_path_objects(request.view_args or {})


def release_tenant(exc: BaseException | None) -> None:
    token = g.pop("tenant_token", None)
    if token is not None:
        db.session.remove()  # end the transaction that carried this tenant's RLS settings
        reset_tenant(token)


def security_headers(response):
    docs = request.path.startswith("/api/docs")
    response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure or g.get("production"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def register(app: Flask) -> None:
    from core.auth.services import load_principal

    production = app.config["CONGVU_ENV"] == "production"

    @app.before_request
    def _mark_production():
        g.production = production

    app.before_request(bind_tenant)
    app.teardown_request(release_tenant)
    app.after_request(security_headers)
    login_manager.user_loader(load_principal)
