"""Observability: `/healthz` (database, Redis, queue depth), Prometheus `/metrics`
(request latency by endpoint, job durations, queue depth) and log records that carry the
tenant and the request id.

Several processes (gunicorn workers, RQ work horses) each hold their own counters. With
PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it), prometheus_client writes
every process's values to files there and `/metrics` sums them, so a scrape that lands on
any one worker sees the whole host. The variable must be set before prometheus_client is
imported, i.e. in the process environment, never from Flask config.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import select

from core.extensions import db

log = logging.getLogger(__name__)

# Buckets from a cached page (5 ms) to the gunicorn timeout (60 s).
REQUEST_SECONDS = Histogram(
    "congvu_http_request_duration_seconds", "Time to answer an HTTP request, by Flask endpoint.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
# Jobs run from under a second (one import) to the 30-minute recalculation timeout.
JOB_SECONDS = Histogram(
    "congvu_job_duration_seconds", "Time a job took in the worker, by kind and outcome.",
    ["kind", "status"], buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600))

REQUEST_ID_HEADER = "X-Request-Id"
# An id from nginx ($request_id, 32 hex digits) or a client is kept when it is a short
# plain token, so it can go into logs, headers, audit events and job runs as is; anything
# else (long, HTML, a control character) is replaced by one of ours. Matched whole
# (fullmatch): `$` would also match before a final newline, and "abc\n" would be kept.
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

bp = Blueprint("observability", __name__)


# ---------------------------------------------------------------- health


def _check_database() -> dict[str, Any]:
    try:
        db.session.execute(select(1))
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure is "down", with its first line
        db.session.rollback()
        return {"ok": False, "error": str(exc).splitlines()[0][:200]}


def redis_connection(url: str):
    from redis import Redis

    # A health check must answer before the load balancer's own timeout gives up on it.
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def queue_depths(conn) -> dict[str, int]:
    from rq import Queue

    from core.jobs.queues import WORKLOADS, queue_name

    return {workload: Queue(queue_name(workload), connection=conn).count for workload in WORKLOADS}


def _check_redis(url: str) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        conn = redis_connection(url)
        conn.ping()
        return {"ok": True}, queue_depths(conn)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc).splitlines()[0][:200]}, {}


@bp.get("/healthz")
def healthz():
    """503 `fail` when the database does not answer (so a load balancer takes this host
    out); 200 `degraded` when only Redis is down — every host shares that Redis, so taking
    them out would stop the service, while logins keep working on per-process limits
    (core/auth/throttle.py) and jobs wait in PostgreSQL for the sweeper. 200 `ok` when
    every configured dependency answers; Redis is checked only when the installation uses it."""
    checks: dict[str, Any] = {"database": _check_database()}
    body: dict[str, Any] = {"checks": checks}
    redis_url = current_app.config.get("CONGVU_REDIS_URL")
    if redis_url:
        checks["redis"], body["queues"] = _check_redis(redis_url)
    if not checks["database"]["ok"]:
        body["status"] = "fail"
        return body, 503
    body["status"] = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return body, 200


# ---------------------------------------------------------------- metrics


class QueueDepthCollector:
    """Queue depth read from Redis at scrape time: a gauge kept in each process would be
    stale, and the queues are shared by every host anyway."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("congvu_queue_depth", "Jobs waiting in an RQ queue.", labels=["queue"])
        url = self.app.config.get("CONGVU_REDIS_URL")
        if url:
            try:
                with self.app.app_context():
                    for workload, count in queue_depths(redis_connection(url)).items():
                        depth.add_metric([workload], count)
            except Exception:  # noqa: BLE001 - a scrape must not fail because Redis is down; /healthz says so
                log.warning("queue depth unavailable", exc_info=True)
        yield depth


def metrics_registry(app: Flask) -> CollectorRegistry:
    """A registry for one scrape: every process's values in multiprocess mode, this
    process's otherwise; plus the live queue depth."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from core.auth.throttle import FALLBACKS

        for collector in (REQUEST_SECONDS, JOB_SECONDS, FALLBACKS):
            registry.register(collector)
    registry.register(QueueDepthCollector(app))
    return registry


@bp.get("/metrics")
def metrics():
    # nginx answers /metrics only for internal addresses (deploy/nginx.conf).
    output = generate_latest(metrics_registry(current_app._get_current_object()))
    return Response(output, mimetype=CONTENT_TYPE_LATEST)


def serve_worker_metrics(app: Flask, port: int) -> None:
    """Serve /metrics from a worker host. RQ runs each job in a forked work horse that
    exits after it, so the horses' values reach this server only through
    PROMETHEUS_MULTIPROC_DIR, which must be in the worker's environment from its start."""
    from prometheus_client import start_http_server

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError("set PROMETHEUS_MULTIPROC_DIR for the worker: its jobs run in forked processes")
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    start_http_server(port, registry=metrics_registry(app))  # a daemon thread; collects at each scrape


def observe_job(kind: str, status: str, seconds: float) -> None:
    JOB_SECONDS.labels(kind=kind, status=status).observe(seconds)


def _start_timer() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _GOOD_ID.fullmatch(incoming) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    if started is not None:
        # The endpoint name, never the path: paths carry ids and would explode the series.
        REQUEST_SECONDS.labels(method=request.method, endpoint=request.endpoint or "unmatched",
                               status=str(response.status_code)).observe(time.perf_counter() - started)
    return response


# ---------------------------------------------------------------- logs


class ContextFilter(logging.Filter):
    """Adds `request_id` and `tenant` to every record: from the request (g) in the web,
    from the tenant context in a job."""

    def filter(self, record: logging.LogRecord) -> bool:
        from core.tenancy import current_tenant_id

        request_id = tenant = None
        if has_request_context():
            request_id = g.get("request_id")
            # The slug bind_tenant kept as text: reading it off the tenant row would reload
            # the row (a query) in every log line after a commit has expired it.
            tenant = g.get("tenant_slug")
        if tenant is None:
            tenant_id = current_tenant_id()
            tenant = str(tenant_id) if tenant_id is not None else None
        record.request_id = getattr(record, "request_id", None) or request_id or "-"
        record.tenant = getattr(record, "tenant", None) or tenant or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for journald / a log shipper to index by field."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "-"), "tenant": getattr(record, "tenant", "-")}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [tenant=%(tenant)s request_id=%(request_id)s] %(message)s"


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, with the context filter, so records from every
    module (and library) carry tenant and request id. JSON in production or when
    CONGVU_LOG_FORMAT=json. Idempotent: tests build many apps in one process."""
    root = logging.getLogger()
    if any(getattr(h, "_congvu", False) for h in root.handlers):
        return
    fmt = app.config.get("CONGVU_LOG_FORMAT") or ("json" if app.config.get("CONGVU_ENV") == "production" else "text")
    handler = logging.StreamHandler()
    handler._congvu = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    if root.level == logging.WARNING:  # untouched default: let the app's INFO lines through
        root.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    # First of all before_request functions, so a request that Flask-Limiter (registered
    # earlier) or the tenancy hooks refuse is still timed and has an id.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_finish)
    app.register_blueprint(bp)
    if not app.testing:
        configure_logging(app)
