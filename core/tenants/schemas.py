from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.pagination import PageArgs
from core.tenants.models import MAX_CLOSE_AFTER_DAYS, TENANT_STATUSES
from core.text import Line

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="Use 2–63 lower-case letters, digits or '-'.")


class TenantSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(required=True, validate=SLUG)
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    province_code = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=999))
    status = fields.String(dump_only=True, validate=validate.OneOf(TENANT_STATUSES))
    merged_into = fields.String(dump_only=True, allow_none=True)
    units_created = fields.Integer(dump_only=True)


class TenantListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(TENANT_STATUSES))


class ComponentRef(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    # The version the tenant adopts; omitted or null: the newest installed, upgrades followed.
    version = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    settings = fields.Dict(load_default=dict)
    effective_from = fields.Date(allow_none=True)


class SettingsSchema(Schema):
    scoring_variant = fields.Nested(ComponentRef, allow_none=True)
    classification_scheme = fields.Nested(ComponentRef, allow_none=True)
    bonus_scheme = fields.Nested(ComponentRef, allow_none=True)
    import_connectors = fields.List(fields.String(validate=validate.Length(min=1, max=100)))
    morning_cutoff = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM."))
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    # Working days after month end at which the scheduler closes the month; null: by hand.
    close_months_after_days = fields.Integer(allow_none=True, strict=True,
                                             validate=validate.Range(min=1, max=MAX_CLOSE_AFTER_DAYS))
