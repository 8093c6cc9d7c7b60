"""POST /api/v1/auth/token, /api/v1/auth/revoke and /api/v1/auth/password; a tenant
admin's POST /api/v1/tenants/{t}/employees/{id}/password-reset."""

from __future__ import annotations

from flask import current_app, g, request
from flask_smorest import Blueprint

from core import unit_of_work
from core.audit.services import record
from core.auth import services
from core.auth.guards import api_member, api_principal, bearer_token
from core.auth.normalize import nfc
from core.auth.schemas import PasswordChange, PasswordReset, PasswordResetResult, TokenRequest, TokenResponse
from core.auth.throttle import throttle
from core.errors import Conflict, abort
from core.extensions import limiter
from core.org.services import find_employee
from core.tenancy import tenant_context
from core.tenants.services import find_tenant

# One blueprint for /auth/… and the tenant admin's password reset under /tenants/<t>/…
blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Logins, tokens and passwords")


def _per_account() -> str:
    return current_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["CONGVU_LOGIN_LIMIT_PER_ADDRESS"]


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.alt_response(401, description="Wrong credentials")
@blp.alt_response(403, description="Right password, but the login is deactivated or the employment has ended; "
                                   "or the tenant signs in through single sign-on only (`sso_only`)")
@blp.alt_response(423, description="The tenant is suspended by the platform operator (`tenant_suspended`)")
@blp.alt_response(429, description="Too many failed attempts (Retry-After says how long to wait)")
def issue(data):
    """Exchange a username and password for a bearer token (operators: `tenant` null).
    Failed attempts are throttled together with the login page's (core/auth/throttle.py)."""
    username, address = nfc(data["username"]), request.remote_addr or "-"
    gate = throttle()
    refusal = gate.check(data["tenant"], username, address)
    if refusal is not None:
        abort(429, "Too many failed attempts; try again later.", code="rate_limited",
              headers={"Retry-After": str(refusal.retry_after)})
    tenant = None
    if data["tenant"] is not None:
        tenant = find_tenant(data["tenant"])
    principal = None
    try:
        if tenant is not None or data["tenant"] is None:
            principal = services.authenticate(tenant, username, data["password"])
    except services.LoginRefused as exc:
        if exc.code == "tenant_suspended":  # no password was checked: nothing to clear
            abort(423, exc.message, code=exc.code)
        if exc.code != "sso_only":  # no password was checked for sso_only: nothing to clear
            gate.succeeded(data["tenant"], username, address)  # the password was right: no guessing here
        abort(403, exc.message, code=exc.code)
    if principal is None:
        gate.failed(data["tenant"], username, address)
        if tenant is not None:
            with tenant_context(tenant.id):
                record("auth.login_failed", "user", None, after={"username": username,
                                                                 "address": request.remote_addr},
                       actor=f"anonymous@{request.remote_addr}")
            unit_of_work.commit()
        abort(401, "Wrong tenant, username or password.", code="invalid_credentials")
    gate.succeeded(data["tenant"], username, address)
    token, ttl = services.issue_token(principal, current_app.config["CONGVU_TOKEN_TTL_SECONDS"])
    if tenant is not None:
        # The person's own tenant: signing in through a merged tenant's old address
        # lands in the tenant the person now belongs to.
        with tenant_context(principal.tenant_id or tenant.id):
            record("auth.login", "user", principal.id, after={"via": "api"}, actor=principal.actor)
    unit_of_work.commit()
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


@blp.route("/auth/revoke", methods=["POST"])
@blp.response(204)
def revoke():
    """Revoke the bearer token of this request (audited as `auth.logout`, like the page's
    logout, naming the token's owner)."""
    principal = api_principal()
    # The page's logout is audited; the API's was not, so a trail could show a login and
    # never its end. Operators have no tenant chain to record in (the page does the same).
    if services.revoke_token(bearer_token() or "") and not principal.is_operator:
        with tenant_context(principal.tenant_id):
            record("auth.logout", "user", principal.id, after={"via": "api"}, actor=principal.actor)
    unit_of_work.commit()


def _changer_key() -> str:
    """Failed password changes count per account (the token's owner), like failed logins."""
    principal = g.get("principal")
    if principal is None:
        token = bearer_token()
        principal = services.resolve_token(token) if token else None
    if principal is None:
        return "password-change:anonymous"
    return f"password-change:{principal.kind}:{principal.tenant_id}:{principal.id}"


def _change_failed(response) -> bool:
    return response.status_code in (401, 422)


@blp.route("/auth/password", methods=["POST"])
@limiter.limit(_per_account, key_func=_changer_key, deduct_when=_change_failed)
@limiter.limit(_per_address, deduct_when=_change_failed)
@blp.arguments(PasswordChange)
@blp.response(204)
@blp.alt_response(422, description="Wrong current password, or the new one breaks the password policy")
@blp.alt_response(429, description="Too many failed attempts")
def change_password(data):
    """Change my own password (the current one, then the new one). The only call, with
    /auth/revoke, allowed while a reset password must be changed; clears that flag.
    Every other token and session of mine ends; this token stays valid."""
    principal = api_principal()
    services.change_password(principal, data["current_password"], data["new_password"], keep_token=bearer_token())
    unit_of_work.commit()


@blp.route("/tenants/<t>/employees/<int:employee_id>/password-reset", methods=["POST"])
@blp.arguments(PasswordReset)
@blp.response(200, PasswordResetResult)
@blp.alt_response(409, description="The person has no login")
def reset_password(data, t, employee_id):
    """Reset the password of a person's login (tenant admin): a temporary password, given
    (checked by the password policy) or generated and returned once; the person must
    change it at the next login, and their tokens and sessions end. Audited, without
    the password."""
    principal = api_member("tenant_admin")
    employee = find_employee(employee_id)
    if employee is None or employee.user is None:
        raise Conflict("This person has no login.", {"employee_id": ["No login to reset."]}, code="no_login")
    user = employee.user
    password, revoked = services.reset_password(user, data["password"], principal.actor)
    unit_of_work.commit()
    throttle().forget_account(t, user.username)
    result = {"employee_id": employee_id, "username": user.username, "temporary_password": password,
              "must_change_password": True, "tokens_revoked": revoked}
    return result, 200, {"Cache-Control": "no-store"}
