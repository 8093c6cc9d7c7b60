"""At 390×844, both databases: a person whose manager assigned them work and refused one
of their declarations sees the unread count in the header on "Hôm nay", opens "Thông
báo", reads the refusal's reason, opens it (it is marked read and the item is on the
screen), then marks the rest read; in English on request; no serious accessibility
violation on the page."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.auth.models import User
from core.auth.services import principal_for_user
from core.demo import SLUG
from core.extensions import db
from core.notifications import services as notifications
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services as work
from tests.browser.test_dashboard_pages import axe_check
from tests.browser.test_work_day import EMPLOYEE, MANAGER, add_catalogue, in_tenant
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
T = f"/t/{SLUG}"
REASON = "Trùng với hồ sơ đã khai báo ngày 13/10"


def _principal(username: str):
    return principal_for_user(db.session.scalar(select(User).where(User.username == username)))


def _decisions() -> dict:
    """The manager assigns the person one item, then refuses one of their declarations."""
    add_catalogue()
    manager, person = _principal(MANAGER), _principal(EMPLOYEE)
    assigned, _ = work.declare(manager, {"employee_id": person.employee_id, "task_type_code": "VB01",
                                         "work_date": date(2026, 10, 14), "quantity": 1,
                                         "deadline": date(2026, 10, 16), "title": "Soạn tờ trình biên chế"})
    declared, _ = work.declare(person, {"task_type_code": "HT01", "work_date": date(2026, 10, 14), "quantity": 2,
                                        "title": "Hồ sơ khai sinh Lê Thị Hoa"})
    work.verify(manager, declared, False, REASON)
    return {"assigned": assigned.id, "refused": declared.id,
            "manager": db.session.scalar(select(Employee.full_name).where(Employee.id == manager.employee_id))}


def _unread() -> int:
    return notifications.unread_count(_principal(EMPLOYEE))


def test_a_person_sees_the_badge_opens_the_inbox_and_reads_the_refusal(phone, browser, live_server, monkeypatch):
    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 10, 0)))
    made = in_tenant(live_server, _decisions, commit=True)
    unread = in_tenant(live_server, _unread)
    assert unread >= 2  # the two decisions, and whatever the demo told the person before
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login(EMPLOYEE)
    phone.goto(f"{T}/today")
    inbox = page.get_by_role("link", name=f"Thông báo ({unread} thông báo chưa đọc)")
    expect(inbox).to_be_visible()
    expect(inbox.locator(".badge")).to_have_text(str(unread))
    box = inbox.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44, box
    assert phone.scroll_width() <= PHONE["width"]
    phone.screenshot("notifications-badge-390")

    inbox.click()
    page.wait_for_url(f"**{T}/notifications")
    expect(page.locator("h1")).to_have_text(f"Thông báo ({unread} chưa đọc)")
    rows = page.locator("li.notice-row")
    refusal, assignment = rows.nth(0), rows.nth(1)  # newest first
    expect(refusal).to_have_class("notice-row unread")
    expect(refusal.locator(".notice-message")).to_have_text(
        f'Chưa đọc {made["manager"]} đã từ chối khai báo "Hồ sơ khai sinh Lê Thị Hoa" ngày 14/10/2026 của bạn: '
        f"{REASON}")
    expect(assignment.locator(".notice-message")).to_have_text(
        f'Chưa đọc {made["manager"]} đã giao cho bạn "Soạn tờ trình biên chế" ngày 14/10/2026, '
        "hạn hoàn thành 16/10/2026.")
    assert phone.scroll_width() <= PHONE["width"]
    phone.screenshot("notifications-page-390")

    # Opening the refusal marks it read and shows the item on "Hôm nay", on the screen.
    refusal.get_by_role("button", name="Mở →").click()
    page.wait_for_url(f"**{T}/today#item-{made['refused']}")
    item = page.locator(f"#item-{made['refused']}")
    expect(item).to_contain_text(REASON)
    expect(item).to_be_in_viewport()
    expect(page.get_by_role("link", name=f"Thông báo ({unread - 1} thông báo chưa đọc)")).to_be_visible()
    assert in_tenant(live_server, _unread) == unread - 1

    # In English the header says it in English; the notice stays as it was told.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("link", name=f"Notifications ({unread - 1} unread notification"
                                           f"{'s' if unread - 1 != 1 else ''})")).to_be_visible()
    page.get_by_role("link", name="Tiếng Việt").click()

    # "Mark all read": the badge is gone, no row is unread.
    page.get_by_role("link", name=f"Thông báo ({unread - 1} thông báo chưa đọc)").click()
    page.get_by_role("button", name="Đánh dấu tất cả là đã đọc").click()
    page.wait_for_url(f"**{T}/notifications")
    expect(page.locator("[data-testid=inbox-link]")).to_have_text("Thông báo")
    expect(page.locator("li.notice-row.unread")).to_have_count(0)
    assert in_tenant(live_server, _unread) == 0
    phone.assert_clean()
    assert axe_check(browser, live_server, EMPLOYEE, f"{T}/notifications", PHONE) == []
