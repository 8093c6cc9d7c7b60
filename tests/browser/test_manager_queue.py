"""The manager's job in a real browser (issue 18, item 3), on a phone (390×844) and a
laptop (1366×768): the head of a department bulk-accepts ten declarations from the
review queue and assigns one item, without the page reloading or jumping to the top,
with no console error and no horizontal overflow. Both databases; screenshots in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.auth.services import principal_for_user
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services as work
from core.work.models import WorkItem
from tests.browser.test_work_day import MANAGER, add_catalogue, in_tenant
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser

STAFF = ("SNV-P1-CV-02", "SNV-P1-CV-03")


def seed_declarations(n_each: int) -> list[int]:
    """`n_each` declarations by each of two people of the head's department."""
    ids = []
    for code in STAFF:
        employee = db.session.scalar(select(Employee).where(Employee.code == code))
        principal = principal_for_user(employee.user)
        for k in range(n_each):
            item, _ = work.declare(principal, {"task_type_code": "HT01", "work_date": date(2026, 10, 14),
                                               "quantity": 1, "title": f"Hồ sơ {code[-2:]}-{k + 1}"})
            ids.append(item.id)
    return ids


def seed_overdue() -> None:
    """Two items the head assigned on Monday, due Tuesday, still open on Wednesday."""
    head = db.session.scalar(select(Employee).where(Employee.code == "SNV-P1-TP"))
    staff = db.session.scalar(select(Employee.id).where(Employee.code == STAFF[0]))
    for k in (1, 2):
        work.declare(principal_for_user(head.user), {
            "employee_id": staff, "task_type_code": "HT01", "work_date": date(2026, 10, 12), "quantity": 1,
            "deadline": date(2026, 10, 13), "title": f"Báo cáo quá hạn {k}"})


def reminders() -> int:
    from core.notifications.models import Notification

    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "work.reminder"))


def verification_of(ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(WorkItem.id, WorkItem.verification).where(WorkItem.id.in_(ids))).all())


def assigned_items() -> list[tuple[str, float, date | None]]:
    return [(i.title, float(i.quantity), i.deadline) for i in db.session.scalars(
        select(WorkItem).where(WorkItem.assigned_by_id.is_not(None), WorkItem.title.like("Hồ sơ giao%"))
        .order_by(WorkItem.id))]


