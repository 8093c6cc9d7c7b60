from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.pagination import PageArgs


class AuditQuery(PageArgs):
    # Dates as the contract's YYYY-MM-DD; `to` is inclusive.
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    actor = fields.String(validate=validate.Length(max=200))
    action = fields.String(validate=validate.Length(max=64))


class AuditExportQuery(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    actor = fields.String(validate=validate.Length(max=200))
    action = fields.String(validate=validate.Length(max=64))
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))


class AuditEventSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    hash = fields.String()
    prev_hash = fields.String()
