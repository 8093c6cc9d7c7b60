"""Batch declaration through the API (api.md: `POST …/work-items` with {"items": [...]})
and the catalogue's ceiling on one item's quantity, on both databases.

The clock is fixed (tests/conftest.py): Wednesday 14 Oct 2026, 07:30 in Hồ Chí Minh.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.tenancy import tenant_context
from core.work.models import WorkItem
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)


def counts(app, w) -> tuple[int, int]:
    with app.app_context(), tenant_context(w.tenant_id):
        return (db.session.scalar(select(func.count()).select_from(WorkItem)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


def batch(client, w, items, who="staff", slug=None):
    url = f"/api/v1/tenants/{slug or w.slug}/work-items"
    return client.post(url, json={"items": items}, headers=w.h(who))


def test_a_batch_declares_every_item_in_order(client, clean_app, world, events):
    before = counts(clean_app, world)
    r = batch(client, world, [
        {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 3},
        {"task_type_code": "VB01", "work_date": "2026-10-14", "title": "Tờ trình"},
        {"task_type_code": "HT01", "work_date": "2026-10-15", "quantity": 1.5, "complexity_level": 3},
    ])
    assert r.status_code == 201, r.get_json()
    items = r.get_json()["items"]
    assert [i["task_type_code"] for i in items] == ["HT01", "VB01", "HT01"]
    assert [i["title"] for i in items] == ["Giải quyết hồ sơ hộ tịch", "Tờ trình", "Giải quyết hồ sơ hộ tịch"]
    # 30 min × 3; 60 min × 1; 30 min × 1.5 × 1.2
    assert [i["planned_minutes"] for i in items] == [90.0, 60.0, 54.0]
    assert [i["work_date"] for i in items] == ["2026-10-14", "2026-10-14", "2026-10-15"]
    assert all(i["employee_id"] == world.ids["staff"] and i["warnings"] == [] for i in items)
    assert items[0]["id"] < items[1]["id"] < items[2]["id"]
    assert counts(clean_app, world) == (before[0] + 3, before[1] + 3)  # one audit event per item
    assert [e["change"] for e in events] == ["created"] * 3


def test_one_bad_item_writes_nothing_and_errors_are_keyed_by_index(client, clean_app, world, events):
    before = counts(clean_app, world)
    r = batch(client, world, [
        {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2},
        {"task_type_code": "NOPE", "work_date": "2026-10-14"},
        {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2},
        {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2, "deadline": "2026-10-13"},
    ])
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_error"
    assert body["errors"] == {"items": {"1": {"task_type_code": ["No such task type."]},
                                        "3": {"deadline": ["The deadline is before the work date."]}}}
    assert counts(clean_app, world) == before and events == []


def test_schema_errors_are_keyed_by_index_too(client, clean_app, world):
    before = counts(clean_app, world)
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"},
                              {"task_type_code": "HT01", "work_date": "14/10/2026"}])
    assert r.status_code == 422
    assert set(r.get_json()["errors"]["items"]) == {"1"}
    assert "work_date" in r.get_json()["errors"]["items"]["1"]
    assert counts(clean_app, world) == before


def test_more_than_fifty_or_none_is_refused(client, clean_app, world):
    before = counts(clean_app, world)
    one = {"task_type_code": "HT01", "work_date": "2026-10-14"}
    r = batch(client, world, [one] * 51)
    assert r.status_code == 422 and "items" in r.get_json()["errors"]
    assert batch(client, world, []).status_code == 422
    assert counts(clean_app, world) == before
    # Fifty half-hour items plan 25 hours: confirmed, as the 12-hour rule asks.
    r = client.post(world.url("/work-items"), json={"items": [one] * 50, "confirm_long_day": True},
                    headers=world.h("staff"))
    assert r.status_code == 201 and len(r.get_json()["items"]) == 50
    assert counts(clean_app, world)[0] == before[0] + 50


def test_a_batch_in_a_closed_month_writes_nothing(client, clean_app, world):
    from core.work import services

    with clean_app.app_context(), tenant_context(world.tenant_id):
        services.close_period("2026-09")
        unit_of_work.commit()
    before = counts(clean_app, world)
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"},
                              {"task_type_code": "HT01", "work_date": "2026-09-30"}])
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["items"]) == ["1"]
    assert counts(clean_app, world) == before


def test_a_batch_to_another_tenant_is_404_and_its_people_unknown(client, clean_app, world):
    other = build(clean_app, "tinh-khac")
    mine, theirs = counts(clean_app, world), counts(clean_app, other)
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"}], slug=other.slug)
    assert r.status_code == 404
    # A manager naming another tenant's employee: that person does not exist here.
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"},
                              {"task_type_code": "HT01", "work_date": "2026-10-14",
                               "employee_id": other.ids["staff"]}], who="manager")
    assert r.status_code == 422
    assert r.get_json()["errors"]["items"] == {"1": {"employee_id": ["No such employee."]}}
    assert counts(clean_app, world) == mine and counts(clean_app, other) == theirs


def test_a_batch_for_someone_one_may_not_see_writes_nothing(client, clean_app, world):
    before = counts(clean_app, world)
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"},
                              {"task_type_code": "HT01", "work_date": "2026-10-14",
                               "employee_id": world.ids["staff2"]}], who="staff")
    assert r.status_code == 422
    assert r.get_json()["errors"]["items"] == {"1": {"employee_id": ["No such employee."]}}
    assert counts(clean_app, world) == before


def test_a_forbidden_item_refuses_the_whole_batch(client, clean_app, world):
    before = counts(clean_app, world)
    # The tenant admin sees everyone but manages no one: assigning is a manager's.
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14", "employee_id": world.ids["admin"]},
                              {"task_type_code": "HT01", "work_date": "2026-10-14",
                               "employee_id": world.ids["staff"]}], who="admin")
    assert r.status_code == 403
    assert counts(clean_app, world) == before


# ---------------------------------------------------------------- the quantity ceiling


def test_quantity_above_the_task_types_maximum_is_refused(client, clean_app, world):
    before = counts(clean_app, world)
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14",
                                                    "quantity": 99999}, headers=world.h("staff"))
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"quantity": ["At most 100 per item for this task type."]}
    assert counts(clean_app, world) == before
    assert declare(client, world, quantity=100, confirm_long_day=True)["quantity"] == 100.0


def test_the_maximum_is_a_catalogue_setting(client, clean_app, world):
    tt = client.get(world.url(f"/task-types/{world.ids['HT01']}"), headers=world.h("admin")).get_json()
    assert tt["max_quantity"] == 100.0
    r = client.patch(world.url(f"/task-types/{world.ids['HT01']}"), json={"max_quantity": 12.5},
                     headers=world.h("admin"))
    assert r.status_code == 200 and r.get_json()["max_quantity"] == 12.5
    assert client.patch(world.url(f"/task-types/{world.ids['HT01']}"), json={"max_quantity": 0},
                        headers=world.h("admin")).status_code == 422
    declare(client, world, quantity=13, expect=422)
    item = declare(client, world, quantity=12.5)
    # Raising a declared item's quantity later obeys the same ceiling.
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"quantity": 20}, headers=world.h("staff"))
    assert r.status_code == 422 and r.get_json()["errors"] == {"quantity": ["At most 12.5 per item for this task type."]}
    r = client.post(world.url("/task-types"), json={"code": "NEW1", "name": "Mới", "group": "A",
                                                    "unit_of_measure": "việc", "norm_minutes": 10, "max_quantity": 5},
                    headers=world.h("admin"))
    assert r.status_code == 201 and r.get_json()["max_quantity"] == 5.0


def test_scores_say_they_are_not_pending_and_when_they_were_refreshed(client, clean_app, world, clock):
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"},
                              {"task_type_code": "VB01", "work_date": "2026-10-14"}])
    assert r.status_code == 201
    r = client.get(world.url(f"/scores?period=2026-10&employee_id={world.ids['staff']}"), headers=world.h("admin"))
    [score] = r.get_json()
    # Scoring runs in the declaring request's transaction: nothing is ever left pending,
    # and the month row says when it was computed.
    assert score["pending"] is False and score["item_count"] == 2
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.scoring.models import PeriodScore

        row = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == world.ids["staff"]))
        assert score["refreshed_at"] == row.computed_at.isoformat()
    r = client.get(world.url(f"/scores?period=2026&employee_id={world.ids['staff']}"), headers=world.h("admin"))
    assert r.status_code == 200 and all(s["pending"] is False for s in r.get_json())


def test_a_batch_looks_each_task_type_up_once(client, clean_app, world):
    from tests.work.test_work_support import count_queries

    def catalogue_lookups(n: int) -> int:
        with count_queries(clean_app) as statements:
            r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14"}] * n)
        assert r.status_code == 201
        return sum(1 for s in statements if "FROM task_types" in s and "norm_versions" in s)

    assert catalogue_lookups(1) == catalogue_lookups(10) == 1


def test_a_batch_writes_its_items_together_not_a_round_trip_each(client, clean_app, world):
    """A batch's items go in one INSERT once all are checked: six items of two task types
    are one statement (they join the session only once written, so no autoflush writes
    the first type's items before the second type is read)."""
    from tests.work.test_work_support import count_queries

    plan = [{"task_type_code": code, "work_date": "2026-10-14", "quantity": 1 + n / 10}
            for n, code in enumerate(("HT01",) * 3 + ("VB01",) * 3)]
    with count_queries(clean_app) as statements:
        r = batch(client, world, plan)
    assert r.status_code == 201, r.get_json()
    assert [i["task_type_code"] for i in r.get_json()["items"]] == [p["task_type_code"] for p in plan]
    inserts = sum(1 for s in statements if s.lstrip().startswith("INSERT INTO work_items"))
    # SQLite cannot promise the order of a multi-row INSERT's RETURNING rows, so SQLAlchemy
    # writes its rows one at a time there (the embedded mode: one office, not a province).
    assert inserts == (1 if clean_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else 6)
    # Each answered id is the row written from that item (the ids come back in the rows' order).
    for sent, answered in zip(plan, r.get_json()["items"], strict=True):
        stored = client.get(f"/api/v1/tenants/{world.slug}/work-items/{answered['id']}", headers=world.h("staff"))
        assert (stored.get_json()["task_type_code"], stored.get_json()["quantity"]) == (
            sent["task_type_code"], sent["quantity"])


# ---------------------------------------------------------------- the 12-hour rule (docs/daily-work.md)


def test_a_plan_above_twelve_hours_needs_confirm_long_day_as_on_the_page(client, clean_app, world):
    url = world.url("/work-items")
    assert client.post(url, json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 10},
                       headers=world.h("staff")).status_code == 201  # 5 h planned
    before = counts(clean_app, world)
    # One item: + 7 h 30 makes 12 h 30.
    r = client.post(url, json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 15},
                    headers=world.h("staff"))
    assert r.status_code == 422
    body = r.get_json()
    message = ("The plan of 2026-10-14 adds up to 12.5 hours, more than 12: send confirm_long_day to "
               "declare it.")
    assert body == {"code": "long_day", "message": message, "errors": {"confirm_long_day": [message]}}
    # A batch: all refused together, nothing written (no item, no audit event).
    r = batch(client, world, [{"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 5},
                              {"task_type_code": "VB01", "work_date": "2026-10-14", "quantity": 5}])
    assert r.status_code == 422 and r.get_json()["code"] == "long_day"
    assert counts(clean_app, world) == before
    # Vietnamese when asked.
    vi = client.post(url, json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 15},
                     headers={**world.h("staff"), "Accept-Language": "vi"})
    assert vi.status_code == 422 and vi.get_json()["errors"]["confirm_long_day"] == [
        "Kế hoạch ngày 14/10/2026 cộng lại 12,5 giờ, quá 12 giờ: gửi confirm_long_day để vẫn khai báo."]
    # Confirmed: declared.
    r = client.post(url, json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 15,
                               "confirm_long_day": True}, headers=world.h("staff"))
    assert r.status_code == 201 and "confirm_long_day" not in r.get_json()
    r = client.post(url, json={"confirm_long_day": True, "items": [
        {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 1}]}, headers=world.h("staff"))
    assert r.status_code == 201
    assert counts(clean_app, world)[0] == before[0] + 2


