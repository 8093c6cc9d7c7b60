"""Reports (api.md, "Scores and decisions")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.auth.guards import api_member
from core.reports import services

blp = Blueprint("reports", __name__, url_prefix="/api/v1/tenants/<t>", description="Reports")
READERS = ("tenant_admin", "auditor", "manager")


class WorkloadArgs(Schema):
    period = fields.String(required=True, validate=validate.Length(max=10))


class StreamliningArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    as_of = fields.Date(load_default=None, metadata={
        "description": "The day the protections are judged on (pregnant, maternity leave, child under 36 months, "
                       "discipline review); default today"})
    ranking = fields.Boolean(load_default=False, metadata={
        "description": "Add a ranking of totals, labelled an analysis: it is not a ground for streamlining"})


class WorkloadRow(Schema):
    unit_id = fields.Integer()
    unit_name = fields.String(allow_none=True)
    position_id = fields.Integer(allow_none=True)
    position_code = fields.String(allow_none=True)
    position_name = fields.String(allow_none=True)
    headcount = fields.Integer()
    working_days = fields.Integer()
    credited_hours = fields.Float()
    hours_per_working_day = fields.Float(allow_none=True)
    norm_hours = fields.Float()
    staffing_need = fields.Float(allow_none=True)
    staffing_gap = fields.Float(allow_none=True)


class WorkloadSchema(Schema):
    period = fields.String()
    full_time_hours = fields.Float()
    rows = fields.List(fields.Nested(WorkloadRow))


class Candidate(Schema):
    employee_id = fields.Integer()
    code = fields.String()
    full_name = fields.String()
    unit_id = fields.Integer()
    level = fields.String(allow_none=True)
    grounds = fields.List(fields.Dict(), metadata={
        "description": '{"kind": "kht", "year"} or {"kind": "surplus", "year", "unit_id", "position_id", '
                       '"position_code", "headcount", "staffing_need", "surplus"}'})
    reasons = fields.List(fields.String())
    evidence = fields.Dict()


class ExcludedCandidate(Candidate):
    protections = fields.List(fields.Dict(), metadata={
        "description": '{"kind": "pregnant"|"maternity_leave"|"child_under_36_months"|"discipline_review", '
                       '"from"|"until"}'})


class RankingRow(Schema):
    rank = fields.Integer()
    employee_id = fields.Integer()
    code = fields.String()
    full_name = fields.String()
    total = fields.Float()
    level = fields.String(allow_none=True)


class Ranking(Schema):
    analysis_only = fields.Boolean()
    note = fields.String()
    rows = fields.List(fields.Nested(RankingRow))


class StreamliningSchema(Schema):
    year = fields.Integer()
    classified = fields.Boolean()
    final = fields.Boolean()
    as_of = fields.Date()
    candidates = fields.List(fields.Nested(Candidate))
    excluded = fields.List(fields.Nested(ExcludedCandidate))
    ranking = fields.Nested(Ranking)


class CalibrationArgs(Schema):
    period = fields.String(required=True, validate=validate.Length(max=10))
    long_days = fields.Integer(load_default=5, validate=validate.Range(min=0, max=366))
    hours_a_day = fields.Float(load_default=8.0, validate=validate.Range(min=1, max=24))


class CalibrationUnit(Schema):
    unit_id = fields.Integer()
    unit_name = fields.String(allow_none=True)
    people = fields.Integer()
    median = fields.Float()
    departure = fields.Float()
    flagged = fields.Boolean()


class LongDayDeclarer(Schema):
    employee_id = fields.Integer()
    full_name = fields.String(allow_none=True)
    unit_id = fields.Integer()
    long_days = fields.Integer()
    total = fields.Float(allow_none=True)


class CalibrationSchema(Schema):
    period = fields.String()
    median = fields.Float(allow_none=True)
    mad = fields.Float(allow_none=True)
    hours_a_day = fields.Float()
    long_days = fields.Integer()
    units = fields.List(fields.Nested(CalibrationUnit))
    long_day_declarers = fields.List(fields.Nested(LongDayDeclarer))


@blp.route("/reports/calibration")
class Calibration(MethodView):
    @blp.arguments(CalibrationArgs, location="query")
    @blp.response(200, CalibrationSchema)
    def get(self, args, t):
        """For inspectors: units whose median total departs by more than 2 MAD, and people
        declaring over 8 h a day on more than a set number of days."""
        return services.calibration(api_member("tenant_admin", "auditor"), args["period"], args["long_days"],
                                    args["hours_a_day"])


@blp.route("/reports/workload")
class Workload(MethodView):
    @blp.arguments(WorkloadArgs, location="query")
    @blp.response(200, WorkloadSchema)
    def get(self, args, t):
        """Per unit and position: credited hours per working day, headcount and staffing need."""
        return services.workload(api_member(*READERS), args["period"])


@blp.route("/reports/streamlining")
class Streamlining(MethodView):
    @blp.arguments(StreamliningArgs, location="query")
    @blp.response(200, StreamliningSchema)
    def get(self, args, t):
        """Streamlining candidates of a year with their grounds (rated KHT; surplus in a job position by the
        hours ledger — Decree 154/2025) and the evidence; protected people apart, under ``excluded``."""
        return services.streamlining(api_member(*READERS), args["year"], args["as_of"], args["ranking"])
