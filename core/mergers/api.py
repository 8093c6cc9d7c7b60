"""Mergers (api.md, "Mergers"): tenant mergers (operator) and unit merges (tenant admin)."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import allow_operator, api_member, api_principal, operator_only
from core.errors import Invalid, NotFound
from core.jobs.runner import get_run, run_view, submit
from core.mergers import tasks  # noqa: F401 - registers the merger job
from core.mergers import units as unit_merges
from core.mergers.schemas import MergeIn, UnitMergeIn, UnitMergeOut
from core.scoring.schemas import JobAccepted, JobSchema
from core.tenants.services import find_tenant

blp = Blueprint("mergers", __name__, url_prefix="/api/v1/tenants/<t>", description="Mergers")


@blp.route("/merges")
class Merges(MethodView):
    @blp.arguments(MergeIn)
    @blp.response(202, JobAccepted)
    def post(self, data, t):
        """Merge the tenant `source` into this one (operator): a job whose result is the plan
        (dry run), the conflicts that block it, or the counts moved."""
        principal = operator_only(api_principal())
        # Checked here so a wrong name is a 422 now, not a failed job later.
        source = find_tenant(data["source"])
        if source is None or source.id == g.tenant.id:
            raise Invalid("The merging tenant is invalid.",
                          {"source": ["No such tenant." if source is None else "A tenant cannot merge into itself."]})
        params = {"source": data["source"], "into": g.tenant.slug,
                  "effective_date": data["effective_date"].isoformat(), "mapping": data["mapping"],
                  "dry_run": data["dry_run"]}
        scope = f"{data['source']}:{'dry' if data['dry_run'] else 'commit'}"
        run = submit("tenant_merge", scope, params, principal.actor)
        return {"job_id": run.id}


@blp.route("/merges/<job_id>")
class MergeJob(MethodView):
    @blp.response(200, JobSchema)
    def get(self, t, job_id):
        """A merger job's status, progress and report (operator)."""
        operator_only(api_principal())
        run = get_run(job_id)
        if run is None or run.kind != "tenant_merge":
            raise NotFound("Job not found.")
        return run_view(run)


@blp.route("/unit-merges")
class UnitMerges(MethodView):
    @blp.arguments(UnitMergeIn)
    @blp.response(200, UnitMergeOut)
    def post(self, data, t):
        """Merge units into one from a date (tenant admin): people move; earlier reports keep
        the old units."""
        principal = api_member("tenant_admin")
        result = unit_merges.merge_units(data["sources"], data["into"], data["effective_date"], principal.actor)
        unit_of_work.commit()
        return result


# Operators get 403 on tenant routes unless the route is named here.
allow_operator("mergers.Merges")
allow_operator("mergers.MergeJob")
