"""The scoring engine end to end: declared work → item components → month scores,
incremental updates equal a full recalculation, explain, general criteria, periods,
what-if, stale marking — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.extensions import db
from core.scoring.models import GeneralScore, ItemScore, PeriodScore
from core.tenancy import tenant_context
from tests.work.test_work_support import build, declare

PERIOD = "2026-10"


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


def finish(client, w, item_id, who="staff", **extra):
    r = client.patch(w.url(f"/work-items/{item_id}"), json={"status": "done", **extra}, headers=w.h(who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def review(client, w, item_id, passed=True, stars=5):
    body = {"passed": passed, "stars": stars, "satisfaction": 5} if passed else {"passed": False, "comment": "Làm lại"}
    r = client.post(w.url(f"/work-items/{item_id}/review"), json=body, headers=w.h("manager"))
    assert r.status_code == 200, r.get_json()


def month_of_staff(client, w):
    """Four items of weight 1 on 14 Oct: one clean, one failed a review once, one late,
    one unfinished. Quantity 75 %, quality 68.75 %, progress 68.75 % → 70 × 212.5 / 300."""
    items = [declare(client, w, quantity=1, deadline="2026-10-14")["id"] for _ in range(4)]
    finish(client, w, items[0])
    review(client, w, items[0])
    finish(client, w, items[1])
    review(client, w, items[1], passed=False)
    finish(client, w, items[1])
    review(client, w, items[1])
    return items


def score_of(client, w, who="staff", period=PERIOD, as_who="admin"):
    r = client.get(w.url(f"/scores?period={period}&employee_id={w.ids[who]}"), headers=w.h(as_who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()[0] if r.get_json() else None


def test_incremental_scores_follow_the_work(clean_app, client, w, clock):
    items = month_of_staff(client, w)
    clock.set(2026, 10, 15, 9, 0)
    finish(client, w, items[2])  # finished the day after its deadline: one missed deadline
    s = score_of(client, w)
    assert (s["components"]["quantity_pct"], s["components"]["quality_pct"], s["components"]["progress_pct"]) == \
        (75.0, 68.75, 68.75)
    assert s["task_score"] == 49.58 and s["general_score"] is None and s["provisional"] is True
    assert s["variant"]["key"] == "decree335" and len(s["variant"]["settings_hash"]) == 64
    r = client.put(w.url(f"/employees/{w.ids['staff']}/general-scores/{PERIOD}"), headers=w.h("manager"),
                   json={"politics_ethics": 8, "competence_attitude": 9, "innovation": 7, "comment": "Tốt"})
    assert r.status_code == 200 and r.get_json()["total"] == 24.0
    s = score_of(client, w)
    assert s["total"] == 73.58 and s["provisional"] is False


def test_full_recalculation_equals_incremental_and_is_idempotent(clean_app, client, w, clock):
    month_of_staff(client, w)
    declare(client, w, who="staff2", quantity=3, task_type_code="VB01")
    before = _snapshot(clean_app, w)
    for _ in range(2):
        r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
        assert r.status_code == 202
        job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
        assert job["status"] == "finished", job
        assert job["result"]["items"] == 5 and job["result"]["employees"] == 7
        after = _snapshot(clean_app, w)
        # Same numbers for everyone the incremental updates touched; the full run adds a
        # row for each person employed in the month who had no items.
        assert [r for r in after if r[0] in {b[0] for b in before}] == before
        assert all(r[3] == 0 for r in after if r[0] not in {b[0] for b in before})
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(ItemScore)) == 5
        people = db.session.scalar(select(func.count()).select_from(PeriodScore).where(PeriodScore.period == PERIOD))
    assert people == 7  # everyone employed in the month has a row, with or without items


def _snapshot(app, w):
    with app.app_context(), tenant_context(w.tenant_id):
        return sorted((r.employee_id, str(r.task_score), str(r.total), r.item_count, r.provisional)
                      for r in db.session.scalars(select(PeriodScore).where(PeriodScore.period == PERIOD)))


def test_explain_lists_every_item_with_its_factors(clean_app, client, w):
    items = month_of_staff(client, w)
    r = client.get(w.url(f"/employees/{w.ids['staff']}/scores/{PERIOD}/explain"), headers=w.h("staff"))
    assert r.status_code == 200
    body = r.get_json()
    assert sorted(i["id"] for i in body["items"]) == sorted(items)
    second = next(i for i in body["items"] if i["id"] == items[1])
    assert second["factors"]["failed_reviews"] == 1 and second["score"]["quality"] == 0.75
    assert second["rule"]["key"] == "decree335"
    assert body["formula"]["sums"]["assigned"] == 4.0 and body["formula"]["task_score"] == body["formula"]["total"]
    # Two items reviewed with satisfaction 5: 2 rated, 5 × 20 = 100 points each → mean 100 %;
    # decree335's satisfaction weight is 0 by default, shown with the other settings.
    assert body["formula"]["settings"]["satisfaction_weight"] == 0.0
    assert (body["formula"]["sums"]["satisfaction_items"], body["formula"]["sums"]["satisfaction_points"]) == (2, 200)
    assert body["formula"]["components"]["satisfaction_pct"] == 100.0
    # Someone the caller may not see is a 404.
    assert client.get(w.url(f"/employees/{w.ids['staff']}/scores/{PERIOD}/explain"),
                      headers=w.h("outsider")).status_code == 404


def test_general_criteria_rules(clean_app, client, w):
    url = w.url(f"/employees/{w.ids['staff']}/general-scores/{PERIOD}")
    good = {"politics_ethics": 10, "competence_attitude": 10, "innovation": 10}
    assert client.put(url, json=good, headers=w.h("staff")).status_code == 403  # not one's own manager
    assert client.put(url, json=good, headers=w.h("outsider")).status_code == 403  # no manager role
    bad = client.put(url, json={**good, "innovation": 11}, headers=w.h("manager"))
    assert bad.status_code == 422 and "innovation" in bad.get_json()["errors"]
    proposal = client.put(url + "/self", json={**good, "comment": "Đề xuất"}, headers=w.h("staff"))
    assert proposal.status_code == 200 and proposal.get_json()["proposal"]["politics_ethics"] == 10.0
    assert proposal.get_json()["total"] is None  # a proposal is not the manager's score
    assert client.put(w.url(f"/employees/{w.ids['staff2']}/general-scores/{PERIOD}/self"), json=good,
                      headers=w.h("staff")).status_code == 404


def test_nobody_sets_their_own_general_criteria(clean_app, client, w):
    """A unit leader manages their own unit and a tenant admin the whole tenant, yet
    neither scores themselves (30 of 100 points that would make their month final):
    403 like self-review, nothing written; the level above (the tenant admin) may."""
    good = {"politics_ethics": 10, "competence_attitude": 10, "innovation": 10}
    for who in ("manager", "admin"):
        r = client.put(w.url(f"/employees/{w.ids[who]}/general-scores/{PERIOD}"), json=good, headers=w.h(who))
        assert r.status_code == 403 and r.get_json()["code"] == "self_review", r.get_json()
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(GeneralScore)) == 0
    r = client.put(w.url(f"/employees/{w.ids['manager']}/general-scores/{PERIOD}"), json=good, headers=w.h("admin"))
    assert r.status_code == 200 and r.get_json()["total"] == 30.0
    # One's own view stays possible as a proposal.
    r = client.put(w.url(f"/employees/{w.ids['manager']}/general-scores/{PERIOD}/self"), json=good,
                   headers=w.h("manager"))
    assert r.status_code == 200 and r.get_json()["proposal"]["innovation"] == 10.0


def test_closed_period_freezes_scores(clean_app, client, w, clock):
    items = month_of_staff(client, w)
    close = client.post(w.url(f"/periods/{PERIOD}/close"), headers=w.h("admin"))
    assert close.status_code == 200 and close.get_json()["closed"] is True
    frozen = score_of(client, w)
    assert client.patch(w.url(f"/work-items/{items[3]}"), json={"status": "done"}, headers=w.h("staff")).status_code == 409
    assert client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin")).status_code == 202
    assert score_of(client, w) == frozen
    assert client.post(w.url(f"/periods/{PERIOD}/reopen"), json={}, headers=w.h("admin")).status_code == 422
    reopened = client.post(w.url(f"/periods/{PERIOD}/reopen"), json={"reason": "Sai sót nhập liệu"},
                           headers=w.h("admin"))
    assert reopened.status_code == 200 and reopened.get_json()["closed"] is False
    assert frozen["components"]["quantity_pct"] == 50.0
    finish(client, w, items[3])
    assert score_of(client, w)["components"]["quantity_pct"] == 75.0


def test_failed_recalculation_of_a_closed_period_is_recorded(clean_app, client, w):
    client.post(w.url(f"/periods/{PERIOD}/close"), headers=w.h("admin"))
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "failed" and "closed" in job["error"]


def test_changing_the_variant_marks_months_stale_and_what_if_saves_nothing(clean_app, client, w, clock):
    month_of_staff(client, w)
    client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    before = _snapshot(clean_app, w)
    preview = client.post(w.url("/what-if"), json={"period": PERIOD, "key": "hours-ledger"}, headers=w.h("admin"))
    assert preview.status_code == 200, preview.get_json()
    staff = next(p for p in preview.get_json()["people"] if p["employee_id"] == w.ids["staff"])
    # HT01: 30 min × 1 for the two finished items = 60 min; 13 working days in Oct 2026 → 104 h expected.
    assert staff["current_task_score"] == 33.54  # 70 × (50 + 43.75 + 50) / 300
    assert staff["preview_components"]["credited_hours"] == 1.0
    assert _snapshot(clean_app, w) == before
    bad = client.post(w.url("/what-if"), json={"period": PERIOD, "key": "no-such"}, headers=w.h("admin"))
    assert bad.status_code == 422
    r = client.patch(w.url("/settings"), json={"scoring_variant": {"key": "hours-ledger", "settings": {}}},
                     headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    state = client.get(w.url(f"/periods/{PERIOD}"), headers=w.h("admin")).get_json()
    assert state["stale"] is True and "hours-ledger" in state["stale_reason"]
    client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert client.get(w.url(f"/periods/{PERIOD}"), headers=w.h("admin")).get_json()["stale"] is False
    assert score_of(client, w)["variant"]["key"] == "hours-ledger"


def test_scores_visibility_and_bad_periods(clean_app, client, w):
    month_of_staff(client, w)
    mine = client.get(w.url(f"/scores?period={PERIOD}"), headers=w.h("staff")).get_json()
    assert [s["employee_id"] for s in mine] == [w.ids["staff"]]
    team = client.get(w.url(f"/scores?period={PERIOD}"), headers=w.h("manager"))
    assert team.headers["X-Total-Count"] == "4"  # the manager, staff, staff2, accountant
    for bad in ("2026-13", "oct", "2026-W60"):
        r = client.get(w.url(f"/scores?period={bad}"), headers=w.h("admin"))
        assert r.status_code == 422, bad
    week = client.get(w.url(f"/scores?period=2026-W42&employee_id={w.ids['staff']}"), headers=w.h("admin")).get_json()
    assert week[0]["item_count"] == 4 and week[0]["components"]["quantity_pct"] == 50.0
    year = client.get(w.url(f"/scores?period=2026&employee_id={w.ids['staff']}"), headers=w.h("admin")).get_json()
    assert year[0]["components"]["months"] == {PERIOD: 33.54}


def test_leader_includes_unit_results(clean_app, client, w, clock):
    month_of_staff(client, w)
    own = declare(client, w, who="manager", quantity=1)["id"]
    finish(client, w, own, who="manager")
    s = score_of(client, w, who="manager")
    c = s["components"]
    # Own items 100 %; staff's total 49.58 < 50 is KHT → unit results 50 %; the unit's
    # items done on time: staff 2 of 4, nobody else has items → 50 %. Mean 66.67 % → 46.67.
    assert c["own_pct"] == 100.0 and c["unit_results_pct"] == 50.0 and c["organising_pct"] == 50.0
    assert s["task_score"] == 46.67


def test_concurrent_declarations_in_one_unit_keep_every_score_right(clean_app, w, backend):
    """Three people of one department declare at the same time: each declaration rewrites
    its author's month row and their leaders' (the department's and the agency's). No
    request fails on the shared rows, none waits for a tenant-wide lock, and the rows
    end equal to a full recalculation of the month."""
    import threading

    errors: list = []

    def declarer(who: str) -> None:
        client = clean_app.test_client()
        for n in range(6):
            r = client.post(w.url("/work-items"), headers=w.h(who),
                            json={"task_type_code": "VB01", "work_date": "2026-10-14", "quantity": n + 1,
                                  "confirm_long_day": True})  # 21 documents plan over 12 hours
            if r.status_code != 201:
                errors.append((who, r.status_code, r.get_json()))

    threads = [threading.Thread(target=declarer, args=(who,)) for who in ("staff", "staff2", "accountant")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    incremental = _snapshot(clean_app, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from core.scoring import engine

        engine.recalculate(PERIOD)
        unit_of_work.commit()
    recalculated = [r for r in _snapshot(clean_app, w) if r[0] in {i[0] for i in incremental}]
    assert recalculated == incremental
    # 18 items of 1..6 × weight 1.5, none done: everyone's items counted, leaders included.
    assert sorted(r[3] for r in incremental if r[3]) == [6, 6, 6]


def _finish_and_refresh(app, w, item_id: int, before_commit=lambda: None) -> None:
    """Finish an item and re-score it as a request's commit does, in its own transaction."""
    from core.scoring import engine
    from core.work.models import WorkItem

    with app.app_context(), tenant_context(w.tenant_id):
        item = db.session.get(WorkItem, item_id)
        item.status, item.completed_at = "done", item.declared_at
        db.session.flush()
        engine.refresh_items([item_id])
        before_commit()
        unit_of_work.commit()


