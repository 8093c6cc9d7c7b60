from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.webhooks import EVENTS


class SubscriptionIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True,
                         validate=validate.Length(min=1, max=len(EVENTS)))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class SubscriptionPatch(Schema):
    url = fields.String(validate=validate.Length(min=1, max=500))
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), validate=validate.Length(min=1, max=len(EVENTS)))
    description = fields.String(allow_none=True, validate=validate.Length(max=200))
    active = fields.Boolean()


class SubscriptionSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()


class SubscriptionCreated(SubscriptionSchema):
    secret = fields.String(metadata={"description": "Shown only in this answer: the receiver's signing secret"})


class DeliverySchema(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    event = fields.String()
    payload = fields.Dict()
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    replay_of = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class DeliveryArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
