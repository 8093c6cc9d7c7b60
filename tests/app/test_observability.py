"""/healthz, /metrics and the request id: health answers 503 when a configured dependency
is down, the latency histogram shows a request by its endpoint, and log records carry the
tenant and the request id of the request they were written in."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from core.observability import ContextFilter, JsonFormatter
from tests.conftest import make_app


@pytest.fixture
def redis_app(clean_app, backend, redis_url, tmp_path_factory):
    prefix = f"test-{uuid.uuid4().hex[:8]}-"  # queues of our own: other runs may share this Redis
    return make_app(backend, tmp_path_factory, CONGVU_REDIS_URL=redis_url, CONGVU_QUEUE_PREFIX=prefix)


def test_healthz_without_redis_checks_the_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": {"ok": True}}


def test_healthz_reports_redis_and_queue_depth(redis_app, redis_url):
    from redis import Redis
    from rq import Queue

    with redis_app.app_context():
        from core.jobs.runner import queue_name

        queue = Queue(queue_name("imports"), connection=Redis.from_url(redis_url))
        queue.enqueue("builtins.print", "waiting")  # nobody serves this prefix: it stays queued
    try:
        r = redis_app.test_client().get("/healthz")
        body = r.get_json()
        assert r.status_code == 200, body
        assert body["checks"]["redis"] == {"ok": True}
        assert body["queues"] == {"scoring": 0, "imports": 1, "default": 0}
    finally:
        queue.empty()


def test_healthz_is_degraded_not_failed_when_redis_is_down(clean_app, backend, tmp_path_factory):
    """Redis is shared by every host: a 503 would take them all out of the load balancer
    while logins (in-process limits) and jobs (the outbox) still work."""
    # Port 1 on loopback: nothing listens, so the connection is refused at once.
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL="redis://127.0.0.1:1/0")
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["redis"]["error"]


def test_metrics_expose_request_latency_by_endpoint(client):
    assert client.get("/healthz").status_code == 200
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert "# TYPE congvu_http_request_duration_seconds histogram" in text
    assert 'congvu_http_request_duration_seconds_count{endpoint="observability.healthz",method="GET",status="200"}' \
        in text
    assert "# TYPE congvu_job_duration_seconds histogram" in text
    assert "congvu_queue_depth" in text  # declared even without Redis, with no samples


def test_metrics_show_queue_depth_with_redis(redis_app):
    text = redis_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'congvu_queue_depth{queue="scoring"} 0.0' in text


def test_metrics_still_answer_when_redis_is_down(clean_app, backend, tmp_path_factory):
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL="redis://127.0.0.1:1/0")
    r = app.test_client().get("/metrics")
    assert r.status_code == 200
    assert "congvu_http_request_duration_seconds" in r.get_data(as_text=True)


def test_request_id_is_made_or_echoed(client):
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
    assert client.get("/healthz").headers["X-Request-Id"] != made
    echoed = client.get("/healthz", headers={"X-Request-Id": "nginx-abc123"}).headers["X-Request-Id"]
    assert echoed == "nginx-abc123"
    # Not something to copy into logs and headers as is: replaced.
    odd = client.get("/healthz", headers={"X-Request-Id": "a b\tc" + "x" * 200}).headers["X-Request-Id"]
    assert len(odd) == 32 and " " not in odd
    # Even an answer the tenancy hooks give (unknown tenant: 404) carries one.
    assert client.get("/t/no-such-tenant/").headers.get("X-Request-Id")


def test_log_records_carry_tenant_and_request_id(clean_app):
    from core.tenancy import tenant_context

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("congvu.test.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with clean_app.test_request_context("/healthz", headers={"X-Request-Id": "req-42"}):
            clean_app.preprocess_request()
            logger.info("inside a request")
        with clean_app.app_context(), tenant_context(7):
            logger.info("inside a job")
    finally:
        logger.removeHandler(handler)
    assert (records[0].request_id, records[0].tenant) == ("req-42", "-")
    assert (records[1].request_id, records[1].tenant) == ("-", "7")
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["message"] == "inside a request" and line["request_id"] == "req-42"


def test_a_log_line_after_a_commit_names_the_tenant_without_a_query(clean_app):
    """The audit checkpoint logs a line after every write's commit; naming the tenant from
    the tenant row would reload the row the commit expired — a query per write."""
    from core.extensions import db
    from tests.work.test_work_support import build, count_queries

    world = build(clean_app)
    record = logging.LogRecord("congvu.audit", logging.INFO, __file__, 1, "after the commit", None, None)
    with clean_app.test_request_context(world.url("/work-items"), headers=world.h("staff")):
        clean_app.preprocess_request()  # binds the tenant of the URL, as a request does
        db.session.commit()  # expires every row the request loaded, the tenant's among them
        with count_queries(clean_app) as statements:
            ContextFilter().filter(record)
    assert record.tenant == world.slug
    assert statements == []
