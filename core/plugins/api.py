"""GET /api/v1/plugins (api.md, "Platform") and the components a tenant may choose."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.auth.guards import api_member, api_principal
from core.pagination import PageArgs
from core.plugins.components import KINDS
from core.plugins.forms import describe_settings
from core.plugins.manager import current_manager, describe_component
from core.tenants import choices as tenant_choices
from core.tenants.models import BEGINNING

blp = Blueprint("plugins", __name__, url_prefix="/api/v1", description="Plugins and their components")


class ComponentSchema(Schema):
    kind = fields.String(metadata={"enum": list(KINDS)})
    key = fields.String()
    version = fields.String()
    title = fields.String(metadata={"description": "In the caller's language (?lang=vi|en)."})
    title_vi = fields.String()
    title_en = fields.String()


class PluginSchema(Schema):
    name = fields.String()
    version = fields.String(allow_none=True)
    loaded = fields.Boolean()
    error = fields.String(allow_none=True, metadata={"description": "Why it is not loaded."})
    enabled = fields.Boolean(metadata={"description": "False when left out of the allow-list CONGVU_PLUGINS."})
    origin = fields.String(metadata={"enum": ["builtin", "installed", "tenant"]})
    tenant = fields.String(allow_none=True, metadata={"description": "The owner of a tenant-local plugin."})
    components = fields.List(fields.Nested(ComponentSchema))


class SettingFieldSchema(Schema):
    name = fields.String()
    type = fields.String()
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)
    choices = fields.List(fields.Raw(), allow_none=True)
    minimum = fields.Raw(allow_none=True)
    maximum = fields.Raw(allow_none=True)
    label = fields.String()
    description = fields.String(allow_none=True)
    mapping_keys = fields.List(fields.Dict(), allow_none=True, metadata={
        "description": "For type `mapping`: its fixed keys, each {key, label}, one input per key."})
    value_type = fields.String(allow_none=True, metadata={"description": "For type `mapping`: its values' type."})


class AvailableComponentSchema(ComponentSchema):
    plugin = fields.String()
    versions = fields.List(fields.String(), metadata={
        "description": "Every installed version, newest first; a tenant may adopt any of them (settings' `version`)."})
    defaults = fields.Dict()
    settings_fields = fields.List(fields.Nested(SettingFieldSchema))


class ScheduledChoiceSchema(Schema):
    key = fields.String()
    version = fields.String(allow_none=True, metadata={"description": "The adopted version; null: the newest."})
    settings = fields.Dict()
    effective_from = fields.Date(allow_none=True)
    usable = fields.Boolean()


class WarningSchema(Schema):
    kind = fields.String()
    key = fields.String()
    effective_from = fields.Date(allow_none=True)
    code = fields.String()
    adopted = fields.String(metadata={"description": "For `component_version_missing`: the version adopted."})
    message = fields.String()


class TenantComponentsSchema(Schema):
    available = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(AvailableComponentSchema)))
    schedule = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ScheduledChoiceSchema)))
    warnings = fields.List(fields.Nested(WarningSchema))


def _locale() -> str:
    return str(get_locale() or "vi")


@blp.route("/plugins")
class Plugins(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, PluginSchema(many=True))
    def get(self, args):
        """Installed plugins, whether each loaded (and why not), and their components.

        Any signed-in caller; a tenant's users do not see other tenants' tenant-local plugins.
        """
        principal = api_principal()
        slug = None
        if not principal.is_operator:
            from core.tenants.services import slug_of

            slug = slug_of(principal.tenant_id)
        items = current_manager().list_plugins(_locale(), slug, everything=principal.is_operator)
        start = (args["page"] - 1) * args["per_page"]
        return items[start:start + args["per_page"]], 200, {"X-Total-Count": str(len(items))}


@blp.route("/tenants/<t>/components")
class TenantComponents(MethodView):
    @blp.response(200, TenantComponentsSchema)
    def get(self, t):
        """What the tenant may choose (with each component's settings form), what it has
        scheduled by kind, and warnings for choices that cannot be used (tenant admin, auditor)."""
        api_member("tenant_admin", "auditor")
        return tenant_components_view(g.tenant.slug, _locale())


def tenant_components_view(slug: str, locale: str) -> dict:
    manager = current_manager()
    available = {}
    for kind in KINDS:
        available[kind] = [
            {**describe_component(reg.component, locale), "plugin": reg.plugin,
             "versions": manager.versions(kind, reg.component.key, slug),
             "defaults": reg.component.default_settings(),
             "settings_fields": describe_settings(reg.component, locale)}
            for reg in manager.available(kind, slug)
        ]
    warnings = tenant_choices.component_warnings()
    unusable = {(w["kind"], w["key"], w["effective_from"]) for w in warnings
                if w["code"] != "component_version_missing"}
    schedule = {}
    for kind in ("scoring_variant", "classification_scheme", "bonus_scheme"):
        schedule[kind] = []
        for choice in tenant_choices.schedule(kind):
            effective = None if choice.effective_from == BEGINNING else choice.effective_from
            schedule[kind].append({"key": choice.key, "version": choice.version, "settings": choice.settings,
                                   "effective_from": effective,
                                   "usable": (kind, choice.key, effective) not in unusable})
    return {"available": available, "schedule": schedule, "warnings": warnings}
