"""The scorer beside the request (core/scoring/scorer.py), with CONGVU_SCORING=deferred:
a write commits a mark per (person, month), a scorer drains the marks in batches, and
what it leaves equals a full recalculation; a crashed batch leaves its marks; marks of
a closed month or of a tenant merged away are dropped with a log line; the score API
says `pending` until the scorer has run. Both databases."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select, text

from core import unit_of_work
from core.audit import services as audit
from core.audit.models import AuditEvent
from core.extensions import db
from core.scoring import engine, locks, scorer
from core.scoring.models import PeriodScore, ScoringMark
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from tests.work.test_work_support import count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)

PERIOD = "2026-10"


@pytest.fixture
def deferred(clean_app, monkeypatch):
    monkeypatch.setitem(clean_app.config, "CONGVU_SCORING", "deferred")
    return clean_app


def marks(app, w) -> list[tuple[int, str]]:
    with app.app_context(), tenant_context(w.tenant_id):
        return sorted(tuple(r) for r in db.session.execute(select(ScoringMark.employee_id, ScoringMark.period)))


def month_rows(app, w) -> dict[int, tuple]:
    with app.app_context(), tenant_context(w.tenant_id):
        rows = db.session.scalars(select(PeriodScore).where(PeriodScore.period == PERIOD))
        return {r.employee_id: (str(r.task_score), str(r.total), r.item_count, repr(sorted(r.components.items())))
                for r in rows}


def drain(app, w) -> int:
    with app.app_context():
        taken = scorer.drain_tenant(w.tenant_id)
        db.session.remove()
        return taken


def full_recalculation(app, w) -> dict[int, tuple]:
    with app.app_context(), tenant_context(w.tenant_id):
        engine.recalculate(PERIOD)
        unit_of_work.commit()
    return month_rows(app, w)


def scores_of(client, w, who: str = "staff") -> dict:
    r = client.get(w.url(f"/scores?period={PERIOD}&employee_id={w.ids[who]}"), headers=w.h("manager"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()[0]


def test_inline_scoring_leaves_no_mark(clean_app, client, world):
    declare(client, world)
    assert marks(clean_app, world) == []
    assert world.ids["staff"] in month_rows(clean_app, world)


def test_a_declaration_commits_a_mark_and_the_scorer_refreshes_its_month(deferred, client, world):
    app = deferred
    declare(client, world, quantity=2)
    declare(client, world, quantity=3)
    assert marks(app, world) == [(world.ids["staff"], PERIOD)] * 2  # one per transaction
    assert month_rows(app, world) == {}  # nothing scored in the request
    before = scores_of(client, world) if month_rows(app, world) else None
    assert before is None
    assert drain(app, world) == 2
    assert marks(app, world) == []
    refreshed = month_rows(app, world)
    # The person and the department's leader above them, nobody else.
    assert set(refreshed) == {world.ids["staff"], world.ids["manager"]}
    assert refreshed[world.ids["staff"]][2] == 2
    fresh = scores_of(client, world)
    assert fresh["pending"] is False and fresh["item_count"] == 2 and fresh["refreshed_at"] is not None
    # A third item: the API says the month is pending, with the last refresh's numbers.
    declare(client, world, quantity=1)
    stale = scores_of(client, world)
    assert stale["pending"] is True and stale["item_count"] == 2
    assert stale["refreshed_at"] == fresh["refreshed_at"]
    assert drain(app, world) == 1
    incremental = month_rows(app, world)
    assert incremental[world.ids["staff"]][2] == 3
    full = full_recalculation(app, world)
    assert {pid: full[pid] for pid in incremental} == incremental


def test_a_batch_of_items_is_one_mark_per_person_and_month(deferred, client, world):
    body = {"items": [{"task_type_code": "HT01", "work_date": f"2026-10-{d:02d}", "quantity": 1}
                      for d in (12, 13, 14)] + [{"task_type_code": "HT01", "work_date": "2026-09-30",
                                                  "quantity": 1}]}
    r = client.post(world.url("/work-items"), json=body, headers=world.h("staff"))
    assert r.status_code == 201, r.get_json()
    assert marks(deferred, world) == sorted([(world.ids["staff"], "2026-09"), (world.ids["staff"], PERIOD)])


def test_the_declaration_takes_no_scoring_statement(deferred, client, world):
    """The whole request of one declaration, token to commit: issue 16's ≤ 8 statements (7 today),
    and no statement of the 12-hour rule's own (its figure comes with the catalogue's)."""
    declare(client, world)  # the first request warms the caches a process keeps
    with count_queries(deferred) as statements:
        declare(client, world)
    touched = [s for s in statements if "item_scores" in s or "period_scores" in s or "week_hours" in s
               or str(locks.SCORING_LOCK) in s or str(locks.PERSON_LOCK) in s]
    assert touched == []
    assert sum("scoring_marks" in s for s in statements) == 1
    assert len(statements) <= _budget(deferred, STATEMENTS_PER_DECLARATION), statements
    assert not any("GROUP BY" in s and "work_items" in s for s in statements), statements


def test_the_mark_and_the_audit_event_go_in_one_statement_and_the_chain_holds(deferred, client, world):
    """PostgreSQL: the scoring mark rides in the audit event's INSERT (a CTE); a batch of
    three items is three events and one mark in one statement; the chain still verifies.
    SQLite: apart, as before."""
    postgresql = deferred.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    declare(client, world)
    with count_queries(deferred) as statements:
        declare(client, world)
        r = client.post(world.url("/work-items"), headers=world.h("staff"), json={"items": [
            {"task_type_code": "HT01", "work_date": f"2026-10-{d:02d}", "quantity": 1} for d in (12, 13, 14)]})
        assert r.status_code == 201, r.get_json()
    writes = [s for s in statements if "scoring_marks" in s or "audit_events" in s]
    if postgresql:
        assert len(writes) == 2, writes
        assert all(s.startswith("WITH ride_0 AS") and "INSERT INTO audit_events" in s for s in writes)
    else:
        assert sum(s.startswith("INSERT INTO scoring_marks") for s in writes) == 2
    assert marks(deferred, world) == [(world.ids["staff"], PERIOD)] * 3
    with deferred.app_context(), tenant_context(world.tenant_id):
        checked = audit.verify_chain(world.tenant_id)
        assert checked.ok and checked.count >= 5, checked
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.tenant_id == world.tenant_id, AuditEvent.seq.is_(None))) == 0


def _budget(app, postgresql: int) -> int:
    # SQLite has no RLS setting to fold and no trigger to chain the audit events: it reads
    # the tenant, then the chain's head, and inserts marks and events apart (2 more).
    return postgresql if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else postgresql + 2


# PostgreSQL: tenant with its RLS settings (once the process knows the slug), token,
# catalogue (with the day's planned hours for the 12-hour rule), item, then the audit event
# with the scoring mark in the same statement — numbered and hashed by the database inside
# its commit (migration 0038), so no statement of the app's takes the chain lock. Was 7
# with the settings and the mark apart, 26 with scoring inside the request.
STATEMENTS_PER_DECLARATION = 5


def test_reporting_an_item_done_takes_no_scoring_and_no_configuration_statement(deferred, client, world):
    """The evening's report (an item marked done): token to commit, the same budget as a
    declaration. The month's closing, the calendar, the reporting window and the webhook
    subscriptions come from what the process keeps under the tenant's config stamp."""
    first, second = declare(client, world), declare(client, world)
    warm = client.patch(world.url(f"/work-items/{first['id']}"), json={"status": "done"}, headers=world.h("staff"))
    assert warm.status_code == 200, warm.get_json()
    with count_queries(deferred) as statements:
        r = client.patch(world.url(f"/work-items/{second['id']}"), json={"status": "done"}, headers=world.h("staff"))
    assert r.status_code == 200, r.get_json()
    assert sum("scoring_marks" in s for s in statements) == 1
    assert not any("item_scores" in s or "period_scores" in s for s in statements), statements
    assert len(statements) <= _budget(deferred, STATEMENTS_PER_UPDATE), statements


