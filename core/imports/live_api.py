"""Live sources (api.md, "Data in and out")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member, path_object
from core.imports import live
from core.imports.live_schemas import LiveSourceIn, LiveSourcePatch, LiveSourceSchema, PullAccepted
from core.imports.models import LiveSource
from core.jobs.runner import run_view
from core.scoring.schemas import JobSchema

blp = Blueprint("live_sources", __name__, url_prefix="/api/v1/tenants/<t>", description="Live sources")
ADMIN = "tenant_admin"


def public(source: LiveSource) -> dict:
    """The source as shown: a stored secret (the authentication header) masked."""
    shown = dict(source.settings or {})
    if shown.get("auth_header"):
        shown["auth_header"] = f"{shown['auth_header'].partition(':')[0]}: ••••••"
    out = {c: getattr(source, c) for c in LiveSourceSchema().fields}
    out["settings"] = shown
    return out


@blp.route("/live-sources")
class LiveSources(MethodView):
    @blp.response(200, LiveSourceSchema(many=True))
    def get(self, t):
        """The tenant's live sources."""
        api_member(ADMIN, "auditor")
        return [public(s) for s in live.sources()]

    @blp.arguments(LiveSourceIn)
    @blp.response(201, LiveSourceSchema)
    def post(self, data, t):
        """Point a live connector at another system's API; the scheduler pulls it every `every_minutes`."""
        principal = api_member(ADMIN)
        source = live.create(data, principal.actor)
        unit_of_work.commit()
        return public(source)


@blp.route("/live-sources/<int:live_source_id>")
class LiveSourceOne(MethodView):
    @blp.response(200, LiveSourceSchema)
    def get(self, t, live_source_id):
        api_member(ADMIN, "auditor")
        return public(live.find_source(live_source_id))

    @blp.arguments(LiveSourcePatch)
    @blp.response(200, LiveSourceSchema)
    def patch(self, data, t, live_source_id):
        """Rename, pause (`enabled: false`), change how often, or change settings."""
        api_member(ADMIN)
        source = live.update(live.find_source(live_source_id), data)
        unit_of_work.commit()
        return public(source)


@blp.route("/live-sources/<int:live_source_id>/pull")
class LiveSourcePull(MethodView):
    @blp.response(202, PullAccepted)
    def post(self, t, live_source_id):
        """Pull now (a job; its result is the import's, with pages, records and the cursor)."""
        principal = api_member(ADMIN)
        run = live.start(live.find_source(live_source_id), principal.actor)
        return {"job_id": run.id}


@blp.route("/live-sources/<int:live_source_id>/runs")
class LiveSourceRuns(MethodView):
    @blp.response(200, JobSchema(many=True))
    def get(self, t, live_source_id):
        """The source's pulls, newest first (50)."""
        api_member(ADMIN, "auditor")
        return [run_view(r) for r in live.runs(live.find_source(live_source_id))]


path_object("live_source_id", LiveSource)
