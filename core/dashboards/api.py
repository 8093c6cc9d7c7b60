"""GET /api/v1/platform/health (api.md, "Platform"): the operator's health board as JSON.

The same facts as the board on /operator/dashboard (core/dashboards/platform_health.py),
for a monitoring script: each part with a state, `ok` or `warning` (`inline` when the
installation has no Redis). Operators only; counts and platform names, never a tenant's
personal data (a failed run's error text is left out, as on the page). `/healthz` stays
the load balancer's smaller, unauthenticated contract.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.auth.guards import api_principal, operator_only

blp = Blueprint("platform", __name__, url_prefix="/api/v1/platform", description="The platform's health (operator)")

STATES = ["ok", "warning", "inline"]


class HealthStatePart(Schema):
    state = fields.String(metadata={"enum": STATES})


class HealthDatabaseSchema(HealthStatePart):
    ok = fields.Boolean()


class HealthRedisSchema(HealthStatePart):
    configured = fields.Boolean(metadata={"description": "False without CONGVU_REDIS_URL: jobs run inline."})
    ok = fields.Boolean(allow_none=True, metadata={"description": "Null when not configured."})
    error = fields.String(allow_none=True, metadata={"description": "The first line of why it does not answer."})


class HealthWorkerSchema(HealthStatePart):
    name = fields.String()
    queues = fields.List(fields.String())
    heartbeat_age = fields.Integer(allow_none=True, metadata={"description": "Seconds since its last heartbeat."})


class HealthWorkersSchema(HealthStatePart):
    latest_heartbeat_age = fields.Integer(allow_none=True)
    items = fields.List(fields.Nested(HealthWorkerSchema))


class HealthQueueSchema(HealthStatePart):
    name = fields.String()
    waiting = fields.Integer()
    failed = fields.Integer(metadata={"description": "Jobs in RQ's failed registry."})
    served = fields.Boolean(metadata={"description": "A live worker listens to it."})


class HealthBacklogSchema(HealthStatePart):
    deferred = fields.Boolean(metadata={"description": "True when a separate `congvu scorer` takes the marks."})
    pending = fields.Integer()
    oldest_age = fields.Integer(allow_none=True, metadata={"description": "Seconds the oldest mark has waited."})


class HealthSchemaRevisionSchema(HealthStatePart):
    database = fields.List(fields.String())
    code = fields.List(fields.String())


class HealthFailedRunSchema(Schema):
    tenant = fields.String(metadata={"description": "The tenant's slug."})
    kind = fields.String()
    scope = fields.String(allow_none=True)
    at = fields.DateTime()


class HealthFailedRunsSchema(HealthStatePart):
    count = fields.Integer()
    runs = fields.List(fields.Nested(HealthFailedRunSchema), metadata={"description": "The latest 20; no error text."})


class PlatformHealthSchema(Schema):
    warnings = fields.Integer(metadata={"description": "How many parts need a look."})
    database = fields.Nested(HealthDatabaseSchema)
    redis = fields.Nested(HealthRedisSchema)
    workers = fields.Nested(HealthWorkersSchema)
    queues = fields.Nested(HealthQueueSchema, many=True)
    scorer_backlog = fields.Nested(HealthBacklogSchema, allow_none=True, metadata={
        "description": "Null when the database does not answer; so are `schema` and `failed_runs`."})
    schema = fields.Nested(HealthSchemaRevisionSchema, allow_none=True)
    failed_runs = fields.Nested(HealthFailedRunsSchema, allow_none=True)


def health_view(health: dict[str, Any]) -> dict[str, Any]:
    """The board's facts under the API's names. Workers and queues stand on their own (the
    page shows them as rows of their own too); without Redis they are empty and `inline`."""
    redis = health["redis"]
    if not redis["configured"]:
        workers_state = "inline"
    elif not redis["ok"]:
        workers_state = "warning"
    else:
        workers_state = redis["workers_state"]
    return {
        "warnings": health["warnings"],
        "database": health["database"],
        "redis": {"configured": redis["configured"], "ok": redis["ok"], "error": redis.get("error"),
                  "state": redis["state"]},
        "workers": {"state": workers_state, "latest_heartbeat_age": redis.get("latest_heartbeat_age"),
                    "items": redis["workers"]},
        "queues": redis["queues"],
        "scorer_backlog": health["marks"],
        "schema": health["schema"],
        "failed_runs": health["failed"],
    }


@blp.route("/health")
class PlatformHealth(MethodView):
    @blp.response(200, PlatformHealthSchema)
    def get(self):
        """Database, Redis, workers, queues, the scorer's backlog, the schema against the
        code, and the job runs that failed in the last 24 hours (operator)."""
        operator_only(api_principal())
        from core.dashboards.platform_health import platform_health

        return health_view(platform_health())
