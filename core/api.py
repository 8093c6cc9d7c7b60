"""The REST API object (flask-smorest): OpenAPI 3 from the same marshmallow schemas that
validate requests, served at /api/v1/openapi.json with interactive docs at /api/docs."""

from __future__ import annotations

from flask_smorest import Api
from marshmallow import Schema, fields

from core.errors import handle_http_exception


class ContractError(Schema):
    """The contract's error body (api.md, "Conventions")."""

    code = fields.String(required=True, metadata={"description": "machine code, e.g. validation_error"})
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "field name → messages (nested for nested fields)"})


class CongvuApi(Api):
    ERROR_SCHEMA = ContractError  # documented as every operation's default and 422 response

    def handle_http_exception(self, error):
        return handle_http_exception(error)


api = CongvuApi()

API_CONFIG = {
    "API_TITLE": "congvu — KPI Công vụ",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "v1/openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/static/",
    "API_SPEC_OPTIONS": {
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "info": {"description": "The public contract of congvu. See docs/api.md."},
    },
}
