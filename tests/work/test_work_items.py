"""Work items through the API: declaring, assigning, results, deadlines, reviews,
exemptions, verification, visibility and bad input (both databases).

The clock is fixed (tests/work/test_work_support.py): Wednesday 14 Oct 2026, 07:30 in Hồ Chí Minh.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import UnitOfWorkBypassed, db
from core.tenancy import tenant_context
from core.work import services
from core.work.models import WorkItem
from tests.work.test_work_support import build, count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)


def counts(app, w) -> tuple[int, int]:
    """(work items, audit events) of the world's tenant."""
    with app.app_context(), tenant_context(w.tenant_id):
        return (db.session.scalar(select(func.count()).select_from(WorkItem)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


def patch(client, w, item_id, who="staff", expect=200, **data):
    r = client.patch(w.url(f"/work-items/{item_id}"), json=data, headers=w.h(who))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def act(client, w, item_id, action, who="manager", expect=200, **data):
    r = client.post(w.url(f"/work-items/{item_id}/{action}"), json=data, headers=w.h(who))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


# ---------------------------------------------------------------- declaring


def test_declare_for_myself_per_contract(client, world, events):
    item = declare(client, world, title="Hồ sơ khai sinh", complexity_level=3, deadline="2026-10-16", priority=2)
    assert item["status"] == "planned" and item["planned"] is True and item["assigned_by_id"] is None
    assert item["employee_id"] == world.ids["staff"] and item["task_type_code"] == "HT01"
    assert (item["norm_minutes"], item["complexity_coefficient"], item["quantity"]) == (30.0, 1.2, 2.0)
    assert item["planned_minutes"] == 72.0 and item["priority"] == 2 and item["role"] == "lead"
    assert item["verification"] == "pending" and item["warnings"] == []
    assert item["declared_at"].startswith("2026-10-14T00:30:00")
    assert events == [{"hook": "congvu_work_item_changed", "tenant_id": world.tenant_id, "item_id": item["id"],
                       "change": "created"}]


def test_defaults_title_quantity_and_the_standard_complexity_level(client, world):
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14"},
                    headers=world.h("staff"))
    item = r.get_json()
    assert r.status_code == 201
    assert (item["title"], item["quantity"], item["complexity_level"], item["complexity_coefficient"]) == (
        "Giải quyết hồ sơ hộ tịch", 1.0, 2, 1.0)


@pytest.mark.parametrize(("moment", "work_date", "planned"), [
    ((2026, 10, 14, 8, 59), "2026-10-14", True),
    ((2026, 10, 14, 9, 0), "2026-10-14", False),
    ((2026, 10, 14, 16, 0), "2026-10-15", True),   # declared the afternoon before
    ((2026, 10, 15, 8, 0), "2026-10-14", False),   # declared the day after
])
def test_planned_means_before_the_morning_cutoff_in_tenant_time(client, world, clock, moment, work_date, planned):
    clock.set(*moment)
    assert declare(client, world, work_date=work_date)["planned"] is planned


def test_cutoff_and_time_zone_are_the_tenants(client, clean_app, world, clock):
    from core.tenants.models import Tenant

    with clean_app.app_context():
        tenant = db.session.get(Tenant, world.tenant_id)
        tenant.morning_cutoff, tenant.timezone = "08:00", "Asia/Tokyo"  # UTC+9: 09:30 in Tokyo at 07:30 HCM
        unit_of_work.commit()
    assert declare(client, world)["planned"] is False
    clock.set(2026, 10, 14, 5, 59)  # 07:59 in Tokyo
    assert declare(client, world)["planned"] is True


def test_bad_declarations_are_refused_and_write_nothing(client, clean_app, world):
    before = counts(clean_app, world)
    cases = [
        ({"task_type_code": "NOPE"}, 422, "task_type_code"),
        ({"quantity": 0}, 422, "quantity"),
        ({"quantity": -2}, 422, "quantity"),
        ({"deadline": "2026-10-13"}, 422, "deadline"),
        ({"task_type_code": "KT01"}, 422, "task_type_code"),  # the accountant's type, not mine
        ({"complexity_level": 7}, 422, "complexity_level"),
        ({"task_type_code": "VB01", "complexity_level": 1}, 422, "complexity_level"),
        ({"work_date": "2026-13-01"}, 422, "work_date"),
        ({"priority": 4}, 422, "priority"),
        ({"role": "boss"}, 422, "role"),
        ({"employee_id": 10**9}, 422, "employee_id"),
        ({"employee_id": world.ids["staff2"]}, 422, "employee_id"),  # a colleague I cannot see
    ]
    for data, status, field in cases:
        body = declare(client, world, expect=status, **data)
        assert field in body["errors"], (data, body)
        assert body["code"] in ("validation_error",)
    r = client.post(world.url("/work-items"), data="not json", headers={**world.h("staff"),
                                                                         "Content-Type": "application/json"})
    assert r.status_code in (400, 422)
    assert counts(clean_app, world) == before


def test_position_check_can_be_a_warning(client, world):
    r = client.patch(world.url("/work-settings"), json={"position_check": "warn"}, headers=world.h("staff"))
    assert r.status_code == 403
    r = client.patch(world.url("/work-settings"), json={"position_check": "warn"}, headers=world.h("admin"))
    assert r.status_code == 200 and r.get_json()["position_check"] == "warn"
    item = declare(client, world, task_type_code="KT01")
    assert item["outside_position"] is True and item["warnings"]
    assert declare(client, world, task_type_code="VB01")["outside_position"] is False


def test_closed_period_refuses_changes(client, clean_app, world):
    item = declare(client, world, deadline="2026-10-20")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        services.close_period("2026-10")
        unit_of_work.commit()
    before = counts(clean_app, world)
    body = declare(client, world, expect=409)
    assert body["code"] == "period_closed" and "work_date" in body["errors"]
    assert patch(client, world, item["id"], expect=409, progress=50)["code"] == "period_closed"
    act(client, world, item["id"], "extend", expect=409, deadline="2026-10-30", reason="thêm thời gian")
    act(client, world, item["id"], "exempt", expect=409, reason="mất điện")
    assert counts(clean_app, world) == before
    assert declare(client, world, work_date="2026-11-02")["status"] == "planned"


def test_auditors_and_people_without_an_employee_record_cannot_declare(client, world):
    assert declare(client, world, who="auditor", expect=403)["code"] == "forbidden"


# ---------------------------------------------------------------- assigning and visibility


def test_manager_assigns_to_people_they_manage_only(client, world):
    item = declare(client, world, who="manager", employee_id=world.ids["staff"], deadline="2026-10-15")
    assert item["employee_id"] == world.ids["staff"] and item["assigned_by_id"] == world.ids["manager"]
    assert item["verification"] == "verified"
    mine = client.get(world.url("/work-items"), headers=world.h("staff")).get_json()
    assert [i["id"] for i in mine] == [item["id"]] and mine[0]["assigned_by_id"] == world.ids["manager"]
    body = declare(client, world, who="manager", employee_id=world.ids["outsider"], expect=422)
    assert "employee_id" in body["errors"]
    # Tenant admins see everyone but manage no one: seeing is not assigning.
    body = declare(client, world, who="admin", employee_id=world.ids["staff"], expect=403)
    assert "employee_id" in body["errors"]


def test_who_sees_which_items(client, world):
    staff_item = declare(client, world)["id"]
    outsider_item = declare(client, world, who="outsider")["id"]

    def ids(who, query=""):
        r = client.get(world.url("/work-items" + query), headers=world.h(who))
        assert r.status_code == 200, r.get_json()
        return {i["id"] for i in r.get_json()}

    assert ids("staff") == {staff_item}
    assert ids("staff2") == set()
    assert ids("manager") == {staff_item}
    assert ids("admin") == ids("auditor") == {staff_item, outsider_item}
    assert ids("admin", f"?unit_id={world.ids['dept']}") == {staff_item}
    assert ids("admin", f"?unit_id={world.ids['agency']}") == {staff_item, outsider_item}
    assert ids("admin", f"?employee_id={world.ids['outsider']}") == {outsider_item}
    for who in ("staff2", "outsider"):
        assert client.get(world.url(f"/work-items/{staff_item}"), headers=world.h(who)).status_code == 404
        assert patch(client, world, staff_item, who=who, expect=404, progress=10)["code"] == "not_found"
    assert client.get(world.url(f"/work-items/{staff_item}"), headers=world.h("auditor")).status_code == 200
    assert patch(client, world, staff_item, who="auditor", expect=403, progress=10)
    assert patch(client, world, staff_item, who="admin", expect=403, progress=10)


def test_another_tenants_item_is_a_404(client, clean_app, world):
    item = declare(client, world)["id"]
    other = build(clean_app, "tinh-khac")
    assert client.get(other.url(f"/work-items/{item}"), headers=other.h("admin")).status_code == 404
    assert client.patch(other.url(f"/work-items/{item}"), json={"progress": 5},
                        headers=other.h("admin")).status_code == 404
    assert client.get(other.url("/work-items"), headers=other.h("admin")).get_json() == []


def test_list_filters(client, world, clock):
    a = declare(client, world, work_date="2026-10-12")["id"]
    b = declare(client, world, work_date="2026-10-14")["id"]
    c = declare(client, world, work_date="2026-10-16")["id"]
    patch(client, world, b, status="done")
    h = world.h("staff")

    def ids(query):
        r = client.get(world.url("/work-items" + query), headers=h)
        assert r.status_code == 200, r.get_json()
        return [i["id"] for i in r.get_json()]

    assert ids("") == [c, b, a]
    assert ids("?work_date=2026-10-14") == [b]
    assert ids("?from=2026-10-13&to=2026-10-16") == [c, b]
    assert ids("?status=done") == [b]
    assert ids("?status=planned,done") == [c, b, a]
    assert ids("?per_page=1&page=2") == [b]
    r = client.get(world.url("/work-items?status=finished"), headers=h)
    assert r.status_code == 422 and "status" in r.get_json()["errors"]
    assert client.get(world.url("/work-items?from=yesterday"), headers=h).status_code == 422


# ---------------------------------------------------------------- progress and results


def test_progress_completion_and_result(client, world, clock, events):
    item = declare(client, world)
    body = patch(client, world, item["id"], progress=40, result_note="Đã tiếp nhận")
    assert (body["status"], body["progress"]) == ("in_progress", 40)
    clock.set(2026, 10, 14, 16, 30)
    body = patch(client, world, item["id"], status="done", result_note="Đã trả kết quả", quantity=3)
    assert (body["status"], body["progress"], body["quantity"]) == ("done", 100, 3.0)
    assert body["completed_at"].startswith("2026-10-14T09:30:00") and body["reported_at"] == body["completed_at"]
    assert body["not_reported"] is False and body["missed_deadlines"] == 0
    assert [e["change"] for e in events] == ["created", "updated", "completed"]
    # A finished item keeps its numbers; its note may still be corrected.
    assert patch(client, world, item["id"], expect=409, quantity=5)["errors"]["status"]
    assert patch(client, world, item["id"], result_note="Bổ sung")["result_note"] == "Bổ sung"
    assert patch(client, world, item["id"], expect=409, status="in_progress")


def test_completing_a_cancelled_item_is_refused(client, clean_app, world):
    item = declare(client, world)
    assert patch(client, world, item["id"], status="cancelled")["status"] == "cancelled"
    before = counts(clean_app, world)
    body = patch(client, world, item["id"], expect=409, status="done")
    assert "status" in body["errors"]
    assert patch(client, world, item["id"], expect=409, progress=10)
    assert counts(clean_app, world) == before


def test_bad_updates_are_refused_with_field_errors(client, clean_app, world):
    item = declare(client, world)["id"]
    before = counts(clean_app, world)
    cases = [
        ({"quantity": 0}, "quantity"), ({"quantity": -1}, "quantity"), ({"progress": 101}, "progress"),
        ({"status": "planned"}, "status"), ({"status": "done", "completed_at": "2026-10-15T10:00:00+07:00"},
                                             "completed_at"),
        ({"status": "done", "completed_at": "2026-10-14T07:00:00"}, "completed_at"),  # no offset
        ({"completed_at": "2026-10-14T07:00:00+07:00"}, "completed_at"),  # without done
    ]
    for data, field in cases:
        body = patch(client, world, item, expect=422, **data)
        assert field in body["errors"], (data, body)
    assert counts(clean_app, world) == before


def test_a_manager_may_update_and_cancel_a_managed_persons_item(client, world):
    item = declare(client, world)["id"]
    assert patch(client, world, item, who="manager", progress=20)["progress"] == 20
    assert patch(client, world, item, who="manager", status="cancelled")["status"] == "cancelled"


# ---------------------------------------------------------------- deadlines


def test_missed_deadlines_count_each_passed_deadline(client, world, clock):
    item = declare(client, world, deadline="2026-10-15")["id"]
    clock.set(2026, 10, 15, 23, 59)
    body = client.get(world.url(f"/work-items/{item}"), headers=world.h("staff")).get_json()
    assert (body["overdue"], body["missed_deadlines"]) == (False, 0)  # the deadline day is not over
    clock.set(2026, 10, 16, 8, 0)
    body = client.get(world.url(f"/work-items/{item}"), headers=world.h("staff")).get_json()
    assert (body["overdue"], body["missed_deadlines"]) == (True, 1)
    overdue = client.get(world.url("/work-items?overdue=true"), headers=world.h("staff")).get_json()
    assert [i["id"] for i in overdue] == [item]
    # Extended after it passed: the old deadline stays missed.
    body = act(client, world, item, "extend", deadline="2026-10-20", reason="Chờ hồ sơ bổ sung")
    assert (body["deadline"], body["original_deadline"], body["missed_deadlines"], body["overdue"]) == (
        "2026-10-20", "2026-10-15", 1, False)
    clock.set(2026, 10, 21, 10, 0)
    body = patch(client, world, item, status="done")
    assert body["missed_deadlines"] == 2 and body["overdue"] is False
    history = client.get(world.url(f"/work-items/{item}"), headers=world.h("staff")).get_json()["extensions"]
    assert [(e["old_deadline"], e["new_deadline"], e["old_missed"]) for e in history] == [
        ("2026-10-15", "2026-10-20", True)]


def test_extended_in_time_and_finished_in_time_counts_nothing(client, world, clock):
    item = declare(client, world, deadline="2026-10-15")["id"]
    act(client, world, item, "extend", deadline="2026-10-19", reason="Thêm việc")
    clock.set(2026, 10, 19, 17, 0)
    assert patch(client, world, item, status="done")["missed_deadlines"] == 0


def test_completed_at_decides_the_deadline_not_the_report(client, world, clock):
    item = declare(client, world, deadline="2026-10-14")["id"]
    clock.set(2026, 10, 15, 8, 0)  # entered the next morning, done the evening before
    body = patch(client, world, item, status="done", completed_at="2026-10-14T17:00:00+07:00")
    assert body["missed_deadlines"] == 0 and body["not_reported"] is False


def test_extending_is_for_the_assigner_or_a_manager_with_valid_input(client, clean_app, world):
    item = declare(client, world, deadline="2026-10-16")["id"]
    assert act(client, world, item, "extend", who="staff", expect=403, deadline="2026-10-20", reason="x")
    before = counts(clean_app, world)
    for data, field in [({"deadline": "2026-10-13", "reason": "x"}, "deadline"),
                        ({"deadline": "2026-10-16", "reason": "x"}, "deadline"),
                        ({"deadline": "2026-10-20", "reason": "  "}, "reason"),
                        ({"deadline": "2026-10-20"}, "reason")]:
        assert field in act(client, world, item, "extend", expect=422, **data)["errors"]
    assert counts(clean_app, world) == before
    patch(client, world, item, status="done")
    assert act(client, world, item, "extend", expect=409, deadline="2026-10-30", reason="muộn")


# ---------------------------------------------------------------- not reported


def test_results_reported_after_the_next_working_day_are_not_reported(client, world, clock):
    clock.set(2026, 10, 16, 7, 0)  # Friday
    on_time = declare(client, world, work_date="2026-10-16")["id"]
    late = declare(client, world, work_date="2026-10-16")["id"]
    clock.set(2026, 10, 19, 21, 0)  # Monday evening: the next working day after Friday
    assert patch(client, world, on_time, status="done", completed_at="2026-10-16T16:00:00+07:00")[
        "not_reported"] is False
    clock.set(2026, 10, 20, 8, 0)  # Tuesday
    assert patch(client, world, late, status="done", completed_at="2026-10-16T16:00:00+07:00")[
        "not_reported"] is True


def test_open_items_become_not_reported_after_the_next_working_day(client, world, clock):
    clock.set(2026, 8, 28, 7, 0)  # Friday before the 2 September holidays (31 Aug, 1-2 Sep off)
    item = declare(client, world, work_date="2026-08-28")["id"]
    clock.set(2026, 9, 3, 20, 0)  # Thursday: the next working day after Friday 28 August
    assert client.get(world.url(f"/work-items/{item}"), headers=world.h("staff")).get_json()["not_reported"] is False
    clock.set(2026, 9, 4, 8, 0)
    assert client.get(world.url(f"/work-items/{item}"), headers=world.h("staff")).get_json()["not_reported"] is True


def test_tenant_days_off_and_settings_move_the_report_window(client, world, clock):
    h = world.h("admin")
    r = client.post(world.url("/calendar-days"), json={"day": "2026-10-19", "kind": "day_off", "name": "Nghỉ bù"},
                    headers=h)
    assert r.status_code == 201, r.get_json()
    clock.set(2026, 10, 16, 7, 0)
    item = declare(client, world, work_date="2026-10-16")["id"]
    clock.set(2026, 10, 20, 20, 0)  # Tuesday is now the next working day
    assert patch(client, world, item, status="done", completed_at="2026-10-16T16:00:00+07:00")[
        "not_reported"] is False
    client.patch(world.url("/work-settings"), json={"report_within_working_days": 0}, headers=h)
    other = declare(client, world, work_date="2026-10-20")["id"]
    clock.set(2026, 10, 21, 7, 0)
    assert patch(client, world, other, status="done", completed_at="2026-10-20T16:00:00+07:00")[
        "not_reported"] is True


# ---------------------------------------------------------------- reviews and exemptions


def test_review_passes_or_sends_back_for_rework(client, clean_app, world, clock, events):
    item = declare(client, world, who="manager", employee_id=world.ids["staff"])["id"]
    assert act(client, world, item, "review", expect=409, passed=True)["errors"]["status"]
    patch(client, world, item, status="done")
    assert act(client, world, item, "review", who="staff", expect=403, passed=True, stars=5)
    assert act(client, world, item, "review", who="staff2", expect=404, passed=True)
    assert "stars" in act(client, world, item, "review", expect=422, passed=True, stars=6)["errors"]
    body = act(client, world, item, "review", passed=False, comment="Thiếu chữ ký")
    assert (body["status"], body["failed_reviews"], body["completed_at"], body["stars"]) == (
        "in_progress", 1, None, None)
    patch(client, world, item, status="done")
    body = act(client, world, item, "review", passed=True, stars=4, satisfaction=5, comment="Tốt")
    assert (body["status"], body["failed_reviews"], body["stars"], body["satisfaction"]) == ("done", 1, 4, 5)
    assert [e["change"] for e in events] == ["created", "completed", "reviewed", "completed", "reviewed"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "work_item", AuditEvent.object_id == str(item)).order_by(AuditEvent.seq)).all()
    assert actions == ["work_item.create", "work_item.complete", "work_item.review", "work_item.complete",
                       "work_item.review"]