def test_manager_bulk_accepts_ten_and_assigns_one(phone, desktop, live_server, monkeypatch):
    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 9, 0)))
    in_tenant(live_server, add_catalogue, commit=True)
    in_tenant(live_server, seed_overdue, commit=True)
    expected_assigned, leftover = [], []
    for run, (browsing, size) in enumerate(((phone, {"width": 390, "height": 844}),
                                            (desktop, {"width": 1366, "height": 768}))):
        page = browsing.page
        page.set_viewport_size(size)
        ids = in_tenant(live_server, lambda: seed_declarations(6), commit=True)
        waiting = len(ids) + 2 * run  # the phone run leaves two of its twelve waiting
        browsing.login(MANAGER)
        browsing.goto(f"/t/{SLUG}/unit")
        assert page.locator("h2#queue-h").inner_text() == "Hàng chờ duyệt"
        count = page.locator("[data-testid=queue-count]")
        assert count.inner_text().startswith(f"{waiting}/{waiting}")
        # The queue is the first thing on the page: its first item is on the first screen.
        assert page.locator("#queue li.item").first.bounding_box()["y"] < size["height"]

        browsing.screenshot(f"manager-arrival-{size['width']}")
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        boxes = page.locator("#queue input[name=ids]")
        chosen = [int(boxes.nth(i).get_attribute("value")) for i in range(10)]
        # Each row carries its person's whole day: six (then twelve) records of 30 minutes.
        expect(page.locator(f"#q-{ids[0]} .day-total")).to_have_text(f"cả ngày {3 * (run + 1)} h 00")
        for i in range(10):
            boxes.nth(i).check()
        # The decision bar says how many it will decide, in its legend and on its buttons.
        expect(page.locator("#bulk [data-selected-count]")).to_have_text(["10", "10", "10"])
        button = page.get_by_role("button", name="Chấp nhận các việc đã chọn")
        button.scroll_into_view_if_needed()
        before = page.evaluate("window.scrollY")
        button.click()
        expect(page.locator("#queue .flash")).to_have_text("Đã chấp nhận 10 khai báo.")
        assert count.inner_text().startswith(f"{waiting - 10}/{waiting - 10}")
        assert page.evaluate("window.__sameDocument") is True
        assert before == 0 or page.evaluate("window.scrollY") > 0  # htmx swapped in place: no jump to the top
        browsing.screenshot(f"manager-queue-{size['width']}")
        accepted = in_tenant(live_server, lambda c=chosen: verification_of(c))
        assert accepted == dict.fromkeys(chosen, "verified")
        leftover = [i for i in leftover + ids if i not in chosen]
        assert in_tenant(live_server, lambda rest=leftover: verification_of(rest)) == dict.fromkeys(leftover, "pending")

        # Assign one item: the task types follow the chosen person's position.
        page.locator("#assign").scroll_into_view_if_needed()
        page.select_option("#as-person", value=str(in_tenant(live_server, lambda: db.session.scalar(
            select(Employee.id).where(Employee.code == STAFF[1])))))
        expect(page.locator("#as-type option[value=HT01]")).to_have_count(1)
        expect(page.locator("#as-type option[value=DD01]")).to_have_count(0)  # another position's work
        page.select_option("#as-type", value="HT01")
        page.fill("#as-qty", "2")
        page.fill("#as-deadline", "20/10/2026")  # typed as people write a day
        page.fill("#as-title", f"Hồ sơ giao {run + 1}")
        page.get_by_role("button", name="Giao việc", exact=True).click()
        expect(page.locator("#assign .flash")).to_contain_text(f"Hồ sơ giao {run + 1}")
        assert page.evaluate("window.__sameDocument") is True
        expected_assigned.append((f"Hồ sơ giao {run + 1}", 2.0, date(2026, 10, 20)))
        assert in_tenant(live_server, assigned_items) == expected_assigned

        # Remind the person of an overdue item, in place.
        overdue = page.locator("#overdue li.item").nth(run)  # one reminder a day per item
        overdue.locator("summary").click()
        overdue.get_by_role("button", name="Gửi nhắc việc").click()
        expect(page.locator("#overdue .flash")).to_contain_text("Đã gửi nhắc việc")
        assert in_tenant(live_server, reminders) == run + 1
        # The workload table loads when it is scrolled to, and scrolls inside its own box.
        page.locator("#workload").scroll_into_view_if_needed()
        expect(page.locator("#heatmap table.heatmap")).to_be_visible()
        assert browsing.scroll_width() <= size["width"]
        browsing.screenshot(f"manager-unit-{size['width']}", full_page=True)
        browsing.assert_clean()


def test_manager_accepts_one_declaration_in_one_click_on_a_phone(phone, live_server, monkeypatch):
    """At 390×844 the head accepts the third declaration with the button beside it: only
    that row changes (the page neither reloads nor jumps), the tab's count drops by one,
    and the audit log names the head."""
    from core.audit.models import AuditEvent

    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 9, 0)))
    in_tenant(live_server, add_catalogue, commit=True)
    ids = in_tenant(live_server, lambda: seed_declarations(3), commit=True)  # three by each of two people
    page = phone.page
    page.set_viewport_size({"width": 390, "height": 844})
    phone.login(MANAGER)
    phone.goto(f"/t/{SLUG}/unit?state=declarations")
    badge = page.locator("#badge-declarations")
    waiting = int(badge.inner_text())
    target = ids[2]
    row = page.locator(f"#q-{target}")
    row.scroll_into_view_if_needed()
    page.evaluate("window.__sameDocument = true")
    before = page.evaluate("window.scrollY")
    row.get_by_role("button", name="Chấp nhận", exact=False).click()
    expect(page.locator(f"#q-{target}")).to_have_text(f"✓ Đã chấp nhận: {'Hồ sơ 02-3'}")
    expect(badge).to_have_text(str(waiting - 1))
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.scrollY") == before
    expect(page.locator(f"#q-{ids[1]} button.one")).to_be_visible()  # its neighbours are untouched
    assert in_tenant(live_server, lambda: verification_of(ids)) == {
        **dict.fromkeys(ids, "pending"), target: "verified"}
    head_user = in_tenant(live_server, lambda: db.session.scalar(
        select(Employee).where(Employee.code == "SNV-P1-TP")).user_id)
    actors = in_tenant(live_server, lambda: list(db.session.scalars(select(AuditEvent.actor).where(
        AuditEvent.action == "work_item.verify", AuditEvent.object_id == str(target)))))
    assert len(actors) == 1 and actors[0].startswith(f"user:{head_user}:")
    assert phone.scroll_width() <= 390
    phone.screenshot("manager-one-click-390")
    phone.assert_clean()


