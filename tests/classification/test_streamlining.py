"""The streamlining report (Decree 154/2025): its grounds (KHT, surplus in a job position
measured by the hours ledger), the people it may not name (pregnant, maternity leave, a
child under 36 months, a pending discipline review) and the ranking offered only as an
analysis; the protections' dates on the employee through the API. Both databases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.classification.test_classification_api import TOTALS_2026, add_items, run, set_totals
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support",)


def patch(client, w: World, name: str, body: dict):
    return client.patch(w.url(f"/employees/{w.ids[name]}"), json=body, headers=w.h("admin"))


def report(client, w: World, **query) -> dict:
    r = client.get(w.url("/reports/streamlining"), query_string={"year": 2026, **query}, headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def surplus_world(app, client, w: World) -> None:
    """dept/CV (manager, staff, staff2) with 2,850 norm hours in 2026 and the year classified.

    Items of 30 min: staff 3,000 units = 1,500 h, staff2 2,700 units = 1,350 h → 2,850 h.
    A full-time person works 1,900 h a year (2026: 248 working days, the whole year), so
    the measured need is 2,850 ÷ 1,900 = 1.5 posts for a headcount of 3: 3 − 1.5 = 1.5,
    one whole post surplus. The other groups have no recorded work and are not judged.
    """
    add_items(app, w, "staff", [{"work_date": date(2026, 3, 2), "quantity": 3000}])
    add_items(app, w, "staff2", [{"work_date": date(2026, 4, 6), "quantity": 2700}])
    set_totals(app, w, TOTALS_2026)
    run(client, w)


def test_grounds_per_person_kht_and_surplus_by_position(clean_app, world, client):
    surplus_world(clean_app, client, world)
    body = report(client, world, as_of="2027-01-04")
    grounds = {c["employee_id"]: c["grounds"] for c in body["candidates"]}
    surplus = {"kind": "surplus", "year": 2026, "unit_id": world.ids["dept"], "position_id": world.ids["pos_CV"],
               "position_code": "CV", "headcount": 3, "staffing_need": 1.5, "surplus": 1}
    assert grounds == {world.ids["manager"]: [surplus], world.ids["staff"]: [surplus],
                       world.ids["staff2"]: [surplus], world.ids["auditor"]: [{"kind": "kht", "year": 2026}]}
    staff = next(c for c in body["candidates"] if c["employee_id"] == world.ids["staff"])
    assert staff["reasons"] == [f"Surplus in position CV of unit {world.ids['dept']}: 3 people for a measured need "
                                "of 1.5 in 2026 (Decree 154/2025)."]
    assert staff["level"] == "HTXS" and staff["evidence"]["total"] == 95.0
    assert body["excluded"] == [] and body["as_of"] == "2027-01-04"


def test_protected_people_are_listed_apart_on_the_day_asked(clean_app, world, client):
    surplus_world(clean_app, client, world)
    assert patch(client, world, "staff", {"pregnant_from": "2026-03-01"}).status_code == 200
    # Born 15 Jan 2024: 36 months old on 15 Jan 2027, so protected up to the 14th.
    assert patch(client, world, "staff2", {"youngest_child_born_on": "2024-01-15"}).status_code == 200
    # A review closed on 10 Dec 2026 no longer protects on 31 Dec.
    assert patch(client, world, "manager", {"discipline_review_from": "2026-11-01",
                                            "discipline_review_to": "2026-12-10"}).status_code == 200
    assert patch(client, world, "auditor", {"maternity_leave_from": "2026-07-01",
                                            "maternity_leave_to": "2026-12-31"}).status_code == 200

    on_31 = report(client, world, as_of="2026-12-31")
    assert [c["employee_id"] for c in on_31["candidates"]] == [world.ids["manager"]]
    excluded = {c["employee_id"]: c["protections"] for c in on_31["excluded"]}
    assert excluded == {
        world.ids["staff"]: [{"kind": "pregnant", "from": "2026-03-01"}],
        world.ids["staff2"]: [{"kind": "child_under_36_months", "until": "2027-01-15"}],
        world.ids["auditor"]: [{"kind": "maternity_leave", "from": "2026-07-01"}]}
    assert next(c for c in on_31["excluded"] if c["employee_id"] == world.ids["auditor"])["grounds"] == [
        {"kind": "kht", "year": 2026}]

    # 15 Jan 2027: the child is 36 months, the leave is over; the pregnancy has no end date.
    later = report(client, world, as_of="2027-01-15")
    assert {c["employee_id"] for c in later["candidates"]} == {
        world.ids["manager"], world.ids["staff2"], world.ids["auditor"]}
    assert [c["employee_id"] for c in later["excluded"]] == [world.ids["staff"]]
    # A review still open (no end) protects.
    assert patch(client, world, "manager", {"discipline_review_to": None}).status_code == 200
    assert world.ids["manager"] in {c["employee_id"] for c in report(client, world, as_of="2027-01-15")["excluded"]}


def test_the_ranking_is_only_an_analysis_and_only_on_request(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    assert "ranking" not in report(client, world, as_of="2027-01-04")
    ranking = report(client, world, as_of="2027-01-04", ranking="true")["ranking"]
    assert ranking["analysis_only"] is True and "not a ground" in ranking["note"]
    # 95, 85, 80, 75, 72, 71, 45 (TOTALS_2026), the highest first.
    assert [(r["rank"], r["total"]) for r in ranking["rows"]] == [
        (1, 95.0), (2, 85.0), (3, 80.0), (4, 75.0), (5, 72.0), (6, 71.0), (7, 45.0)]
    assert ranking["rows"][0]["employee_id"] == world.ids["staff"]


def test_protection_dates_through_the_api_are_checked_and_audited(clean_app, world, client):
    ok = patch(client, world, "staff", {"pregnant_from": "2026-03-01", "pregnant_to": "2026-11-20"})
    assert ok.status_code == 200
    assert (ok.get_json()["pregnant_from"], ok.get_json()["pregnant_to"]) == ("2026-03-01", "2026-11-20")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "employee.update")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.after["pregnant_to"] == "2026-11-20" and event.actor.endswith("admin")

    # An end before its start, in one request or against the stored start: 422, nothing changed.
    bad = patch(client, world, "staff", {"maternity_leave_from": "2026-05-02", "maternity_leave_to": "2026-05-01"})
    assert bad.status_code == 422 and "maternity_leave_to" in str(bad.get_json())
    against_stored = patch(client, world, "staff", {"pregnant_to": "2026-02-01"})
    assert against_stored.status_code == 422 and "pregnant_to" in str(against_stored.get_json())
    alone = patch(client, world, "staff2", {"discipline_review_to": "2026-02-01"})
    assert alone.status_code == 422 and "discipline_review_to" in str(alone.get_json())
    not_a_date = patch(client, world, "staff2", {"youngest_child_born_on": "31/02/2025"})
    assert not_a_date.status_code == 422
    with clean_app.app_context(), tenant_context(world.tenant_id):
        staff = db.session.get(Employee, world.ids["staff"])
        assert (staff.maternity_leave_from, staff.pregnant_to) == (None, date(2026, 11, 20))
        assert db.session.scalar(select(func.count()).select_from(Employee).where(
            Employee.discipline_review_to.is_not(None))) == 0
    assert client.get(world.url("/reports/streamlining"), query_string={"year": 2026, "as_of": "nope"},
                      headers=world.h("admin")).status_code == 422


def test_maternity_leave_recorded_as_leave_protects_like_the_employee_dates(clean_app, world, client):
    """The auditor (KHT in 2026) has no maternity dates on the employee, only leave records:
    maternity leave 1 Sep 2026 – 28 Feb 2027 (six months, Social Insurance Law art. 139),
    and a sick leave holding 4 Jan 2027 for staff, who stays a candidate (sick leave is
    no protection of Decree 154/2025). On 4 Jan 2027 the auditor is excluded with the
    leave's first day; on 1 Mar 2027, the day after it ends, the auditor is a candidate."""
    surplus_world(clean_app, client, world)
    for who, kind, start, end in (("auditor", "maternity", "2026-09-01", "2027-02-28"),
                                  ("staff", "sick", "2027-01-04", "2027-01-08")):
        r = client.post(world.url("/leave-records"), headers=world.h("admin"), json={
            "employee_id": world.ids[who], "kind": kind, "start_date": start, "end_date": end})
        assert r.status_code == 201, r.get_json()
    on_4 = report(client, world, as_of="2027-01-04")
    assert {c["employee_id"]: c["protections"] for c in on_4["excluded"]} == {
        world.ids["auditor"]: [{"kind": "maternity_leave", "from": "2026-09-01"}]}
    assert world.ids["staff"] in {c["employee_id"] for c in on_4["candidates"]}
    after = report(client, world, as_of="2027-03-01")
    assert after["excluded"] == []
    assert world.ids["auditor"] in {c["employee_id"] for c in after["candidates"]}
