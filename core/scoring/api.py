"""Scores, explanations, general criteria, recalculations, jobs and periods (api.md,
"Scores and decisions")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member, path_object
from core.errors import NotFound
from core.jobs.models import JobRun
from core.jobs.runner import get_run, run_view, submit
from core.scoring import kernel, services
from core.scoring.schemas import (
    ExplainSchema,
    GeneralScoreIn,
    GeneralScoreOut,
    JobAccepted,
    JobSchema,
    PeriodStateSchema,
    RecalculationIn,
    ReopenIn,
    ScoreArgs,
    ScoreSchema,
    SummaryArgs,
    SummarySchema,
    WhatIfIn,
    WhatIfSchema,
)

blp = Blueprint("scoring", __name__, url_prefix="/api/v1/tenants/<t>", description="Scores and periods")
ADMIN = "tenant_admin"


@blp.route("/scores")
class Scores(MethodView):
    @blp.arguments(ScoreArgs, location="query")
    @blp.response(200, ScoreSchema(many=True))
    def get(self, args, t):
        """Scores of a period for the people the caller may see (filter by employee or unit)."""
        principal = api_member()
        rows, total = services.scores(principal, args["period"], args.get("employee_id"), args.get("unit_id"),
                                      args["page"], args["per_page"])
        return rows, 200, {"X-Total-Count": str(total)}


@blp.route("/scores/summary")
class ScoreSummary(MethodView):
    @blp.arguments(SummaryArgs, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args, t):
        """Mean, median and count per band of a month's totals, for a unit or the tenant."""
        principal = api_member()
        return services.unit_summary(principal, args["period"], args.get("unit_id"))


@blp.route("/employees/<int:employee_id>/scores/<period>/explain")
class Explain(MethodView):
    @blp.response(200, ExplainSchema)
    def get(self, t, employee_id, period):
        """Every item of the month with the factors behind its score, and the period formula."""
        principal = api_member()
        return services.explain(principal, employee_id, period)


@blp.route("/employees/<int:employee_id>/general-scores/<period>")
class GeneralScores(MethodView):
    @blp.arguments(GeneralScoreIn)
    @blp.response(200, GeneralScoreOut)
    def put(self, data, t, employee_id, period):
        """The manager sets the general criteria of a month (three groups, 0–10 each), or of a
        quarter (2026-Q2) for a person whose agency evaluates by quarters."""
        principal = api_member("manager", ADMIN)
        row = services.set_general(principal, employee_id, period, data, own_proposal=False)
        unit_of_work.commit()
        return services.general_view(row)


@blp.route("/employees/<int:employee_id>/general-scores/<period>/self")
class GeneralScoreProposal(MethodView):
    @blp.arguments(GeneralScoreIn)
    @blp.response(200, GeneralScoreOut)
    def put(self, data, t, employee_id, period):
        """The employee proposes their own general criteria for the month (or the quarter)."""
        principal = api_member("employee")
        row = services.set_general(principal, employee_id, period, data, own_proposal=True)
        unit_of_work.commit()
        return services.general_view(row)


@blp.route("/recalculations")
class Recalculations(MethodView):
    @blp.arguments(RecalculationIn)
    @blp.response(202, JobAccepted)
    def post(self, data, t):
        """Recalculate a month (a job; a second request while one runs returns the same job)."""
        principal = api_member(ADMIN)
        run = submit("recalculation", data["period"], {"period": data["period"]}, principal.actor)
        return {"job_id": run.id}


@blp.route("/jobs/<job_id>")
class Jobs(MethodView):
    @blp.response(200, JobSchema)
    def get(self, t, job_id):
        """A job's status, progress, result or error."""
        api_member(ADMIN, "auditor", "manager")
        run = get_run(job_id)
        if run is None:
            raise NotFound("Job not found.")
        return run_view(run)


@blp.route("/periods/<period>")
class Periods(MethodView):
    @blp.response(200, PeriodStateSchema)
    def get(self, t, period):
        """Whether a month is closed or stale, and how it was last scored."""
        api_member()
        kernel.parse_month(period)
        return services.period_state(period)


@blp.route("/periods/<period>/close")
class ClosePeriod(MethodView):
    @blp.response(200, PeriodStateSchema)
    def post(self, t, period):
        """Close a month: its items refuse changes and its scores are frozen (tenant admin)."""
        api_member(ADMIN)
        state = services.close_period(period)
        unit_of_work.commit()
        return state


@blp.route("/periods/<period>/reopen")
class ReopenPeriod(MethodView):
    @blp.arguments(ReopenIn)
    @blp.response(200, PeriodStateSchema)
    def post(self, data, t, period):
        """Reopen a closed month; the reason goes to the audit log (tenant admin)."""
        api_member(ADMIN)
        state = services.reopen_period(period, data["reason"])
        unit_of_work.commit()
        return state


@blp.route("/what-if")
class WhatIf(MethodView):
    @blp.arguments(WhatIfIn)
    @blp.response(200, WhatIfSchema)
    def post(self, data, t):
        """Preview a month under another variant or settings, beside the current scores; saves nothing."""
        principal = api_member(ADMIN, "auditor")
        result = services.what_if(principal, data["period"], data["key"], data["settings"], data.get("unit_id"))
        unit_of_work.rollback()
        return result


path_object("job_id", JobRun)