# PostgreSQL: tenant with its RLS settings, token, the item, its UPDATE, audit event with
# the mark (was 7 with the settings and the mark apart; 11 with the closed months, calendar,
# work settings and webhook subscriptions read every time).
STATEMENTS_PER_UPDATE = 5


def test_a_batch_rewrites_only_the_rows_that_changed(deferred, backend, client, world):
    """PostgreSQL: re-scoring a person's month leaves the rows of untouched items as they
    were (the same row version, xmin), inserts the new item's, rewrites the changed one's
    and deletes the cancelled one's — and still ends equal to a full recalculation."""
    if backend.name != "postgresql":
        pytest.skip("the SQL path of the variant: PostgreSQL only")
    app = deferred
    items = [declare(client, world, quantity=q)["id"] for q in (1, 2, 3, 4)]
    drain(app, world)

    def versions() -> dict[int, tuple]:
        with app.app_context(), tenant_context(world.tenant_id):
            return {r.work_item_id: (r.xmin, r.c0) for r in db.session.execute(
                text("SELECT work_item_id, xmin::text AS xmin, c0 FROM item_scores"))}

    before = versions()
    assert set(before) == set(items)
    changed, cancelled, untouched = items[0], items[1], items[2:]
    for item_id, body in ((changed, {"quantity": 5}), (cancelled, {"status": "cancelled"})):
        r = client.patch(world.url(f"/work-items/{item_id}"), json=body, headers=world.h("staff"))
        assert r.status_code == 200, r.get_json()
    added = declare(client, world, quantity=2)["id"]
    drain(app, world)
    assert marks(app, world) == []
    after = versions()
    assert set(after) == {*items, added} - {cancelled}
    assert {i: after[i] for i in untouched} == {i: before[i] for i in untouched}
    assert after[changed][0] != before[changed][0]
    incremental = month_rows(app, world)
    full = full_recalculation(app, world)
    assert {pid: full[pid] for pid in incremental} == incremental


