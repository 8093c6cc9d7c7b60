"""The evaluation procedure's API (docs/procedure.md): the tenant's procedure, legal regimes,
opening an agency's year, each person's steps, the agency's decision, appeals after it and
reopening. The contract's /classifications endpoints keep working beside these."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core import unit_of_work
from core.auth.guards import api_member, path_object
from core.classification import procedure
from core.classification.models import DECISION_SCOPES, REGIMES, STEPS
from core.classification.schemas import REASON, AppealIn, AppealSchema
from core.org.models import OrgUnit

blp = Blueprint("evaluation", __name__, url_prefix="/api/v1/tenants/<t>",
                description="The evaluation procedure: steps, competence, decisions per agency")
ADMIN = "tenant_admin"
TEXT = validate.Length(max=4000)


class SchemeRef(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    settings = fields.Dict(load_default=dict)


class SignatoryIn(Schema):
    # The service checks that name and title are given, so bad input is one 422 in Vietnamese.
    full_name = fields.String(load_default="", validate=validate.Length(max=300))
    title = fields.String(load_default="", validate=validate.Length(max=300))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class ProcedureSchema(Schema):
    steps = fields.List(fields.String(validate=validate.OneOf(STEPS)))
    deadline = fields.String(metadata={"description": "12-DD: the day of December decisions are due"})
    appeal_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=procedure.MAX_APPEAL_DAYS))
    count_month_in_progress = fields.Boolean()
    schemes = fields.Dict(keys=fields.String(validate=validate.OneOf(REGIMES)),
                          values=fields.Nested(SchemeRef, allow_none=True))
    period = fields.String(validate=validate.OneOf(procedure.PERIOD_KINDS), metadata={
        "description": "the tenant's evaluation period: month (default) or quarter"})
    agency_periods = fields.Dict(keys=fields.String(validate=validate.Length(max=20)),
                                 values=fields.String(validate=validate.OneOf(procedure.PERIOD_KINDS)),
                                 metadata={"description": "an agency's own choice, keyed by its unit id"})
    leaders_signatory = fields.Nested(SignatoryIn, allow_none=True, metadata={
        "description": "who signs the leaders' decision for the level above: full_name, title, email"})


class RegimeIn(Schema):
    regime = fields.String(required=True, validate=validate.OneOf(REGIMES))
    valid_from = fields.Date(load_default=None)


class RegimeSchema(Schema):
    employee_id = fields.Integer()
    regime = fields.String()
    valid_from = fields.Date()


class StepIn(Schema):
    # The service checks level, comment and minutes, so bad input is one 422 in Vietnamese.
    level = fields.String(load_default=None, validate=validate.Length(max=4))
    comment = fields.String(load_default=None, validate=TEXT)
    meeting_date = fields.Date(load_default=None)
    attendees = fields.Integer(load_default=None, strict=True)
    votes_for = fields.Integer(load_default=None, strict=True)
    votes_against = fields.Integer(load_default=None, strict=True)


class StepSchema(Schema):
    year = fields.Integer()
    employee_id = fields.Integer()
    agency_id = fields.Integer()
    step = fields.String()
    level = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    data = fields.Dict()
    actor = fields.String()
    at = fields.DateTime()


class DecisionSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    agency_id = fields.Integer()
    scope = fields.String()
    status = fields.String()
    levels = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    decided_by = fields.String()
    decided_at = fields.DateTime()
    appeal_until = fields.DateTime()
    reopened_by = fields.String(allow_none=True)
    reopened_at = fields.DateTime(allow_none=True)
    reopen_reason = fields.String(allow_none=True)
    decider_id = fields.Integer(allow_none=True, metadata={
        "description": "the staff record of the signatory (none for a configured signatory of the level above)"})
    decider_name = fields.String(allow_none=True, metadata={"description": "the signatory named on the decision"})
    decider_title = fields.String(allow_none=True)
    signed = fields.Boolean(metadata={"description": "its PDF came back signed by the decider (PAdES)"})
    signed_at = fields.DateTime(allow_none=True)
    signed_by = fields.String(allow_none=True)
    signer_id = fields.Integer(allow_none=True)
    signer_subject = fields.String(allow_none=True)


class AgencySchema(Schema):
    year = fields.Integer()
    agency_id = fields.Integer()
    agency = fields.String()
    code = fields.String()
    months = fields.List(fields.String())
    counted_to = fields.Date()
    opened_at = fields.DateTime()
    opened_by = fields.String()
    deadline = fields.Date()
    days_left = fields.Integer(metadata={"description": "days to the deadline, the deadline counting; 0 after it"})
    late_reason = fields.String(allow_none=True, metadata={"description": "why the agency may go on after the deadline"})
    late_by = fields.String(allow_none=True)
    late_at = fields.DateTime(allow_none=True)
    decisions = fields.List(fields.Nested(DecisionSchema))


class OpenIn(Schema):
    late_reason = fields.String(load_default=None, validate=REASON, metadata={
        "description": "after the deadline: the reason the competent person lets the agency go on"})


class LateIn(Schema):
    reason = fields.String(load_default=None, validate=REASON)


class ScopeArgs(Schema):
    scope = fields.String(load_default="staff", validate=validate.OneOf(DECISION_SCOPES))


class ChangeIn(Schema):
    employee_id = fields.Integer(required=True)
    level = fields.String(required=True)
    reason = fields.String(load_default=None, validate=REASON)


class DecideIn(Schema):
    scope = fields.String(load_default="staff", validate=validate.OneOf(DECISION_SCOPES))
    confirmation = fields.String(load_default="", validate=validate.Length(max=300))
    changes = fields.List(fields.Nested(ChangeIn), load_default=list)


class EvaluationReopenIn(Schema):
    scope = fields.String(load_default="staff", validate=validate.OneOf(DECISION_SCOPES))
    reason = fields.String(load_default=None, validate=REASON)


@blp.route("/evaluation-procedure")
class Procedure(MethodView):
    @blp.response(200, ProcedureSchema)
    def get(self, t):
        """The tenant's procedure: steps, December deadline, appeal days, months, schemes per regime."""
        api_member()
        return procedure.procedure_settings()

    @blp.arguments(ProcedureSchema)
    @blp.response(200, ProcedureSchema)
    def put(self, data, t):
        """Change the procedure (tenant admin); 422 with field errors when it is not valid."""
        result = procedure.update_procedure(api_member(ADMIN), data)
        unit_of_work.commit()
        return result