def test_exactly_twelve_hours_and_a_managers_assignment_are_not_asked(client, clean_app, world):
    url = world.url("/work-items")
    r = client.post(url, json={"task_type_code": "HT01", "work_date": "2026-10-15", "quantity": 24},
                    headers=world.h("staff"))
    assert r.status_code == 201  # 12 h exactly
    r = client.post(url, json={"employee_id": world.ids["staff"], "task_type_code": "HT01",
                               "work_date": "2026-10-15", "quantity": 4}, headers=world.h("manager"))
    assert r.status_code == 201  # the manager's assignment is not the person's own plan


def test_raising_a_quantity_above_twelve_hours_needs_the_same_confirmation(client, clean_app, world):
    url = world.url("/work-items")
    item = client.post(url, json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 20},
                       headers=world.h("staff")).get_json()  # 10 h
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"quantity": 30}, headers=world.h("staff"))
    assert r.status_code == 422 and r.get_json()["code"] == "long_day"
    assert client.get(world.url(f"/work-items/{item['id']}"), headers=world.h("staff")).get_json()["quantity"] == 20
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"quantity": 30, "confirm_long_day": True},
                     headers=world.h("staff"))
    assert r.status_code == 200 and r.get_json()["quantity"] == 30
    # Lowering it, or a progress report, on a long day asks nothing.
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"quantity": 28, "progress": 40},
                     headers=world.h("staff"))
    assert r.status_code == 200


