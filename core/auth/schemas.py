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


class PasswordChange(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class PasswordReset(Schema):
    password = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(min=1, max=1024),
        metadata={"description": "The temporary password; left out (or null), one is generated "
                                 "and returned once in the answer."})


class PasswordResetResult(Schema):
    employee_id = fields.Integer()
    username = fields.String()
    temporary_password = fields.String(
        allow_none=True,
        metadata={"description": "The generated password, shown only in this answer (null when one was given)."})
    must_change_password = fields.Boolean()
    tokens_revoked = fields.Integer()
