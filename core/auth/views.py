"""Login and logout pages (session login with CSRF); changing one's password (forced
after a reset); the tenant admin's list of logins with a password reset button."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import or_, select

from core import unit_of_work
from core.audit.services import record
from core.auth import services
from core.auth.forms import LoginForm, PasswordChangeForm
from core.auth.models import User
from core.auth.normalize import nfc, search_term
from core.auth.services import authenticate
from core.auth.throttle import throttle
from core.errors import Invalid
from core.extensions import db, limiter
from core.messages import localise
from core.org.models import Employee
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.tenants.suspension import suspended_message

auth_pages = Blueprint("auth_pages", __name__, template_folder="templates")

OPERATOR = "__operator__"


@auth_pages.route("/login", methods=["GET", "POST"])
def login():
    """The login page; failed attempts are throttled together with the API's
    (core/auth/throttle.py): one count per account whichever way it is tried."""
    form = LoginForm()
    # A suspended province stays in the list: its people choose it and are told why they
    # cannot sign in (core/tenants/suspension.py), rather than not finding it.
    tenants = db.session.scalars(select(Tenant).where(Tenant.status.in_(("active", "suspended")))
                                 .order_by(Tenant.name)).all()
    form.tenant.choices = [(t.slug, t.name) for t in tenants] + [(OPERATOR, _("Platform operator"))]
    if request.method == "GET" and request.args.get("t"):
        form.tenant.data = request.args["t"]
    if not form.validate_on_submit():
        return (render_template("auth/login.html", form=form, sso=_sso_choices(form.tenant.data)),
                400 if request.method == "POST" else 200)
    slug = None if form.tenant.data == OPERATOR else form.tenant.data
    username, address = nfc(form.username.data), request.remote_addr or "-"
    gate = throttle()
    refusal = gate.check(slug, username, address)
    if refusal is not None:
        minutes = max(1, -(-refusal.retry_after // 60))
        response = make_response(render_template("auth/login.html", form=form, refused=_(
            "Too many failed attempts. Try again in %(minutes)s minute(s).", minutes=minutes)), 429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    tenant = next((t for t in tenants if t.slug == form.tenant.data), None)
    try:
        principal = authenticate(tenant, username, form.password.data)
    except services.LoginRefused as exc:
        if exc.code == "tenant_suspended":
            return render_template("auth/login.html", form=form, refused=suspended_message(tenant)), 423
        if exc.code == "sso_only":
            return render_template("auth/login.html", form=form, refused=_(
                "%(tenant)s signs in through single sign-on only: use the button below.", tenant=tenant.name),
                sso=_sso_choices(form.tenant.data)), 403
        gate.succeeded(slug, username, address)
        message = (_("This login is deactivated; ask your tenant administrator.") if exc.code == "account_deactivated"
                   else _("This login is closed: your employment has ended."))
        return render_template("auth/login.html", form=form, refused=message), 403
    if principal is None:
        gate.failed(slug, username, address)
        if tenant is not None:
            with tenant_context(tenant.id):
                record("auth.login_failed", "user", None,
                       after={"username": username, "address": request.remote_addr},
                       actor=f"anonymous@{request.remote_addr}")
        unit_of_work.commit()
        return render_template("auth/login.html", form=form, failed=True, sso=_sso_choices(form.tenant.data)), 401
    gate.succeeded(slug, username, address)
    if tenant is not None:
        # The person's own tenant: signing in through a merged tenant's old address
        # lands in the tenant the person now belongs to.
        with tenant_context(principal.tenant_id or tenant.id):
            record("auth.login", "user", principal.id, after={"via": "page"}, actor=principal.actor)
    unit_of_work.commit()
    login_user(principal)
    return redirect(url_for("pages.index"))


def _sso_choices(slug: str | None) -> dict[str, str]:
    """The single sign-on buttons to show: the chosen tenant's alone when it has one, else
    every tenant's that offers it (slug → name)."""
    from core.sso.services import sso_tenants

    offered = sso_tenants()
    if slug in offered:
        return {slug: offered[slug]}
    return offered


@auth_pages.post("/logout")
def logout():
    # A POST with the CSRF token, so another site cannot log people out. Every session of
    # this login ends on the server side (services.end_sessions), not just this cookie.
    if getattr(current_user, "is_authenticated", False):
        services.end_sessions(current_user._get_current_object())
        unit_of_work.commit()
    logout_user()
    return redirect(url_for("auth_pages.login"))


# ---------------------------------------------------------------- password change

# The services' field messages, so pages can show them translated (and extraction keeps them).
_SERVICE_MESSAGES = (
    _l("Password must have at least 12 characters."), _l("Password must have at most 128 characters."),
    _l("Password must not be only spaces."),
    _l("Password is too common."), _l("Password must not be the username."),
    _l("The new password must differ from the current one."), _l("Wrong password."),
)
# Pages a person whose password was reset may open before choosing a new one.
_OPEN_WHILE_RESET = {"auth_pages.change_password", "auth_pages.logout", "auth_pages.login", "static"}


