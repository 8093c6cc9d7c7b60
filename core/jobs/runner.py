"""Submitting and running jobs.

A job is a function registered under a kind (`@task("recalculation")`), taking a
`Progress` and keyword parameters (plain data: ids, periods — never ORM objects),
returning a JSON-able result. `submit` records a `JobRun` and either enqueues it on RQ
(when CONGVU_REDIS_URL is set) or runs it inline through the same `execute` function.
Jobs must be idempotent: a retry after a crash replaces the output of the failed try.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select, text

from core import unit_of_work
from core.audit.services import acting_as, job_actor, request_origin
from core.extensions import db
from core.jobs.models import JobRun
from core.jobs.queues import queue_name
from core.observability import observe_job
from core.tenancy import current_tenant_id, rls, tenant_context
from core.timeutil import utcnow

log = logging.getLogger(__name__)

TASKS: dict[str, Callable[..., dict]] = {}
QUEUE_FOR: dict[str, str] = {}
TIMEOUT_FOR: dict[str, int] = {}
ACTIVE = ("queued", "running")
# Why a run queued before its tenant was suspended did not run (see _execute); resuming
# the tenant queues exactly these again (requeue_suspended).
SUSPENDED_ERROR = "The tenant is suspended."
_worker_app = None  # set by `congvu worker`; forked job processes inherit it
_parent_pid: int | None = None


def task(kind: str, queue: str = "default", timeout: int = 3600):
    """Register a job function for `kind` on an RQ queue named by workload."""

    def decorate(fn: Callable[..., dict]) -> Callable[..., dict]:
        TASKS[kind], QUEUE_FOR[kind], TIMEOUT_FOR[kind] = fn, queue, timeout
        return fn

    return decorate


@dataclass
class Progress:
    """Reports progress where the UI reads it (job_runs) and in RQ's job.meta, in its own
    short transaction so it is visible while the job's own transaction is still open."""

    run_id: str
    tenant_id: int
    listener: Callable[[int, int, str | None], None] | None = None

    last: tuple[int, int, str | None] = (0, 0, None)

    def __call__(self, done: int, total: int, stage: str | None = None) -> None:
        self.last = (done, total, stage)
        if self.listener is not None:
            self.listener(done, total, stage)
        if db.engine.dialect.name == "sqlite":
            # SQLite has one writer: a second connection would wait for the job's own
            # transaction. The embedded mode runs jobs inline, with no one polling.
            return
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                rls.apply(conn, self.tenant_id)
            conn.execute(text("UPDATE job_runs SET done = :d, total = :n, stage = :s WHERE id = :i"),
                         {"d": done, "n": total, "s": stage, "i": self.run_id})
        try:
            from rq import get_current_job

            job = get_current_job()
            if job is not None:
                job.meta.update(done=done, total=total, stage=stage)
                job.save_meta()
        except Exception:  # noqa: BLE001 - progress is informative; never fail a job over it
            log.debug("could not save RQ job meta", exc_info=True)


def run_view(run: JobRun) -> dict:
    return {"id": run.id, "kind": run.kind, "scope": run.scope, "status": run.status,
            "progress": {"done": run.done, "total": run.total, "stage": run.stage},
            "result": run.result, "error": run.error, "attempts": run.attempts,
            "requested_by": run.requested_by, "created_at": run.created_at, "finished_at": run.finished_at}


def get_run(job_id: str) -> JobRun | None:
    """A run of the current tenant by id (the ORM's tenant filter applies), or None."""
    return db.session.get(JobRun, job_id)


def latest_runs(limit: int, kind: str | None = None, requested_by: str | None = None) -> list[JobRun]:
    """The current tenant's latest runs, newest first: of one kind, or only those
    `requested_by` started, when given."""
    stmt = select(JobRun).order_by(JobRun.created_at.desc()).limit(limit)
    if kind is not None:
        stmt = stmt.where(JobRun.kind == kind)
    if requested_by is not None:
        stmt = stmt.where(JobRun.requested_by == requested_by)
    return list(db.session.scalars(stmt))


def active_run(kind: str, scope: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.key == f"{kind}:{scope}", JobRun.status.in_(ACTIVE)))