def _while_a_refresh_holds_its_commit(app, w, backend, item_id: int, second, failure: str) -> list:
    """A: finish `item_id` and refresh, then hold the commit; B: `second`, in another
    thread, until it waits on a lock A holds; then let both finish. The errors of both."""
    import threading

    refreshed, release = threading.Event(), threading.Event()
    errors: list = []

    def hold() -> None:
        refreshed.set()
        assert release.wait(30)

    def run(call) -> None:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            refreshed.set()

    first = threading.Thread(target=run, args=(lambda: _finish_and_refresh(app, w, item_id, hold),))
    first.start()
    assert refreshed.wait(30)
    other = threading.Thread(target=run, args=(second,))
    other.start()
    try:
        _wait_for_a_lock_wait(backend, failure)
    finally:
        release.set()
        first.join(30)
        other.join(30)
    return errors


def _wait_for_a_lock_wait(backend, failure: str, seconds: float = 30) -> None:
    """Until a session of the test database waits on a lock (a row or an advisory lock):
    the second transaction has reached what the first holds."""
    import time

    from sqlalchemy import create_engine, text

    watcher = create_engine(backend.owner_url)
    try:
        deadline = time.monotonic() + seconds
        with watcher.connect() as conn:
            while not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                                        "AND wait_event_type = 'Lock'"), {"d": backend.dbname}).scalar():
                assert time.monotonic() < deadline, failure
                time.sleep(0.05)
    finally:
        watcher.dispose()


