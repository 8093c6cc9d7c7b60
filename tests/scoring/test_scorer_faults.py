"""Faults of the scorer beside the request (issue 16), with real processes: a `congvu
scorer` killed with SIGKILL in the middle of a batch leaves its marks to be taken again
and the same scores result; with Redis down declarations succeed, their marks wait in the
database and the scores catch up when a scorer runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.scoring.locks import SCORING_LOCK
from tests.scoring.test_scorer import PERIOD, deferred, full_recalculation, marks, month_rows  # noqa: F401 - fixture
from tests.work.test_work_support import declare

pytest_plugins = ("tests.work.test_work_support",)

ROOT = Path(__file__).resolve().parents[2]
CONGVU = str(Path(sys.executable).parent / "congvu")


def _env(backend, tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGVU_")}
    env.update({"CONGVU_DATABASE_URL": backend.app_url, "CONGVU_DATABASE_OPS_URL": backend.ops_url or backend.app_url,
                "CONGVU_SECRET_KEY": "x" * 64, "CONGVU_INSTANCE_PATH": str(tmp_path / "instance"),
                "CONGVU_SCORING": "deferred"})
    env.update(extra)
    return env


def _scorer_once(backend, tmp_path) -> str:
    done = subprocess.run([CONGVU, "scorer", "--once"], env=_env(backend, tmp_path), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _waiting_scorer(owner, deadline: float) -> int | None:
    """The app role's backend waiting on an advisory lock (the scorer, inside its batch)."""
    while time.monotonic() < deadline:
        with owner.connect() as conn:
            pid = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE usename = 'congvu_app' AND wait_event_type = 'Lock' "
                "AND wait_event = 'advisory' AND datname = current_database()")).scalar()
        if pid is not None:
            return pid
        time.sleep(0.2)
    return None


def test_a_scorer_process_killed_mid_batch_leaves_its_marks_and_the_next_ends_equal(deferred, backend, client,  # noqa: F811
                                                                                    world, tmp_path):
    """The batch is held inside its transaction — marks taken FOR UPDATE, their scores
    being written — by the test holding the tenant's scoring lock; the process is then
    killed with SIGKILL. Its backend finds its client gone and rolls back: nothing of the
    batch is committed, the marks are all still there, and a new scorer process takes
    them and leaves what a full recalculation leaves."""
    if backend.name != "postgresql":
        pytest.skip("SQLite: one writer, no lock to hold a scorer inside its batch "
                    "(test_scorer.py kills a batch in process on both databases)")
    app = deferred
    for who in ("staff", "staff2", "outsider"):
        declare(client, world, who=who, quantity=2)
    assert len(marks(app, world)) == 3
    owner = create_engine(backend.owner_url)
    holder = owner.connect()
    proc = None
    try:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k, CAST(:t AS integer))"),
                       {"k": SCORING_LOCK, "t": world.tenant_id})
        proc = subprocess.Popen([CONGVU, "scorer", "--interval", "0.2"], env=_env(backend, tmp_path), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pid = _waiting_scorer(owner, time.monotonic() + 180)
        assert pid is not None, "the scorer never reached its batch's lock"
        with owner.connect() as conn:  # it holds the marks it took: its batch is under way
            locked = conn.execute(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = :p AND c.relname = 'scoring_marks' AND l.mode = 'RowShareLock'"), {"p": pid}).scalar()
        assert locked == 1
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
        holder.rollback()  # the lock goes: the orphaned backend runs on, cannot answer, rolls back
        deadline = time.monotonic() + 60
        with owner.connect() as conn:
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar():
                assert time.monotonic() < deadline, "the killed scorer's backend never ended"
                time.sleep(0.2)
                conn.rollback()
    finally:
        holder.close()
        owner.dispose()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(marks(app, world)) == 3 and month_rows(app, world) == {}
    assert _scorer_once(backend, tmp_path) == "3 marks taken"
    assert marks(app, world) == []
    incremental = month_rows(app, world)
    assert set(incremental) >= {world.ids["staff"], world.ids["staff2"], world.ids["outsider"]}
    full = full_recalculation(app, world)
    assert {pid: full[pid] for pid in incremental} == incremental


def test_with_redis_down_declarations_succeed_and_a_returning_scorer_catches_up(deferred, backend, client,  # noqa: F811
                                                                               world, tmp_path, monkeypatch):
    """Redis configured but unreachable: every declaration answers 201 and commits its
    mark (marks are insert-only: one per write and person-month, four here); nothing is
    scored meanwhile;
    then a `congvu scorer` process — what comes back with the workers — drains them all
    and the months equal a full recalculation."""
    app = deferred
    monkeypatch.setitem(app.config, "CONGVU_REDIS_URL", "redis://127.0.0.1:1/0")
    for who, quantity in (("staff", 1), ("staff", 2), ("staff2", 3), ("outsider", 1)):
        declare(client, world, who=who, quantity=quantity)  # asserts the 201
    waiting = marks(app, world)
    assert waiting == sorted((world.ids[w], PERIOD) for w in ("staff", "staff", "staff2", "outsider"))
    assert month_rows(app, world) == {}
    assert _scorer_once(backend, tmp_path) == "4 marks taken"
    assert marks(app, world) == []
    incremental = month_rows(app, world)
    assert incremental[world.ids["staff"]][2] == 2  # two items of staff's month scored
    full = full_recalculation(app, world)
    assert {pid: full[pid] for pid in incremental} == incremental