def submit(kind: str, scope: str, params: dict[str, Any], actor: str,
           listener: Callable[[int, int, str | None], None] | None = None) -> JobRun:
    """Record and start a job; a job of the same (tenant, kind, scope) already queued or
    running is returned instead of starting a second one."""
    existing = active_run(kind, scope)
    if existing is not None:
        return existing
    request_id, client_ip = request_origin()
    run = JobRun(id=str(uuid.uuid4()), key=f"{kind}:{scope}", kind=kind, scope=scope, params=params,
                 requested_by=actor, request_id=request_id, client_ip=client_ip)
    db.session.add(run)
    unit_of_work.commit()
    tenant_id = current_tenant_id()
    redis_url = current_app.config.get("CONGVU_REDIS_URL")
    if redis_url:
        _enqueue(redis_url, run, tenant_id)
    else:
        execute(tenant_id, run.id, listener)
        db.session.expire_all()
    return db.session.get(JobRun, run.id)


def _enqueue(redis_url: str, run: JobRun, tenant_id: int) -> None:
    from redis import Redis
    from rq import Queue, Retry

    queue = Queue(queue_name(QUEUE_FOR[run.kind]), connection=Redis.from_url(redis_url))
    try:
        queue.enqueue(execute, tenant_id, run.id, job_id=run.id, retry=Retry(max=3, interval=[1, 5, 15]),
                      job_timeout=TIMEOUT_FOR[run.kind], result_ttl=86400, failure_ttl=7 * 86400,
                      description=f"{run.kind} {run.scope}")
    except Exception:  # noqa: BLE001 - Redis down: the run stays queued in the database (outbox)
        log.warning("could not enqueue job %s; it stays queued until the sweeper sends it", run.id, exc_info=True)


def requeue_abandoned(redis_url: str, heartbeat_grace_seconds: float = 120) -> int:
    """Send again (all tenants) runs still queued in the database but unknown to RQ
    (Redis was down when they were submitted), and runs left `running` by a worker that
    died (no live worker, by heartbeat, holds them). Returns how many were sent."""
    from redis import Redis
    from rq import Worker
    from rq.job import Job

    from core.tenancy import unscoped

    conn = Redis.from_url(redis_url)
    now = utcnow()
    held = set()
    for worker in Worker.all(connection=conn):
        beat = worker.last_heartbeat
        alive = beat is not None and (now - beat.replace(tzinfo=now.tzinfo)).total_seconds() < heartbeat_grace_seconds
        if alive and worker.get_current_job_id():
            held.add(worker.get_current_job_id())
    sent = 0
    with unscoped():
        runs = list(db.session.scalars(select(JobRun).where(JobRun.status.in_(ACTIVE))))
        for run in runs:
            try:
                status = Job.fetch(run.id, connection=conn).get_status(refresh=True)
            except Exception:  # noqa: BLE001 - not in Redis at all
                status = None
            waiting = status in ("queued", "deferred", "scheduled")
            if run.id in held or waiting:
                continue
            if run.status == "queued" and status == "started":
                continue  # picked up a moment ago
            _enqueue(redis_url, run, run.tenant_id)
            sent += 1
    return sent


def requeue_suspended(since: datetime | None) -> list[str]:
    """The current tenant's runs that failed because it was suspended (since `since`, the
    suspension being lifted), queued again: the newest run of each key, unless a run of
    that key is queued or running. Writes in the caller's transaction; returns their ids,
    for `send` once it has committed. Runs that failed for any other reason stay failed."""
    stmt = select(JobRun).where(JobRun.status == "failed", JobRun.error == SUSPENDED_ERROR)
    if since is not None:
        stmt = stmt.where(JobRun.finished_at >= since)
    runs = list(db.session.scalars(stmt.order_by(JobRun.created_at.desc(), JobRun.id)))
    busy = set(db.session.scalars(select(JobRun.key).where(JobRun.key.in_({r.key for r in runs}),
                                                           JobRun.status.in_(ACTIVE)))) if runs else set()
    newest = {}
    for run in runs:
        if run.key not in busy:
            newest.setdefault(run.key, run)
    for run in newest.values():
        run.status, run.finished_at, run.error, run.done, run.stage = "queued", None, None, 0, None
    return [run.id for run in newest.values()]


