from __future__ import annotations

from marshmallow import Schema, fields, validate


class TokenRequest(Schema):
    tenant = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenResponse(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