def test_a_scorer_killed_mid_batch_leaves_its_marks_and_the_next_one_ends_equal(deferred, client, world,
                                                                              monkeypatch):
    app = deferred
    for who in ("staff", "staff2", "outsider"):
        declare(client, world, who=who, quantity=2)
    real = engine.aggregate
    calls = []

    def dies(*args, **kwargs):
        calls.append(1)
        real(*args, **kwargs)  # the batch has written rows when it dies
        raise SystemExit("killed")

    monkeypatch.setattr(engine, "aggregate", dies)
    with pytest.raises(SystemExit):
        drain(app, world)
    assert calls and len(marks(app, world)) == 3
    assert month_rows(app, world) == {}  # the batch's writes went with it
    monkeypatch.setattr(engine, "aggregate", real)
    assert drain(app, world) == 3
    assert marks(app, world) == []
    incremental = month_rows(app, world)
    full = full_recalculation(app, world)
    assert {pid: full[pid] for pid in incremental} == incremental


def test_marks_of_a_closed_month_are_dropped_with_a_log_line(deferred, client, world, caplog):
    app = deferred
    declare(client, world)
    with app.app_context(), tenant_context(world.tenant_id):
        from core.scoring.services import close_period

        close_period(PERIOD, actor="test")
        unit_of_work.commit()
    with caplog.at_level(logging.WARNING, logger="core.scoring.scorer"):
        assert drain(app, world) == 1
    assert marks(app, world) == [] and month_rows(app, world) == {}
    assert any("the month is closed" in r.getMessage() and PERIOD in r.getMessage() for r in caplog.records)


def test_marks_of_a_tenant_merged_away_are_dropped_with_a_log_line(deferred, client, world, caplog):
    app = deferred
    declare(client, world)
    with app.app_context():
        db.session.get(Tenant, world.tenant_id).status = "merged"
        unit_of_work.commit()
    with caplog.at_level(logging.WARNING, logger="core.scoring.scorer"):
        assert drain(app, world) == 1
    assert marks(app, world) == [] and month_rows(app, world) == {}
    assert any("no longer active" in r.getMessage() for r in caplog.records)


def test_marks_of_a_suspended_tenant_wait_for_its_resumption(deferred, client, world, caplog):
    """A suspension loses nothing: a write scored just before it is re-scored once the
    tenant is resumed (dropping its marks left that person's month at its old score)."""
    from core.tenants.suspension import resume, suspend

    app = deferred
    declare(client, world)
    assert marks(app, world) == [(world.ids["staff"], PERIOD)]
    with app.app_context():
        slug = db.session.get(Tenant, world.tenant_id).slug
        suspend(slug, "contract ended")
        unit_of_work.commit()
    with caplog.at_level(logging.WARNING, logger="core.scoring.scorer"):
        assert drain(app, world) == 0
    assert marks(app, world) == [(world.ids["staff"], PERIOD)] and month_rows(app, world) == {}
    assert not any("no longer active" in r.getMessage() for r in caplog.records)
    with app.app_context():
        resume(slug)
        unit_of_work.commit()
    assert drain(app, world) == 1
    assert marks(app, world) == []
    scored = month_rows(app, world)
    assert set(scored) == {world.ids["staff"], world.ids["manager"]} and scored[world.ids["staff"]][2] == 1
    full = full_recalculation(app, world)
    assert scored == {who: full[who] for who in scored}  # what a full recalculation gives them


