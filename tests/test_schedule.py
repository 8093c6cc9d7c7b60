"""Scheduled jobs on RQ's cron with the real Redis: the entries `congvu schedule`
registers, the nightly work run by a real `congvu worker` (overdue items flagged, stale
months recalculated, for every tenant), and the sweeper re-sending a run RQ never got."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from core.extensions import db
from core.jobs.models import JobRun
from core.scoring.models import ScoredPeriod
from core.tenancy import tenant_context
from core.work.models import WorkItem
from tests.conftest import make_app
from tests.test_work_support import build, declare

ROOT = Path(__file__).resolve().parent.parent
CONGVU = str(Path(sys.executable).parent / "congvu")


@pytest.fixture
def rq_app(clean_app, backend, redis_url, tmp_path, tmp_path_factory):
    from redis import Redis
    from rq import Queue

    prefix = f"test-{uuid.uuid4().hex[:8]}-"  # queues of our own: other runs may share this Redis
    env = {**os.environ, "CONGVU_DATABASE_URL": backend.app_url, "CONGVU_REDIS_URL": redis_url,
           "CONGVU_SECRET_KEY": "x" * 64, "CONGVU_INSTANCE_PATH": str(tmp_path / "instance"),
           "CONGVU_QUEUE_PREFIX": prefix}
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL=redis_url, CONGVU_QUEUE_PREFIX=prefix)
    yield app, env
    conn = Redis.from_url(redis_url)
    for workload in ("default", "scoring", "imports"):
        Queue(prefix + workload, connection=conn).empty()


def run(env, *args: str) -> str:
    result = subprocess.run([CONGVU, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_scheduler_registers_the_nightly_jobs_on_rq_cron(rq_app, redis_url):
    from redis import Redis
    from rq import Queue

    from core.jobs.schedule import build_scheduler

    app, env = rq_app
    conn = Redis.from_url(redis_url)
    scheduler = build_scheduler(app, conn)
    entries = {job.name: job for job in scheduler.get_jobs()}
    assert set(entries) == {"congvu.mark_overdue", "congvu.recalculate_stale", "congvu.sweep_abandoned"}
    prefix = env["CONGVU_QUEUE_PREFIX"]
    assert {job.queue_name for job in entries.values()} == {prefix + "default"}
    assert entries["congvu.mark_overdue"].cron == "30 0 * * *"
    assert entries["congvu.recalculate_stale"].cron == "0 1 * * *"
    # Nightly jobs wait for their hour; the sweeper (an interval) goes at once.
    enqueued = scheduler.enqueue_jobs()
    assert [job.name for job in enqueued] == ["congvu.sweep_abandoned"]
    queue = Queue(prefix + "default", connection=conn)
    assert [job.func_name for job in queue.jobs] == ["core.jobs.schedule.sweep_abandoned"]


def _overdue_world(app, client, slug: str):
    from core.scoring.services import mark_stale

    w = build(app, slug)
    late = declare(client, w, work_date="2026-10-05", deadline="2026-10-06")
    with app.app_context(), tenant_context(w.tenant_id):
        mark_stale({"2026-10"}, "test: settings changed")
        db.session.commit()
    return w, late["id"]


def test_nightly_jobs_run_on_a_real_worker_for_every_tenant(rq_app):
    app, env = rq_app
    client = app.test_client()
    worlds = [_overdue_world(app, client, slug) for slug in ("tinh-sched-a", "tinh-sched-b")]
    out = run(env, "schedule", "--now")
    assert out.count("enqueued") == 3
    # One burst worker: the nightly jobs from default, then the recalculations they put on scoring.
    run(env, "worker", "--burst", "--queues", "default,scoring")
    for w, item_id in worlds:
        with app.app_context(), tenant_context(w.tenant_id):
            item = db.session.get(WorkItem, item_id)
            assert item.missed_deadlines >= 1 and item.not_reported is True
            period = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == "2026-10"))
            assert period.stale is False and period.scored_at is not None
            runs = db.session.scalars(select(JobRun).where(JobRun.kind == "recalculation")).all()
            assert [(r.scope, r.status, r.requested_by) for r in runs] == [("2026-10", "finished", "scheduler")]


def test_closed_and_fresh_months_are_left_alone(rq_app):
    from core.jobs.schedule import recalculate_stale

    app, _ = rq_app
    w, _ = _overdue_world(app, app.test_client(), "tinh-sched-c")
    with app.app_context():
        with tenant_context(w.tenant_id):
            from core.work.models import ClosedPeriod

            db.session.add(ClosedPeriod(period="2026-10"))
            db.session.commit()
        result = recalculate_stale()
    assert result == {"tenants": {str(w.tenant_id): []}, "failed": []}


def test_the_sweeper_sends_a_run_redis_never_got(rq_app, redis_url):
    from redis import Redis
    from rq import Queue

    from core.jobs.schedule import sweep_abandoned

    app, env = rq_app
    w, _ = _overdue_world(app, app.test_client(), "tinh-sched-d")
    with app.app_context(), tenant_context(w.tenant_id):
        # As if Redis was down at submit time: recorded in the database, unknown to RQ.
        db.session.add(JobRun(id=str(uuid.uuid4()), key="recalculation:2026-10", kind="recalculation",
                              scope="2026-10", params={"period": "2026-10"}, requested_by="test"))
        db.session.commit()
    with app.app_context():
        assert sweep_abandoned() == {"sent": 1}
        assert sweep_abandoned() == {"sent": 0}  # now RQ has it: not sent twice
    queue = Queue(env["CONGVU_QUEUE_PREFIX"] + "scoring", connection=Redis.from_url(redis_url))
    assert queue.count == 1


def test_a_worker_serves_its_job_durations(rq_app, tmp_path):
    """Jobs run in forked work horses: their durations reach the worker's /metrics
    through PROMETHEUS_MULTIPROC_DIR."""
    import signal
    import socket
    import time
    import urllib.request

    app, env = rq_app
    client = app.test_client()
    w, _ = _overdue_world(app, client, "tinh-sched-e")
    r = client.post(w.url("/recalculations"), json={"period": "2026-10"}, headers=w.h("admin"))
    assert r.status_code == 202, r.get_json()
    run_id = r.get_json()["job_id"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = subprocess.Popen([CONGVU, "worker", "--queues", "scoring", "--metrics-port", str(port)],
                              env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            with app.app_context(), tenant_context(w.tenant_id):
                status = db.session.get(JobRun, run_id).status
            if status == "finished":
                break
            assert time.monotonic() < deadline and worker.poll() is None, status
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0]
    assert 'congvu_job_duration_seconds_count{kind="recalculation",status="finished"} 1.0' in text, (text, output)
    assert 'congvu_queue_depth{queue="scoring"} 0.0' in text
