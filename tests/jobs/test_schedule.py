"""Scheduled jobs on RQ's cron with the real Redis: the entries `congvu schedule`
registers, the nightly work run by a real `congvu worker` (overdue items flagged, stale
months recalculated, for every tenant), the sweeper re-sending a run RQ never got, and
months closed on the tenant's schedule (with a fixed clock, on both databases)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.extensions import db
from core.jobs.models import JobRun
from core.scoring.models import ScoredPeriod
from core.tenancy import tenant_context
from core.work.models import WorkItem
from tests.conftest import make_app
from tests.work.test_work_support import PEOPLE, Clock, build, declare, local

ROOT = Path(__file__).resolve().parents[2]
CONGVU = str(Path(sys.executable).parent / "congvu")


@pytest.fixture
def rq_app(clean_app, backend, redis_url, tmp_path, tmp_path_factory):
    from redis import Redis
    from rq import Queue

    prefix = f"test-{uuid.uuid4().hex[:8]}-"  # queues of our own: other runs may share this Redis
    env = {**os.environ, "CONGVU_DATABASE_URL": backend.app_url, "CONGVU_REDIS_URL": redis_url,
           "CONGVU_DATABASE_OPS_URL": backend.ops_url or backend.app_url,
           "CONGVU_SECRET_KEY": "x" * 64, "CONGVU_INSTANCE_PATH": str(tmp_path / "instance"),
           "CONGVU_QUEUE_PREFIX": prefix, "CONGVU_SCORING": "inline"}
    # Scores refreshed in the commit, as before Redis made scoring deferred by default: these
    # tests count the runs on the queues (the scorer's own jobs: tests/scoring/test_scorer.py).
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL=redis_url, CONGVU_QUEUE_PREFIX=prefix,
                   CONGVU_SCORING="inline")
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
    assert set(entries) == {"congvu.mark_overdue", "congvu.recalculate_stale", "congvu.close_months",
                            "congvu.sweep_abandoned", "congvu.send_webhooks", "congvu.pull_live_sources"}
    prefix = env["CONGVU_QUEUE_PREFIX"]
    assert {job.queue_name for job in entries.values()} == {prefix + "default"}
    assert entries["congvu.mark_overdue"].cron == "30 0 * * *"
    assert entries["congvu.recalculate_stale"].cron == "0 1 * * *"
    assert entries["congvu.close_months"].cron == "0 3 * * *"
    assert entries["congvu.send_webhooks"].interval == 60 and entries["congvu.pull_live_sources"].interval == 300
    # Nightly jobs wait for their hour; the sweeper and the webhook sender (intervals) go at once.
    enqueued = scheduler.enqueue_jobs()
    assert sorted(job.name for job in enqueued) == ["congvu.pull_live_sources", "congvu.send_webhooks",
                                                    "congvu.sweep_abandoned"]
    queue = Queue(prefix + "default", connection=conn)
    assert sorted(job.func_name for job in queue.jobs) == ["core.jobs.schedule.pull_live_sources",
                                                           "core.jobs.schedule.send_webhooks",
                                                           "core.jobs.schedule.sweep_abandoned"]


def _overdue_world(app, client, slug: str):
    from core.scoring.stale import mark_stale

    w = build(app, slug)
    late = declare(client, w, work_date="2026-10-05", deadline="2026-10-06")
    with app.app_context(), tenant_context(w.tenant_id):
        mark_stale({"2026-10"}, "test: settings changed")
        unit_of_work.commit()
    return w, late["id"]


def test_nightly_jobs_run_on_a_real_worker_for_every_tenant(rq_app):
    app, env = rq_app
    client = app.test_client()
    worlds = [_overdue_world(app, client, slug) for slug in ("tinh-sched-a", "tinh-sched-b")]
    out = run(env, "schedule", "--now")
    assert out.count("enqueued") == 6  # the nightly jobs, the webhook sender, the live pulls
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
            unit_of_work.commit()
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
        unit_of_work.commit()
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
        output = worker.communicate(timeout=150)[0]  # a warm shutdown waits for its scheduler process: slow on a loaded host
    assert 'congvu_job_duration_seconds_count{kind="recalculation",status="finished"} 1.0' in text, (text, output)
    assert 'congvu_queue_depth{queue="scoring"} 0.0' in text


# ---------------------------------------------------------------- closing months on schedule
# October 2026 ends on a Saturday; its working days after are Mon 2, Tue 3, Wed 4 November…


@pytest.fixture
def night(monkeypatch) -> Clock:
    """The services' clock (core.work.calendar.now), fixed; tests move it night by night."""
    from core.work import calendar as cal

    c = Clock(local(2026, 10, 14, 7, 30))
    monkeypatch.setattr(cal, "now", c)
    return c


