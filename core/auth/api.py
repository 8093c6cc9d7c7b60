"""POST /api/v1/auth/token and /api/v1/auth/revoke."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select

from core.audit.services import record
from core.auth import services
from core.auth.guards import api_principal, bearer_token
from core.auth.schemas import TokenRequest, TokenResponse
from core.errors import abort
from core.extensions import db, limiter
from core.tenancy import tenant_context
from core.tenants.models import Tenant

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens")


def account_key() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    body = body if isinstance(body, dict) else {}
    return f"login-account:{body.get('tenant')}:{str(body.get('username', '')).lower()}"


def _per_account() -> str:
    return current_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["CONGVU_LOGIN_LIMIT_PER_ADDRESS"]


def _failed(response) -> bool:
    return response.status_code == 401


@blp.route("/token", methods=["POST"])
@limiter.limit(_per_account, key_func=account_key, deduct_when=_failed)
@limiter.limit(_per_address, deduct_when=_failed)
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.alt_response(401, description="Wrong credentials")
@blp.alt_response(429, description="Too many failed attempts")
def issue(data):
    """Exchange a username and password for a bearer token (operators: `tenant` null)."""
    tenant = None
    if data["tenant"] is not None:
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == data["tenant"]))
    principal = None
    if tenant is not None or data["tenant"] is None:
        principal = services.authenticate(tenant, data["username"], data["password"])
    if principal is None:
        if tenant is not None:
            with tenant_context(tenant.id):
                record("auth.login_failed", "user", None, after={"username": data["username"],
                                                                 "address": request.remote_addr},
                       actor=f"anonymous@{request.remote_addr}")
            db.session.commit()
        abort(401, "Wrong tenant, username or password.", code="invalid_credentials")
    token, ttl = services.issue_token(principal, current_app.config["CONGVU_TOKEN_TTL_SECONDS"])
    if tenant is not None:
        with tenant_context(tenant.id):
            record("auth.login", "user", principal.id, after={"via": "api"}, actor=principal.actor)
    db.session.commit()
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


@blp.route("/revoke", methods=["POST"])
@blp.response(204)
def revoke():
    """Revoke the bearer token of this request."""
    api_principal()
    services.revoke_token(bearer_token() or "")
    db.session.commit()
