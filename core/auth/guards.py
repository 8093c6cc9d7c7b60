"""Who may call what. API requests authenticate with bearer tokens only, so the API
needs no CSRF protection; pages use the Flask-Login session and CSRF on every form."""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from core.auth.principal import Principal
from core.auth.services import resolve_token
from core.errors import abort

# Tenant routes a platform operator may call (e.g. merging tenants); every other
# tenant route answers an operator 403, since operators read no tenant's data.
OPERATOR_ENDPOINTS: set[str] = set()


# Path parameters that name a tenant's object, and the model to find it in: an id of
# another tenant (or of nothing) is a 404 before anything else, body validation included.
PATH_OBJECTS: dict[str, type] = {}


def path_object(param: str, model: type) -> None:
    """Declare that `<int:param>` in a tenant URL is the id of a `model` row."""
    PATH_OBJECTS[param] = model


def check_path_objects(view_args: dict) -> None:
    from core.extensions import db

    for name, value in view_args.items():
        model = PATH_OBJECTS.get(name)
        if model is not None and db.session.get(model, value) is None:
            abort(404, f"{model.__name__} not found.")


def allow_operator(endpoint: str) -> None:
    """Let operators reach the tenant route `endpoint` ("blueprint.ViewName")."""
    OPERATOR_ENDPOINTS.add(endpoint)


# What a person whose password was reset may still call before choosing a new one.
PASSWORD_CHANGE_ENDPOINTS: set[str] = {"auth.change_password", "auth.revoke"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def api_principal() -> Principal:
    """The caller of an API request, or 401."""
    if "principal" not in g:
        token = bearer_token()
        g.principal = resolve_token(token) if token else None
    if g.principal is None:
        abort(401, "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    if g.principal.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        abort(403, "Your password was reset: choose a new one with POST /api/v1/auth/password first.",
              code="password_change_required")
    return g.principal


def page_principal() -> Principal | None:
    return current_user if getattr(current_user, "is_authenticated", False) else None


def request_principal() -> Principal | None:
    """Who is making this request, without refusing anyone: the bearer token's principal
    on the API (never a session cookie there), the signed-in person on pages. The audit
    log names this principal for every write of the request (core.audit.services)."""
    if request.path.startswith("/api/"):
        if "principal" not in g:
            token = bearer_token()
            g.principal = resolve_token(token) if token else None
        return g.principal
    return page_principal()


def tenant_member(principal: Principal, *roles: str) -> Principal:
    """The caller must belong to the tenant of the URL (else 404, as if it did not exist)
    and hold one of `roles` when given (else 403). Operators read no tenant data."""
    tenant = g.get("tenant")
    if tenant is None:
        abort(404)
    if principal.is_operator:
        abort(403, "Platform operators do not read a tenant's data.")
    if principal.tenant_id != tenant.id:
        abort(404)
    if roles and not principal.has_role(*roles):
        abort(403)
    return principal


def operator_only(principal: Principal) -> Principal:
    if not principal.is_operator:
        abort(403, "Only a platform operator may do this.")
    return principal


def api_member(*roles: str) -> Principal:
    return tenant_member(api_principal(), *roles)


def can_write(principal: Principal) -> bool:
    """Auditors read the whole tenant and write nothing."""
    return not (principal.has_role("auditor") and not principal.has_role("tenant_admin", "manager", "employee"))
