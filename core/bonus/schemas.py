from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.bonus.services import MAX_FUND
from core.ids import MAX_ID


class BonusRunIn(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    fund = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=MAX_FUND),
                          metadata={"description": "Whole đồng; default: the bonus scheme's fund"})
    paying_unit_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                    validate=validate.Range(min=1, max=MAX_ID), metadata={
                                        "description": "The paying unit (đơn vị dự toán) whose fund this is; "
                                                       "default: one fund for the whole tenant"})
    # A float in the document (a Decimal field would publish its limits as strings, which
    # OpenAPI refuses); the API turns it into an exact Decimal of two places.
    adhoc_percent = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100), metadata={
                                       "description": "Share of the fund kept for ad-hoc bonuses; "
                                                      "default: the scheme's setting (0)"})


class BonusRunAccepted(Schema):
    job_id = fields.String()
    id = fields.Integer()


class AllocationSchema(Schema):
    employee_id = fields.Integer()
    level = fields.String(allow_none=True)
    months_worked = fields.Integer()
    amount = fields.Integer()
    explain = fields.Dict()


class BonusRunSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    fund = fields.Integer(allow_none=True)
    fund_requested = fields.Integer(allow_none=True)
    paying_unit_id = fields.Integer(allow_none=True)
    adhoc_percent = fields.Decimal(allow_none=True, as_string=True)
    adhoc_reserve = fields.Integer(allow_none=True, metadata={"description": "đồng kept for ad-hoc bonuses"})
    shared = fields.Integer(allow_none=True, metadata={"description": "fund − adhoc_reserve: what the amounts add up to"})
    status = fields.String()
    error = fields.String(allow_none=True)
    job_id = fields.String(allow_none=True)
    scheme = fields.Dict(allow_none=True)
    requested_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    allocations = fields.List(fields.Nested(AllocationSchema))


class BonusRunArgs(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    paying_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