def test_exemption_needs_a_manager_and_a_reason(client, world):
    item = declare(client, world)["id"]
    assert act(client, world, item, "exempt", who="staff", expect=403, reason="mất điện")
    assert "reason" in act(client, world, item, "exempt", expect=422, reason="")["errors"]
    assert "reason" in act(client, world, item, "exempt", expect=422, reason="   ")["errors"]
    body = act(client, world, item, "exempt", reason="Mất điện diện rộng")
    assert (body["exempt"], body["exempt_reason"], body["exempted_by_id"]) == (
        True, "Mất điện diện rộng", world.ids["manager"])


def test_a_leader_cannot_judge_their_own_items(client, world):
    item = declare(client, world, who="manager")["id"]
    patch(client, world, item, who="manager", status="done")
    assert act(client, world, item, "review", who="manager", expect=403, passed=True)
    assert act(client, world, item, "exempt", who="manager", expect=403, reason="x")


# ---------------------------------------------------------------- verification


def test_manager_checks_declarations_and_refuses_with_a_reason(client, world, events):
    a = declare(client, world)["id"]
    b = declare(client, world, who="staff2")["id"]
    done = declare(client, world, who="accountant", task_type_code="KT01")["id"]
    patch(client, world, done, who="accountant", status="done")
    declare(client, world, who="manager")  # the manager's own items are not in their queue
    queue = client.get(world.url("/work-queue"), headers=world.h("manager")).get_json()
    assert sorted(i["id"] for i in queue["declarations"]) == sorted([a, b, done])
    assert [i["id"] for i in queue["reviews"]] == [done]
    assert client.get(world.url("/work-queue"), headers=world.h("staff")).get_json() == {
        "declarations": [], "reviews": []}
    assert "reason" in act(client, world, a, "verify", expect=422, accepted=False)["errors"]
    body = act(client, world, a, "verify", accepted=False, reason="Không thuộc nhiệm vụ được giao")
    assert (body["verification"], body["status"], body["verification_note"]) == (
        "refused", "cancelled", "Không thuộc nhiệm vụ được giao")
    assert act(client, world, b, "verify", accepted=True)["verification"] == "verified"
    assert act(client, world, b, "verify", expect=409, accepted=True)
    assert act(client, world, b, "verify", who="staff", expect=404, accepted=True)
    queue = client.get(world.url("/work-queue"), headers=world.h("manager")).get_json()
    assert [i["id"] for i in queue["declarations"]] == [done]
    assert events[-2:] == [
        {"hook": "congvu_work_item_changed", "tenant_id": world.tenant_id, "item_id": a, "change": "cancelled"},
        {"hook": "congvu_work_item_changed", "tenant_id": world.tenant_id, "item_id": b, "change": "updated"}]


