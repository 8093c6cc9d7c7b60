from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.sso.models import MAPS_TO
from core.text import Line

CLAIM = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$", error="A claim name: 1–64 letters, digits or _ . : -.")


class SsoSettingsIn(Schema):
    """The whole of a tenant's single sign-on settings (PUT replaces them)."""

    enabled = fields.Boolean(load_default=True)
    issuer = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                        validate=validate.Length(max=500),
                        metadata={"description": "The provider's issuer identifier; its discovery document is "
                                                 "read at {issuer}/.well-known/openid-configuration. https:// "
                                                 "except in development."})
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    client_secret = fields.String(
        load_only=True, allow_none=True, load_default=None, validate=validate.Length(min=1, max=1024),
        metadata={"description": "Stored encrypted and never returned; leave out to keep the stored one "
                                 "(required the first time)."})
    claim = fields.String(load_default="preferred_username", validate=CLAIM,
                          metadata={"description": "The ID token claim that names the person."})
    maps_to = fields.String(load_default="username", validate=validate.OneOf(MAPS_TO),
                            metadata={"description": "What the claim is matched against: a login's username "
                                                     "or an employee's code."})
    sso_only = fields.Boolean(load_default=False,
                              metadata={"description": "Passwords off for the tenant, except the break-glass admin's."})
    break_glass_username = Line(allow_none=True, load_default=None, validate=validate.Length(min=1, max=100))
    jit_create = fields.Boolean(load_default=False,
                                metadata={"description": "Create a login at first sign-on for an employee of the "
                                                         "roster who has none (needs maps_to employee_code)."})


class SsoSettingsOut(Schema):
    configured = fields.Boolean()
    enabled = fields.Boolean()
    issuer = fields.String()
    client_id = fields.String()
    client_secret_set = fields.Boolean()
    claim = fields.String()
    maps_to = fields.String()
    sso_only = fields.Boolean()
    break_glass_username = fields.String(allow_none=True)
    jit_create = fields.Boolean()
    updated_at = fields.DateTime()
    updated_by = fields.String()
    callback_url = fields.String(metadata={"description": "The redirect URI to register with the provider."})
