"""A reviewer's walk of the daily jobs at 390×844, in a real browser (both databases):
typing a decimal comma in the morning form's quantity keeps it ("1,5" is one and a half,
not 15), and the manager's queue rows are tap targets of at least 44 px, the title
ticking the item as the box does.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.auth.services import principal_for_user
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services as work
from core.work.models import WorkItem
from tests.browser.test_manager_queue import seed_declarations
from tests.browser.test_work_day import EMPLOYEE, MANAGER, add_catalogue, in_tenant
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}


def _quantities_of_employee() -> list[float]:
    me = db.session.scalar(select(Employee.id).where(Employee.code == EMPLOYEE.upper()))
    return [float(q) for q in db.session.scalars(
        select(WorkItem.quantity).where(WorkItem.employee_id == me, WorkItem.title == "Hồ sơ một rưỡi"))]


def test_a_decimal_comma_typed_on_a_phone_stays_a_decimal(phone, live_server, monkeypatch):
    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 7, 40)))
    in_tenant(live_server, add_catalogue, commit=True)
    page = phone.page
    page.set_viewport_size(PHONE_390)
    phone.login(EMPLOYEE)
    phone.goto(f"/t/{SLUG}/today")
    row = page.locator("#declare-form #rows > li.row").first
    row.locator("select[name=task_type_code]").select_option("HT01")
    box = row.locator("input[name=quantity]")
    expect(box).to_have_attribute("inputmode", "decimal")
    box.fill("")
    box.press_sequentially("1,5")  # key by key, as a thumb types it
    expect(box).to_have_value("1,5")
    row.locator("input[name=title]").fill("Hồ sơ một rưỡi")
    page.locator("#declare-form").get_by_role("button", name="Khai báo", exact=True).click()
    expect(page.locator("#declare .flashes")).to_contain_text("Đã khai báo 1 việc.")
    assert in_tenant(live_server, _quantities_of_employee) == [1.5]
    # Text that is no number is answered beside the box, as typed.
    row = page.locator("#declare-form #rows > li.row").first
    row.locator("select[name=task_type_code]").select_option("HT01")
    row.locator("input[name=quantity]").fill("1,5,5")
    page.locator("#declare-form").get_by_role("button", name="Khai báo", exact=True).click()
    expect(page.locator("#qty-0-err")).to_have_text("Hãy nhập một số.")
    expect(page.locator("#qty-0")).to_have_value("1,5,5")
    assert phone.scroll_width() <= PHONE_390["width"]
    phone.assert_clean(allow=[re.compile(r"422")])


def test_queue_rows_are_thumb_sized_and_the_title_ticks_the_item(phone, live_server, monkeypatch):
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
    page.set_viewport_size(PHONE_390)
    phone.login(MANAGER)
    for state in ("declarations", "reviews"):
        phone.goto(f"/t/{SLUG}/unit?state={state}")
        labels = page.locator("#queue label.pick")
        assert labels.count() >= 2
        for i in range(labels.count()):
            box = labels.nth(i).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44, (state, i, box)
    # Tapping the title (not the box) ticks the item.
    row = page.locator(f"#q-{ids[0]}")
    tick = row.locator("input[name=ids]")
    expect(tick).not_to_be_checked()
    row.locator("label.pick strong").click()
    expect(tick).to_be_checked()
    # Sending back without a reason is refused beside the reason's box, and nothing changes.
    page.get_by_role("button", name="Trả lại các việc đã chọn để làm lại").click()
    expect(page.locator("#bulk-comment-error")).to_have_text("Hãy nêu lý do trả lại để làm lại.")
    statuses = in_tenant(live_server, lambda: [db.session.get(WorkItem, i).status for i in ids])
    assert statuses == ["done"] * len(ids)
    assert phone.scroll_width() <= PHONE_390["width"]
    phone.screenshot("manager-queue-rows-390")
    phone.assert_clean(allow=[re.compile(r"422")])