def test_unit_day_summary(client, world):
    declare(client, world, quantity=2)  # 2 × 30 min
    declare(client, world, task_type_code="VB01", quantity=2, deadline="2026-10-14")  # 2 × 60 min
    declare(client, world, who="staff2", work_date="2026-10-13", deadline="2026-10-13")
    rows = client.get(world.url("/unit-day?day=2026-10-14"), headers=world.h("manager")).get_json()
    by = {r["code"]: r for r in rows}
    assert set(by) == {"MANAGER", "STAFF", "STAFF2", "ACCOUNTANT"}
    assert (by["STAFF"]["declared"], by["STAFF"]["planned_minutes"], by["STAFF"]["planned_items"]) == (2, 180.0, 2)
    assert (by["STAFF2"]["declared"], by["STAFF2"]["overdue"]) == (0, 1)
    assert [r["code"] for r in client.get(world.url("/unit-day"), headers=world.h("staff")).get_json()] == ["STAFF"]


# ---------------------------------------------------------------- no N+1


@pytest.mark.parametrize("path", ["/work-items?per_page=500", "/work-queue", "/unit-day?day=2026-10-14",
                                  "/leave-records", "/calendar-days"])
def test_list_endpoints_do_not_query_per_row(client, clean_app, world, path):
    def run() -> int:
        with count_queries(clean_app) as statements:
            r = client.get(world.url(path), headers=world.h("manager"))
            assert r.status_code == 200, r.get_json()
        return len(statements)

    def add(n: int, start: int) -> None:
        for i in range(n):
            who = ("staff", "staff2")[i % 2]
            item = declare(client, world, who=who, deadline="2026-10-20")["id"]
            if i % 3 == 0:
                patch(client, world, item, who=who, status="done")
            client.post(world.url("/leave-records"), json={"employee_id": world.ids[who],
                        "start_date": f"2026-11-{start + i:02d}", "end_date": f"2026-11-{start + i:02d}"},
                        headers=world.h("manager"))
            client.post(world.url("/calendar-days"), json={"day": f"2026-12-{start + i:02d}", "kind": "day_off"},
                        headers=world.h("admin"))

    add(2, 1)
    few = run()
    add(12, 3)
    assert run() == few