def send(tenant_id: int, run_ids: list[str]) -> None:
    """Start runs already committed as queued: on RQ, or inline without Redis (as submit)."""
    redis_url = current_app.config.get("CONGVU_REDIS_URL")
    for run_id in run_ids:
        if redis_url:
            with tenant_context(tenant_id):
                run = db.session.get(JobRun, run_id)
            _enqueue(redis_url, run, tenant_id)
        else:
            execute(tenant_id, run_id)


def _app():
    if has_app_context():
        return None
    if _worker_app is None:
        raise RuntimeError("no Flask app for this job: run workers with `congvu worker`")
    return _worker_app


def execute(tenant_id: int, run_id: str, listener=None) -> dict | None:
    """The RQ job function (also called inline): run the task of `run_id` for its tenant."""
    app = _app()
    if app is None:
        return _execute(tenant_id, run_id, listener)
    if _parent_pid is not None and os.getpid() != _parent_pid:
        with app.app_context():
            db.engine.dispose(close=False)  # never share the parent's pooled connections after fork
    with app.app_context():
        try:
            return _execute(tenant_id, run_id)
        finally:
            db.session.remove()


def _execute(tenant_id: int, run_id: str, listener=None) -> dict | None:
    with tenant_context(tenant_id):
        run = db.session.get(JobRun, run_id)
        if run is None:
            raise LookupError(f"job run {run_id} not found for tenant {tenant_id}")
        if run.status == "finished":
            return run.result  # a duplicate delivery: the work is done
        if _suspended(tenant_id):
            # Queued before the operator suspended the tenant: not run; started again
            # by hand once it is resumed (the nightly schedule passes it by meanwhile).
            run.status, run.finished_at, run.error = "failed", utcnow(), SUSPENDED_ERROR
            unit_of_work.commit()
            return None
        run.status, run.started_at, run.attempts, run.error = "running", utcnow(), run.attempts + 1, None
        params, kind, requested_by = dict(run.params or {}), run.kind, run.requested_by
        origin = (run.request_id, run.client_ip)
        unit_of_work.commit()
        started = time.perf_counter()
        try:
            progress = Progress(run_id, tenant_id, listener)
            # The job's events name the person who asked for it (kept on the run row),
            # whether a worker runs it later or it runs inline in their request.
            with acting_as(job_actor(requested_by, run_id), *origin):
                result = TASKS[kind](progress, **params)
        except Exception as exc:
            observe_job(kind, "failed", time.perf_counter() - started)
            unit_of_work.rollback()
            run = db.session.get(JobRun, run_id)
            run.status, run.finished_at = "failed", utcnow()
            run.error = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
            unit_of_work.commit()
            log.exception("job %s (%s) failed", run_id, kind)
            if has_rq_job():
                raise  # let RQ retry it
            return None
        observe_job(kind, "finished", time.perf_counter() - started)
        run = db.session.get(JobRun, run_id)
        run.status, run.finished_at, run.result = "finished", utcnow(), result
        run.done, run.total, run.stage = progress.last
        unit_of_work.commit()
        return result


def _suspended(tenant_id: int) -> bool:
    from core.tenants.models import Tenant

    tenant = db.session.get(Tenant, tenant_id)
    return tenant is not None and tenant.status == "suspended"


def has_rq_job() -> bool:
    try:
        from rq import get_current_job

        return get_current_job() is not None
    except Exception:  # noqa: BLE001
        return False


def start_worker(app, queues: list[str], burst: bool = False, metrics_port: int | None = None) -> None:
    """`congvu worker`: an RQ worker whose jobs run inside this app. With `metrics_port`,
    it serves Prometheus metrics (job durations) on that port."""
    global _worker_app, _parent_pid
    from redis import Redis
    from rq import Queue

    from core.jobs.worker import CongvuWorker

    _worker_app, _parent_pid = app, os.getpid()
    if metrics_port:
        from core.observability import serve_worker_metrics

        serve_worker_metrics(app, metrics_port)
    conn = Redis.from_url(app.config["CONGVU_REDIS_URL"])
    prefix = app.config.get("CONGVU_QUEUE_PREFIX") or ""
    worker = CongvuWorker([Queue(prefix + name, connection=conn) for name in queues], connection=conn)
    worker.work(burst=burst, with_scheduler=True)
