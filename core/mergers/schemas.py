from __future__ import annotations

from marshmallow import Schema, fields, validate


class CatalogueMapping(Schema):
    units = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    positions = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    task_types = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    prefix = fields.String(validate=validate.Length(max=16))


class MergeIn(Schema):
    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    effective_date = fields.Date(required=True)
    mapping = fields.Nested(CatalogueMapping, load_default=dict)
    dry_run = fields.Boolean(load_default=False)


class UnitMergeIn(Schema):
    sources = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                          validate=validate.Length(min=1, max=200))
    into = fields.String(required=True, validate=validate.Length(min=1, max=64))
    effective_date = fields.Date(required=True)


class UnitMergeOut(Schema):
    into = fields.String()
    sources = fields.List(fields.String())
    effective_date = fields.Date()
    people_moved = fields.Integer()
    sub_units_moved = fields.Integer()