def test_out_of_range_ids_and_dates_are_4xx_not_500(client, world):
    huge = 2**70
    h = world.h("admin")
    for method, path, body in [
        ("GET", f"/work-items/{huge}", None), ("PATCH", f"/work-items/{huge}", {"progress": 1}),
        ("POST", f"/work-items/{huge}/review", {"passed": True}), ("GET", f"/task-types/{huge}", None),
        ("DELETE", f"/leave-records/{huge}", None), ("GET", f"/positions/{huge}/competencies", None),
    ]:
        r = client.open(world.url(path), method=method, json=body, headers=h)
        assert r.status_code == 404, (path, r.status_code)
    for query in (f"?employee_id={huge}", f"?unit_id={huge}", "?from=0001-01-01", "?work_date=9999-12-31"):
        assert client.get(world.url("/work-items" + query), headers=h).status_code == 422, query
    for data in ({"employee_id": huge}, {"work_date": "0001-01-01"}, {"deadline": "9999-12-31"}):
        assert declare(client, world, expect=422, **data)["errors"]
    item = declare(client, world)["id"]
    r = client.patch(world.url(f"/work-items/{item}"), json={"status": "done", "completed_at": "0001-01-01T00:00:00Z"},
                     headers=world.h("staff"))
    assert r.status_code == 422 and "completed_at" in r.get_json()["errors"]
    assert client.get(world.url("/working-days?from=9999-12-01&to=9999-12-31"), headers=h).status_code == 422
    assert client.get(world.url("/task-types?on=9999-12-31"), headers=h).status_code == 422
    r = client.post(world.url("/leave-records"), json={"employee_id": huge, "start_date": "2026-10-01",
                                                       "end_date": "2026-10-02"}, headers=h)
    assert r.status_code == 422


