"""The person's notifications (both databases): what a refused declaration and an
assignment tell the person concerned, the "Thông báo" page (only one's own, newest first,
paged, unread marked, opening one marks it read and goes to its item, "mark all read"),
the header's unread badge (exact, one query a page) and the API's "mark all read"."""

from __future__ import annotations

import re

from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.notifications.models import Notification
from core.notifications.services import target
from core.tenancy import tenant_context
from core.timeutil import utcnow
from core.work.models import WorkItem
from tests.work.test_work_pages import csrf, sign_in
from tests.work.test_work_support import count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)

REASON = "Trùng với hồ sơ đã khai báo hôm qua"


def notes(app, w) -> list[tuple[int, str, str, str | None]]:
    with app.app_context(), tenant_context(w.tenant_id):
        return [tuple(r) for r in db.session.execute(
            select(Notification.employee_id, Notification.kind, Notification.message, Notification.link)
            .order_by(Notification.id))]


def page(w, path: str = "") -> str:
    return f"/t/{w.slug}{path}"


def add_notes(app, w, who: str, messages: list[str], read: int = 0, link: str | None = None) -> list[int]:
    """Notifications for `who`, in order (the last is the newest); the first `read` are read."""
    with app.app_context(), tenant_context(w.tenant_id):
        rows = [Notification(employee_id=w.ids[who], kind="test", message=m, link=link,
                             read_at=utcnow() if k < read else None) for k, m in enumerate(messages)]
        db.session.add_all(rows)
        unit_of_work.commit()
        return [r.id for r in rows]


def read_at(app, w, notification_id: int):
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.get(Notification, notification_id).read_at


# ---------------------------------------------------------------- what a decision tells the person


def test_refusing_a_declaration_tells_its_owner_once_with_the_reason(clean_app, client, world):
    item = declare(client, world, title="Hồ sơ khai sinh Nguyễn Thị Bình")
    own = declare(client, world, title="Hồ sơ khai tử Trần Văn Cường")
    assert notes(clean_app, world) == []  # declaring for oneself tells nobody
    sign_in(client, world, "manager")
    token = csrf(client.get(page(world, "/unit")).get_data(as_text=True))
    # A refusal without a reason is refused and tells nobody.
    r = client.post(page(world, "/unit/queue"), data={"csrf_token": token, "ids": [item["id"]], "action": "refuse"})
    assert r.status_code == 422 and notes(clean_app, world) == []
    r = client.post(page(world, "/unit/queue"), data={"csrf_token": token, "ids": [item["id"]], "action": "refuse",
                                                      "reason": REASON})
    assert r.status_code == 200
    assert notes(clean_app, world) == [(
        world.ids["staff"], "work.refused",
        f'Người manager đã từ chối khai báo "Hồ sơ khai sinh Nguyễn Thị Bình" ngày 14/10/2026 của bạn: {REASON}',
        f"/today#item-{item['id']}")]
    # The audit event stays as it was: one refusal, by the manager.
    with clean_app.app_context(), tenant_context(world.tenant_id):
        events = db.session.execute(select(AuditEvent.action, AuditEvent.object_id).where(
            AuditEvent.action.like("work_item.%"), AuditEvent.object_id == str(item["id"]))
            .order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("work_item.create", str(item["id"])), ("work_item.refuse", str(item["id"]))]
    # Accepting tells nobody; a refusal on the API tells the owner the same way.
    r = client.post(world.url(f"/work-items/{own['id']}/verify"), json={"accepted": False, "reason": "Sai loại việc"},
                    headers=world.h("manager"))
    assert r.status_code == 200
    assert notes(clean_app, world)[1:] == [(
        world.ids["staff"], "work.refused",
        'Người manager đã từ chối khai báo "Hồ sơ khai tử Trần Văn Cường" ngày 14/10/2026 của bạn: Sai loại việc',
        f"/today#item-{own['id']}")]


