"""GET, PUT and DELETE /api/v1/tenants/{t}/sso: the tenant admin sets single sign-on."""

from __future__ import annotations

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member
from core.sso import services
from core.sso.schemas import SsoSettingsIn, SsoSettingsOut

blp = Blueprint("sso", __name__, url_prefix="/api/v1/tenants", description="Single sign-on (OpenID Connect)")


def callback_url(slug: str) -> str:
    return url_for("sso_pages.callback", t=slug, _external=True)


def development() -> bool:
    return current_app.config["CONGVU_ENV"] == "development"


@blp.route("/<t>/sso")
class SsoSettings(MethodView):
    @blp.response(200, SsoSettingsOut)
    def get(self, t):
        """The tenant's single sign-on settings (tenant admin, auditor); the secret is never shown."""
        api_member("tenant_admin", "auditor")
        return services.view(services.current(), callback_url(g.tenant.slug))

    @blp.arguments(SsoSettingsIn)
    @blp.response(200, SsoSettingsOut)
    @blp.alt_response(422, description="A field is missing or invalid (an issuer that is not https outside "
                                       "development, no break-glass admin for sso_only …)")
    def put(self, data, t):
        """Set single sign-on (tenant admin). Audited, without the secret."""
        principal = api_member("tenant_admin")
        cfg = services.save(data, principal.actor, development())
        unit_of_work.commit()
        return services.view(cfg, callback_url(g.tenant.slug))

    @blp.response(204)
    def delete(self, t):
        """Remove single sign-on: the login page loses its button and passwords work again."""
        principal = api_member("tenant_admin")
        services.remove(principal.actor)
        unit_of_work.commit()
