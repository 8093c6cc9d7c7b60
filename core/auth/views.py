"""Login and logout pages (session login with CSRF)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select

from core.audit.services import record
from core.auth.forms import LoginForm
from core.auth.services import authenticate
from core.extensions import db, limiter
from core.tenancy import tenant_context
from core.tenants.models import Tenant

auth_pages = Blueprint("auth_pages", __name__, template_folder="templates")

OPERATOR = "__operator__"


def _form_account_key() -> str:
    return f"login-account:{request.form.get('tenant')}:{request.form.get('username', '').lower()}"


def _failed(response) -> bool:
    return response.status_code == 401


@auth_pages.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"], key_func=_form_account_key,
               methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["CONGVU_LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
def login():
    form = LoginForm()
    tenants = db.session.scalars(select(Tenant).where(Tenant.status == "active").order_by(Tenant.name)).all()
    form.tenant.choices = [(t.slug, t.name) for t in tenants] + [(OPERATOR, _("Platform operator"))]
    if request.method == "GET" and request.args.get("t"):
        form.tenant.data = request.args["t"]
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200
    tenant = next((t for t in tenants if t.slug == form.tenant.data), None)
    principal = authenticate(tenant, form.username.data, form.password.data)
    if principal is None:
        if tenant is not None:
            with tenant_context(tenant.id):
                record("auth.login_failed", "user", None,
                       after={"username": form.username.data, "address": request.remote_addr},
                       actor=f"anonymous@{request.remote_addr}")
        db.session.commit()
        return render_template("auth/login.html", form=form, failed=True), 401
    if tenant is not None:
        with tenant_context(tenant.id):
            record("auth.login", "user", principal.id, after={"via": "page"}, actor=principal.actor)
    db.session.commit()
    login_user(principal)
    return redirect(url_for("pages.index"))


@auth_pages.post("/logout")
def logout():
    # A POST with the CSRF token, so another site cannot log people out.
    logout_user()
    return redirect(url_for("auth_pages.login"))
