from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.text import Line

_NAME = validate.Length(min=1, max=200)
_EVERY = validate.Range(min=5, max=7 * 24 * 60)


class LiveSourceIn(Schema):
    name = Line(required=True, validate=_NAME)
    connector = fields.String(required=True, validate=validate.Length(min=1, max=100))
    settings = fields.Dict(load_default=dict)
    enabled = fields.Boolean(load_default=True)
    every_minutes = fields.Integer(load_default=60, validate=_EVERY,
                                   metadata={"description": "How often the scheduler pulls (5 min to 7 days)"})


class LiveSourcePatch(Schema):
    name = Line(validate=_NAME)
    settings = fields.Dict(metadata={"description": "Merged into the stored settings"})
    enabled = fields.Boolean()
    every_minutes = fields.Integer(validate=_EVERY)


class LiveSourceSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    connector = fields.String()
    settings = fields.Dict(metadata={"description": "An authentication header is shown masked"})
    enabled = fields.Boolean()
    every_minutes = fields.Integer()
    cursor = fields.String(allow_none=True)
    next_run_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()


class PullAccepted(Schema):
    job_id = fields.String()