def test_batches_take_the_oldest_marks_first_and_drain_everything(deferred, client, world):
    app = deferred
    for who in ("staff", "staff2", "manager", "outsider"):
        declare(client, world, who=who)
    with app.app_context(), tenant_context(world.tenant_id):
        assert scorer.drain_batch(limit=2) == 2
        unit_of_work.commit()
        left = sorted(db.session.scalars(select(ScoringMark.employee_id)))
        assert left == sorted([world.ids["manager"], world.ids["outsider"]])
        assert scorer.drain(limit=1) == 2  # batch after batch until none is left
        assert db.session.scalar(select(func.count()).select_from(ScoringMark)) == 0
    rows = month_rows(app, world)
    assert {world.ids[w] for w in ("staff", "staff2", "outsider", "manager")} == set(rows)


def test_the_classification_run_drains_its_year_first(deferred, client, world):
    app = deferred
    declare(client, world)
    declare(client, world, work_date="2025-12-30")  # another year's mark is left for the scorer
    r = client.post(world.url("/classifications/2026/run"), headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    job = client.get(world.url(f"/jobs/{r.get_json()['job_id']}"), headers=world.h("admin")).get_json()
    assert job["status"] == "finished", job
    assert marks(app, world) == [(world.ids["staff"], "2025-12")]
    assert month_rows(app, world)[world.ids["staff"]][2] == 1


def test_with_redis_the_commit_wakes_one_scorer_job_per_tenant(clean_app, client, world, redis_url, monkeypatch):
    """Redis configured (and CONGVU_SCORING unset): deferred. Three declarations queue one
    job (coalesced until it starts); a fourth made while the job settles queues nothing and
    joins its batch; the job drains all four marks."""
    import threading
    import time
    import uuid

    from redis import Redis
    from rq import Queue

    prefix = f"t{uuid.uuid4().hex[:8]}:"
    monkeypatch.setitem(clean_app.config, "CONGVU_REDIS_URL", redis_url)
    monkeypatch.setitem(clean_app.config, "CONGVU_QUEUE_PREFIX", prefix)
    monkeypatch.setitem(clean_app.config, "CONGVU_SCORER_SETTLE_MS", 1500)
    queue = Queue(f"{prefix}scoring", connection=Redis.from_url(redis_url))
    try:
        for quantity in (1, 2, 3):
            declare(client, world, quantity=quantity)
        assert len(marks(clean_app, world)) == 3
        assert [job.func_name for job in queue.jobs] == ["core.scoring.scorer.scorer_job"]
        assert queue.jobs[0].args == (world.tenant_id,)
        taken: list[int] = []

        def run_the_job() -> None:
            with clean_app.app_context():
                taken.append(scorer.scorer_job(world.tenant_id))

        job = threading.Thread(target=run_the_job)
        job.start()
        time.sleep(0.3)
        declare(client, world, quantity=4)  # while the job settles: its wake key is still set
        assert len(queue.jobs) == 1
        job.join(15)
        assert taken == [4]
        assert marks(clean_app, world) == []
        assert month_rows(clean_app, world)[world.ids["staff"]][2] == 4
        declare(client, world)  # the job started: the next write wakes another
        assert len(queue.jobs) == 2
    finally:
        queue.empty()


def test_with_redis_down_the_declaration_succeeds_and_its_mark_waits(clean_app, client, world, monkeypatch, caplog):
    monkeypatch.setitem(clean_app.config, "CONGVU_REDIS_URL", "redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="core.scoring.scorer"):
        declare(client, world)
    assert marks(clean_app, world) == [(world.ids["staff"], PERIOD)]
    assert any("could not wake the scorer" in r.getMessage() for r in caplog.records)
    assert drain(clean_app, world) == 1  # `congvu scorer`, or the sweeper's wake once Redis is back


def test_pages_say_updating_with_the_last_refresh_while_marks_wait(deferred, client, world, clock):
    """"Tháng của tôi", the unit and the province dashboards: "Đang cập nhật" while the
    month has marks, with the time of the last refresh once there was one."""
    from tests.dashboards.test_dashboards import page, sign_in

    app = deferred
    declare(client, world)
    pages = {"staff": f"/t/{world.slug}/me?period={PERIOD}",
             "manager": f"/t/{world.slug}/dashboard/unit?period={PERIOD}",
             "admin": f"/t/{world.slug}/dashboard/province?period={PERIOD}"}
    for who, url in pages.items():
        sign_in(client, world, who)
        html = page(client, url)
        assert "Đang cập nhật." in html and "số liệu sẽ có trong giây lát" in html, who
    drain(app, world)
    with app.app_context(), tenant_context(world.tenant_id):
        refreshed = db.session.scalar(select(PeriodScore.computed_at).where(
            PeriodScore.employee_id == world.ids["staff"], PeriodScore.period == PERIOD))
    for who, url in pages.items():
        sign_in(client, world, who)
        assert 'data-freshness="pending"' not in page(client, url), who
    declare(client, world, quantity=5)
    from zoneinfo import ZoneInfo

    when = refreshed.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    for who, url in pages.items():
        sign_in(client, world, who)
        html = page(client, url)
        assert f"số liệu này là của lần cập nhật gần nhất, lúc {when}." in html, who


def test_a_congvu_worker_runs_the_scorer_job_and_the_sweeper_wakes_waiting_marks(clean_app, backend, client, world,
                                                                                redis_url, monkeypatch, tmp_path):
    """The production path: the job runs in an RQ work horse (`congvu worker`, forked) and
    drains the marks; marks left while Redis was down are woken by the sweeper."""
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from redis import Redis
    from rq import Queue

    from core.jobs.schedule import sweep_abandoned

    prefix = f"t{uuid.uuid4().hex[:8]}:"
    monkeypatch.setitem(clean_app.config, "CONGVU_REDIS_URL", redis_url)
    monkeypatch.setitem(clean_app.config, "CONGVU_QUEUE_PREFIX", prefix)
    queue = Queue(f"{prefix}scoring", connection=Redis.from_url(redis_url))
    try:
        declare(client, world, quantity=2)
        queue.empty()  # as if Redis had lost the wake: the mark waits in the database
        with clean_app.app_context():
            Redis.from_url(redis_url).delete(scorer._wake_key(world.tenant_id))
            assert sweep_abandoned() == {"sent": 0, "scorers_woken": 1}
        assert queue.count == 1
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "CONGVU_DATABASE_URL": backend.app_url, "CONGVU_REDIS_URL": redis_url,
               # The worker reads the row-level security key as the ops role (docs/operations.md).
               "CONGVU_DATABASE_OPS_URL": backend.ops_url or backend.app_url,
               "CONGVU_SECRET_KEY": "x" * 64, "CONGVU_QUEUE_PREFIX": prefix,
               "CONGVU_INSTANCE_PATH": str(tmp_path / "instance")}
        done = subprocess.run([str(Path(sys.executable).parent / "congvu"), "worker", "--queues", "scoring",
                               "--burst"], env=env, cwd=root, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert marks(clean_app, world) == []
        assert month_rows(clean_app, world)[world.ids["staff"]][2] == 1
    finally:
        queue.empty()


def test_a_scorer_whose_connection_dies_mid_batch_leaves_its_marks_to_the_next(deferred, backend, client, world):
    """SKIP LOCKED and a killed scorer, on PostgreSQL: while one scorer holds a batch, a
    second one takes nothing (it skips, it does not wait); when the first one's backend is
    killed (as SIGKILL of its process would end it), its marks are taken again."""
    if backend.name != "postgresql":
        pytest.skip("one process on SQLite: no second scorer to skip")
    from sqlalchemy import create_engine, text

    app = deferred
    for who in ("staff", "staff2"):
        declare(client, world, who=who)
    owner = create_engine(backend.owner_url)
    try:
        with app.app_context(), tenant_context(world.tenant_id):
            assert scorer.drain_batch() == 2  # re-scored, not committed: the marks stay locked
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            took: list[int] = []
            # Another scorer (its own app context, so its own connection) skips the locked marks.
            thread = threading.Thread(target=lambda: took.append(drain(app, world)))
            thread.start()
            thread.join(30)
            assert took == [0]
            with owner.begin() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            db.session().invalidate()  # the dead connection goes; nothing of the batch was committed
        assert len(marks(app, world)) == 2 and month_rows(app, world) == {}
        assert drain(app, world) == 2
        incremental = month_rows(app, world)
        full = full_recalculation(app, world)
        assert incremental and {pid: full[pid] for pid in incremental} == incremental
    finally:
        owner.dispose()
