from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.pagination import PageArgs

MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use YYYY-MM.")
PERIOD = validate.Regexp(r"^\d{4}(-(0[1-9]|1[0-2])(-\d{2})?|-Q[1-4]|-W\d{2})?$",
                         error="Use 2026-10, 2026-Q4, 2026, 2026-W43 or 2026-10-27.")


class ScoreArgs(PageArgs):
    period = fields.String(required=True, validate=PERIOD)
    employee_id = fields.Integer()
    unit_id = fields.Integer()


class SummaryArgs(Schema):
    period = fields.String(required=True, validate=MONTH)
    unit_id = fields.Integer()


class VariantRef(Schema):
    key = fields.String()
    version = fields.String()
    settings_hash = fields.String()


class ScoreSchema(Schema):
    employee_id = fields.Integer()
    period = fields.String()
    task_score = fields.Float()
    general_score = fields.Float(allow_none=True)
    total = fields.Float()
    components = fields.Dict()
    variant = fields.Nested(VariantRef)
    provisional = fields.Boolean()
    item_count = fields.Integer()
    working_days = fields.Integer()
    pending = fields.Boolean(dump_default=False, metadata={
        "description": "Changes to this person's month (a year: any of its months) that a scorer has not "
                       "taken yet; the numbers are those of `refreshed_at`. Always false where scoring runs "
                       "in the writing request's commit (CONGVU_SCORING=inline; docs/scoring.md)."})
    refreshed_at = fields.DateTime(allow_none=True, dump_default=None, metadata={
        "description": "When the stored month row was last computed (null for a range computed on reading)."})


class SummarySchema(Schema):
    period = fields.String()
    unit_id = fields.Integer(allow_none=True)
    people = fields.Integer()
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    bands = fields.Dict(keys=fields.String(), values=fields.Integer())


class ExplainItem(Schema):
    id = fields.Integer()
    title = fields.String()
    work_date = fields.Date()
    factors = fields.Dict()
    score = fields.Dict()
    rule = fields.Dict()


class ExplainSchema(Schema):
    employee_id = fields.Integer()
    period = fields.String()
    items = fields.List(fields.Nested(ExplainItem))
    formula = fields.Dict()


def _point():
    return fields.Float(required=True, validate=validate.Range(min=0, max=10), allow_nan=False)


class GeneralScoreIn(Schema):
    politics_ethics = _point()
    competence_attitude = _point()
    innovation = _point()
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))
    # A head's or deputy's leadership and organisation criterion (Decree 335, Art. 15), in %.
    leadership = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100),
                              allow_nan=False)


class GeneralScoreOut(Schema):
    employee_id = fields.Integer()
    period = fields.String()
    politics_ethics = fields.Float(allow_none=True)
    competence_attitude = fields.Float(allow_none=True)
    innovation = fields.Float(allow_none=True)
    comment = fields.String(allow_none=True)
    total = fields.Float(allow_none=True)
    leadership = fields.Float(allow_none=True)
    set_at = fields.DateTime(allow_none=True)
    proposal = fields.Dict()


class RecalculationIn(Schema):
    period = fields.String(required=True, validate=MONTH)


class JobAccepted(Schema):
    job_id = fields.String()


class JobProgress(Schema):
    done = fields.Integer()
    total = fields.Integer()
    stage = fields.String(allow_none=True)


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String()
    scope = fields.String()
    status = fields.String(validate=validate.OneOf(("queued", "running", "finished", "failed")))
    progress = fields.Nested(JobProgress)
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    requested_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ReopenIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class PeriodStateSchema(Schema):
    period = fields.String()
    closed = fields.Boolean()
    stale = fields.Boolean()
    stale_reason = fields.String(allow_none=True)
    scored_at = fields.DateTime(allow_none=True)
    variant = fields.Dict(allow_none=True)


class WhatIfIn(Schema):
    period = fields.String(required=True, validate=MONTH)
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    settings = fields.Dict(load_default=dict)
    unit_id = fields.Integer(allow_none=True, load_default=None)


class WhatIfSchema(Schema):
    period = fields.String()
    variant = fields.Dict()
    people = fields.List(fields.Dict())
    distribution = fields.Dict()
    note = fields.String()
