"""Signing in through the tenant's provider (/t/<t>/sso/login → the provider →
/t/<t>/sso/callback), and the tenant admin's "Đăng nhập một lần (SSO)" page.

The attempt (state, nonce, PKCE verifier) waits in the signed session cookie, which is
SameSite=Lax: the provider's redirect back is a top-level GET, so the cookie comes along.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user

from core import unit_of_work
from core.admin.forms import load, raw_input, service_errors
from core.admin.views import admin_pages
from core.audit.services import record
from core.auth.services import LoginRefused
from core.errors import ServiceError
from core.sso import crypto, oidc, services
from core.sso.api import callback_url, development
from core.sso.models import MAPS_TO
from core.sso.schemas import SsoSettingsIn

log = logging.getLogger(__name__)

sso_pages = Blueprint("sso_pages", __name__, template_folder="templates")
SESSION_KEY = "congvu_sso"

# What the person is told for each refusal; the reason itself goes to the audit log.
_CHECK_FAILED = _l("The identity sent back by the single sign-on server could not be verified. "
                   "Try again, or tell your tenant administrator if it keeps happening.")
_START_AGAIN = _l("This sign-on attempt has expired or does not belong to this browser; start again.")
_REASONS = {
    "provider_unreachable": (_l("The single sign-on server does not answer; try again in a few minutes."), 502),
    "provider_refused": (_l("The single sign-on server did not sign you in."), 401),
    "no_attempt": (_START_AGAIN, 400), "bad_state": (_START_AGAIN, 400), "attempt_expired": (_START_AGAIN, 400),
}


def _client(cfg):
    return services.client(cfg, float(current_app.config["CONGVU_SSO_HTTP_TIMEOUT"]))


def _refused(message: str, status: int):
    return render_template("sso/refused.html", tenant=g.tenant, message=message), status


def _settings_broken():
    log.error("single sign-on of tenant %s: the client secret cannot be decrypted (CONGVU_SSO_KEY)", g.tenant.slug)
    return _refused(_("Single sign-on of this organisation is misconfigured; tell your tenant administrator."), 503)


@sso_pages.get("/t/<t>/sso/login")
def login(t):
    """Send the browser to the tenant's provider."""
    cfg = services.current()
    if cfg is None or not cfg.enabled:
        abort(404)
    try:
        url, attempt = oidc.begin(_client(cfg), callback_url(g.tenant.slug))
    except crypto.SecretUnavailable:
        return _settings_broken()
    except oidc.SsoFailed as exc:
        log.warning("single sign-on of tenant %s: %s", g.tenant.slug, exc)
        return _refused(*_REASONS["provider_unreachable"])
    session[SESSION_KEY] = {**attempt, "tenant": g.tenant.slug}
    return redirect(url)


def _failure(reason: str, value: str | None = None):
    message, status = _REASONS.get(reason, (_CHECK_FAILED, 401))
    if reason == "unknown_person":
        message, status = _("Your single sign-on account (%(value)s) is not linked to anyone in %(tenant)s. "
                            "Ask your tenant administrator to add your login.", value=value, tenant=g.tenant.name), 403
    elif reason == "username_taken":
        message, status = _("A login named %(value)s already belongs to someone else in %(tenant)s, so none was "
                            "created for you; tell your tenant administrator.", value=value, tenant=g.tenant.name), 403
    elif reason == "claim_missing":
        message, status = _("The single sign-on server did not say who you are in the way %(tenant)s expects; "
                            "tell your tenant administrator.", tenant=g.tenant.name), 403
    return _refused(message, status)