@blp.route("/employees/<int:employee_id>/regimes")
class Regimes(MethodView):
    @blp.response(200, RegimeSchema(many=True))
    def get(self, t, employee_id):
        """A person's legal regimes with the dates they start."""
        api_member(ADMIN, "auditor", "manager")
        return procedure.regimes_of(employee_id)

    @blp.arguments(RegimeIn)
    @blp.response(201, RegimeSchema)
    def post(self, data, t, employee_id):
        """Record a person's regime from a date on (tenant admin)."""
        row = procedure.set_regime(api_member(ADMIN), employee_id, data["regime"], data["valid_from"])
        unit_of_work.commit()
        return procedure.regime_view(row)


@blp.route("/evaluations/<int:year>/pending")
class Pending(MethodView):
    @blp.response(200)
    def get(self, t, year):
        """What waits for the caller: steps for people, decisions, appeals."""
        return procedure.pending(api_member(), year)


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>")
class Agency(MethodView):
    @blp.response(200, AgencySchema)
    def get(self, t, year, agency_id):
        """An agency's evaluation of the year: months counted, decisions (404 when not open)."""
        api_member()
        state = procedure.agency_state(year, agency_id)
        if state is None:
            from core.errors import NotFound

            raise NotFound("The evaluation of this year is not open for this agency.")
        return procedure.agency_view(state)


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>/open")
class AgencyOpen(MethodView):
    @blp.arguments(OpenIn)
    @blp.response(200, AgencySchema)
    def post(self, data, t, year, agency_id):
        """Open the agency's evaluation (from 1 December; the tenant admin or the agency head);
        after the deadline only with a `late_reason` (409 `deadline_passed` without)."""
        state = procedure.open_agency(api_member(), year, agency_id, data.get("late_reason"))
        unit_of_work.commit()
        return procedure.agency_view(state)


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>/late")
class AgencyLate(MethodView):
    @blp.arguments(LateIn)
    @blp.response(200, AgencySchema)
    def post(self, data, t, year, agency_id):
        """After the deadline: the agency's head or the tenant admin lets its steps and decision
        go on, with a reason (audited `evaluation.late_override`)."""
        state = procedure.allow_late(api_member(), year, agency_id, data.get("reason"))
        unit_of_work.commit()
        return procedure.agency_view(state)


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>/decision-preview")
class DecisionPreview(MethodView):
    @blp.arguments(ScopeArgs, location="query")
    @blp.response(200)
    def get(self, args, t, year, agency_id):
        """What a decision would freeze, the confirmation text to type and who misses a step."""
        return procedure.preview(api_member(), year, agency_id, args["scope"])


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>/decision")
class Decide(MethodView):
    @blp.arguments(DecideIn)
    @blp.response(201, DecisionSchema)
    def post(self, data, t, year, agency_id):
        """Decide: staff by the agency's head, leaders by the tenant admin; the typed confirmation is required."""
        decision = procedure.decide(api_member(), year, agency_id, data["scope"], data["confirmation"],
                                    data["changes"])
        unit_of_work.commit()
        return procedure.decision_view(decision)


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>/reopen")
class Reopen(MethodView):
    @blp.arguments(EvaluationReopenIn)
    @blp.response(200, DecisionSchema)
    def post(self, data, t, year, agency_id):
        """Reopen a decision, with a reason, by the competence that decided it."""
        decision = procedure.reopen(api_member(), year, agency_id, data["scope"], data["reason"])
        unit_of_work.commit()
        return procedure.decision_view(decision)


