"""The operator's health board: is each part of the installation doing its work?

Database and Redis answering, RQ workers alive (and when each last said so), jobs waiting
and failed per queue, the deferred scorer's backlog (marks not taken yet and how old the
oldest is), the database's schema revision against the code's, and the job runs that
failed in the last day. Each fact comes with a state, `ok` or `warning` (or `inline` when
the installation has no Redis and the part does not exist), so the page can say plainly
what needs a look.

Counts and platform names only: no tenant's personal data (a failed run shows its
tenant's slug, kind and month, never its error text, which may name a person).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from core.extensions import db
from core.jobs.models import JobRun
from core.jobs.queues import WORKLOADS, queue_name
from core.scoring.models import ScoringMark
from core.tenancy import unscoped
from core.tenants.models import Tenant
from core.timeutil import utcnow

# RQ forgets a worker that has not beaten for its TTL (420 s by default); one that has
# not beaten for two minutes is stuck in a long job at best.
HEARTBEAT_LATE = timedelta(minutes=2)
# An idle scorer takes marks within a second; five minutes means none is running or it
# cannot keep up.
MARKS_LATE = timedelta(minutes=5)
FAILED_WINDOW = timedelta(hours=24)
FAILED_SHOWN = 20
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _age(then: datetime | None, now: datetime) -> int | None:
    """Whole seconds since `then` (a naive time is UTC, as the database stores it)."""
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0, int((now - then).total_seconds()))


def redis_part(now: datetime) -> dict[str, Any]:
    """Redis, its workers and its queues; `configured` False when jobs run inline."""
    url = current_app.config.get("CONGVU_REDIS_URL")
    if not url:
        return {"configured": False, "ok": None, "workers": [], "queues": [], "state": "inline"}
    try:
        from redis import Redis
        from rq import Queue, Worker

        conn = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        conn.ping()
        names = {queue_name(w): w for w in WORKLOADS}
        workers = []
        for worker in Worker.all(connection=conn):
            if not set(worker.queue_names()) & names.keys():
                continue  # another installation's worker on a shared Redis (CONGVU_QUEUE_PREFIX)
            age = _age(worker.last_heartbeat, now)
            workers.append({"name": worker.name, "queues": sorted(worker.queue_names()), "heartbeat_age": age,
                            "state": "ok" if age is not None and age <= HEARTBEAT_LATE.total_seconds() else "warning"})
        served = {q for w in workers if w["state"] == "ok" for q in w["queues"]}
        queues = []
        for name in sorted(names):
            queue = Queue(name, connection=conn)
            waiting, failed = queue.count, queue.failed_job_registry.count
            queues.append({"name": name, "waiting": waiting, "failed": failed, "served": name in served,
                           "state": "ok" if failed == 0 and (name in served or waiting == 0) else "warning"})
    except Exception as exc:  # noqa: BLE001 - the board reports what failed instead of failing itself
        return {"configured": True, "ok": False, "error": str(exc).splitlines()[0][:200] if str(exc) else
                type(exc).__name__, "workers": [], "queues": [], "state": "warning"}
    workers.sort(key=lambda w: w["name"])
    ages = [w["heartbeat_age"] for w in workers if w["heartbeat_age"] is not None]
    return {"configured": True, "ok": True, "workers": workers, "queues": queues,
            "latest_heartbeat_age": min(ages) if ages else None,
            "workers_state": "ok" if workers and all(w["state"] == "ok" for w in workers) else "warning",
            "state": "ok"}


def marks_part(now: datetime) -> dict[str, Any]:
    """The deferred scorer's backlog: marks not taken yet, and the age of the oldest."""
    from core.scoring.scorer import deferred

    with unscoped():
        pending, oldest = db.session.execute(select(func.count(), func.min(ScoringMark.marked_at))
                                             .select_from(ScoringMark)).one()
    age = _age(oldest, now)
    late = age is not None and age > MARKS_LATE.total_seconds()
    return {"deferred": deferred(), "pending": pending, "oldest_age": age, "state": "warning" if late else "ok"}


@lru_cache(maxsize=1)
def code_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations this code carries: read once per process
    (the files do not change under a running process; parsing them all costs a few ms)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def schema_part() -> dict[str, Any]:
    """The database's Alembic revision against the head(s) of the code's migrations."""
    heads = list(code_heads())
    try:
        current = sorted(r for (r,) in db.session.execute(text("SELECT version_num FROM alembic_version")).all())
    except Exception:  # noqa: BLE001 - no table: the database was never upgraded
        db.session.rollback()
        current = []
    return {"database": current, "code": heads, "state": "ok" if current == heads else "warning"}


def failed_runs_part(now: datetime) -> dict[str, Any]:
    """The job runs that failed in the last day, newest first, with their tenant's slug."""
    since = now - FAILED_WINDOW
    ended = func.coalesce(JobRun.finished_at, JobRun.created_at)
    with unscoped():
        count = db.session.scalar(select(func.count()).select_from(JobRun)
                                  .where(JobRun.status == "failed", ended >= since))
        rows = db.session.execute(
            select(JobRun.kind, JobRun.scope, JobRun.created_at, JobRun.finished_at, Tenant.slug)
            .join(Tenant, Tenant.id == JobRun.tenant_id)
            .where(JobRun.status == "failed", ended >= since)
            .order_by(ended.desc()).limit(FAILED_SHOWN)).all()
    runs = [{"tenant": slug, "kind": kind, "scope": scope, "at": finished or created}
            for kind, scope, created, finished, slug in rows]
    return {"count": count, "runs": runs, "state": "warning" if count else "ok"}


def platform_health() -> dict[str, Any]:
    """Every part's facts and state, and how many parts need a look."""
    from core.dashboards.overview import database_ok

    now = utcnow()
    database = {"ok": database_ok()}
    database["state"] = "ok" if database["ok"] else "warning"
    redis = redis_part(now)
    if not database["ok"]:
        # Nothing else can be read; say so rather than fail.
        return {"database": database, "redis": redis, "marks": None, "schema": None, "failed": None,
                "warnings": 1 + (redis["state"] == "warning")}
    health = {"database": database, "redis": redis, "marks": marks_part(now), "schema": schema_part(),
              "failed": failed_runs_part(now)}
    states = [part["state"] for part in health.values()]
    if health["redis"]["configured"] and health["redis"]["ok"]:
        states.append(health["redis"]["workers_state"])
        states += [q["state"] for q in health["redis"]["queues"]]
    health["warnings"] = states.count("warning")
    return health
