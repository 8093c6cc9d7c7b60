from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.pagination import PageArgs


def _range(data: dict) -> None:
    # A reversed range would silently show nothing: an inspector would read "no events".
    if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
        raise ValidationError({"to": ["Before the start date."]})


# "unrecorded": the events written before the channel was kept (migration 0040), whose
# via is NULL. Not "system": nobody knows how they were made.
VIA_FILTERS = ("page", "api", "cli", "job", "system", "unrecorded")


class AuditQuery(PageArgs):
    # Dates as the contract's YYYY-MM-DD; `to` is inclusive. `actor`: a person's login,
    # part of their name or `user:<id>`, for all they did (their jobs too); else exact.
    # `employee`: a person's code, part of their name or `employee:<id>`, for everything
    # done to or by them.
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    actor = fields.String(validate=validate.Length(max=200))
    action = fields.String(validate=validate.Length(max=64))
    employee = fields.String(validate=validate.Length(min=1, max=200))
    # How the events were made ("api" also finds "api:token:<id>"), and from which address.
    via = fields.String(validate=validate.OneOf(VIA_FILTERS))
    client_ip = fields.String(validate=validate.Length(min=1, max=64))

    @validates_schema
    def _dates(self, data, **kwargs) -> None:
        _range(data)


class AuditExportQuery(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    actor = fields.String(validate=validate.Length(max=200))
    action = fields.String(validate=validate.Length(max=64))
    employee = fields.String(validate=validate.Length(min=1, max=200))
    # How the events were made ("api" also finds "api:token:<id>"), and from which address.
    via = fields.String(validate=validate.OneOf(VIA_FILTERS))
    client_ip = fields.String(validate=validate.Length(min=1, max=64))
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))

    @validates_schema
    def _dates(self, data, **kwargs) -> None:
        _range(data)


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
    # How and from where (null for events written before they were kept): covered by the
    # hash when set. via: "page", "api", "api:token:<id>", "cli", "job" or "system".
    via = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    # For reading, covered by no hash: the object's kind and its name today (core/audit/objects.py).
    object_kind = fields.String(dump_only=True)
    object_label = fields.String(dump_only=True)