def test_two_refreshes_under_one_leader_leave_the_leader_as_a_full_run_would(clean_app, w, backend):
    """staff and staff2 (Phòng Một, led by manager) each finish their only item in two
    transactions that overlap: A refreshes and holds its commit; B refreshes meanwhile
    (it waits for the manager's row A wrote) and commits after A. The manager's row must
    count both: own 100 %, nobody KHT any more (unit results 100 %), all 3 of the
    members' items on time (organising 100 %) → 70.00. Reading staff's row as it was
    before A committed gives unit results 50 % and organising 2/3 → (100 + 50 + 66.67)
    ÷ 3 = 72.22 % → 50.56."""
    from decimal import Decimal

    from core.scoring import engine
    from core.scoring.models import GeneralScore
    from tests.scoring.test_scoring_properties import add_items, use_variant

    if backend.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    spec = {"day": 5, "quantity": 1, "failed_reviews": 0, "missed_deadlines": 0, "stars": 5, "exempt": False,
            "planned": True, "deadline_offset": None, "finish_offset": 0, "late_report": False, "priority": 1,
            "role": "lead"}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        use_variant(w.tenant_id, "decree335")
        a, b, _, _ = add_items(w, [spec | {"who": "staff", "status": "in_progress"},
                                   spec | {"who": "staff2", "status": "in_progress"},
                                   spec | {"who": "accountant", "status": "done"},
                                   spec | {"who": "manager", "status": "done"}])
        for who in ("staff", "staff2", "accountant", "manager"):  # 30 points each: 0 + 30 is KHT
            db.session.add(GeneralScore(employee_id=w.ids[who], period=PERIOD, politics_ethics=Decimal(10),
                                        competence_attitude=Decimal(10), innovation=Decimal(10)))
        engine.recalculate(PERIOD)
        unit_of_work.commit()

    errors = _while_a_refresh_holds_its_commit(clean_app, w, backend, a, lambda: _finish_and_refresh(clean_app, w, b),
                                               "the second refresh never waited for the first")
    assert errors == []
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == w.ids["manager"],
                                                          PeriodScore.period == PERIOD))
        assert (row.components["unit_results_pct"], row.components["organising_pct"]) == (100.0, 100.0)
        assert row.task_score == Decimal("70.00")