def test_events_follow_commits_only(clean_app, world, events):
    principal = world.principals["staff"]
    body = {"task_type_code": "HT01", "work_date": __import__("datetime").date(2026, 10, 14), "quantity": 1}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        services.declare(principal, body)
        db.session.rollback()
        unit_of_work.commit()
        assert events == []  # a change that was rolled back never happened
        item, _ = services.declare(principal, body)
        assert events == []  # not before the commit
        with pytest.raises(UnitOfWorkBypassed):
            db.session.commit()  # a plain commit would drop the audit event and the plugin event
        assert events == []
        unit_of_work.commit()  # the refused commit left the transaction as it was
        assert [(e["item_id"], e["change"]) for e in events] == [(item.id, "created")]
        unit_of_work.commit()
        assert len(events) == 1  # each change once
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "work_item.create")) == 1


def test_a_quantity_is_kept_in_hundredths_on_both_databases(client, clean_app, world):
    """The column holds hundredths (NUMERIC(12,2)). A declaration of 0.0001 rounded to 0.00
    and met the positive-quantity constraint as a 500; an update of 0.0001 was kept as it
    was on SQLite (scored as 0.0001) while PostgreSQL would round it to 0.00; 1.006 was
    1.006 on one database and 1.01 on the other, so the same item scored differently."""
    before = counts(clean_app, world)
    for tiny in (0.0001, 0.004):
        body = declare(client, world, expect=422, quantity=tiny)
        assert body["errors"] == {"quantity": ["Must be greater than 0."]}, body
    assert counts(clean_app, world) == before
    item = declare(client, world, quantity=2)["id"]
    assert patch(client, world, item, expect=422, quantity=0.0001)["errors"] == {
        "quantity": ["Must be greater than 0."]}
    assert patch(client, world, item, quantity=1.006)["quantity"] == 1.01  # as the declaration rounds it
    assert declare(client, world, quantity=1.006)["quantity"] == 1.01
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert str(db.session.get(WorkItem, item).quantity) == "1.01"


