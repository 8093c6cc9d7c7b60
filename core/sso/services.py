"""A tenant's single sign-on settings, and who an ID token signs in. No Flask request objects.

The settings are one row per tenant (`SsoConfig`); the client secret is encrypted before
it reaches the session (core/sso/crypto.py) and no answer ever carries it back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from core.audit.services import record
from core.auth.models import User
from core.auth.normalize import nfc
from core.auth.principal import Principal
from core.auth.services import LoginRefused, employment_ended, principal_for_user
from core.errors import Conflict, Invalid
from core.extensions import db
from core.org.models import Employee
from core.sso import crypto, oidc
from core.sso.models import SsoConfig
from core.tenancy import tenant_context, unscoped
from core.tenants.models import Tenant
from core.timeutil import utcnow

# A login made at first sign-on has no password: this is no argon2 hash, so no password
# ever matches it (core.auth.passwords.verify_password answers False).
NO_PASSWORD = "!sso"
FIELDS = ("enabled", "issuer", "client_id", "claim", "maps_to", "sso_only", "break_glass_username", "jit_create")


def current() -> SsoConfig | None:
    """The tenant in context's settings, or None."""
    return db.session.scalar(select(SsoConfig))


def view(cfg: SsoConfig | None, callback_url: str | None = None) -> dict[str, Any]:
    """The settings as the API and the page show them: never the secret, only that one is stored."""
    if cfg is None:
        return {"configured": False, "enabled": False, "callback_url": callback_url}
    out: dict[str, Any] = {name: getattr(cfg, name) for name in FIELDS}
    out.update(configured=True, client_secret_set=bool(cfg.client_secret_enc), updated_at=cfg.updated_at,
               updated_by=cfg.updated_by, callback_url=callback_url)
    return out


def _audit_view(cfg: SsoConfig | None) -> dict | None:
    return None if cfg is None else {name: getattr(cfg, name) for name in FIELDS}


def check_issuer(issuer: str, development: bool) -> list[str]:
    """Problems with an issuer URL; plain http only in development (a test provider on this machine)."""
    parts = urlsplit(issuer)
    problems = []
    if parts.scheme != "https" and not (development and parts.scheme == "http"):
        problems.append("The issuer must be an https:// address.")
    if not parts.hostname:
        problems.append("The issuer must name a host.")
    if parts.query or parts.fragment:
        problems.append("The issuer must have no query or fragment.")
    return problems


def save(data: dict[str, Any], actor: str, development: bool) -> SsoConfig:
    """Set the tenant's single sign-on (all fields; `client_secret` may be left out to keep
    the stored one). Raises Invalid naming each bad field; audited without the secret."""
    cfg = current()
    errors: dict[str, list[str]] = {}
    issuer_problems = check_issuer(data["issuer"], development)
    if issuer_problems:
        errors["issuer"] = issuer_problems
    secret = data.get("client_secret")
    if not secret and cfg is None:
        errors["client_secret"] = ["Required when single sign-on is set up for the first time."]
    break_glass = nfc(data["break_glass_username"]).strip() if data.get("break_glass_username") else None
    if data["sso_only"] and not break_glass:
        errors["break_glass_username"] = ["Required when passwords are turned off: the one administrator "
                                          "who may still sign in with a password."]
    elif break_glass:
        admin = db.session.scalar(select(User).where(User.username == break_glass))
        if admin is None or not admin.active or not admin.has_role("tenant_admin"):
            errors["break_glass_username"] = ["No active tenant administrator has this username."]
    if data["jit_create"] and data["maps_to"] != "employee_code":
        errors["jit_create"] = ["Creating logins at first sign-on needs the claim to carry the employee code, "
                                "so that every new login belongs to a person of the roster."]
    if errors:
        raise Invalid("The single sign-on settings are not valid.", errors)
    if secret and not crypto.key_configured():
        raise Conflict("CONGVU_SSO_KEY is not set on the server: the client secret cannot be stored.",
                       {"client_secret": ["The server has no key to encrypt it with."]}, code="sso_key_missing")
    before = _audit_view(cfg)
    if cfg is None:
        cfg = SsoConfig(updated_by=actor)
        db.session.add(cfg)
    old_issuer = cfg.issuer
    for name in FIELDS:
        setattr(cfg, name, data[name])
    cfg.break_glass_username = break_glass  # as logins are stored: NFC, no surrounding spaces
    if secret:
        cfg.client_secret_enc = crypto.encrypt(secret)
    cfg.updated_at, cfg.updated_by = utcnow(), actor
    db.session.flush()
    record("sso.settings_changed", "sso_config", cfg.id, before=before,
           after={**_audit_view(cfg), "client_secret_changed": bool(secret)}, actor=actor)
    for issuer in {old_issuer, cfg.issuer} - {None}:
        oidc.forget(issuer)  # a changed provider is read afresh at the next sign-on
    return cfg