def test_general_criteria_set_during_a_refresh_of_the_same_person_keep_both(clean_app, w, backend):
    """staff finishes their only item (A: refreshed, commit held) while the manager sets
    staff's general criteria (B). B must wait for A's refresh and score on top of it:
    task 70.00 (the item is done) + general 30.00 = 100.00 — not B's month from before
    A's item (task 0.00 + 30.00) written over A's row."""
    from decimal import Decimal

    from core.scoring import engine
    from tests.scoring.test_scoring_properties import add_items, use_variant

    if backend.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    spec = {"day": 5, "quantity": 1, "failed_reviews": 0, "missed_deadlines": 0, "stars": 5, "exempt": False,
            "planned": True, "deadline_offset": None, "finish_offset": 0, "late_report": False, "priority": 1,
            "role": "lead", "who": "staff", "status": "in_progress"}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        use_variant(w.tenant_id, "decree335")
        (item_id,) = add_items(w, [spec])
        engine.recalculate(PERIOD)
        unit_of_work.commit()

    def set_general() -> None:
        r = clean_app.test_client().put(w.url(f"/employees/{w.ids['staff']}/general-scores/{PERIOD}"),
                                        headers=w.h("manager"),
                                        json={"politics_ethics": 10, "competence_attitude": 10, "innovation": 10})
        assert r.status_code == 200, (r.status_code, r.get_json())

    errors = _while_a_refresh_holds_its_commit(clean_app, w, backend, item_id, set_general,
                                               "setting the general criteria never waited for the refresh")
    assert errors == []
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == w.ids["staff"],
                                                          PeriodScore.period == PERIOD))
        assert (row.task_score, row.general_score, row.total) == (Decimal("70.00"), Decimal("30.00"),
                                                                   Decimal("100.00"))


