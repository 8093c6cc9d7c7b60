"""The deployment end to end: gunicorn with deploy/gunicorn.conf.py, an RQ worker
(`congvu worker`) and the scheduler (`congvu schedule`), as the systemd units start them,
against a fresh PostgreSQL database (the app as the non-owner role, under row-level
security) and the real Redis, on queues of their own (a unique CONGVU_QUEUE_PREFIX).

Through HTTP only: log in, declare an item and complete it, ask for a recalculation,
poll the job until the worker finished it, read the scores. The scheduler's sweeper,
an interval job, is enqueued at start and run by the worker. Then SIGTERM to all three:
each exits 0 and no process of theirs is left.

PostgreSQL and Redis are required: with CI=true their absence fails the test (conftest).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from core import PROJECT_ROOT
from core.demo import DEMO_PASSWORD, SLUG
from tests.app.test_deploy import BIN, call, clean_env, free_port, run_cli, wait_for_health
from tests.conftest import _drop_postgres, _make_postgres

ROLES = ("web", "worker", "scheduler")


@pytest.fixture
def installation(redis_url, tmp_path) -> Iterator[dict[str, str]]:
    """A fresh database, migrated and seeded by the operator's commands: the demo's
    people and logins, and the Khánh Hòa pack's catalogue."""
    backend = _make_postgres()  # fails under CI=true when PostgreSQL is missing, else skips
    prefix = f"e2e-{uuid.uuid4().hex[:8]}-"
    env = clean_env(
        CONGVU_ENV="production",
        CONGVU_DATABASE_URL=backend.app_url,
        CONGVU_DATABASE_OWNER_URL=backend.owner_url,
        CONGVU_DATABASE_OPS_URL=backend.ops_url,
        CONGVU_REDIS_URL=redis_url,
        CONGVU_QUEUE_PREFIX=prefix,
        CONGVU_SECRET_KEY="e2e-" + uuid.uuid4().hex * 2,
        CONGVU_AUDIT_KEY="e2e-audit-" + uuid.uuid4().hex * 2,
        CONGVU_INSTANCE_PATH=str(tmp_path / "instance"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    try:
        run_cli("db", "upgrade", env=env)
        run_cli("demo", "--without-work", env=env)
        run_cli("tenant", "apply", str(PROJECT_ROOT / "tenants" / SLUG), env=env)
        yield env
    finally:
        from redis import Redis

        conn = Redis.from_url(redis_url)
        for key in conn.scan_iter(match=f"*{prefix}*", count=1000):
            conn.delete(key)
        _drop_postgres(backend)


def start(role: str, args: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    with (logs / f"{role}.log").open("wb") as out:
        # Each in a session of its own: its process group is every process it started.
        return subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(what: str, check, seconds: float, processes: dict[str, subprocess.Popen], logs: Path):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        for role, process in processes.items():
            if process.poll() is not None:
                pytest.fail(f"{role} exited with {process.returncode} while waiting for {what}:\n"
                            + (logs / f"{role}.log").read_text(), pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s:\n" + "\n".join(
                f"--- {r}\n" + (logs / f"{r}.log").read_text()[-3000:] for r in processes), pytrace=False)
        time.sleep(0.2)


def test_web_worker_and_scheduler_run_a_recalculation_end_to_end(installation, redis_url, tmp_path):
    from redis import Redis
    from rq import Queue
    from rq.registry import FinishedJobRegistry

    env, logs = installation, tmp_path
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes = {
        "web": start("web", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
                     dict(env, CONGVU_WEB_BIND=f"127.0.0.1:{port}", CONGVU_WEB_WORKERS="2"), logs),
        "worker": start("worker", [str(BIN / "congvu"), "worker", "--queues", "scoring,imports,default"], env, logs),
        "scheduler": start("scheduler", [str(BIN / "congvu"), "schedule"], env, logs),
    }
    try:
        wait_for_health(base, processes["web"], logs / "web.log")
        api = f"{base}/api/v1/tenants/{SLUG}"

        def login(username: str) -> dict[str, str]:
            status, _, body = call(base + "/api/v1/auth/token", "POST",
                                   {"tenant": SLUG, "username": username, "password": DEMO_PASSWORD})
            assert status == 200, body
            return {"Authorization": f"Bearer {body['access_token']}"}

        staff, admin = login("snv-p1-cv-02"), login("admin")
        today = date.today()  # the servers run on the real clock
        period = f"{today.year:04d}-{today.month:02d}"
        status, _, item = call(api + "/work-items", "POST", {"task_type_code": "B01", "work_date": today.isoformat(),
                                                             "quantity": 3, "title": "Soạn công văn"}, staff)
        assert status == 201, item
        status, _, done = call(api + f"/work-items/{item['id']}", "PATCH", {"status": "done"}, staff)
        assert status == 200 and done["status"] == "done", done
        # With Redis the write leaves a scoring mark and the deployed worker's scorer job
        # re-scores the month beside the request (docs/scoring.md): it is there within seconds.
        deadline = time.monotonic() + 60
        while True:
            status, _, before = call(api + f"/scores?period={period}&employee_id={item['employee_id']}",
                                     headers=admin)
            assert status == 200, before
            if len(before) == 1 and not before[0].get("pending"):
                break
            assert time.monotonic() < deadline, before
            time.sleep(0.5)

        status, _, accepted = call(api + "/recalculations", "POST", {"period": period}, admin)
        assert status == 202, accepted

        def finished():
            status, _, job = call(api + f"/jobs/{accepted['job_id']}", headers=admin)
            assert status == 200 and job["status"] in ("queued", "running", "finished"), job
            return job if job["status"] == "finished" else None

        job = wait_until("finished recalculation", finished, 30, processes, logs)
        assert job["kind"] == "recalculation" and job["result"]["items"] == 1, job
        status, _, after = call(api + f"/scores?period={period}&employee_id={item['employee_id']}", headers=admin)
        assert status == 200 and len(after) == 1, after
        # The worker's full recalculation agrees with the score kept up to date on commit.
        assert after[0]["total"] == before[0]["total"] and after[0]["task_score"] == before[0]["task_score"]
        assert after[0]["task_score"] is not None and after[0]["task_score"] > 0, after

        # The scheduler put its interval job (the sweeper) on this installation's default
        # queue at start, and the worker ran it: nothing was abandoned.
        conn = Redis.from_url(redis_url)
        prefix = env["CONGVU_QUEUE_PREFIX"]
        registry = FinishedJobRegistry(queue=Queue(prefix + "default", connection=conn))

        def swept():
            jobs = [registry.job_class.fetch(i, connection=conn) for i in registry.get_job_ids()]
            return [j for j in jobs if j.func_name == "core.jobs.schedule.sweep_abandoned"]

        sweeps = wait_until("sweep by the scheduler", swept, 20, processes, logs)
        assert sweeps[0].return_value() == {"sent": 0}
        assert call(base + "/healthz")[0] == 200
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for role, process in processes.items():
            try:
                codes[role] = process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[role] = process.wait()
    output = {role: (logs / f"{role}.log").read_text() for role in ROLES}
    assert codes == {"web": 0, "worker": 0, "scheduler": 0}, output
    # Nothing left behind: no gunicorn worker, no RQ work horse, no scheduler child.
    deadline = time.monotonic() + 10
    while any(group_alive(p.pid) for p in processes.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [r for r, p in processes.items() if group_alive(p.pid)] == [], output
    assert "Shutting down: Master" in output["web"]