@sso_pages.get("/t/<t>/sso/callback")
def callback(t):
    """The provider sends the browser back here with a code: check everything, then sign in."""
    attempt = session.pop(SESSION_KEY, None)
    if attempt is not None and attempt.get("tenant") != g.tenant.slug:
        attempt = None  # an attempt begun for another tenant proves nothing here
    cfg = services.current()
    if cfg is None or not cfg.enabled:
        abort(404)
    address = request.remote_addr or "-"
    value = None
    try:
        claims = oidc.finish(_client(cfg), attempt, request.args.to_dict(), callback_url(g.tenant.slug))
        value = str(claims.get(cfg.claim, ""))[:100] or None
        principal, _created = services.sign_in(g.tenant, cfg, claims)
    except crypto.SecretUnavailable:
        return _settings_broken()
    except oidc.SsoFailed as exc:
        unit_of_work.rollback()  # a login half-made for an unknown person is not kept
        log.info("single sign-on of tenant %s refused: %s", g.tenant.slug, exc)
        services.record_failure(g.tenant.id, exc.reason, address, value)
        unit_of_work.commit()
        return _failure(exc.reason, value)
    except LoginRefused as exc:
        unit_of_work.rollback()
        services.record_failure(g.tenant.id, exc.code, address, value)
        unit_of_work.commit()
        return _refused(_("This login is deactivated; ask your tenant administrator.")
                        if exc.code == "account_deactivated" else _("This login is closed: your employment has ended."),
                        403)
    record("auth.login", "user", principal.id, after={"via": "sso", "issuer": cfg.issuer}, actor=principal.actor)
    unit_of_work.commit()
    login_user(principal)
    return redirect(url_for("pages.index"))


# ---------------------------------------------------------------- the tenant admin's page

# What the service and schema answer, so the page and `?lang=vi` show them translated
# (and extraction keeps them).
SERVICE_MESSAGES = (
    _l("The issuer must be an https:// address."), _l("The issuer must name a host."),
    _l("The issuer must have no query or fragment."), _l("Required when single sign-on is set up for the first time."),
    _l("Required when passwords are turned off: the one administrator who may still sign in with a password."),
    _l("No active tenant administrator has this username."),
    _l("Creating logins at first sign-on needs the claim to carry the employee code, so that every new login "
       "belongs to a person of the roster."),
    _l("The single sign-on settings are not valid."),
    _l("CONGVU_SSO_KEY is not set on the server: the client secret cannot be stored."),
    _l("The server has no key to encrypt it with."),
    _l("This organisation signs in through single sign-on only; use the single sign-on button."),
    _l("A claim name: 1–64 letters, digits or _ . : -."),
)

MAPS_TO_LABELS = {"username": _l("Username of the login"), "employee_code": _l("Employee code")}


def _admin() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    if not current_user.has_role("tenant_admin"):
        abort(403)


def _render(values: dict, errors: dict, status: int = 200, saved: bool = False):
    cfg = services.current()
    return render_template("sso/admin.html", tenant=g.tenant, values=values, errors=errors, saved=saved,
                           view=services.view(cfg, callback_url(g.tenant.slug)),
                           maps_to_options=[(k, str(MAPS_TO_LABELS[k])) for k in MAPS_TO],
                           https_only=not development()), status


@admin_pages.route("/t/<t>/admin/sso", methods=["GET", "POST"])
@login_required
def sso(t):
    """"Đăng nhập một lần (SSO)": the provider, the claim mapping, passwords off, first sign-on."""
    _admin()
    if request.method == "GET":
        cfg = services.current()
        values = services.view(cfg) if cfg else {"claim": "preferred_username", "maps_to": "username", "enabled": True}
        return _render(values, {}, saved=request.args.get("saved") == "1")
    if request.form.get("remove"):
        services.remove(current_user.actor)
        unit_of_work.commit()
        return redirect(url_for("admin_pages.sso", t=t, saved="1"))
    schema = SsoSettingsIn()
    data, errors = load(schema, raw_input(schema, request.form))
    if not errors:
        try:
            services.save(data, current_user.actor, development())
        except ServiceError as exc:
            unit_of_work.rollback()
            errors = service_errors(exc)
        else:
            unit_of_work.commit()
            return redirect(url_for("admin_pages.sso", t=t, saved="1"))
    values = {k: v for k, v in request.form.items() if k not in ("client_secret", "csrf_token")}
    for name in ("enabled", "sso_only", "jit_create"):
        values[name] = bool(request.form.get(name))
    return _render(values, errors, 422)