# ---------------------------------------------------------------- the month's other facts


def test_leave_re_scores_the_month_and_calendar_or_people_changes_mark_it_stale(clean_app, client, w):
    """hours-ledger: one item of 20 × 30 min (10 h) on 14 Oct 2026. October has 22
    working days: expected 176 h, utilisation 10/176, attainment ÷ 0.75 → 70 × 0.0758 =
    5.30. Two days of approved leave (19–20 Oct) leave 20 days: 160 h → 70 × 0.0833 =
    5.83, written by the leave's own commit, equal to a full recalculation. A tenant
    day off, or a change of who leads, moves everyone's numbers: the month goes stale."""
    from core.scoring.models import ScoredPeriod
    from tests.scoring.test_scoring_properties import use_variant

    with clean_app.app_context(), tenant_context(w.tenant_id):
        use_variant(w.tenant_id, "hours-ledger")
        unit_of_work.commit()
    item = declare(client, w, quantity=20, complexity_level=2)["id"]
    finish(client, w, item)
    s = score_of(client, w)
    assert (s["working_days"], s["task_score"]) == (22, 5.30)
    r = client.post(w.url("/leave-records"), headers=w.h("manager"), json={
        "employee_id": w.ids["staff"], "start_date": "2026-10-19", "end_date": "2026-10-20"})
    assert r.status_code == 201, r.get_json()
    s = score_of(client, w)
    assert (s["working_days"], s["task_score"]) == (20, 5.83)
    refreshed = _snapshot(clean_app, w)
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202
    assert [x for x in _snapshot(clean_app, w) if x[0] in {y[0] for y in refreshed}] == refreshed
    assert client.delete(w.url(f"/leave-records/{_leave_id(clean_app, w)}"),
                         headers=w.h("manager")).status_code == 204
    assert score_of(client, w)["task_score"] == 5.30  # the leave withdrawn: 22 days again

    def stale() -> bool:
        with clean_app.app_context(), tenant_context(w.tenant_id):
            row = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == PERIOD))
            return bool(row and row.stale)

    assert not stale()
    r = client.post(w.url("/calendar-days"), json={"day": "2026-10-21", "kind": "day_off", "name": "Nghỉ"},
                    headers=w.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert stale()
    client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert not stale() and score_of(client, w)["working_days"] == 21
    r = client.patch(w.url(f"/employees/{w.ids['staff2']}"), json={"is_leader": True}, headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert stale()


def _leave_id(app, w) -> int:
    from core.work.models import LeaveRecord

    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(LeaveRecord.id).where(LeaveRecord.employee_id == w.ids["staff"]))