def _settings(client, w, body: dict | None = None):
    if body is None:
        return client.get(w.url("/settings"), headers=w.h("admin"))
    return client.patch(w.url("/settings"), json=body, headers=w.h("admin"))


def _close_months(app, w) -> dict:
    from core.jobs.schedule import close_months

    with app.app_context():
        result = close_months()
    assert result["failed"] == []
    return result["tenants"][str(w.tenant_id)]


def _closed(app, w) -> list[str]:
    from core.work.models import ClosedPeriod

    with app.app_context(), tenant_context(w.tenant_id):
        return list(db.session.scalars(select(ClosedPeriod.period).order_by(ClosedPeriod.period)))


def _audit(app, w, action: str) -> list:
    from core.audit.models import AuditEvent

    with app.app_context(), tenant_context(w.tenant_id):
        return [(e.actor, e.object_id, e.after) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def test_close_months_after_days_is_a_tenant_setting_off_by_default(client, clean_app, night):
    w = build(clean_app, "tinh-close-a")
    assert _settings(client, w).get_json()["close_months_after_days"] is None
    for bad in (0, 21, "3", 2.5, True):
        r = _settings(client, w, {"close_months_after_days": bad})
        assert r.status_code == 422 and list(r.get_json()["errors"]) == ["close_months_after_days"], (bad, r.get_json())
    assert _settings(client, w).get_json()["close_months_after_days"] is None
    assert client.patch(w.url("/settings"), json={"close_months_after_days": 3},
                        headers=w.h("staff")).status_code == 403
    r = _settings(client, w, {"close_months_after_days": 3})
    assert r.status_code == 200 and r.get_json()["close_months_after_days"] == 3
    assert _settings(client, w).get_json()["close_months_after_days"] == 3
    changes = [(e[2]["close_months_after_days"]) for e in _audit(clean_app, w, "settings.update")]
    assert changes == [3]
    assert _settings(client, w, {"close_months_after_days": None}).get_json()["close_months_after_days"] is None


def test_a_pack_sets_close_months_after_days_once(clean_app, tmp_path):
    from core.errors import Invalid
    from core.tenants.packs import apply_pack

    (tmp_path / "tenant.toml").write_text('slug = "tinh-pack"\nname = "Tỉnh Gói"\nclose_months_after_days = 5\n',
                                          encoding="utf-8")
    with clean_app.app_context():
        first = apply_pack(tmp_path)
        unit_of_work.commit()
        again = apply_pack(tmp_path)
        unit_of_work.commit()
    assert first.created and again.changes == []
    (tmp_path / "tenant.toml").write_text('slug = "tinh-pack"\nname = "Tỉnh Gói"\nclose_months_after_days = 40\n',
                                          encoding="utf-8")
    with clean_app.app_context():
        with pytest.raises(Invalid) as error:
            apply_pack(tmp_path)
        db.session.rollback()
        from core.tenants.models import Tenant
        from core.tenants.services import close_months_after_days, get_tenant

        tenant: Tenant = get_tenant("tinh-pack")
        with tenant_context(tenant.id):
            assert close_months_after_days() == 5
    assert error.value.errors == {"close_months_after_days": ["Use a whole number from 1 to 20, or null."]}


def test_the_previous_month_closes_once_its_nth_working_day_is_over(client, clean_app, night):
    w = build(clean_app, "tinh-close-b")
    other = build(clean_app, "tinh-close-c")  # closes its months by hand
    declare(client, w, work_date="2026-10-14")
    _set_all_general(clean_app, client, w)
    assert _settings(client, w, {"close_months_after_days": 3}).status_code == 200
    scores_before = client.get(w.url("/scores?period=2026-10"), headers=w.h("admin")).get_json()

    night.set(2026, 11, 4, 23, 59)  # the third working day is not over
    assert _close_months(clean_app, w) == {"closed": None, "period": "2026-10", "reason": "due after 2026-11-04"}
    assert _closed(clean_app, w) == []

    night.set(2026, 11, 5, 3, 0)
    from core.jobs.schedule import close_months

    with clean_app.app_context():
        result = close_months()
    assert result == {"tenants": {str(w.tenant_id): {"closed": "2026-10"},
                                  str(other.tenant_id): {"closed": None, "reason": "off"}}, "failed": []}
    assert _closed(clean_app, w) == ["2026-10"] and _closed(clean_app, other) == []
    # The manual close's own service: audited (as the scheduler, run inline here: no job,
    # and the rule it followed), scores frozen, items refuse changes.
    assert _audit(clean_app, w, "period.close") == [
        ("scheduler", "2026-10", {"period": "2026-10", "stale": False, "job": None, "close_months_after_days": 3})]
    state = client.get(w.url("/periods/2026-10"), headers=w.h("admin")).get_json()
    assert state["closed"] is True and state["stale"] is False
    assert client.get(w.url("/scores?period=2026-10"), headers=w.h("admin")).get_json() == scores_before
    declare(client, w, work_date="2026-10-15", expect=409)

    # Idempotent: the next nights leave it alone.
    night.set(2026, 11, 6, 3, 0)
    assert _close_months(clean_app, w) == {"closed": None, "period": "2026-10", "reason": "already closed"}
    assert len(_audit(clean_app, w, "period.close")) == 1


def test_the_scheduled_close_is_audited_as_the_scheduler_with_its_job(rq_app, redis_url, night):
    """Run by an RQ worker (in this process, so the fixed clock holds), the close names
    the scheduler and the RQ job in the audit chain; a person's close names the person."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from core.jobs.schedule import close_months

    app, env = rq_app
    client = app.test_client()
    w = build(app, "tinh-close-job")
    assert _settings(client, w, {"close_months_after_days": 2}).status_code == 200
    night.set(2026, 11, 4, 3, 0)  # Mon 2 and Tue 3 November are over
    conn = Redis.from_url(redis_url)
    queue = Queue(env["CONGVU_QUEUE_PREFIX"] + "default", connection=conn)
    job = queue.enqueue(close_months)
    with app.app_context():
        assert SimpleWorker([queue], connection=conn).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished", job.exc_info
    assert job.return_value()["tenants"][str(w.tenant_id)] == {"closed": "2026-10"}
    assert _audit(app, w, "period.close") == [
        ("scheduler", "2026-10", {"period": "2026-10", "stale": False, "job": job.id, "close_months_after_days": 2})]
    # Reopened and closed again by hand: the admin is the actor, and no job is named.
    r = client.post(w.url("/periods/2026-10/reopen"), json={"reason": "Sửa số liệu"}, headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert client.post(w.url("/periods/2026-10/close"), headers=w.h("admin")).status_code == 200
    manual = _audit(app, w, "period.close")[1]
    assert manual[0].startswith("user:") and manual[0].endswith(":admin")
    assert manual[2] == {"period": "2026-10", "stale": False}


def test_the_tenants_own_days_off_push_the_close_back(client, clean_app, night):
    w = build(clean_app, "tinh-close-d")
    r = client.post(w.url("/calendar-days"), json={"day": "2026-11-03", "kind": "day_off", "name": "Nghỉ bù"},
                    headers=w.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert _settings(client, w, {"close_months_after_days": 3}).status_code == 200
    night.set(2026, 11, 5, 3, 0)
    assert _close_months(clean_app, w)["reason"] == "due after 2026-11-05"
    night.set(2026, 11, 6, 3, 0)
    assert _close_months(clean_app, w) == {"closed": "2026-10"}


def test_a_month_reopened_by_hand_is_not_closed_again(client, clean_app, night):
    w = build(clean_app, "tinh-close-e")
    assert _settings(client, w, {"close_months_after_days": 1}).status_code == 200
    night.set(2026, 11, 3, 3, 0)
    assert _close_months(clean_app, w) == {"closed": "2026-10"}
    r = client.post(w.url("/periods/2026-10/reopen"), json={"reason": "Sửa một hồ sơ"}, headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    night.set(2026, 11, 4, 3, 0)
    assert _close_months(clean_app, w) == {"closed": None, "period": "2026-10", "reason": "reopened by hand"}
    assert _closed(clean_app, w) == []


def test_a_stale_month_is_recalculated_before_it_closes(client, clean_app, night):
    """No Redis: the recalculation runs inline, so the month is fresh and closes the same night."""
    from core.scoring.stale import mark_stale

    w = build(clean_app, "tinh-close-f")
    declare(client, w, work_date="2026-10-14")
    _set_all_general(clean_app, client, w)
    assert _settings(client, w, {"close_months_after_days": 2}).status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        mark_stale({"2026-10"}, "test: settings changed")
        unit_of_work.commit()
    night.set(2026, 11, 4, 3, 0)
    assert _close_months(clean_app, w) == {"closed": "2026-10"}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        runs = db.session.scalars(select(JobRun).where(JobRun.kind == "recalculation")).all()
        assert [(r.scope, r.status, r.requested_by) for r in runs] == [("2026-10", "finished", "scheduler")]
    assert _audit(clean_app, w, "period.close") == [
        ("scheduler", "2026-10", {"period": "2026-10", "stale": False, "job": None, "close_months_after_days": 2})]


def test_on_rq_a_stale_month_waits_for_its_recalculation(rq_app, night):
    """With Redis the recalculation goes to a worker: the month is left open until a later
    run finds it fresh; a second run meanwhile sends nothing more."""
    from core.scoring.stale import mark_stale

    app, env = rq_app
    client = app.test_client()
    w = build(app, "tinh-close-g")
    declare(client, w, work_date="2026-10-14")
    _set_all_general(app, client, w)
    assert _settings(client, w, {"close_months_after_days": 2}).status_code == 200
    with app.app_context(), tenant_context(w.tenant_id):
        mark_stale({"2026-10"}, "test: settings changed")
        unit_of_work.commit()
    night.set(2026, 11, 4, 3, 0)
    assert _close_months(app, w) == {"closed": None, "period": "2026-10", "reason": "stale: recalculation sent"}
    assert _close_months(app, w) == {"closed": None, "period": "2026-10", "reason": "recalculation running"}
    assert _closed(app, w) == []
    run(env, "worker", "--burst", "--queues", "scoring")
    assert _close_months(app, w) == {"closed": "2026-10"}
    with app.app_context(), tenant_context(w.tenant_id):
        runs = db.session.scalars(select(JobRun).where(JobRun.kind == "recalculation")).all()
        assert [(r.status, r.requested_by) for r in runs] == [("finished", "scheduler")]


def _month_rows_without_general(app, w, period: str = "2026-10") -> list[int]:
    """The people who worked in the month and have no general criteria in its rows."""
    from core.scoring.models import PeriodScore

    with app.app_context(), tenant_context(w.tenant_id):
        return sorted(db.session.scalars(select(PeriodScore.employee_id).where(
            PeriodScore.period == period, PeriodScore.general_score.is_(None), PeriodScore.item_count > 0)))


def _set_general(client, w, who: str = "staff", period: str = "2026-10") -> None:
    # The department's head has no manager above them here: the tenant admin sets theirs.
    setter = "manager" if who in ("staff", "staff2", "accountant") else "admin"
    r = client.put(w.url(f"/employees/{w.ids[who]}/general-scores/{period}"),
                   json={"politics_ethics": 8, "competence_attitude": 9, "innovation": 7}, headers=w.h(setter))
    assert r.status_code == 200, r.get_json()


def _set_all_general(app, client, w, period: str = "2026-10") -> None:
    names = {v: k for k, v in w.ids.items() if k in PEOPLE}
    missing = _month_rows_without_general(app, w, period)
    assert missing, "nobody worked in the month: the test would prove nothing"
    for employee_id in missing:
        _set_general(client, w, names[employee_id], period)
    assert _month_rows_without_general(app, w, period) == []


def test_a_month_waits_for_its_general_criteria_and_the_page_names_the_units(client, clean_app, night):
    """Closed without them, a person's total would stay the task score alone (30 points
    short) until a reopening: the nightly close waits, the admin's page says who is missing,
    and an admin who closes anyway leaves the count in the audit event."""
    from tests.work.test_work_pages import sign_in

    w = build(clean_app, "tinh-close-h")
    declare(client, w, work_date="2026-10-14")
    declare(client, w, who="staff2", work_date="2026-10-15")
    assert _month_rows_without_general(clean_app, w) == sorted([w.ids["staff"], w.ids["staff2"]])
    assert _settings(client, w, {"close_months_after_days": 3}).status_code == 200
    night.set(2026, 11, 5, 3, 0)
    assert _close_months(clean_app, w) == {"closed": None, "period": "2026-10",
                                           "reason": "general criteria missing: 2"}
    assert _closed(clean_app, w) == []

    # The admin's page: the month's warning names Phòng Một and its two people.
    sign_in(client, w, "admin")
    page = client.get(f"/t/{w.slug}/admin/periods").get_data(as_text=True)
    warning = page.split('id="gm-2026-10"', 1)[1].split("</div>", 1)[0]
    assert "2 người chưa có điểm tiêu chí chung của tháng này" in warning
    assert "<li>Phòng Một: 2</li>" in warning
    assert 'id="gm-2026-09"' not in page  # a month without rows names nobody

    _set_general(client, w, "staff")
    assert _close_months(clean_app, w)["reason"] == "general criteria missing: 1"
    # Closed by hand anyway: allowed, and the event counts who was still missing.
    assert client.post(w.url("/periods/2026-10/close"), headers=w.h("admin")).status_code == 200
    assert _audit(clean_app, w, "period.close")[0][2] == {"period": "2026-10", "stale": False, "general_missing": 1}
    assert 'id="gm-2026-10"' not in client.get(f"/t/{w.slug}/admin/periods").get_data(as_text=True)