def test_an_items_answer_is_what_its_schema_would_dump(client, clean_app, world):
    """A declaration's answer is written by schemas.dump_item, not by marshmallow's dump of
    WorkItemSchema (its cost per field was a tenth of the request): the two must be equal
    for an item with every kind of value set (dates, aware times, floats, None, warnings),
    and the API's answers, single and batch, must be that."""
    from datetime import UTC, date, datetime

    from core.work.schemas import WorkItemSchema, dump_item

    r = client.post(world.url("/work-items"), headers=world.h("staff"), json={
        "task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 1.5, "deadline": "2026-10-20",
        "title": "Hồ sơ khai sinh"})
    assert r.status_code == 201, r.get_json()
    answer = r.get_json()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        item = db.session.get(WorkItem, answer["id"])
        view = services.view(item)
        assert answer == {**WorkItemSchema().dump(view), "warnings": []}
        assert answer["deadline"] == "2026-10-20" and answer["declared_at"].endswith("+00:00")
        item.completed_at = item.reported_at = item.reviewed_at = datetime(2026, 10, 14, 3, 4, 5, 6, tzinfo=UTC)
        item.original_deadline, item.stars, item.review_comment = date(2026, 10, 15), 4, "Tốt"
        full = {**services.view(item), "warnings": ["Một cảnh báo"], "not_a_field": 1}
        assert dump_item(full) == WorkItemSchema().dump(full)
        assert dump_item(full)["completed_at"] == "2026-10-14T03:04:05.000006+00:00"
        db.session.rollback()
    batch = client.post(world.url("/work-items"), headers=world.h("staff"), json={"items": [
        {"task_type_code": "VB01", "work_date": "2026-10-14"}]})
    assert batch.status_code == 201, batch.get_json()
    (one,) = batch.get_json()["items"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert one == {**WorkItemSchema().dump(services.view(db.session.get(WorkItem, one["id"]))), "warnings": []}