def test_an_earlier_days_refusal_has_no_page_to_open(clean_app, client, world):
    item = declare(client, world, title="Báo cáo tuần", work_date="2026-10-13")
    r = client.post(world.url(f"/work-items/{item['id']}/verify"), json={"accepted": False, "reason": "Không có"},
                    headers=world.h("manager"))
    assert r.status_code == 200
    [(who, kind, message, link)] = notes(clean_app, world)
    assert (who, kind, link) == (world.ids["staff"], "work.refused", None)
    assert message.endswith('"Báo cáo tuần" ngày 13/10/2026 của bạn: Không có')


def test_assigning_work_tells_the_person_once(clean_app, client, world):
    sign_in(client, world, "manager")
    token = csrf(client.get(page(world, "/unit")).get_data(as_text=True))
    form = {"csrf_token": token, "employee_id": str(world.ids["staff"]), "task_type_code": "HT01", "quantity": "2",
            "deadline": "2026-10-16", "title": "Thẩm định hồ sơ đất đai"}
    r = client.post(page(world, "/unit/assign"), data={**form, "quantity": "0"})
    assert r.status_code == 422 and notes(clean_app, world) == []  # nothing assigned, nobody told
    r = client.post(page(world, "/unit/assign"), data=form)
    assert r.status_code == 200
    [item_id] = [i.id for i in _items(clean_app, world)]
    assert notes(clean_app, world) == [(
        world.ids["staff"], "work.assigned",
        'Người manager đã giao cho bạn "Thẩm định hồ sơ đất đai" ngày 14/10/2026, hạn hoàn thành 16/10/2026.',
        f"/today#item-{item_id}")]
    # A batch on the API: one notification per item, each to its person; without a
    # deadline the words say none; the manager's own item tells nobody.
    r = client.post(world.url("/work-items"), headers=world.h("manager"), json={"items": [
        {"employee_id": world.ids["staff2"], "task_type_code": "HT01", "work_date": "2026-10-15", "quantity": 1,
         "title": "Tiếp công dân"},
        {"employee_id": world.ids["staff"], "task_type_code": "VB01", "work_date": "2026-10-14", "quantity": 1,
         "title": "Soạn công văn", "deadline": "2026-10-20"},
        {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 1, "title": "Việc của tôi"}]})
    assert r.status_code == 201, r.get_json()
    ids = [i["id"] for i in r.get_json()["items"]]
    assert notes(clean_app, world)[1:] == [
        (world.ids["staff"], "work.assigned",
         'Người manager đã giao cho bạn "Soạn công văn" ngày 14/10/2026, hạn hoàn thành 20/10/2026.',
         f"/today#item-{ids[1]}"),
        (world.ids["staff2"], "work.assigned", 'Người manager đã giao cho bạn "Tiếp công dân" ngày 15/10/2026.',
         f"/today#item-{ids[0]}")]


def _items(app, w) -> list[WorkItem]:
    with app.app_context(), tenant_context(w.tenant_id):
        return list(db.session.scalars(select(WorkItem).order_by(WorkItem.id)))


# ---------------------------------------------------------------- the page and the badge