def test_manager_passes_one_finished_item_with_its_stars_on_a_phone(phone, live_server, monkeypatch):
    """The demo's queue opens on finished items (nothing left to accept): each row has its
    own stars and "Đạt", so the head rates one item without the bulk form at the bottom."""
    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 9, 0)))
    in_tenant(live_server, add_catalogue, commit=True)
    ids = in_tenant(live_server, lambda: seed_declarations(2), commit=True)

    def finish_all() -> None:
        for item_id in ids:
            item = db.session.get(WorkItem, item_id)
            owner = db.session.get(Employee, item.employee_id)
            work.update_item(principal_for_user(owner.user), item, {"status": "done", "result_note": "Xong"})

    in_tenant(live_server, finish_all, commit=True)
    page = phone.page
    page.set_viewport_size({"width": 390, "height": 844})
    phone.login(MANAGER)
    phone.goto(f"/t/{SLUG}/unit?state=reviews")
    badge = page.locator("#badge-reviews")
    waiting = int(badge.inner_text())
    target = ids[1]
    row = page.locator(f"#q-{target}")
    row.scroll_into_view_if_needed()
    page.evaluate("window.__sameDocument = true")
    row.locator(f"#stars-{target}").select_option("3")
    row.get_by_role("button", name="Đạt").click()
    expect(page.locator(f"#q-{target}")).to_have_text("✓ Đã đạt (3★): Hồ sơ 02-2")
    expect(badge).to_have_text(str(waiting - 1))
    assert page.evaluate("window.__sameDocument") is True
    stars = in_tenant(live_server, lambda: {i: db.session.get(WorkItem, i).stars for i in ids})
    assert stars == {**dict.fromkeys(ids), target: 3}
    assert phone.scroll_width() <= 390
    phone.screenshot("manager-one-click-pass-390")
    phone.assert_clean()


def test_assigning_without_a_deadline_says_so_in_the_pages_language(phone, live_server, monkeypatch):
    """The deadline left empty: the browser's own bubble ("Please fill out this field." on
    an English-language phone, over a Vietnamese page) must not stop the form; the
    server's answer stands beside the field, in Vietnamese, and nothing is assigned."""
    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 9, 0)))
    in_tenant(live_server, add_catalogue, commit=True)
    page = phone.page
    page.set_viewport_size({"width": 390, "height": 844})
    phone.login(MANAGER)
    phone.goto(f"/t/{SLUG}/unit")
    page.evaluate("window.__sameDocument = true")
    page.locator("#assign").scroll_into_view_if_needed()
    page.select_option("#as-person", value=str(in_tenant(live_server, lambda: db.session.scalar(
        select(Employee.id).where(Employee.code == STAFF[1])))))
    expect(page.locator("#as-type option[value=DD01]")).to_have_count(0)  # the person's list is in
    page.select_option("#as-type", value="HT01")
    page.get_by_role("button", name="Giao việc", exact=True).click()
    expect(page.locator("#assign")).to_contain_text("Hãy chọn hạn hoàn thành.")
    # Only the deadline is wrong: the person and the task type chosen stay chosen.
    expect(page.locator("#as-type")).to_have_value("HT01")
    assert page.locator("#assign .field-error").all_inner_texts() == ["Hãy chọn hạn hoàn thành."]
    assert page.locator("#as-deadline").get_attribute("aria-invalid") == "true"
    assert page.evaluate("window.__sameDocument") is True
    assert in_tenant(live_server, assigned_items) == []
    phone.screenshot("manager-assign-no-deadline-390")
    phone.assert_clean(allow=[re.compile(r"\b422\b")])
