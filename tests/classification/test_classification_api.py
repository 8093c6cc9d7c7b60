"""The yearly classification, its review, appeals, finalising, discipline and bonus runs,
through the API on both databases; numbers worked out by hand from domain.md."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete as sa_delete
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.catalogue.models import NormVersion
from core.classification import services
from core.extensions import db
from core.notifications.models import Notification
from core.org.models import Employee
from core.scoring.models import PeriodScore
from core.tenancy import tenant_context
from core.timeutil import utcnow
from core.work.models import LeaveRecord, WorkItem
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support",)

# Annual totals of 2026 (one month each). In the agency AG, group "professional":
# HTXS band: staff (95); HTT: staff2, manager, accountant, admin, outsider (5) →
# x ≤ 0.2 × (5 + 1 − x) → x = 1: staff keeps HTXS. The auditor's 45 is KHT.
TOTALS_2026 = {"staff": 95, "staff2": 80, "manager": 75, "accountant": 72, "admin": 85, "outsider": 71,
               "auditor": 45}


def set_totals(app, w: World, totals: dict[str, float], period: str = "2026-06") -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        for name, total in totals.items():
            e = db.session.get(Employee, w.ids[name])
            db.session.add(PeriodScore(
                employee_id=e.id, unit_id=e.unit_id, period=period, item_count=3, working_days=20,
                task_score=Decimal(str(total)) - 25, general_score=Decimal(25), total=Decimal(str(total)),
                components={}, sums={}, variant_key="decree335", variant_version="1.0.0", settings_hash="x",
                provisional=False))
        unit_of_work.commit()


def run(client, w: World, year: int = 2026, who: str = "admin") -> dict:
    r = client.post(w.url(f"/classifications/{year}/run"), headers=w.h(who))
    assert r.status_code == 202, r.get_json()
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "finished", job
    return job["result"]


def listing(client, w: World, year: int = 2026, who: str = "admin", **query) -> dict[str, dict]:
    names = {v: k for k, v in w.ids.items() if k in TOTALS_2026}
    r = client.get(w.url("/classifications"), query_string={"year": year, **query}, headers=w.h(who))
    assert r.status_code == 200, r.get_json()
    return {names.get(row["employee_id"], row["employee_id"]): row for row in r.get_json()}


def override(client, w: World, name: str, who: str = "manager", year: int = 2026, **body):
    return client.put(w.url(f"/classifications/{year}/{w.ids[name]}"), json=body, headers=w.h(who))


@pytest.fixture
def classified(clean_app, world, client) -> World:
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    return world


def test_the_run_classifies_by_the_bands_and_the_quota(clean_app, classified, client):
    rows = listing(client, classified)
    assert {n: r["level"] for n, r in rows.items()} == {
        "staff": "HTXS", "staff2": "HTT", "manager": "HTT", "accountant": "HTT", "admin": "HTT", "outsider": "HTT",
        "auditor": "KHT"}
    staff = rows["staff"]
    assert staff["total"] == 95.0 and staff["demoted_by_quota"] is False and staff["override"] is None
    assert staff["final"] is False and staff["months_worked"] == 12 and staff["year"] == 2026
    year = client.get(classified.url("/classifications/2026"), headers=classified.h("manager")).get_json()
    assert year["status"] == "draft" and year["scheme"]["key"] == "decree335"
    assert year["levels"] == {"HTXS": 1, "HTT": 5, "KHT": 1}


def test_quota_demotes_when_one_htt_fewer(clean_app, world, client):
    # Without the outsider's HTT: x ≤ 0.2 × (4 + 1 − x) → x = 0, so staff is demoted by quota.
    set_totals(clean_app, world, {**TOTALS_2026, "outsider": 60})
    result = run(client, world)
    assert result["demoted_by_quota"] == 1
    staff = listing(client, world)["staff"]
    assert (staff["level"], staff["demoted_by_quota"]) == ("HTT", True)


def test_people_see_what_their_role_allows(clean_app, classified, client):
    assert set(listing(client, classified, who="staff")) == {"staff"}
    assert set(listing(client, classified, who="manager")) == {"manager", "staff", "staff2", "accountant"}
    assert len(listing(client, classified, who="auditor")) == 7
    by_unit = listing(client, classified, unit_id=classified.ids["other"])
    assert set(by_unit) == {"outsider"}


def test_run_needs_the_admin_and_a_sane_year(clean_app, world, client):
    assert client.post(world.url("/classifications/2026/run"), headers=world.h("manager")).status_code == 403
    assert client.post(world.url("/classifications/1999/run"), headers=world.h("admin")).status_code == 422
    assert client.get(world.url("/classifications"), query_string={"year": "x"},
                      headers=world.h("admin")).status_code == 422
    assert client.get(world.url("/classifications/2026"), headers=world.h("admin")).status_code == 404


def test_run_without_a_scheme_is_refused_before_any_job(clean_app, world, client):
    from core.jobs.models import JobRun
    from core.tenants.models import ComponentChoice

    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.execute(sa_delete(ComponentChoice).where(ComponentChoice.kind == "classification_scheme"))
        unit_of_work.commit()
    r = client.post(world.url("/classifications/2026/run"), headers=world.h("admin"))
    assert r.status_code == 409 and r.get_json()["code"] == "component_not_chosen"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_out_of_range_numbers_are_4xx_not_500(clean_app, classified, client):
    huge, h = 2**70, classified.h("admin")
    for method, path in [("PUT", f"/classifications/2026/{huge}"), ("POST", f"/appeals/{huge}/resolve"),
                         ("GET", f"/bonus-runs/{huge}"), ("DELETE", f"/discipline-records/{huge}"),
                         ("POST", f"/notifications/{huge}/read"), ("POST", f"/classifications/{huge}/run")]:
        r = client.open(classified.url(path), method=method, json={"level": "HT", "reason": "r", "decision": "upheld"},
                        headers=h)
        assert r.status_code == 404, (path, r.status_code)
    for query in ({"year": 2026, "unit_id": huge}, {"year": huge}):
        assert client.get(classified.url("/classifications"), query_string=query, headers=h).status_code == 422
    assert client.get(classified.url("/discipline-records"), query_string={"employee_id": huge},
                      headers=h).status_code == 422
    body = {"employee_id": huge, "kind": "reprimand", "decided_on": "2026-01-05", "reason": "r"}
    assert client.post(classified.url("/discipline-records"), json=body, headers=h).status_code == 422
    assert client.post(classified.url("/discipline-records"), json={**body, "employee_id": 1, "decided_on": "0001-01-01"},
                       headers=h).status_code == 422
    assert client.post(classified.url("/bonus-runs"), json={"year": 2026, "fund": huge}, headers=h).status_code == 422
    for report in ("workload", "calibration"):
        assert client.get(classified.url(f"/reports/{report}"), query_string={"period": "9999-12"},
                          headers=h).status_code == 422


def test_rerun_is_idempotent_and_keeps_reasoned_overrides(clean_app, classified, client):
    assert override(client, classified, "staff2", level="HT", reason="Chậm báo cáo quý III").status_code == 200
    run(client, classified)
    rows = listing(client, classified)
    assert len(rows) == 7 and rows["staff2"]["level"] == "HT" and rows["staff2"]["computed_level"] == "HTT"


# ---------------------------------------------------------------- the manager's review


def test_override_needs_a_reason_and_the_right_person(clean_app, classified, client):
    missing = override(client, classified, "staff2", level="HT")
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]
    assert override(client, classified, "staff2", level="HT", reason="   ").status_code == 422
    assert override(client, classified, "staff2", level="XX", reason="r").status_code == 422
    assert override(client, classified, "staff2", who="staff", level="HT", reason="r").status_code == 403
    assert override(client, classified, "outsider", level="HT", reason="r").status_code == 403  # not managed
    assert override(client, classified, "manager", level="HTXS", reason="r").status_code == 403  # own
    assert client.put(classified.url("/classifications/2026/999999"), json={"level": "HT", "reason": "r"},
                      headers=classified.h("admin")).status_code == 404

    ok = override(client, classified, "staff2", level="HT", reason="Chậm báo cáo quý III")
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["level"] == "HT" and body["computed_level"] == "HTT"
    assert body["override"]["level"] == "HT" and body["override"]["reason"] == "Chậm báo cáo quý III"
    assert "manager" in body["override"]["by"]
    with clean_app.app_context(), tenant_context(classified.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "classification.override")).one()
        assert event.before["level"] == "HTT" and event.after["reason"] == "Chậm báo cáo quý III"
    inbox = client.get(classified.url("/notifications"), headers=classified.h("staff2")).get_json()
    assert inbox["unread"] == 2  # the draft, then the override
    # Told in the tenant's language, with the level and the reason.
    assert inbox["items"][0]["message"] == ("Kết quả xếp loại năm 2026 của bạn được điều chỉnh thành HT: "
                                            "Chậm báo cáo quý III")
    read = client.post(classified.url(f"/notifications/{inbox['items'][0]['id']}/read"), headers=classified.h("staff2"))
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert client.post(classified.url(f"/notifications/{inbox['items'][0]['id']}/read"),
                       headers=classified.h("staff")).status_code == 404  # someone else's


# ---------------------------------------------------------------- appeals


def appeal(client, w: World, name: str = "staff2", who: str | None = None, reason: str = "Tôi đã hoàn thành đúng hạn"):
    return client.post(w.url(f"/classifications/2026/{w.ids[name]}/appeal"), json={"reason": reason},
                       headers=w.h(who or name))


def test_appeal_is_filed_by_the_person_and_resolved_with_a_reason(clean_app, classified, client):
    override(client, classified, "staff2", level="HT", reason="Chậm báo cáo")
    assert appeal(client, classified, who="staff").status_code == 403
    assert appeal(client, classified, reason="").status_code == 422
    filed = appeal(client, classified)
    assert filed.status_code == 201 and filed.get_json()["level_appealed"] == "HT"
    assert appeal(client, classified).status_code == 409  # one pending at a time
    manager_inbox = client.get(classified.url("/notifications"), headers=classified.h("manager")).get_json()
    assert any(n["kind"] == "classification.appeal" for n in manager_inbox["items"])

    # Finalising waits for pending appeals.
    assert client.post(classified.url("/classifications/2026/finalize"), headers=classified.h("admin")).status_code == 409

    appeal_id = filed.get_json()["id"]
    url = classified.url(f"/appeals/{appeal_id}/resolve")
    assert client.post(url, json={"decision": "upheld", "level": "HTT"}, headers=classified.h("manager")).status_code == 422
    assert client.post(url, json={"decision": "rejected", "level": "HTT", "reason": "r"},
                       headers=classified.h("manager")).status_code == 422
    assert client.post(url, json={"decision": "upheld", "reason": "r"}, headers=classified.h("staff")).status_code == 403
    done = client.post(url, json={"decision": "upheld", "level": "HTT", "reason": "Có xác nhận đúng hạn"},
                       headers=classified.h("manager"))
    assert done.status_code == 200 and done.get_json()["status"] == "upheld"
    assert client.post(url, json={"decision": "rejected", "reason": "r"}, headers=classified.h("admin")).status_code == 409
    row = listing(client, classified)["staff2"]
    assert row["level"] == "HTT" and row["appeal"]["status"] == "upheld"
    assert row["override"]["reason"] == f"Appeal {appeal_id}: Có xác nhận đúng hạn"
    listed = client.get(classified.url("/classifications/2026/appeals"), headers=classified.h("staff2")).get_json()
    assert [a["id"] for a in listed] == [appeal_id]
    assert client.get(classified.url("/classifications/2026/appeals"), headers=classified.h("outsider")).get_json() == []


def test_appeal_window_is_the_tenants_setting(clean_app, world, client, monkeypatch):
    body = {"classification_scheme": {"key": "decree335", "settings": {"appeal_days": 5},
                                      "effective_from": "2026-01-01"}}
    assert client.patch(world.url("/settings"), json=body, headers=world.h("admin")).status_code == 200
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    state = client.get(world.url("/classifications/2026"), headers=world.h("admin")).get_json()
    started = utcnow()
    monkeypatch.setattr(services, "now", lambda: started + timedelta(days=5) - timedelta(minutes=1))
    assert appeal(client, world, "staff").status_code == 201  # the last minute of day 5
    monkeypatch.setattr(services, "now", lambda: started + timedelta(days=5, minutes=5))
    closed = appeal(client, world, "staff2")
    assert closed.status_code == 409 and closed.get_json()["code"] == "appeal_window_closed"
    assert state["appeal_until"] > state["run_at"]


# ---------------------------------------------------------------- finalising


def test_finalised_year_refuses_every_change(clean_app, classified, client):
    assert client.post(classified.url("/classifications/2026/finalize"), headers=classified.h("manager")).status_code == 403
    final = client.post(classified.url("/classifications/2026/finalize"), headers=classified.h("admin"))
    assert final.status_code == 200 and final.get_json()["status"] == "final"
    assert listing(client, classified)["staff"]["final"] is True
    assert client.post(classified.url("/classifications/2026/finalize"), headers=classified.h("admin")).status_code == 409
    assert client.post(classified.url("/classifications/2026/run"), headers=classified.h("admin")).status_code == 409
    assert override(client, classified, "staff2", level="HT", reason="r").status_code == 409
    assert override(client, classified, "staff2", who="admin", level="HT", reason="r").status_code == 409
    assert appeal(client, classified).status_code == 409
    discipline = {"employee_id": classified.ids["staff"], "kind": "reprimand", "decided_on": "2026-11-02",
                  "reason": "Vi phạm quy chế"}
    assert client.post(classified.url("/discipline-records"), json=discipline,
                       headers=classified.h("admin")).status_code == 409
    inbox = client.get(classified.url("/notifications"), headers=classified.h("staff")).get_json()
    assert inbox["items"][0]["kind"] == "classification.final"
    with clean_app.app_context(), tenant_context(classified.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "classification.final")) == 7


# ---------------------------------------------------------------- discipline and months


def test_discipline_makes_kht_whatever_the_total(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    body = {"employee_id": world.ids["staff"], "kind": "reprimand", "decided_on": "2026-05-04",
            "reason": "Vi phạm quy chế làm việc"}
    assert client.post(world.url("/discipline-records"), json=body, headers=world.h("manager")).status_code == 403
    assert client.post(world.url("/discipline-records"), json={**body, "kind": "scolding"},
                       headers=world.h("admin")).status_code == 422
    created = client.post(world.url("/discipline-records"), json=body, headers=world.h("admin"))
    assert created.status_code == 201 and created.get_json()["year"] == 2026
    run(client, world)
    staff = listing(client, world)["staff"]
    assert (staff["level"], staff["forced_kht"], staff["total"]) == ("KHT", True, 95.0)
    listed = client.get(world.url("/discipline-records"), query_string={"year": 2026}, headers=world.h("manager"))
    assert [d["employee_id"] for d in listed.get_json()] == [world.ids["staff"]]
    assert client.get(world.url("/discipline-records"), headers=world.h("outsider")).status_code == 403
    record_id = created.get_json()["id"]
    assert client.delete(world.url(f"/discipline-records/{record_id}"), headers=world.h("admin")).status_code == 204


def test_under_six_months_worked_is_not_classified(clean_app, world, client):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        # Started 1 August: Aug–Dec = 5 months. Staff2 all year less 62 days of leave = 12 − 2 = 10.
        db.session.get(Employee, world.ids["staff"]).start_date = date(2026, 8, 1)
        db.session.add(LeaveRecord(employee_id=world.ids["staff2"], start_date=date(2026, 3, 1),
                                   end_date=date(2026, 5, 1), kind="maternity"))
        unit_of_work.commit()
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    rows = listing(client, world)
    assert (rows["staff"]["level"], rows["staff"]["months_worked"]) == (None, 5)
    assert (rows["staff2"]["level"], rows["staff2"]["months_worked"]) == ("HTT", 10)


def test_a_heads_level_is_capped_by_their_units_mean_total(clean_app, world, client):
    # The department's head has 92 (HTXS band). Its people: staff 60, staff2 55,
    # accountant 56 → mean (60 + 55 + 56) ÷ 3 = 57.00 → HT band: the head is HT.
    set_totals(clean_app, world, TOTALS_2026 | {"manager": 92, "staff": 60, "staff2": 55, "accountant": 56})
    run(client, world)
    rows = listing(client, world)
    assert (rows["manager"]["computed_level"], rows["staff"]["level"]) == ("HT", "HT")
    # The admin (not a head) with 85 stays HTT.
    assert rows["admin"]["level"] == "HTT"


def test_maternity_leave_of_eight_months_keeps_a_person_classified(clean_app, world, client):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        # Maternity 1 February – 30 September: 8 whole months away → months worked 12 − 8 = 4,
        # under the 6 months' minimum, but the 8 kept months count towards it: 4 + 8 ≥ 6.
        db.session.add(LeaveRecord(employee_id=world.ids["staff2"], start_date=date(2026, 2, 1),
                                   end_date=date(2026, 9, 30), kind="maternity"))
        # The same 8 months as unpaid leave: 4 < 6, not classified.
        db.session.add(LeaveRecord(employee_id=world.ids["accountant"], start_date=date(2026, 2, 1),
                                   end_date=date(2026, 9, 30), kind="unpaid"))
        unit_of_work.commit()
    set_totals(clean_app, world, TOTALS_2026, period="2026-01")  # a month they worked
    run(client, world)
    rows = listing(client, world)
    assert (rows["staff2"]["level"], rows["staff2"]["months_worked"]) == ("HTT", 4)
    assert (rows["accountant"]["level"], rows["accountant"]["months_worked"]) == (None, 4)


@pytest.mark.parametrize(("start", "end", "leave", "months"), [
    (None, None, [], 12),
    (date(2026, 7, 1), None, [], 6),
    (date(2026, 7, 31), None, [], 6),           # any day of a month covers it
    (date(2025, 3, 1), date(2026, 6, 30), [], 6),
    (None, None, [(date(2026, 1, 1), date(2026, 1, 29))], 12),   # 29 days: under a month
    (None, None, [(date(2026, 1, 1), date(2026, 1, 30))], 11),   # 30 days: a month
    (None, None, [(date(2025, 12, 1), date(2026, 2, 28))], 10),  # Jan and Feb inside 2026
    (None, None, [(date(2026, 3, 10), date(2026, 4, 20))], 10),  # 22 days of March and 20 of April: both ≥ half
    (None, None, [(date(2026, 3, 20), date(2026, 4, 18))], 11),  # 30 days: 12 of March (< half), 18 of April (≥ half)
    (date(2027, 1, 1), None, [], 0),
])
def test_months_worked_by_hand(start, end, leave, months):
    assert services.months_worked(start, end, 2026, leave) == months


@pytest.mark.parametrize(("leave", "kept"), [
    # Maternity 1 March – 31 August: six whole months away, all six kept (12 − 6 = 6 worked).
    ([(date(2026, 3, 1), date(2026, 8, 31), "maternity")], 6),
    # Sick 10 March – 20 April takes out March and April (both ≥ half): 2 kept.
    ([(date(2026, 3, 10), date(2026, 4, 20), "sick")], 2),
    # Unpaid leave takes months out but keeps none.
    ([(date(2026, 3, 1), date(2026, 5, 31), "unpaid")], 0),
    # Unpaid January–February and sick February–March: February is out either way, so
    # only March is kept: worked counting the unpaid alone 10, counting all 9 → 1.
    ([(date(2026, 1, 1), date(2026, 2, 28), "unpaid"), (date(2026, 2, 1), date(2026, 3, 31), "sick")], 1),
])
def test_months_on_kept_leave_by_hand(leave, kept):
    assert services.months_on_kept_leave(None, None, 2026, leave) == kept


# ---------------------------------------------------------------- decree90 before 2026


def add_items(app, w: World, name: str, specs: list[dict]) -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        norm = db.session.scalars(select(NormVersion).where(NormVersion.task_type_id == w.ids["HT01"])).first()
        for spec in specs:
            db.session.add(WorkItem(employee_id=w.ids[name], task_type_id=w.ids["HT01"], norm_version_id=norm.id,
                                    title="Hồ sơ", work_date=spec.get("work_date", date(2025, 6, 2)),
                                    quantity=spec.get("quantity", 1),
                                    norm_minutes=30, product_weight=1, complexity_coefficient=1,
                                    status=spec.get("status", "done"), missed_deadlines=spec.get("missed", 0),
                                    failed_reviews=spec.get("failed", 0), stars=spec.get("stars")))
        unit_of_work.commit()


def test_decree90_for_2025_and_decree335_for_2026_in_one_tenant(clean_app, world, client):
    good = {"stars": 4}
    add_items(clean_app, world, "staff", [{"stars": 5}] * 2 + [good] * 2)             # all good, 50 % exceeding
    add_items(clean_app, world, "staff2", [good] * 4)                                 # all good
    add_items(clean_app, world, "accountant", [good] * 4 + [{"missed": 1}])            # 20 % late
    add_items(clean_app, world, "outsider", [good] + [{"status": "in_progress"}] * 2)  # 33 % completed
    for name in ("manager", "admin", "auditor"):
        add_items(clean_app, world, name, [good] * 3)
    add_items(clean_app, world, "staff", [{"status": "cancelled", "missed": 3}])       # cancelled: left out
    result = run(client, world, 2025)
    assert result["scheme"]["key"] == "decree90"
    rows = listing(client, world, 2025)
    # In band: staff; HTT: staff2, manager, admin, auditor (4) → x ≤ 0.2 × (4 + 1 − x) → 0: demoted by quota.
    assert {n: r["level"] for n, r in rows.items()} == {
        "staff": "HTT", "staff2": "HTT", "accountant": "HT", "outsider": "KHT", "manager": "HTT", "admin": "HTT",
        "auditor": "HTT"}
    assert rows["staff"]["demoted_by_quota"] is True
    assert rows["staff"]["criteria"] == {"assigned": 4, "completed": 4, "good": 4, "exceeding": 2}
    set_totals(clean_app, world, TOTALS_2026)
    assert run(client, world, 2026)["scheme"]["key"] == "decree335"
    assert listing(client, world, 2026)["staff"]["level"] == "HTXS"


# ---------------------------------------------------------------- bonus runs


def test_bonus_run_needs_a_final_year_and_sums_exactly_to_the_fund(clean_app, classified, client):
    url = classified.url("/bonus-runs")
    refused = client.post(url, json={"year": 2026}, headers=classified.h("admin"))
    assert refused.status_code == 409 and refused.get_json()["code"] == "year_not_final"
    override(client, classified, "staff2", level="HT", reason="Chậm báo cáo")
    client.post(classified.url("/classifications/2026/finalize"), headers=classified.h("admin"))
    assert client.post(url, json={"year": 2026}, headers=classified.h("manager")).status_code == 403
    assert client.post(url, json={"year": 2026, "fund": -1}, headers=classified.h("admin")).status_code == 422
    assert client.post(url, json={"year": 2026, "fund": "many"}, headers=classified.h("admin")).status_code == 422

    started = client.post(url, json={"year": 2026}, headers=classified.h("admin"))
    assert started.status_code == 202 and set(started.get_json()) == {"job_id", "id"}
    body = client.get(classified.url(f"/bonus-runs/{started.get_json()['id']}"), headers=classified.h("admin")).get_json()
    # 10 % × 2,340,000 × 2.34 × 12 months × 7 people = 45,995,040 đồng.
    assert body["status"] == "finished" and body["fund"] == 45_995_040
    amounts = {a["employee_id"]: a["amount"] for a in body["allocations"]}
    assert sum(amounts.values()) == 45_995_040
    # Weights × 12 months: HTXS 1.5 (staff), HTT 1.0 × 4, HT 0.5 (staff2), KHT 0 (auditor): Σ = 6 × 12 = 72.
    # staff 45,995,040 × 18/72 = 11,498,760; each HTT × 12/72 = 7,665,840; staff2 × 6/72 = 3,832,920.
    assert amounts[classified.ids["staff"]] == 11_498_760
    assert amounts[classified.ids["manager"]] == 7_665_840
    assert amounts[classified.ids["staff2"]] == 3_832_920
    assert amounts[classified.ids["auditor"]] == 0
    staff = next(a for a in body["allocations"] if a["employee_id"] == classified.ids["staff"])
    assert staff["level"] == "HTXS" and staff["explain"]["weight"] == 18.0

    odd = client.post(url, json={"year": 2026, "fund": 1_000_001}, headers=classified.h("admin")).get_json()
    odd_body = client.get(classified.url(f"/bonus-runs/{odd['id']}"), headers=classified.h("auditor")).get_json()
    assert sum(a["amount"] for a in odd_body["allocations"]) == 1_000_001
    sheet = client.get(classified.url(f"/bonus-runs/{odd['id']}/xlsx"), headers=classified.h("admin"))
    assert sheet.status_code == 200 and sheet.data[:2] == b"PK"
    assert len(client.get(url, query_string={"year": 2026}, headers=classified.h("admin")).get_json()) == 2
    assert client.get(classified.url("/bonus-runs/999999"), headers=classified.h("admin")).status_code == 404


# ---------------------------------------------------------------- reports


def test_streamlining_lists_kht_with_the_evidence(clean_app, classified, client):
    report = client.get(classified.url("/reports/streamlining"), query_string={"year": 2026},
                        headers=classified.h("admin")).get_json()
    assert [c["employee_id"] for c in report["candidates"]] == [classified.ids["auditor"]]
    candidate = report["candidates"][0]
    assert candidate["reasons"] == ["Rated KHT in 2026 (Decree 154/2025)."]
    assert candidate["grounds"] == [{"kind": "kht", "year": 2026}] and report["excluded"] == []
    assert candidate["evidence"]["total"] == 45.0 and report["final"] is False
    assert client.get(classified.url("/reports/streamlining"), query_string={"year": 2026},
                      headers=classified.h("staff")).status_code == 403
    later = client.get(classified.url("/reports/streamlining"), query_string={"year": 2031},
                       headers=classified.h("admin")).get_json()
    assert later["classified"] is False and later["candidates"] == []


def test_streamlining_has_no_bottom_percent_and_old_settings_still_load(clean_app, world, client):
    # The retired setting is dropped when read, so settings saved with it keep working;
    # the report lists only people with a ground: here the auditor (KHT), not the lowest 30 %.
    body = {"classification_scheme": {"key": "decree335", "settings": {"streamlining_bottom_percent": 30},
                                      "effective_from": "2026-01-01"}}
    assert client.patch(world.url("/settings"), json=body, headers=world.h("admin")).status_code == 200
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    report = client.get(world.url("/reports/streamlining"), query_string={"year": 2026, "as_of": "2027-01-05"},
                        headers=world.h("admin")).get_json()
    assert [c["employee_id"] for c in report["candidates"]] == [world.ids["auditor"]]
    assert "bottom_percent" not in report and "ranking" not in report


def test_workload_per_unit_and_position(clean_app, world, client):
    # Staff: 4 done items of 30 min × 1 in Oct 2026 (2 h) and one open (0.5 h not credited).
    add_items(clean_app, world, "staff", [{"work_date": date(2026, 10, 5)}] * 4
              + [{"work_date": date(2026, 10, 6), "status": "in_progress"}])
    report = client.get(world.url("/reports/workload"), query_string={"period": "2026-10"},
                        headers=world.h("admin")).get_json()
    row = next(r for r in report["rows"] if r["unit_id"] == world.ids["dept"] and r["position_code"] == "CV")
    # dept/CV: manager, staff, staff2; October 2026 has 22 working days → 66 person-days.
    assert row["headcount"] == 3 and row["working_days"] == 66
    assert row["credited_hours"] == 2.0 and row["hours_per_working_day"] == 0.03  # 2 ÷ 66
    # 1,900 h × 22 ÷ 249 working days of 2026 (the tenant's calendar: 248 weekdays that are
    # not public holidays + the make-up Saturday 22/08) = 167.87 h; need = 2.5 ÷ 167.87 =
    # 0.0149 → 0.01.
    assert report["full_time_hours"] == 167.87 and row["norm_hours"] == 2.5 and row["staffing_need"] == 0.01
    assert client.get(world.url("/reports/workload"), query_string={"period": "nope"},
                      headers=world.h("admin")).status_code == 422


# ---------------------------------------------------------------- for the isolation walk


def _foreign(kind: str):
    def make(app, w: World) -> int:
        from core.bonus.models import BonusRun
        from core.classification.models import ClassificationAppeal, DisciplineRecord

        key = f"classification:{kind}"
        if key not in w.ids:
            with app.app_context(), tenant_context(w.tenant_id):
                staff = w.ids["staff"]
                row = {
                    "appeal_id": lambda: ClassificationAppeal(year=2026, employee_id=staff, reason="r"),
                    "discipline_id": lambda: DisciplineRecord(employee_id=staff, year=2026, kind="reprimand",
                                                              decided_on=date(2026, 3, 2), reason="r", created_by="t"),
                    "notification_id": lambda: Notification(employee_id=staff, kind="t", message="m"),
                    "bonus_run_id": lambda: BonusRun(year=2026, requested_by="t"),
                }[kind]()
                db.session.add(row)
                unit_of_work.commit()
                w.ids[key] = row.id
        return w.ids[key]
    return make


FOREIGN_CLASSIFICATION_IDS = {kind: _foreign(kind) for kind in
                              ("appeal_id", "discipline_id", "notification_id", "bonus_run_id")}


def test_calibration_flags_units_beyond_two_mad_and_long_day_declarers(clean_app, world, client):
    # Totals 40 (outsider), 45, 72, 75, 80, 85, 95: median 75; |x − 75| = 35, 30, 3, 0, 5, 10, 20 → MAD 10.
    # Units: other [40] departs −35 (> 20: flagged); agency [85, 45] −10; dept [95, 80, 75, 72] +2.5.
    set_totals(clean_app, world, {**TOTALS_2026, "outsider": 40})
    nine_hours = {"quantity": 18}  # 18 × 30 min = 9 h > 8 h
    add_items(clean_app, world, "staff", [dict(nine_hours, work_date=date(2026, 6, d)) for d in range(1, 7)])
    add_items(clean_app, world, "staff2", [dict(nine_hours, work_date=date(2026, 6, d)) for d in range(1, 6)])
    add_items(clean_app, world, "staff2", [{"quantity": 16, "work_date": date(2026, 6, 8)}])  # 8 h: not over
    report = client.get(world.url("/reports/calibration"), query_string={"period": "2026-06"},
                        headers=world.h("auditor")).get_json()
    assert (report["median"], report["mad"]) == (75.0, 10.0)
    units = {u["unit_id"]: u for u in report["units"]}
    assert units[world.ids["other"]]["flagged"] is True and units[world.ids["other"]]["departure"] == -35.0
    assert units[world.ids["agency"]]["flagged"] is False and units[world.ids["agency"]]["median"] == 65.0
    assert units[world.ids["dept"]]["median"] == 77.5 and units[world.ids["dept"]]["flagged"] is False
    # Staff: 6 days over 8 h (> 5); staff2: 5 days, not more than 5.
    assert [(p["employee_id"], p["long_days"], p["total"]) for p in report["long_day_declarers"]] == [
        (world.ids["staff"], 6, 95.0)]
    fewer = client.get(world.url("/reports/calibration"), query_string={"period": "2026-06", "long_days": 4},
                       headers=world.h("admin")).get_json()
    assert len(fewer["long_day_declarers"]) == 2
    yearly = client.get(world.url("/reports/calibration"), query_string={"period": "2026"},
                        headers=world.h("admin")).get_json()
    assert yearly["median"] == 75.0
    assert client.get(world.url("/reports/calibration"), query_string={"period": "2026-W10"},
                      headers=world.h("admin")).status_code == 422
    assert client.get(world.url("/reports/calibration"), query_string={"period": "2026-06"},
                      headers=world.h("manager")).status_code == 403


# ---------------------------------------------------------------- congvu classify


def test_cli_classify(clean_app, world):
    from tests.cli.test_cli import run as cli

    set_totals(clean_app, world, TOTALS_2026)
    result = cli(clean_app, "classify", "--tenant", world.slug, "--year", "2026")
    assert result.exit_code == 0, result.output
    assert "classified 2026 for tinh-w with decree335: 7 people (HTXS 1, HTT 5, HT 0, KHT 1, none 0)" in result.output
    assert cli(clean_app, "classify", "--tenant", "no-such", "--year", "2026").exit_code == 1
    bad = cli(clean_app, "classify", "--tenant", world.slug, "--year", "1900")
    assert bad.exit_code == 1 and "Not a year to classify" in bad.stderr


# ---------------------------------------------------------------- e-mail when SMTP is configured


def test_people_are_emailed_when_smtp_is_configured_and_a_mail_failure_changes_nothing(
        clean_app, classified, client, monkeypatch):
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append({"host": host, "port": port})

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, msg):
            sent[-1]["msg"] = msg

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(clean_app.config, "CONGVU_SMTP_HOST", "mail.example.vn")
    with clean_app.app_context(), tenant_context(classified.tenant_id):
        db.session.get(Employee, classified.ids["staff2"]).email = "staff2@example.vn"
        unit_of_work.commit()
    assert override(client, classified, "staff2", level="HT", reason="Chậm báo cáo").status_code == 200
    assert sent[0]["host"] == "mail.example.vn" and sent[0]["port"] == 25
    assert sent[0]["msg"]["Bcc"] == "staff2@example.vn" and "Chậm báo cáo" in sent[0]["msg"].get_content()

    class DownSMTP(FakeSMTP):
        def __init__(self, host, port, timeout):
            raise ConnectionRefusedError("down")

    monkeypatch.setattr(smtplib, "SMTP", DownSMTP)
    assert override(client, classified, "staff2", level="HTT", reason="Đã bổ sung báo cáo").status_code == 200
    assert listing(client, classified)["staff2"]["level"] == "HTT"


def test_an_appeals_reason_is_stored_in_vietnamese_and_shown_in_the_readers_language(clean_app, classified, client):
    """The level an upheld appeal set keeps which appeal set it: stored Vietnamese-first
    (a document, an export, a query read it as is), on the API in English unless asked
    for Vietnamese (its contract's field and words unchanged), on the page in its language."""
    from core.classification.models import EmployeeClassification
    from tests.work.test_work_pages import sign_in

    override(client, classified, "staff2", level="HT", reason="Chậm báo cáo")
    appeal_id = appeal(client, classified).get_json()["id"]
    done = client.post(classified.url(f"/appeals/{appeal_id}/resolve"),
                       json={"decision": "upheld", "level": "HTT", "reason": "Có xác nhận đúng hạn"},
                       headers=classified.h("manager"))
    assert done.status_code == 200, done.get_json()
    with clean_app.app_context(), tenant_context(classified.tenant_id):
        stored = db.session.scalar(select(EmployeeClassification.override_reason).where(
            EmployeeClassification.employee_id == classified.ids["staff2"], EmployeeClassification.year == 2026))
    assert stored == f"Khiếu nại #{appeal_id}: Có xác nhận đúng hạn"
    assert listing(client, classified)["staff2"]["override"]["reason"] == f"Appeal {appeal_id}: Có xác nhận đúng hạn"
    assert listing(client, classified, lang="vi")["staff2"]["override"]["reason"] == stored
    sign_in(client, classified, "manager")
    html = client.get(f"/t/{classified.slug}/classification/unit?year=2026").get_data(as_text=True)
    assert f"→ HTT: Khiếu nại #{appeal_id}: Có xác nhận đúng hạn</span>" in html
    html = client.get(f"/t/{classified.slug}/classification/unit?year=2026&lang=en").get_data(as_text=True)
    # The level in words for an English reader, its legal abbreviation in the tooltip.
    assert f'→ <abbr title="HTT">Good</abbr>: Appeal {appeal_id}: Có xác nhận đúng hạn</span>' in html


def test_reasons_written_in_english_before_read_in_either_language(clean_app):
    from core.classification import reasons

    with clean_app.app_context():
        assert reasons.shown("Decision 7", "vi") == "Quyết định #7"
        assert reasons.shown(reasons.decision_reason(7), "en") == "Decision 7"
        assert reasons.shown("Appeal 3: Đúng hạn\nđủ hồ sơ", "vi") == "Khiếu nại #3: Đúng hạn\nđủ hồ sơ"
        assert reasons.shown("Chậm báo cáo", "en") == "Chậm báo cáo"  # typed by a person: as typed
        assert reasons.shown("Decision 7 of the council", "vi") == "Decision 7 of the council"
        assert reasons.shown(reasons.decision_reason(7)) == "Quyết định #7"  # outside a request: Vietnamese
        assert reasons.shown("Quyết định số 7", "en") == "Quyết định số 7"  # a person's words, an official number
