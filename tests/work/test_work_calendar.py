"""Working days (national holidays, tenant days off and make-up days, leave), the
bulk sweep of overdue and unreported items, leave records (both databases)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import unit_of_work
from core.extensions import db
from core.tenancy import tenant_context
from core.work import services
from core.work.calendar import WorkCalendar, national_holiday
from core.work.models import WorkItem
from tests.work.test_work_support import declare

pytest_plugins = ("tests.work.test_work_support",)


def test_national_calendar_from_the_holidays_package():
    cal = WorkCalendar(date(2026, 1, 1), date(2026, 12, 31))
    assert national_holiday(date(2026, 9, 2)) and national_holiday(date(2026, 2, 17))  # National Day, Tết
    assert not cal.is_working_day(date(2026, 4, 30)) and not cal.is_working_day(date(2026, 10, 17))  # Saturday
    assert cal.is_working_day(date(2026, 8, 22))  # a Saturday worked in exchange for 31 August
    assert not cal.is_working_day(date(2026, 8, 31))
    assert cal.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)  # over the Tết week
    assert len(cal.working_days(date(2026, 10, 1), date(2026, 10, 31))) == 22


def test_tenant_days_override_the_national_calendar():
    cal = WorkCalendar(date(2026, 10, 1), date(2026, 10, 31),
                       {date(2026, 10, 20): "day_off", date(2026, 10, 24): "working_day"})
    assert not cal.is_working_day(date(2026, 10, 20)) and cal.is_working_day(date(2026, 10, 24))
    assert len(cal.working_days(date(2026, 10, 1), date(2026, 10, 31))) == 22
    assert len(cal.working_days(date(2026, 10, 1), date(2026, 10, 31), {date(2026, 10, 21)})) == 21


def test_working_days_api_with_calendar_days_and_leave(client, world):
    h = world.h("admin")
    url = world.url("/working-days?from=2026-10-01&to=2026-10-31")
    assert client.get(url, headers=h).get_json()["count"] == 22
    r = client.post(world.url("/calendar-days"), json={"day": "2026-10-20", "kind": "day_off", "name": "Ngày lễ tỉnh"},
                    headers=h)
    assert r.status_code == 201, r.get_json()
    day_id = r.get_json()["id"]
    assert client.post(world.url("/calendar-days"), json={"day": "2026-10-20", "kind": "holiday"},
                       headers=h).status_code == 422
    assert client.post(world.url("/calendar-days"), json={"day": "2026-10-24", "kind": "working_day"},
                       headers=world.h("manager")).status_code == 403
    assert client.get(url, headers=h).get_json()["count"] == 21
    leave = client.post(world.url("/leave-records"), json={
        "employee_id": world.ids["staff"], "start_date": "2026-10-08", "end_date": "2026-10-12", "kind": "annual"},
        headers=world.h("manager"))
    assert leave.status_code == 201, leave.get_json()
    # 8, 9 and 12 October are working days (10-11 are a weekend).
    staff = client.get(url + f"&employee_id={world.ids['staff']}", headers=world.h("staff")).get_json()
    assert staff["count"] == 18 and "2026-10-09" not in staff["days"]
    assert client.get(url + f"&employee_id={world.ids['staff']}",
                      headers=world.h("outsider")).status_code == 404
    assert client.delete(world.url(f"/calendar-days/{day_id}"), headers=h).status_code == 204
    assert client.get(url, headers=h).get_json()["count"] == 22
    bad = client.get(world.url("/working-days?from=2026-10-31&to=2026-10-01"), headers=h)
    assert bad.status_code == 422 and "to" in bad.get_json()["errors"]
    assert client.get(world.url("/working-days"), headers=h).get_json()["from"] == "2026-10-01"


def test_leave_is_recorded_by_managers_and_admins_only(client, world):
    body = {"employee_id": world.ids["staff"], "start_date": "2026-10-19", "end_date": "2026-10-20"}
    assert client.post(world.url("/leave-records"), json=body, headers=world.h("staff")).status_code == 403
    assert client.post(world.url("/leave-records"), json=body, headers=world.h("auditor")).status_code == 403
    r = client.post(world.url("/leave-records"), json={**body, "employee_id": world.ids["outsider"]},
                    headers=world.h("manager"))
    assert r.status_code == 422 and "employee_id" in r.get_json()["errors"]
    r = client.post(world.url("/leave-records"), json={**body, "end_date": "2026-10-18"}, headers=world.h("admin"))
    assert r.status_code == 422 and "end_date" in r.get_json()["errors"]
    r = client.post(world.url("/leave-records"), json=body, headers=world.h("admin"))
    assert r.status_code == 201
    leave_id = r.get_json()["id"]
    assert [x["id"] for x in client.get(world.url("/leave-records"), headers=world.h("staff")).get_json()] == [leave_id]
    assert client.get(world.url("/leave-records"), headers=world.h("staff2")).get_json() == []
    assert client.get(world.url(f"/leave-records/{leave_id}"), headers=world.h("staff2")).status_code == 404
    assert client.delete(world.url(f"/leave-records/{leave_id}"), headers=world.h("staff")).status_code == 403
    assert client.delete(world.url(f"/leave-records/{leave_id}"), headers=world.h("manager")).status_code == 204


def test_leave_kinds_are_the_six_the_rules_distinguish(client, world):
    body = {"employee_id": world.ids["staff"], "start_date": "2026-10-19", "end_date": "2026-10-20"}
    made = []
    for kind in ("sick", "maternity", "annual", "unpaid", "study", "other"):
        r = client.post(world.url("/leave-records"), json={**body, "kind": kind}, headers=world.h("manager"))
        assert r.status_code == 201 and r.get_json()["kind"] == kind, r.get_json()
        made.append(r.get_json()["id"])
    r = client.post(world.url("/leave-records"), json={**body, "kind": "vacation"}, headers=world.h("manager"))
    assert r.status_code == 422 and "kind" in r.get_json()["errors"]
    default = client.post(world.url("/leave-records"), json=body, headers=world.h("manager"))
    assert default.status_code == 201 and default.get_json()["kind"] == "annual"
    ids = [x["id"] for x in client.get(world.url("/leave-records?per_page=50"), headers=world.h("manager")).get_json()]
    assert sorted(ids) == sorted([*made, default.get_json()["id"]])  # the refused one wrote nothing


def test_closed_period_refuses_calendar_and_leave_changes(client, clean_app, world):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        services.close_period("2026-09")
        unit_of_work.commit()
    r = client.post(world.url("/calendar-days"), json={"day": "2026-09-10", "kind": "day_off"},
                    headers=world.h("admin"))
    assert r.status_code == 409 and "day" in r.get_json()["errors"]
    r = client.post(world.url("/leave-records"), json={"employee_id": world.ids["staff"], "start_date": "2026-09-30",
                                                       "end_date": "2026-10-01"}, headers=world.h("manager"))
    assert r.status_code == 409 and "start_date" in r.get_json()["errors"]


def test_sweep_stores_missed_deadlines_and_not_reported_in_bulk(client, clean_app, world, clock):
    late = declare(client, world, work_date="2026-10-12", deadline="2026-10-13")["id"]
    fresh = declare(client, world, work_date="2026-10-14", deadline="2026-10-20")["id"]
    stale = declare(client, world, work_date="2026-10-09")["id"]  # Friday: report by end of Monday 12th
    done = declare(client, world, work_date="2026-10-12", deadline="2026-10-13")["id"]
    client.patch(world.url(f"/work-items/{done}"), json={"status": "done",
                                                         "completed_at": "2026-10-13T10:00:00+07:00"},
                 headers=world.h("staff"))
    with clean_app.app_context(), tenant_context(world.tenant_id):
        services.sweep()
        unit_of_work.commit()
        rows = {i.id: (i.missed_deadlines, i.not_reported) for i in db.session.scalars(select(WorkItem))}
    assert rows[late] == (1, False)  # due 13th: may still be reported until the end of the 14th
    assert rows[fresh] == (0, False)
    assert rows[stale] == (0, True)
    assert rows[done] == (0, False)
    # The API says the same thing the columns now hold.
    items = {i["id"]: i for i in client.get(world.url("/work-items"), headers=world.h("staff")).get_json()}
    assert {k: (v["missed_deadlines"], v["not_reported"]) for k, v in items.items()} == rows
