"""Request hooks: bind the tenant of the URL, and the security headers of every answer."""

from __future__ import annotations

from flask import Flask, g, redirect, request
from sqlalchemy import bindparam, func, literal_column, select, true

from core.auth.guards import OPERATOR_ENDPOINTS, api_principal, check_path_objects, tenant_member
from core.errors import abort
from core.extensions import db, login_manager
from core.ids import MAX_ID
from core.tenancy import rls
from core.tenancy.context import current_tenant_id, is_unscoped, reset_tenant, set_tenant
from core.tenants import config_cache
from core.tenants.models import Tenant

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
# The interactive API docs are a third-party page that needs an inline start-up script.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")


def ids_in_range() -> None:
    """An id in the path beyond BIGINT names nothing: 404 (the database would refuse it)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            abort(404)


# Built once: this runs on every tenant request. `tenants` is a platform table, so the
# ORM's tenant filter has nothing to add to it (congvu_unscoped skips building one).
_TENANT_BY_SLUG = select(Tenant).where(Tenant.slug == bindparam("slug")).execution_options(congvu_unscoped=True)
# On PostgreSQL, once a process has seen a slug: the tenant row and its RLS settings in
# one round trip instead of two. The row must still carry both the slug and the id the
# settings name, so the settings are exactly the tenant whose row the request uses, and
# a renamed, deleted or re-used slug returns no row (set_config runs only for a row the
# WHERE kept) and takes the path above. LOCAL settings: they die with the transaction.
_TENANT_WITH_SETTINGS = select(
    Tenant, *(func.set_config(literal_column(f"'{name}'"), bindparam(param), true())
              for name, param in (("app.tenant_id", "s_tid"), ("app.unscoped", "s_uns"), ("app.rls_sig", "s_sig"))),
).where(Tenant.slug == bindparam("slug"), Tenant.id == bindparam("tid")).execution_options(congvu_unscoped=True)
# slug → tenant id, as last read in this process; only a guess, checked by the statement.
_SLUG_IDS: dict[str, int] = {}
MAX_SLUGS = 4096


def _tenant_of(slug: str) -> Tenant | None:
    """The tenant named `slug`; on PostgreSQL with its RLS settings already applied when
    the slug is known to this process (saving the settings' own statement)."""
    session = db.session()
    tid = _SLUG_IDS.get(slug)
    if tid is not None and current_tenant_id() is None and not is_unscoped():
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            settings = rls.signed_settings(conn, tid)
            row = session.execute(_TENANT_WITH_SETTINGS, {
                "slug": slug, "tid": tid, "s_tid": settings["tid"], "s_uns": settings["uns"],
                "s_sig": settings["sig"]}).first()
            if row is not None:
                rls.applied_by_statement(session, tid)
                return row[0]
            _SLUG_IDS.pop(slug, None)
            session.rollback()  # no row, so nothing was set: still, start the read below afresh
    tenant = session.scalar(_TENANT_BY_SLUG, {"slug": slug})
    if tenant is not None:
        if len(_SLUG_IDS) >= MAX_SLUGS:
            _SLUG_IDS.clear()
        _SLUG_IDS[slug] = tenant.id
    return tenant


def bind_tenant() -> None:
    """`t` in the URL names the tenant; an unknown slug is a 404 for everyone."""
    slug = (request.view_args or {}).get("t")
    if slug is None:
        return
    tenant = _tenant_of(slug)
    if tenant is None:
        abort(404, "Tenant not found.")
    if tenant.status == "merged" and tenant.merged_into_id is not None:
        db.session.rollback()  # the settings the read may have applied are not this request's
        return _merged_tenant(tenant, slug)
    if tenant.status == "suspended":
        return _suspended_tenant(tenant)
    g.tenant, g.tenant_slug = tenant, tenant.slug
    config_cache.bind(tenant.id, tenant.config_stamp)
    g.tenant_token = set_tenant(tenant.id)
    if request.path.startswith("/api/"):
        # Authenticate and check membership before the body is even validated, so a
        # stranger learns nothing (404) rather than which fields were wrong (422).
        principal = api_principal()
        if not (principal.is_operator and request.endpoint in OPERATOR_ENDPOINTS):
            tenant_member(principal)
            check_path_objects(request.view_args or {})


def _merged_tenant(tenant: Tenant, slug: str):
    """A merged tenant is read-only and lives on in its target: pages redirect there
    (308 keeps the method); the API answers 409 naming the target, so a client learns
    where to go instead of silently writing somewhere else (docs/mergers.md)."""
    target = db.session.get(Tenant, tenant.merged_into_id)
    if request.path.startswith("/api/"):
        abort(409, f"Tenant {slug} was merged into {target.slug}; use /api/v1/tenants/{target.slug}/.",
              {"tenant": [f"Merged into {target.slug}."]}, code="tenant_merged")
    prefix = f"/t/{slug}"
    path = request.full_path if request.query_string else request.path
    return redirect(f"/t/{target.slug}" + path[len(prefix):] if path.startswith(prefix) else f"/t/{target.slug}/",
                    code=308)


def _suspended_tenant(tenant: Tenant):
    """A suspended tenant answers 423 Locked to everyone: its data are there but locked
    by the operator's decision. Not 503: that says the server is failing for a while,
    which sets off uptime alarms and makes clients retry on their own; nothing here gets
    better by retrying. Its data are handed back, if need be, with `congvu tenant export`."""
    from flask import make_response, render_template

    from core.tenants.suspension import contact, since_text

    since, name, slug = since_text(tenant), tenant.name, tenant.slug
    db.session.rollback()  # the settings the read may have applied are not this request's
    if request.path.startswith("/api/"):
        abort(423, f"Tenant {slug} is suspended since {since}; contact the platform operator.",
              code="tenant_suspended")
    return make_response(render_template("tenant_suspended.html", name=name, since=since, contact=contact()), 423)


# Endpoints outside /t/<tenant>/ that anyone may reach whatever their province's state:
# files, health and the API's description hold no tenant's data, and ending a session
# (logging out) must always work; signing in again is refused by the login itself, with
# the same words.
_ANY_PRINCIPAL = frozenset({"static", "admin_pages.static", "plugin_pages.static", "pages.favicon", "swagger_asset",
                            "observability.healthz", "observability.metrics", "api-docs.openapi_json",
                            "api-docs.openapi_swagger_ui", "auth_pages.login", "auth_pages.logout"})


def refuse_suspended_principal():
    """A person of a suspended tenant who signed in (or got a token) before the
    suspension: the pages and API outside /t/<tenant>/ (the front door, the change of
    password, /api/v1/auth/password, …) answer 423 with the same words as the tenant's
    own, instead of carrying on as if nothing happened. Under /t/<tenant>/ bind_tenant
    has already answered. The operator has no tenant and passes."""
    if request.endpoint is None or request.endpoint in _ANY_PRINCIPAL or "t" in (request.view_args or {}):
        return None
    from core.auth.guards import bearer_token, page_principal
    from core.auth.services import live_token_tenant_id

    if request.path.startswith("/api/"):
        # A token of a suspended tenant resolves to no one (401): say why instead.
        token = bearer_token()
        tenant_id = live_token_tenant_id(token) if token else None
    else:
        tenant_id = getattr(page_principal(), "tenant_id", None)
    if tenant_id is None:
        return None
    tenant = db.session.get(Tenant, tenant_id, execution_options={"congvu_unscoped": True})
    if tenant is not None and tenant.status == "suspended":
        return _suspended_tenant(tenant)
    return None


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

    app.before_request(ids_in_range)
    app.before_request(bind_tenant)
    app.before_request(refuse_suspended_principal)
    app.teardown_request(release_tenant)
    app.after_request(security_headers)
    login_manager.user_loader(load_principal)
