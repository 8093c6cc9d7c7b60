from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.bonus.services import MAX_FUND


class BonusRunIn(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    fund = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=MAX_FUND),
                          metadata={"description": "Whole đồng; default: the bonus scheme's fund"})


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