def remove(actor: str) -> bool:
    """Turn single sign-on off for the tenant and forget its settings (passwords work again)."""
    cfg = current()
    if cfg is None:
        return False
    record("sso.settings_removed", "sso_config", cfg.id, before=_audit_view(cfg), actor=actor)
    db.session.delete(cfg)
    oidc.forget(cfg.issuer)
    return True


def passwords_off_for(username: str) -> bool:
    """True when the tenant in context signs in through single sign-on only and `username`
    is not its break-glass administrator."""
    cfg = db.session.execute(select(SsoConfig.enabled, SsoConfig.sso_only, SsoConfig.break_glass_username)).first()
    return bool(cfg and cfg.enabled and cfg.sso_only and nfc(username) != cfg.break_glass_username)


def sso_tenants() -> dict[str, str]:
    """Slug → name of the active tenants whose login page offers single sign-on (one query)."""
    with unscoped():
        rows = db.session.execute(select(Tenant.slug, Tenant.name).join(SsoConfig, SsoConfig.tenant_id == Tenant.id)
                                  .where(SsoConfig.enabled.is_(True), Tenant.status == "active")
                                  .order_by(Tenant.name))
        return {r.slug: r.name for r in rows}


def client(cfg: SsoConfig, timeout: float) -> oidc.Client:
    """The relying party's view of the settings, the secret decrypted (SecretUnavailable if it cannot be)."""
    return oidc.Client(cfg.issuer, cfg.client_id, crypto.decrypt(cfg.client_secret_enc), timeout)


def _claim_value(cfg: SsoConfig, claims: dict[str, Any]) -> str:
    value = claims.get(cfg.claim)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise oidc.SsoFailed("claim_missing", f"claim {cfg.claim!r} is missing or not a short string")
    return nfc(value.strip())


def sign_in(tenant: Tenant, cfg: SsoConfig, claims: dict[str, Any]) -> tuple[Principal, bool]:
    """The principal the validated claims stand for, in the tenant in context, and whether its
    login was just created. Raises SsoFailed("unknown_person") when nobody matches and the
    tenant does not create logins (nothing is written then), LoginRefused for a login that
    may not be used (deactivated, employment ended)."""
    value = _claim_value(cfg, claims)
    created = False
    if cfg.maps_to == "username":
        user = db.session.scalar(select(User).where(User.username == value))
        employee = db.session.scalar(select(Employee).where(Employee.user_id == user.id)) if user else None
    else:
        employee = db.session.scalar(select(Employee).where(Employee.code == value))
        user = employee.user if employee is not None else None
        if employee is not None and user is None and cfg.jit_create:
            if db.session.scalar(select(User.id).where(User.username == value)) is not None:
                raise oidc.SsoFailed("username_taken", f"a login named {value!r} belongs to someone else")
            user = User(username=value, password_hash=NO_PASSWORD, roles=["employee"])
            db.session.add(user)
            db.session.flush()
            employee.user_id = user.id
            created = True
    if user is None:
        raise oidc.SsoFailed("unknown_person", f"{cfg.claim}={value!r} matches no login")
    if not user.active:
        raise LoginRefused("account_deactivated", "This login is deactivated; ask your tenant administrator.")
    if employee is not None and employment_ended(employee.end_date, tenant.id):
        raise LoginRefused("employment_ended",
                           f"This login is closed: the employment ended on {employee.end_date.isoformat()}.")
    user.last_login_at = utcnow()
    principal = principal_for_user(user, employee.id if employee is not None else None)
    if created:
        record("auth.sso_login_created", "user", user.id,
               after={"username": user.username, "employee_id": employee.id, "roles": ["employee"],
                      "issuer": cfg.issuer, "subject": str(claims.get("sub"))}, actor=principal.actor)
    return principal, created


def record_failure(tenant_id: int, reason: str, address: str, claims_value: str | None = None) -> None:
    """A refused sign-on, in the tenant's log (no token, no secret: the reason and the address)."""
    after = {"reason": reason, "address": address}
    if claims_value:
        after["value"] = claims_value[:100]
    with tenant_context(tenant_id):
        record("auth.sso_failed", "user", None, after=after, actor=f"anonymous@{address}")
