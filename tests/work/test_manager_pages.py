"""The manager's unit page (both databases): the review queue's counts, filters and
paging, bulk decisions (all or none, each through the work services with its own audit
event), assigning, overdue items' actions and the unit's workload heat map."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.auth.services import principal_for_user
from core.extensions import db
from core.notifications.models import Notification
from core.org import services as org
from core.tenancy import tenant_context
from core.work import services as work
from core.work.models import WorkItem
from tests.work.test_work_pages import csrf, items_of, sign_in
from tests.work.test_work_support import World, _password_hash

pytest_plugins = ("tests.work.test_work_support",)
HX = {"HX-Request": "true", "HX-Target": "queue"}


def seed(app, w: World, who: str, n: int, **data) -> list[int]:
    """`n` declarations by `who` through the work service, committed; their ids."""
    ids = []
    with app.app_context(), tenant_context(w.tenant_id):
        principal = principal_for_user(db.session.get(User, _user_of(w, who)))
        for k in range(n):
            body = {"task_type_code": "HT01", "work_date": date(2026, 10, 14), "quantity": 1,
                    "title": f"Hồ sơ {who} {k + 1}", **data}
            item, _ = work.declare(principal, body)
            ids.append(item.id)
        unit_of_work.commit()
    return ids


def finish(app, w: World, who: str, ids: list[int]) -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        principal = principal_for_user(db.session.get(User, _user_of(w, who)))
        for item_id in ids:
            work.update_item(principal, db.session.get(WorkItem, item_id), {"status": "done", "result_note": "Xong"})
        unit_of_work.commit()


def _user_of(w: World, who: str) -> int:
    from core.org.models import Employee

    return db.session.get(Employee, w.ids[who]).user_id


def add_manager_of_other_unit(app, w: World) -> None:
    """"manager2" leads the unit "other" (Phòng Hai): a manager, but not of "dept"."""
    with app.app_context(), tenant_context(w.tenant_id):
        user = User(username="manager2", password_hash=_password_hash())
        user.roles = ["employee", "manager"]
        employee = org.create_employee({"code": "MANAGER2", "full_name": "Người manager2", "unit_id": w.ids["other"],
                                        "position_code": "CV", "is_leader": True})
        employee.user = user
        db.session.flush()
        w.ids["manager2"] = employee.id
        w.principals["manager2"] = principal_for_user(user)
        unit_of_work.commit()


def audit_actions(app, w: World, action: str) -> list[str]:
    with app.app_context(), tenant_context(w.tenant_id):
        return list(db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.id)))


def by_id(app, w: World) -> dict[int, WorkItem]:
    return {i.id: i for i in items_of(app, w)}


# ---------------------------------------------------------------- the queue


def test_queue_says_how_many_are_shown_filters_and_pages(client, clean_app, world):
    seed(clean_app, world, "staff", 30)
    seed(clean_app, world, "staff2", 5, work_date=date(2026, 10, 13))
    seed(clean_app, world, "manager", 2)  # the manager's own declarations are never in their queue
    sign_in(client, world, "manager")
    html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    assert "<strong>25/35</strong>" in html and "Hàng chờ duyệt" in html
    assert html.index('id="queue"') < html.index('id="overdue"') < html.index('id="people"')
    fragment = client.get(f"/t/{world.slug}/unit?page=2", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "<strong>10/35</strong>" in fragment
    assert fragment.count('name="ids"') == 10
    html = client.get(f"/t/{world.slug}/unit?person={world.ids['staff2']}", headers=HX).get_data(as_text=True)
    assert "<strong>5/5</strong>" in html and "Hồ sơ staff2 1" in html and "Hồ sơ staff 1<" not in html
    html = client.get(f"/t/{world.slug}/unit?date=2026-10-14", headers=HX).get_data(as_text=True)
    assert "<strong>25/30</strong>" in html
    html = client.get(f"/t/{world.slug}/unit?state=reviews", headers=HX).get_data(as_text=True)
    assert "<strong>0/0</strong>" in html
    # The day box is typed dd/mm/yyyy: the same filter; a day that does not exist is refused.
    html = client.get(f"/t/{world.slug}/unit?date=14/10/2026", headers=HX).get_data(as_text=True)
    assert "<strong>25/30</strong>" in html and 'value="14/10/2026"' in html
    assert client.get(f"/t/{world.slug}/unit?date=31-02-2026").status_code == 400
    assert client.get(f"/t/{world.slug}/unit?person=abc").status_code == 400


def test_the_page_opens_on_the_queue_that_has_work_waiting(client, clean_app, world):
    """No declaration waits for a check but three finished items wait for a rating: the
    unit page opens on those three, not on an empty list; an explicit choice is kept."""
    ids = seed(clean_app, world, "staff", 3)
    finish(clean_app, world, "staff", ids)
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={"csrf_token": token, "action": "accept",
                                                                    "ids": ids})
    assert r.status_code == 200
    html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    assert "<strong>3/3</strong>" in html
    assert "<strong>0/0</strong>" in client.get(f"/t/{world.slug}/unit?state=declarations",
                                                 headers=HX).get_data(as_text=True)


def test_bulk_accept_of_ten_changes_exactly_those(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 12)
    chosen = ids[:10]
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX,
                    data={"csrf_token": token, "action": "accept", "state": "declarations", "ids": chosen})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert "Đã chấp nhận 10 khai báo." in html and "<strong>2/2</strong>" in html
    rows = by_id(clean_app, world)
    assert sorted(i for i in ids if rows[i].verification == "verified") == sorted(chosen)
    assert [rows[i].verification for i in ids[10:]] == ["pending", "pending"]
    assert {rows[i].verified_by_id for i in chosen} == {world.ids["manager"]}
    assert sorted(map(int, audit_actions(clean_app, world, "work_item.verify"))) == sorted(chosen)


def test_one_click_accept_replaces_only_that_row_and_is_audited(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3)
    sign_in(client, world, "manager")
    page = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    url = f"/t/{world.slug}/unit/queue/{ids[1]}/accept"
    assert f'formaction="{url}" hx-post="{url}" hx-target="#q-{ids[1]}"' in page
    token = csrf(page)
    r = client.post(url, headers={"HX-Request": "true", "HX-Target": f"q-{ids[1]}"},
                    data={"csrf_token": token, "state": "declarations", "ids": [ids[0]]})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert f'<li class="item item-done" id="q-{ids[1]}" role="status">' in html
    assert "Đã chấp nhận: Hồ sơ staff 2" in html
    # The tabs' counts, out of band: two declarations wait, no finished item.
    assert '<span class="badge" id="badge-declarations" hx-swap-oob="true">2</span>' in html
    assert '<span class="badge" id="badge-reviews" hx-swap-oob="true">0</span>' in html
    rows = by_id(clean_app, world)  # the ticked box of the bulk form is not what was clicked
    assert [rows[i].verification for i in ids] == ["pending", "verified", "pending"]
    assert rows[ids[1]].verified_by_id == world.ids["manager"]
    assert audit_actions(clean_app, world, "work_item.verify") == [str(ids[1])]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        actor = db.session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "work_item.verify"))
    assert actor.startswith(f"user:{_user_of_id(clean_app, world, 'manager')}:")
    # Twice: no longer waiting, said in the row, nothing changes.
    again = client.post(url, headers={"HX-Request": "true"}, data={"csrf_token": token})
    assert again.status_code == 422 and "không còn chờ" in again.get_data(as_text=True)
    assert f'id="q-{ids[1]}"' in again.get_data(as_text=True)
    assert audit_actions(clean_app, world, "work_item.verify") == [str(ids[1])]
    # Without JavaScript the button posts the bulk form to the same address: the whole page.
    plain = client.post(f"/t/{world.slug}/unit/queue/{ids[2]}/accept", data={"csrf_token": token})
    assert plain.status_code == 200 and "<html" in plain.get_data(as_text=True)
    assert "Đã chấp nhận: Hồ sơ staff 3" in plain.get_data(as_text=True)
    assert by_id(clean_app, world)[ids[2]].verification == "verified"


def test_the_jump_links_count_again_after_a_decision(client, clean_app, world):
    """The page's jump link "Review queue 3" sits outside the parts htmx replaces: after a
    one-click accept or a batch decision it must count again (a manager saw 53 after
    accepting, the tabs beneath said 52). Each answer carries it out of band; the whole
    page holds it once, never out of band."""
    ids = seed(clean_app, world, "staff", 3)
    sign_in(client, world, "manager")
    page = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    assert page.count('id="badge-queue"') == 1 and '<span class="badge" id="badge-queue">3</span>' in page
    assert page.count('id="badge-overdue"') == 1 and "hx-swap-oob" not in page
    token = csrf(page)
    one = client.post(f"/t/{world.slug}/unit/queue/{ids[0]}/accept", headers={"HX-Request": "true"},
                      data={"csrf_token": token})
    assert '<span class="badge" id="badge-queue" hx-swap-oob="true">2</span>' in one.get_data(as_text=True)
    batch = client.post(f"/t/{world.slug}/unit/queue", headers=HX,
                        data={"csrf_token": token, "action": "accept", "state": "declarations", "ids": [ids[1]]})
    assert '<span class="badge" id="badge-queue" hx-swap-oob="true">1</span>' in batch.get_data(as_text=True)
    overdue = client.get(f"/t/{world.slug}/unit", headers={"HX-Request": "true", "HX-Target": "overdue"})
    assert '<span class="badge" id="badge-overdue" hx-swap-oob="true">0</span>' in overdue.get_data(as_text=True)


def test_one_click_pass_of_a_finished_item_with_its_rows_stars(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3)
    finish(clean_app, world, "staff", ids)
    sign_in(client, world, "manager")
    page = client.get(f"/t/{world.slug}/unit?state=reviews").get_data(as_text=True)
    assert f'<select id="stars-{ids[0]}" name="stars_{ids[0]}">' in page
    token = csrf(page)
    hx = {"HX-Request": "true"}
    r = client.post(f"/t/{world.slug}/unit/queue/{ids[0]}/pass", headers=hx, data={
        "csrf_token": token, "state": "reviews", f"stars_{ids[0]}": "4", f"stars_{ids[1]}": "2", "stars": "1"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Đã đạt (4★): Hồ sơ staff 1" in html
    assert '<span class="badge" id="badge-reviews" hx-swap-oob="true">2</span>' in html
    bad = client.post(f"/t/{world.slug}/unit/queue/{ids[1]}/pass", headers=hx,
                      data={"csrf_token": token, f"stars_{ids[1]}": "9"})
    assert bad.status_code == 422 and f'id="q-{ids[1]}"' in bad.get_data(as_text=True)
    rows = by_id(clean_app, world)
    assert [(rows[i].stars, rows[i].status) for i in ids] == [(4, "done"), (None, "done"), (None, "done")]
    assert audit_actions(clean_app, world, "work_item.review") == [str(ids[0])]
    # No stars on the row: five, as the row's select starts.
    assert client.post(f"/t/{world.slug}/unit/queue/{ids[2]}/pass", headers=hx,
                       data={"csrf_token": token}).status_code == 200
    assert by_id(clean_app, world)[ids[2]].stars == 5
    # Passed already: not waiting any more, said in its row, nothing changes.
    again = client.post(f"/t/{world.slug}/unit/queue/{ids[0]}/pass", headers=hx,
                        data={"csrf_token": token, f"stars_{ids[0]}": "1"})
    assert again.status_code == 422 and "không còn chờ" in again.get_data(as_text=True)
    assert by_id(clean_app, world)[ids[0]].stars == 4


def test_one_click_accept_is_a_managers_of_their_people(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 1)
    add_manager_of_other_unit(clean_app, world)
    sign_in(client, world, "manager2")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    assert client.post(f"/t/{world.slug}/unit/queue/{ids[0]}/accept", data={"csrf_token": token}).status_code == 404
    sign_in(client, world, "staff")
    assert client.post(f"/t/{world.slug}/unit/queue/{ids[0]}/accept", data={"csrf_token": token}).status_code == 403
    assert by_id(clean_app, world)[ids[0]].verification == "pending"
    assert audit_actions(clean_app, world, "work_item.verify") == []


def _user_of_id(app, w: World, who: str) -> int:
    with app.app_context(), tenant_context(w.tenant_id):
        return _user_of(w, who)


def test_refuse_without_a_reason_is_a_field_error_and_changes_nothing(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3)
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX,
                    data={"csrf_token": token, "action": "refuse", "ids": ids[:2], "reason": "  "})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="bulk-reason-error">Hãy nêu lý do không xác nhận.</span>' in html
    assert html.count("checked") == 2  # the selection is kept
    # and the decision bar counts it: in its legend and, hidden from the buttons' names, on them
    assert html.count('<span class="badge" data-selected-count>2</span>') == 1
    assert html.count('<span class="badge" aria-hidden="true" data-selected-count>2</span></button>') == 2
    assert [i.verification for i in items_of(clean_app, world)] == ["pending"] * 3
    assert audit_actions(clean_app, world, "work_item.refuse") == []
    # Without htmx the whole page comes back, with the same error beside the field.
    r = client.post(f"/t/{world.slug}/unit/queue", data={"csrf_token": token, "action": "refuse", "ids": ids[:2]})
    assert r.status_code == 422 and "<html" in r.get_data(as_text=True) and "bulk-reason-error" in r.get_data(
        as_text=True)
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX,
                    data={"csrf_token": token, "action": "refuse", "ids": ids[:2], "reason": "Trùng việc"})
    assert r.status_code == 200 and "Đã từ chối 2 khai báo." in r.get_data(as_text=True)
    rows = by_id(clean_app, world)
    assert [(rows[i].verification, rows[i].status, rows[i].verification_note) for i in ids] == [
        ("refused", "cancelled", "Trùng việc"), ("refused", "cancelled", "Trùng việc"), ("pending", "planned", None)]


def test_bulk_is_all_or_nothing_and_needs_a_selection(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3)
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={"csrf_token": token, "action": "accept",
                                                                  "ids": [ids[0]]})
    # ids[0] is no longer waiting: nothing of this selection is accepted.
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={"csrf_token": token, "action": "accept",
                                                                      "ids": ids})
    assert r.status_code == 422 and "không còn chờ" in r.get_data(as_text=True)
    assert [i.verification for i in items_of(clean_app, world)] == ["verified", "pending", "pending"]
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={"csrf_token": token, "action": "accept"})
    assert r.status_code == 422 and "Hãy chọn ít nhất một việc." in r.get_data(as_text=True)
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={"csrf_token": token, "action": "drop",
                                                                      "ids": ids[1:]})
    assert r.status_code == 422
    assert [i.verification for i in items_of(clean_app, world)] == ["verified", "pending", "pending"]


def test_bulk_rating_of_finished_items(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3)
    finish(clean_app, world, "staff", ids)
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={
        "csrf_token": token, "state": "reviews", "action": "pass", "stars": "4", "ids": ids[:2]})
    assert r.status_code == 200 and "<strong>1/1</strong>" in r.get_data(as_text=True)
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={
        "csrf_token": token, "state": "reviews", "action": "pass", "stars": "9", "ids": ids[2:]})
    assert r.status_code == 422
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={
        "csrf_token": token, "state": "reviews", "action": "rework", "comment": "Thiếu chữ ký", "ids": ids[2:]})
    assert r.status_code == 200
    rows = by_id(clean_app, world)
    assert [(rows[i].stars, rows[i].status, rows[i].failed_reviews) for i in ids] == [
        (4, "done", 0), (4, "done", 0), (None, "in_progress", 1)]
    assert sorted(map(int, audit_actions(clean_app, world, "work_item.review"))) == sorted(ids)


def test_a_manager_of_another_unit_gets_403_or_404_and_changes_nothing(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 2, deadline=date(2026, 10, 14), work_date=date(2026, 10, 12))
    add_manager_of_other_unit(clean_app, world)
    sign_in(client, world, "manager2")
    html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    assert "<strong>0/0</strong>" in html and "Hồ sơ staff" not in html
    token = csrf(html)
    r = client.post(f"/t/{world.slug}/unit/queue", data={"csrf_token": token, "action": "accept", "ids": ids})
    assert r.status_code == 404
    for action in ("extend", "exempt", "remind"):
        r = client.post(f"/t/{world.slug}/unit/overdue/{ids[0]}/{action}",
                        data={"csrf_token": token, "deadline": "2026-10-30", "reason": "Lý do"})
        assert r.status_code == 404, action
    r = client.post(f"/t/{world.slug}/unit/assign", data={
        "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": "HT01", "quantity": "1",
        "deadline": "2026-10-20"})
    assert r.status_code == 422 and "as-employee_id-error" in r.get_data(as_text=True)
    rows = by_id(clean_app, world)
    assert [(r.verification, r.deadline, r.exempt) for r in rows.values()] == [
        ("pending", date(2026, 10, 14), False)] * 2
    sign_in(client, world, "staff")
    assert client.get(f"/t/{world.slug}/unit").status_code == 403
    assert client.get(f"/t/{world.slug}/unit/heatmap").status_code == 403
    assert client.post(f"/t/{world.slug}/unit/queue", data={"csrf_token": token, "action": "accept",
                                                           "ids": ids}).status_code == 403


# ---------------------------------------------------------------- assigning


def test_assign_work_from_the_page(client, clean_app, world):
    sign_in(client, world, "manager")
    html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    token = csrf(html)
    options = client.get(f"/t/{world.slug}/unit/assign/task-types?employee_id={world.ids['accountant']}")
    text = options.get_data(as_text=True)
    assert "KT01" in text and "VB01" in text and "HT01" not in text  # HT01 is the CV position's only
    # The type chosen before the person stays chosen when the person's position has it,
    # and is not invented when it does not.
    kept = client.get(f"/t/{world.slug}/unit/assign/task-types?employee_id={world.ids['accountant']}"
                      "&task_type_code=VB01").get_data(as_text=True)
    assert '<option value="VB01" selected>' in kept and kept.count(" selected>") == 1
    gone = client.get(f"/t/{world.slug}/unit/assign/task-types?employee_id={world.ids['accountant']}"
                      "&task_type_code=HT01").get_data(as_text=True)
    assert " selected>" not in gone and "HT01" not in gone
    r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": "HT01", "quantity": "abc",
        "deadline": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<html" not in html
    assert 'id="as-quantity-error">Hãy nhập một số.</span>' in html
    assert 'id="as-deadline-error">Hãy chọn hạn hoàn thành.</span>' in html
    assert 'value="abc"' in html  # what was typed stays
    assert items_of(clean_app, world) == []
    r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "employee_id": world.ids["accountant"], "task_type_code": "HT01", "quantity": "1",
        "deadline": "2026-10-20"})
    assert r.status_code == 422 and "as-task_type_code-error" in r.get_data(as_text=True)
    r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": "HT01", "quantity": "3",
        "deadline": "2026-10-20", "title": "Hồ sơ khai sinh"})
    assert r.status_code == 200 and "Đã giao cho Người staff: Hồ sơ khai sinh" in r.get_data(as_text=True)
    [item] = items_of(clean_app, world)
    assert (item.employee_id, item.assigned_by_id, item.quantity, item.deadline, item.verification,
            item.work_date) == (world.ids["staff"], world.ids["manager"], 3, date(2026, 10, 20), "verified",
                                date(2026, 10, 14))
    assert audit_actions(clean_app, world, "work_item.create") == [str(item.id)]


# ---------------------------------------------------------------- overdue items


def test_overdue_items_extend_exempt_and_remind(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3, work_date=date(2026, 10, 12), deadline=date(2026, 10, 13))
    sign_in(client, world, "manager")
    html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    assert "Việc quá hạn" in html and "(3/3)" in html and "1 ngày quá hạn" in html
    token = csrf(html)
    url = f"/t/{world.slug}/unit/overdue"
    hx = {"HX-Request": "true"}
    r = client.post(f"{url}/{ids[0]}/extend", headers=hx, data={"csrf_token": token, "deadline": "20/10/2026"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="ext-{ids[0]}-reason-error">Hãy nêu lý do.</span>' in html
    assert 'value="20/10/2026"' in html  # the day box keeps what was typed, as dd/mm/yyyy
    assert by_id(clean_app, world)[ids[0]].deadline == date(2026, 10, 13)
    r = client.post(f"{url}/{ids[0]}/extend", headers=hx,
                    data={"csrf_token": token, "deadline": "2026-10-20", "reason": "Chờ hồ sơ bổ sung"})
    assert r.status_code == 200 and "(2/2)" in r.get_data(as_text=True)
    r = client.post(f"{url}/{ids[1]}/exempt", headers=hx, data={"csrf_token": token, "reason": "Mất điện"})
    assert r.status_code == 200
    r = client.post(f"{url}/{ids[2]}/remind", headers=hx, data={"csrf_token": token})
    assert r.status_code == 200 and "Đã gửi nhắc việc" in r.get_data(as_text=True)
    rows = by_id(clean_app, world)
    assert (rows[ids[0]].deadline, rows[ids[0]].missed_before) == (date(2026, 10, 20), 1)
    assert (rows[ids[1]].exempt, rows[ids[1]].exempt_reason) == (True, "Mất điện")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        notes = db.session.execute(select(Notification.employee_id, Notification.kind, Notification.message)).all()
    assert notes == [(world.ids["staff"], "work.reminder",
                      'Nhắc việc từ lãnh đạo: "Hồ sơ staff 3" đã đến hạn ngày 13/10/2026.')]
    assert audit_actions(clean_app, world, "work_item.remind") == [str(ids[2])]
    r = client.post(f"{url}/{ids[2]}/remind", headers=hx, data={"csrf_token": token})
    assert r.status_code == 422 and "Hôm nay đã gửi nhắc việc này rồi." in r.get_data(as_text=True)
    # An item not yet late cannot be reminded.
    [fresh] = seed(clean_app, world, "staff", 1, deadline=date(2026, 10, 20))
    r = client.post(f"{url}/{fresh}/remind", headers=hx, data={"csrf_token": token})
    assert r.status_code == 422
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


# ---------------------------------------------------------------- the unit's workload


def test_unit_heatmap_is_readable_by_the_units_manager(client, clean_app, world):
    # Mon 12 and Tue 13 Oct: 2 × 30 minutes each day for staff, all done; today is Wed 14 Oct.
    done = seed(clean_app, world, "staff", 1, work_date=date(2026, 10, 12), quantity=2) + \
        seed(clean_app, world, "staff", 1, work_date=date(2026, 10, 13), quantity=2)
    finish(clean_app, world, "staff", done)
    seed(clean_app, world, "staff2", 1, work_date=date(2026, 10, 13), quantity=4)  # not done: not credited
    sign_in(client, world, "manager")
    r = client.get(f"/t/{world.slug}/unit/heatmap?period=2026-10")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    # Week 42 has three working days up to today (12–14 Oct): 120 minutes / 60 / 3 = 0,7 h a day.
    row = html[html.index("Người staff</th>"):]
    assert row[:row.index("</tr>")].endswith('<td class="heat-1">0,7</td>')
    staff2 = html[html.index("Người staff2</th>"):]
    assert staff2[:staff2.index("</tr>")].endswith('<td class="heat-0">0</td>')
    assert client.get(f"/t/{world.slug}/unit/heatmap?period=2026-13").status_code == 400


def test_the_page_reads_the_same_number_of_times_whatever_the_queue_size(client, clean_app, world):
    from tests.work.test_work_support import count_queries

    sign_in(client, world, "manager")
    seed(clean_app, world, "staff", 2, work_date=date(2026, 10, 12), deadline=date(2026, 10, 13))
    client.get(f"/t/{world.slug}/unit")  # warm-up (session, tenant, caches)
    with count_queries(clean_app) as few:
        assert client.get(f"/t/{world.slug}/unit").status_code == 200
    seed(clean_app, world, "staff", 20, work_date=date(2026, 10, 12), deadline=date(2026, 10, 13))
    seed(clean_app, world, "staff2", 20)
    with count_queries(clean_app) as many:
        html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    assert "<strong>25/42</strong>" in html and "(22/22)" in html
    assert len(many) == len(few)


def test_admins_and_auditors_read_the_page_but_do_not_decide(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 1)
    for who in ("admin", "auditor"):
        sign_in(client, world, who)
        html = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
        assert "Chỉ lãnh đạo quản lý trực tiếp mới duyệt" in html
        assert client.get(f"/t/{world.slug}/unit/heatmap").status_code == 200
        token = csrf(html)
        assert client.post(f"/t/{world.slug}/unit/queue", data={"csrf_token": token, "action": "accept",
                                                               "ids": ids}).status_code == 403
        assert client.post(f"/t/{world.slug}/unit/overdue/{ids[0]}/remind",
                           data={"csrf_token": token}).status_code == 403
    assert [i.verification for i in items_of(clean_app, world)] == ["pending"]


def test_assigning_past_eight_hours_warns_and_the_unit_page_flags_the_day(client, clean_app, world):
    """Planned time = norm minutes × quantity × complexity of the day's items not cancelled
    (HT01: 30 min a record; level 3 is ×1.2, no level ×1.0). Staff's own 5 records at level
    3 = 180 min; the manager adds 9 (270), 1 (30) and 1 (30): 450, 480, 510 minutes. 480 is
    a full day, not over it; 510 (8 h 30) is, and is assigned with a warning, never refused."""
    seed(clean_app, world, "staff", 1, quantity=5, complexity_level=3)
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))

    def assign(quantity: str) -> str:
        r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
            "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": "HT01",
            "quantity": quantity, "deadline": "2026-10-20", "title": f"Giao {quantity}"})
        assert r.status_code == 200
        return r.get_data(as_text=True)

    for quantity in ("9", "1"):  # 450 then 480 minutes: no warning
        html = assign(quantity)
        assert f"Đã giao cho Người staff: Giao {quantity}" in html and "overload-warning" not in html
    # Before the next one, the list of people says who is already full today.
    assert "Người staff · hôm nay 8 h 00</option>" in html
    html = assign("1")
    assert "Đã giao cho Người staff: Giao 1" in html
    assert ('<p class="flash flash-warning overload-warning" role="status">Người staff nay có 8 h 30 thời gian '
            "định mức trong ngày 14/10/2026, quá 8 giờ: cân nhắc giao vào ngày khác hoặc cho người khác.</p>") in html
    assert "Người staff · hôm nay 8 h 30 — quá 8 giờ</option>" in html
    assert [i.quantity for i in items_of(clean_app, world) if i.assigned_by_id] == [9, 1, 1]  # all assigned
    page = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    people = page[page.index('<section id="people"'):]
    assert ('<p class="warning-box overload-summary" role="status">1 người có hơn 8 giờ thời gian định mức '
            "trong ngày: Người staff.</p>") in people
    assert people.count('<span class="tag tag-warn" title="Ngày có hơn 8 giờ thời gian định mức">quá 8 giờ</span>') == 1
    assert "8 h 30 <span class=\"tag tag-warn\"" in people
    r = client.get(world.url("/unit-day?day=2026-10-14"), headers=world.h("manager"))
    loads = {p["employee_id"]: (p["planned_minutes"], p["overloaded"]) for p in r.get_json()}
    assert loads[world.ids["staff"]] == (510.0, True) and loads[world.ids["staff2"]] == (0.0, False)


def test_the_queue_shows_each_persons_day_total_and_flags_above_eight_hours(client, clean_app, world):
    """Each row of the queue carries its person's whole day, weighed as the 8-hour flag of
    the assign form and the unit's day are (norm minutes × quantity × complexity, every
    item not cancelled; HT01: 30 min a record, level 3 ×1.2). Staff on 14/10: 5 records at
    level 3 = 180 min and 11 records = 330 min: 510 min, 8 h 30, over a full day. Staff on
    13/10: 2 records = 60 min. Staff2 on 14/10: 3 × 1 record = 90 min. Refusing the
    11 records cancels them: staff's 14/10 falls to 180 min and the flag goes out."""
    five = seed(clean_app, world, "staff", 1, quantity=5, complexity_level=3, title="Năm hồ sơ")
    eleven = seed(clean_app, world, "staff", 1, quantity=11, title="Mười một hồ sơ")
    seed(clean_app, world, "staff", 1, quantity=2, work_date=date(2026, 10, 13), title="Hai hồ sơ")
    seed(clean_app, world, "staff2", 3)
    sign_in(client, world, "manager")
    html = client.get(f"/t/{world.slug}/unit?state=declarations", headers=HX).get_data(as_text=True)

    def row(item_id: int) -> str:
        start = html.index(f'id="q-{item_id}"')
        return html[start:html.index("</li>", start)]

    flag = '<span class="tag tag-warn" title="Ngày có hơn 8 giờ thời gian định mức">quá 8 giờ</span>'
    for item_id in five + eleven:
        assert ">cả ngày 8 h 30</span> " + flag in row(item_id)
    [two] = [i.id for i in items_of(clean_app, world) if i.title == "Hai hồ sơ"]
    assert ">cả ngày 1 h 00</span>" in row(two) and "quá 8 giờ" not in row(two)
    staff2 = [i.id for i in items_of(clean_app, world) if i.employee_id == world.ids["staff2"]]
    assert all(">cả ngày 1 h 30</span>" in row(i) and "quá 8 giờ" not in row(i) for i in staff2)
    assert html.count(flag) == 2
    assert ('<p class="warning-box overload-summary" role="status">1 ngày trong trang này có hơn 8 giờ thời gian '
            "định mức: Người staff 14/10/2026 (8 h 30).</p>") in html
    english = client.get(f"/t/{world.slug}/unit?state=declarations&lang=en", headers=HX).get_data(as_text=True)
    assert ">day total 8 h 30</span>" in english and "over 8 h</span>" in english
    assert ("1 day on this page has more than 8 hours of norm time planned: Người staff 14/10/2026 (8 h 30).") in english
    client.get(f"/t/{world.slug}/unit?lang=vi")
    # One item refused (cancelled): the day is weighed again without it.
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={
        "csrf_token": token, "action": "refuse", "reason": "Trùng", "ids": eleven, "state": "declarations"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and ">cả ngày 3 h 00</span>" in row(five[0])
    assert "quá 8 giờ" not in html and "overload-summary" not in html


def test_the_queue_weighs_its_days_in_one_query_whatever_their_number(client, clean_app, world):
    """Day totals for the queue's page come from one grouped query: ten person-days cost
    what one does."""
    from tests.work.test_work_support import count_queries

    seed(clean_app, world, "staff", 1, work_date=date(2026, 10, 5))
    sign_in(client, world, "manager")
    client.get(f"/t/{world.slug}/unit?state=declarations", headers=HX)
    with count_queries(clean_app) as one:
        assert client.get(f"/t/{world.slug}/unit?state=declarations", headers=HX).status_code == 200
    for day in range(5, 10):
        if day > 5:
            seed(clean_app, world, "staff", 1, work_date=date(2026, 10, day))
        seed(clean_app, world, "staff2", 1, work_date=date(2026, 10, day))
    with count_queries(clean_app) as many:
        html = client.get(f"/t/{world.slug}/unit?state=declarations", headers=HX).get_data(as_text=True)
    assert html.count(">cả ngày 0 h 30</span>") == 10
    assert len(many) == len(one)


def test_after_assigning_the_person_type_and_day_stay_chosen_for_the_next_item(client, clean_app, world):
    """A manager gives the accountant two items in a row: after the first, the person, the
    task type (from the accountant's own list, KT01 and VB01, never the CV position's
    HT01) and the work date stay chosen; the quantity is back to 1 and the title and the
    deadline are empty, each item's own. The page without htmx keeps the same."""
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    accountant = world.ids["accountant"]

    def assign(headers: dict, title: str) -> str:
        r = client.post(f"/t/{world.slug}/unit/assign", headers=headers, data={
            "csrf_token": token, "employee_id": accountant, "task_type_code": "KT01", "quantity": "2",
            "work_date": "15/10/2026", "deadline": "20/10/2026", "title": title})
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        return html[html.index('<section id="assign"'):html.index("</section>", html.index('<section id="assign"'))]

    for headers, title in (({"HX-Request": "true"}, "Sổ quỹ tháng 9"), ({}, "Sổ quỹ tháng 10")):
        form = assign(headers, title)
        assert f"Đã giao cho Người accountant: {title}" in form
        assert f'<option value="{accountant}" selected>' in form and form.count(" selected>") == 2
        types = form[form.index('id="as-type"'):form.index("</select>", form.index('id="as-type"'))]
        assert '<option value="KT01" selected>' in types and 'value="VB01"' in types and "HT01" not in types
        assert 'name="work_date" value="15/10/2026"' in form
        assert 'name="deadline" required value=""' in form and 'name="quantity" type="text"' in form
        assert 'required value="1"' in form and 'id="as-title" name="title" maxlength="300" value=""' in form
    assert [(i.employee_id, i.task_type.code, i.quantity, i.work_date, i.deadline, i.title)
            for i in items_of(clean_app, world)] == [
        (accountant, "KT01", 2, date(2026, 10, 15), date(2026, 10, 20), "Sổ quỹ tháng 9"),
        (accountant, "KT01", 2, date(2026, 10, 15), date(2026, 10, 20), "Sổ quỹ tháng 10")]