def test_the_page_lists_only_my_notifications_newest_first_with_the_exact_badge(clean_app, client, world):
    mine = add_notes(clean_app, world, "staff", ["Thông báo thứ nhất", "Thông báo thứ hai", "Thông báo thứ ba"],
                     read=1, link="/classification?year=2026")
    add_notes(clean_app, world, "staff2", ["Việc của người khác"])
    sign_in(client, world, "staff")
    r = client.get(page(world, "/notifications"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    rows = re.findall(r'<li class="notice-row (unread|read)" id="n-(\d+)"', html)
    assert rows == [("unread", str(mine[2])), ("unread", str(mine[1])), ("read", str(mine[0]))]
    assert html.index("Thông báo thứ ba") < html.index("Thông báo thứ hai") < html.index("Thông báo thứ nhất")
    assert "Việc của người khác" not in html
    assert html.count('<strong class="tag unread-tag">Chưa đọc</strong>') == 2
    assert "<h1>Thông báo <span class=\"count\">(2 chưa đọc)</span></h1>" in html
    badge = ('<span class="badge" aria-hidden="true">2</span>'
             '<span class="visually-hidden"> (2 thông báo chưa đọc)</span>')
    assert html.count(badge) == 1
    # The read one opens its page directly; the unread ones through the form that marks them read.
    assert f'<a class="button" href="/t/{world.slug}/classification?year=2026">Mở →</a>' in html
    assert html.count(f'action="/t/{world.slug}/notifications/') == 3  # two to open, one "mark all read"
    # The badge is on every page of the tenant, with the same count, from one query.
    with count_queries(clean_app) as statements:
        today = client.get(page(world, "/today")).get_data(as_text=True)
    assert badge in today and f'href="/t/{world.slug}/notifications"' in today
    counts = [s for s in statements if "notifications" in s and "count(" in s.lower()]
    assert len(counts) == 1, counts
    # staff2 sees theirs: one.
    sign_in(client, world, "staff2")
    html = client.get(page(world, "/notifications")).get_data(as_text=True)
    assert "Việc của người khác" in html and "Thông báo thứ" not in html
    assert '<span class="visually-hidden"> (1 thông báo chưa đọc)</span>' in html


def test_no_badge_without_unread_and_none_for_a_login_without_an_employee(clean_app, client, world):
    add_notes(clean_app, world, "staff", ["Đã đọc rồi"], read=1)
    sign_in(client, world, "staff")
    html = client.get(page(world, "/today")).get_data(as_text=True)
    assert 'data-testid="inbox-link">Thông báo</a>' in html and 'class="badge"' not in html
    sign_in(client, world, "auditor")  # an employee too, with nothing: the link, no badge
    assert 'data-testid="inbox-link">Thông báo</a>' in client.get(page(world, "/notifications")).get_data(as_text=True)


def test_opening_one_marks_it_read_and_goes_to_its_item(clean_app, client, world):
    item = declare(client, world, title="Hồ sơ chứng thực")
    client.post(world.url(f"/work-items/{item['id']}/verify"), json={"accepted": False, "reason": REASON},
                headers=world.h("manager"))
    [plain] = add_notes(clean_app, world, "staff", ["Không có trang nào"])
    with clean_app.app_context(), tenant_context(world.tenant_id):
        refusal = db.session.scalar(select(Notification.id).where(Notification.kind == "work.refused"))
    sign_in(client, world, "staff")
    token = csrf(client.get(page(world, "/notifications")).get_data(as_text=True))
    r = client.post(page(world, f"/notifications/{refusal}/read"), data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == f"/t/{world.slug}/today#item-{item['id']}"
    assert read_at(clean_app, world, refusal) is not None
    # The item is there, in the refused list, with its id as the anchor.
    assert f'id="item-{item["id"]}"' in client.get(page(world, "/today")).get_data(as_text=True)
    # One about nothing with a page: marked read, back to it in the list.
    r = client.post(page(world, f"/notifications/{plain}/read"), data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == f"/t/{world.slug}/notifications#n-{plain}"
    assert read_at(clean_app, world, plain) is not None
    html = client.get(page(world, "/notifications")).get_data(as_text=True)
    assert 'class="badge"' not in html and "unread-tag" not in html
    # Without the CSRF token nothing is marked.
    [later] = add_notes(clean_app, world, "staff", ["Sau"])
    assert client.post(page(world, f"/notifications/{later}/read")).status_code == 400
    assert read_at(clean_app, world, later) is None


def test_nobody_opens_or_marks_another_persons_notification(clean_app, client, world):
    [theirs] = add_notes(clean_app, world, "staff2", ["Của staff2"])
    sign_in(client, world, "staff")
    token = csrf(client.get(page(world, "/notifications")).get_data(as_text=True))
    for notification_id in (theirs, 999_999_999):
        r = client.post(page(world, f"/notifications/{notification_id}/read"), data={"csrf_token": token})
        assert r.status_code == 404
    assert client.post(world.url(f"/notifications/{theirs}/read"), headers=world.h("staff")).status_code == 404
    assert read_at(clean_app, world, theirs) is None
    # "Mark all read" marks the caller's own only.
    mine = add_notes(clean_app, world, "staff", ["Của tôi 1", "Của tôi 2"])
    r = client.post(page(world, "/notifications/read"), data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == f"/t/{world.slug}/notifications"
    assert all(read_at(clean_app, world, i) is not None for i in mine)
    assert read_at(clean_app, world, theirs) is None


def test_the_api_marks_all_of_mine_read(clean_app, client, world):
    add_notes(clean_app, world, "staff", ["Một", "Hai", "Ba"], read=1)
    [theirs] = add_notes(clean_app, world, "staff2", ["Của staff2"])
    r = client.post(world.url("/notifications/read"), headers=world.h("staff"))
    assert r.status_code == 200 and r.get_json() == {"marked": 2, "unread": 0}
    inbox = client.get(world.url("/notifications"), headers=world.h("staff")).get_json()
    assert inbox["unread"] == 0 and [n["read"] for n in inbox["items"]] == [True, True, True]
    assert client.post(world.url("/notifications/read"), headers=world.h("staff")).get_json() == {
        "marked": 0, "unread": 0}
    assert read_at(clean_app, world, theirs) is None
    assert client.get(world.url("/notifications"), headers=world.h("staff2")).get_json()["unread"] == 1


def test_the_page_is_paged_and_in_english_on_request(clean_app, client, world):
    add_notes(clean_app, world, "staff", [f"Thông báo số {k}" for k in range(1, 31)])
    sign_in(client, world, "staff")
    first = client.get(page(world, "/notifications")).get_data(as_text=True)
    assert first.count('class="notice-row unread"') == 25
    assert "Thông báo số 30<" in first and "Thông báo số 6<" in first and "Thông báo số 5<" not in first
    assert f'href="/t/{world.slug}/notifications?page=2" rel="next"' in first
    second = client.get(page(world, "/notifications?page=2")).get_data(as_text=True)
    assert second.count('class="notice-row unread"') == 5 and "Thông báo số 1<" in second
    # Past the last page: the last page; not a number: 400.
    assert "Thông báo số 1<" in client.get(page(world, "/notifications?page=9")).get_data(as_text=True)
    for bad in ("abc", "0", "-1", "9" * 20):
        assert client.get(page(world, f"/notifications?page={bad}")).status_code == 400
    with client.session_transaction() as session:
        session["lang"] = "en"
    html = client.get(page(world, "/notifications")).get_data(as_text=True)
    assert "<h1>Notifications <span class=\"count\">(30 unread)</span></h1>" in html
    assert '<span class="visually-hidden"> (30 unread notifications)</span>' in html
    assert ">Mark all read</button>" in html and ">Unread</strong>" in html
    assert "Thông báo số 30" in html  # what the person was told stays as it was told


def test_a_link_leads_only_to_this_tenants_pages():
    assert target("/today#item-5", "tinh-w") == "/t/tinh-w/today#item-5"
    assert target("/t/tinh-w/today", "tinh-w") == "/t/tinh-w/today"  # a reminder's older whole path
    assert target("/classifications/2026", "tinh-w") == "/t/tinh-w/classification?year=2026"
    assert target("/evaluation?year=2026", "tinh-w", "/congvu") == "/congvu/t/tinh-w/evaluation?year=2026"
    assert target("/congvu/t/tinh-w/today", "tinh-w", "/congvu") == "/congvu/t/tinh-w/today"
    for bad in (None, "", "https://evil.example/x", "//evil.example/x", "/t/tinh-b/today", "today",
                "/\\evil.example"):
        assert target(bad, "tinh-w") is None, bad


def test_a_reminder_links_the_item_on_today(clean_app, client, world):
    item = declare(client, world, title="Hồ sơ quá hạn", work_date="2026-10-12", deadline="2026-10-13")
    sign_in(client, world, "manager")
    token = csrf(client.get(page(world, "/unit")).get_data(as_text=True))
    r = client.post(page(world, f"/unit/overdue/{item['id']}/remind"), data={"csrf_token": token})
    assert r.status_code == 200
    [(who, kind, _message, link)] = notes(clean_app, world)
    assert (who, kind, link) == (world.ids["staff"], "work.reminder", f"/today#item-{item['id']}")


def test_a_bulk_refusal_mails_each_owner_and_reads_their_addresses_once(clean_app, client, world, monkeypatch):
    import smtplib

    from core.org.models import Employee

    sent: list = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, msg):
            sent.append((msg["Bcc"], msg.get_content().strip()))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(clean_app.config, "CONGVU_SMTP_HOST", "mail.example.vn")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.get(Employee, world.ids["staff"]).email = "staff@example.vn"
        db.session.get(Employee, world.ids["staff2"]).email = "staff2@example.vn"
        unit_of_work.commit()
    ids = [declare(client, world, who, title=f"Hồ sơ {who} {k}")["id"] for who in ("staff", "staff2") for k in (1, 2)]
    sign_in(client, world, "manager")
    token = csrf(client.get(page(world, "/unit")).get_data(as_text=True))
    with count_queries(clean_app) as statements:
        r = client.post(page(world, "/unit/queue"), data={"csrf_token": token, "ids": ids, "action": "refuse",
                                                          "reason": REASON})
    assert r.status_code == 200
    assert len([s for s in statements if s.startswith("SELECT employees.id, employees.email")]) == 1
    assert [(who, kind) for who, kind, _m, _l in notes(clean_app, world)] == [
        (world.ids["staff"], "work.refused")] * 2 + [(world.ids["staff2"], "work.refused")] * 2
    assert sorted(sent) == sorted(
        (f"{who}@example.vn", f'Người manager đã từ chối khai báo "Hồ sơ {who} {k}" ngày 14/10/2026 của bạn: {REASON}')
        for who in ("staff", "staff2") for k in (1, 2))


def test_sending_a_finished_item_back_tells_its_owner_once_with_the_reason(clean_app, client, world):
    """A return costs the owner a failed review and opens the item again: they are told who
    and why, with the item on "Hôm nay"; a passed review tells nobody."""
    sent_back = declare(client, world, title="Tờ trình kế hoạch biên chế")
    passed = declare(client, world, title="Báo cáo quý")
    for item in (sent_back, passed):
        r = client.patch(world.url(f"/work-items/{item['id']}"), json={"status": "done", "result_note": "Xong"},
                         headers=world.h("staff"))
        assert r.status_code == 200, r.get_json()
    r = client.post(world.url(f"/work-items/{passed['id']}/review"), json={"passed": True, "stars": 5},
                    headers=world.h("manager"))
    assert r.status_code == 200 and notes(clean_app, world) == []
    r = client.post(world.url(f"/work-items/{sent_back['id']}/review"),
                    json={"passed": False, "comment": "Thiếu số liệu quý III"}, headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert notes(clean_app, world) == [(
        world.ids["staff"], "work.returned",
        'Người manager đã trả lại việc "Tờ trình kế hoạch biên chế" ngày 14/10/2026 của bạn để làm lại: '
        "Thiếu số liệu quý III",
        f"/today#item-{sent_back['id']}")]
    # The item is open again, so "Hôm nay" shows it where the link points.
    sign_in(client, world, "staff")
    assert f'id="item-{sent_back["id"]}"' in client.get(page(world, "/today")).get_data(as_text=True)