@blp.route("/evaluations/<int:year>/agencies/<int:agency_id>/document")
class DecisionDocument(MethodView):
    @blp.arguments(ScopeArgs, location="query")
    @blp.response(200)
    def get(self, args, t, year, agency_id):
        """The data of the agency's decision in force, as an official document renders it."""
        principal = api_member()
        org = procedure.Org(year)
        if not (principal.has_role(ADMIN, "auditor") or procedure.may_decide(principal, agency_id, args["scope"], org)):
            raise procedure._forbid()
        decision = procedure._active_decisions(year, agency_id).get(args["scope"])
        if decision is None:
            from core.errors import NotFound

            raise NotFound("No decision in force.")
        return procedure.decision_document(decision.id)


@blp.route("/evaluations/<int:year>/employees/<int:employee_id>")
class Person(MethodView):
    @blp.response(200)
    def get(self, t, year, employee_id):
        """A person's evaluation: steps with who and when, the decision and appeals."""
        return procedure.person(api_member(), year, employee_id)


@blp.route("/evaluations/<int:year>/employees/<int:employee_id>/steps/<step>")
class Step(MethodView):
    @blp.arguments(StepIn)
    @blp.response(200, StepSchema)
    def post(self, data, t, year, employee_id, step):
        """Take a step (self, manager, meeting) for a person: in order, within competence."""
        row = procedure.record_step(api_member(), year, employee_id, step, data)
        unit_of_work.commit()
        return procedure.step_view(row)


@blp.route("/evaluations/<int:year>/employees/<int:employee_id>/appeal")
class Appeal(MethodView):
    @blp.arguments(AppealIn)
    @blp.response(201, AppealSchema)
    def post(self, data, t, year, employee_id):
        """The person appeals the decision, within the configured days after it."""
        appeal = procedure.file_appeal(api_member(), year, employee_id, data.get("reason"))
        unit_of_work.commit()
        from core.classification.services import appeal_view

        return appeal_view(appeal)


path_object("agency_id", OrgUnit)
