"""Recalculation on a real RQ worker and Redis: a job end to end, duplicates refused, and
a worker killed with SIGKILL mid-job whose run is sent again and ends equal to an
uninterrupted one, with no duplicated rows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.extensions import db
from core.jobs.models import JobRun
from core.scoring.models import ItemScore, PeriodScore
from core.tenancy import tenant_context
from tests.conftest import make_app
from tests.work.test_work_support import build, declare

PERIOD = "2026-10"
ROOT = Path(__file__).resolve().parents[2]
CONGVU = str(Path(sys.executable).parent / "congvu")


@pytest.fixture
def rq_setup(clean_app, backend, redis_url, tmp_path, tmp_path_factory, monkeypatch):
    import uuid

    prefix = f"test-{uuid.uuid4().hex[:8]}-"  # queues of our own: other runs may share this Redis
    tenants = tmp_path / "tenants"
    (tenants / "tinh-slow").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "jobs_plugins" / "slow_plugin.py", tenants / "tinh-slow" / "plugin.py")
    hang = tmp_path / "hang"
    env = {**os.environ, "CONGVU_DATABASE_URL": backend.app_url, "CONGVU_REDIS_URL": redis_url,
           "CONGVU_DATABASE_OPS_URL": backend.ops_url or backend.app_url,
           "CONGVU_TENANTS_DIR": str(tenants), "CONGVU_SECRET_KEY": "x" * 64, "CONGVU_TEST_HANG": str(hang),
           "CONGVU_INSTANCE_PATH": str(tmp_path / "instance"), "CONGVU_QUEUE_PREFIX": prefix,
           # These tests follow one recalculation job through a worker; with Redis, scoring
           # would otherwise be deferred and a scorer job would run the hang hook first.
           "CONGVU_SCORING": "inline"}
    monkeypatch.setenv("CONGVU_TEST_HANG", str(hang))
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL=redis_url, CONGVU_TENANTS_DIR=str(tenants),
                   CONGVU_QUEUE_PREFIX=prefix, CONGVU_SCORING="inline")
    return app, env, hang


def _seed(app, client):
    w = build(app, "tinh-slow")
    for i in range(6):
        declare(client, w, quantity=i + 1, work_date="2026-10-05")
    r = client.patch(w.url("/settings"), json={"scoring_variant": {"key": "slow-decree", "settings": {}}},
                     headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    return w


def _worker(env, burst=True):
    args = [CONGVU, "worker", "--queues", "scoring"] + (["--burst"] if burst else [])
    return subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _job(client, w, job_id):
    return client.get(w.url(f"/jobs/{job_id}"), headers=w.h("admin")).get_json()


def _snapshot(app, w):
    with app.app_context(), tenant_context(w.tenant_id):
        scores = sorted((r.employee_id, str(r.task_score), str(r.total), r.item_count)
                        for r in db.session.scalars(select(PeriodScore).where(PeriodScore.period == PERIOD)))
        items = db.session.scalar(select(func.count()).select_from(ItemScore))
        distinct = db.session.scalar(select(func.count(func.distinct(ItemScore.work_item_id))))
    return scores, items, distinct


def test_recalculation_runs_on_a_real_worker(rq_setup, backend):
    app, env, _ = rq_setup
    client = app.test_client()
    w = _seed(app, client)
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]
    assert _job(client, w, job_id)["status"] == "queued"
    again = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert again.get_json()["job_id"] == job_id  # one at a time per (tenant, period)
    worker = _worker(env)
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    job = _job(client, w, job_id)
    assert job["status"] == "finished", (job, output)
    assert job["result"]["items"] == 6 and job["progress"]["done"] == 6
    scores, items, distinct = _snapshot(app, w)
    assert items == distinct == 6 and any(s[3] == 6 for s in scores)


def test_worker_killed_mid_job_is_retried_and_ends_equal(rq_setup, backend):
    from core.jobs.runner import requeue_abandoned

    app, env, hang = rq_setup
    client = app.test_client()
    w = _seed(app, client)
    hang.write_text("hang")
    job_id = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin")).get_json()["job_id"]
    worker = _worker(env, burst=False)
    deadline = time.time() + 60
    while not Path(str(hang) + ".started").exists():
        assert time.time() < deadline and worker.poll() is None, worker.stdout.read() if worker.poll() else "timeout"
        time.sleep(0.1)
    # The worker and its work horse, mid-job (RQ puts the horse in a session of its own).
    for pid in [worker.pid, *_children(worker.pid)]:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    hang.unlink()
    assert _job(client, w, job_id)["status"] == "running"
    with app.app_context():
        assert requeue_abandoned(env["CONGVU_REDIS_URL"], heartbeat_grace_seconds=0) == 1
    second = _worker(env)
    output, _ = second.communicate(timeout=120)
    job = _job(client, w, job_id)
    assert job["status"] == "finished" and job["attempts"] == 2, (job, output)
    interrupted = _snapshot(app, w)
    # The same month recalculated inline, uninterrupted, gives the same rows.
    inline = make_app(backend, _tmp_factory(app), CONGVU_TENANTS_DIR=env["CONGVU_TENANTS_DIR"])
    with inline.app_context(), tenant_context(w.tenant_id):
        from core.scoring import engine

        engine.recalculate(PERIOD)
        unit_of_work.commit()
    assert _snapshot(app, w) == interrupted
    assert interrupted[1] == interrupted[2] == 6


def _tmp_factory(app):
    class Factory:
        @staticmethod
        def mktemp(name):
            path = Path(app.instance_path).parent / f"{name}-{time.time_ns()}"
            path.mkdir(parents=True)
            return path

    return Factory


def test_runs_stay_queued_when_redis_is_down_and_are_sent_later(clean_app, backend, redis_url, tmp_path_factory):
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    client = app.test_client()
    w = build(app, "tinh-down")
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]
    assert _job(client, w, job_id)["status"] == "queued"  # kept in the database (the outbox)
    from core.jobs.runner import requeue_abandoned

    with app.app_context():
        assert requeue_abandoned(redis_url) == 1
        with tenant_context(w.tenant_id):
            assert db.session.get(JobRun, job_id).status == "queued"


def test_the_worker_stops_listening_within_seconds_once_unsubscribed(redis_url):
    """`congvu worker` on SIGTERM unsubscribes and then stops its pub/sub thread. With
    redis-py ≥ 8.2 that stop waits for the thread, and a thread that already read the
    unsubscription waits out its whole `sleep_time` (RQ's own: 60 s) before it looks
    again — the deployed worker outlived systemd's stop timeout and was killed. Here
    that order is forced: the thread reads the unsubscription first, then is stopped."""
    from redis import Redis
    from rq import Queue

    from core.jobs.worker import CongvuWorker

    conn = Redis.from_url(redis_url)
    worker = CongvuWorker([Queue(f"shutdown-{uuid.uuid4().hex[:8]}", connection=conn)], connection=conn)
    worker.subscribe()
    try:
        worker.pubsub.unsubscribe()
        deadline = time.monotonic() + 5
        while worker.pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)  # the listening thread reads the confirmation
        assert not worker.pubsub.subscribed
        time.sleep(0.2)  # …and is back waiting for a subscription
        started = time.monotonic()
        worker.pubsub_thread.stop()
        assert time.monotonic() - started < 3
        assert not worker.pubsub_thread.is_alive()
    finally:
        worker.pubsub.close()