# ---------------------------------------------------------------- written items live on in the session


def test_an_item_declared_then_completed_in_one_transaction_is_stored_done(clean_app, world):
    """A declaration writes its item outside the ORM's flush (one INSERT) and then puts it
    in the session as persistent: a caller that declares and then completes the same
    items before the commit (a seeded month does) must find the completion stored, and
    the item's task type must be the session's own row, which a later flush does not
    insert again."""
    from core.catalogue.models import TaskType
    from core.work import services as work

    with clean_app.app_context(), tenant_context(world.tenant_id):
        types_before = db.session.scalar(select(func.count()).select_from(TaskType))
        principal = world.principals["staff"]
        one, _ = work.declare(principal, {"task_type_code": "HT01", "work_date": _today(), "quantity": 2})
        several = [item for item, _ in work.declare_batch(principal, [
            {"task_type_code": code, "work_date": _today(), "quantity": 1} for code in ("HT01", "VB01")])]
        for item in (one, *several):
            assert item in db.session and item.task_type in db.session
            assert item.task_type is db.session.get(TaskType, item.task_type_id)
            work.update_item(principal, item, {"status": "done", "result_note": f"xong {item.id}"})
        several[1].title = "Đổi tên"  # a plain attribute change too
        unit_of_work.commit()
        ids = [one.id, *(item.id for item in several)]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        stored = {row.id: row for row in db.session.execute(
            select(WorkItem.id, WorkItem.status, WorkItem.progress, WorkItem.result_note, WorkItem.title,
                   WorkItem.completed_at).where(WorkItem.id.in_(ids)))}
        assert sorted(stored) == sorted(ids)
        assert [(stored[i].status, stored[i].progress, stored[i].result_note) for i in ids] == [
            ("done", 100, f"xong {i}") for i in ids]
        assert all(stored[i].completed_at is not None for i in ids)
        assert stored[several[1].id].title == "Đổi tên"
        assert db.session.scalar(select(func.count()).select_from(TaskType)) == types_before


def _today():
    from core.work import calendar as cal

    return cal.local_today()
