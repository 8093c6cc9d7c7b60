"""Tenants (operator) and tenant settings (tenant admin)."""

from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core import unit_of_work
from core.auth.guards import api_member, api_principal, operator_only
from core.pagination import paginate
from core.tenants import services
from core.tenants.models import Tenant
from core.tenants.schemas import SettingsSchema, TenantListArgs, TenantSchema

blp = Blueprint("tenants", __name__, url_prefix="/api/v1/tenants", description="Tenants and their settings")


@blp.route("")
class Tenants(MethodView):
    @blp.arguments(TenantListArgs, location="query")
    @blp.response(200, TenantSchema(many=True))
    def get(self, args, **kwargs):
        """List tenants: all for an operator, one's own for anyone else."""
        principal = api_principal()
        stmt = select(Tenant).order_by(Tenant.slug)
        if not principal.is_operator:
            stmt = stmt.where(Tenant.id == principal.tenant_id)
        if "status" in args:
            stmt = stmt.where(Tenant.status == args["status"])
        items, headers = paginate(stmt, args)
        return [services.tenant_view(t) for t in items], 200, headers

    @blp.arguments(TenantSchema)
    @blp.response(201, TenantSchema)
    def post(self, data):
        """Create a tenant (operator); a `province_code` also creates its commune-level units."""
        operator_only(api_principal())
        tenant, units = services.create_tenant(data["slug"], data["name"], data.get("province_code"))
        unit_of_work.commit()
        return services.tenant_view(tenant, units)


def _validator():
    manager = current_app.extensions.get("congvu_plugins")
    return manager.validate_component if manager is not None and hasattr(manager, "validate_component") else None


@blp.route("/<t>/settings")
class Settings(MethodView):
    @blp.response(200, SettingsSchema)
    def get(self, t):
        """The tenant's chosen components and their settings, cut-off and time zone."""
        api_member("tenant_admin", "auditor")
        return services.settings_view(g.tenant)

    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def patch(self, data, t):
        """Change settings (tenant admin); each component's settings are validated by its schema."""
        api_member("tenant_admin")
        view = services.update_settings(g.tenant, data, _validator())
        unit_of_work.commit()
        return view