@auth_pages.before_app_request
def _password_change_first():
    """After a reset, every page leads to "Đổi mật khẩu" until the password is changed
    (the API answers 403 password_change_required; see guards.api_principal)."""
    if request.path.startswith(("/api/", "/static/", "/healthz", "/metrics")) or request.endpoint in _OPEN_WHILE_RESET:
        return None
    if not getattr(current_user, "is_authenticated", False) or not current_user.must_change_password:
        return None
    target = url_for("auth_pages.change_password")
    if request.headers.get("HX-Request"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _page_changer_key() -> str:
    who = current_user.get_id() if getattr(current_user, "is_authenticated", False) else "anonymous"
    return "password-change:" + ":".join(who.split(":")[:3])


def _page_change_failed(response) -> bool:
    return response.status_code == 422


@auth_pages.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"], key_func=_page_changer_key,
               methods=["POST"], deduct_when=_page_change_failed)
@limiter.limit(lambda: current_app.config["CONGVU_LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_page_change_failed)
def change_password():
    """"Đổi mật khẩu": the current password, the new one twice."""
    form = PasswordChangeForm()
    forced = bool(current_user.must_change_password)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                principal = services.change_password(current_user._get_current_object(), form.current_password.data,
                                                     form.new_password.data)
            except Invalid as exc:
                db.session.rollback()
                for name, messages in exc.errors.items():
                    field = getattr(form, name, None)
                    if field is not None:
                        field.errors = [localise(m) for m in messages]
            else:
                unit_of_work.commit()
                login_user(principal)  # this session carries the new password's stamp; the others end
                return redirect(url_for("pages.index"))
        return render_template("auth/password.html", form=form, forced=forced), 422
    return render_template("auth/password.html", form=form, forced=forced)


# ---------------------------------------------------------------- logins (tenant admin)

LOGINS_PAGE_SIZE = 25


def _tenant_admin() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    if not current_user.has_role("tenant_admin"):
        abort(403)


def _logins(q: str, page: int = 1) -> tuple[list, int]:
    from sqlalchemy import func

    stmt = (select(User.id, User.username, User.roles_csv, User.active, User.must_change_password,
                   User.last_login_at, Employee.id.label("employee_id"), Employee.code, Employee.full_name)
            .outerjoin(Employee, Employee.user_id == User.id).order_by(User.username))
    if q:  # marks or not: "nguyen" finds "Nguyễn", on the rows' stored keys
        term = search_term(q)
        stmt = stmt.where(or_(User.search_key.contains(term, autoescape=True),
                              Employee.search_key.contains(term, autoescape=True)))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(db.session.execute(stmt.limit(LOGINS_PAGE_SIZE).offset((page - 1) * LOGINS_PAGE_SIZE))), total


@auth_pages.get("/t/<t>/admin/users")
@login_required
def logins(t):
    """"Tài khoản đăng nhập": every login of the tenant, with a password reset button."""
    _tenant_admin()
    q = nfc(request.args.get("q", "")).strip()[:100]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    rows, total = _logins(q, page)
    pages = max(1, -(-total // LOGINS_PAGE_SIZE))
    if page > pages:  # past the last page (the list shrank): show the last one
        page = pages
        rows, total = _logins(q, page)
    return render_template("auth/users.html", tenant=g.tenant, rows=rows, total=total, q=q, page=page,
                           pages=pages, page_size=LOGINS_PAGE_SIZE)


@auth_pages.post("/t/<t>/admin/users/<int:user_id>/password-reset")
@login_required
def reset_password_page(t, user_id):
    """Reset a login's password to a generated one, shown once (htmx fragment, or the page)."""
    _tenant_admin()
    user = db.session.get(User, user_id)  # another tenant's user is not visible here: 404
    if user is None:
        abort(404)
    password, revoked = services.reset_password(user, None, current_user.actor)
    unit_of_work.commit()
    throttle().forget_account(g.tenant.slug, user.username)
    result = {"user_id": user.id, "username": user.username, "password": password, "tokens_revoked": revoked}
    if request.headers.get("HX-Request"):
        response = make_response(render_template("auth/_reset_result.html", result=result))
    else:
        rows, total = _logins("")
        response = make_response(render_template("auth/users.html", tenant=g.tenant, rows=rows, total=total, q="",
                                                 page=1, pages=max(1, -(-total // LOGINS_PAGE_SIZE)),
                                                 page_size=LOGINS_PAGE_SIZE, result=result))
    response.headers["Cache-Control"] = "no-store"
    return response
