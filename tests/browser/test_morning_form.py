"""The morning form on a 390×844 phone (issue 18): an employee declares three items in
one submit, then completes one — and the page stays where it was (htmx swaps, no
reload to the top). Both databases; screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.demo import SLUG
from core.work import calendar as cal
from tests.browser.test_work_day import EMPLOYEE, add_catalogue, employee_items, in_tenant
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}


def test_three_items_in_one_submit_and_one_completed_without_jumping(phone, live_server, monkeypatch):
    clock = Clock(local(2026, 10, 14, 7, 40))
    monkeypatch.setattr(cal, "now", clock)
    in_tenant(live_server, add_catalogue, commit=True)
    page = phone.page
    page.set_viewport_size(PHONE_390)
    phone.login(EMPLOYEE)
    phone.goto(f"/t/{SLUG}/today")
    # The form is on the first screen.
    form = page.locator("#declare-form")
    assert form.bounding_box()["y"] < PHONE_390["height"]
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    rows = form.locator("#rows > li.row")
    rows.nth(0).locator("select[name=task_type_code]").select_option("HT01")
    rows.nth(0).locator("input[name=quantity]").fill("2")
    form.get_by_role("button", name="Thêm dòng").click()
    rows.nth(1).locator("select[name=task_type_code]").select_option("VB01")
    rows.nth(1).locator("input[name=title]").fill("Tờ trình xin ý kiến")
    form.get_by_role("button", name="Thêm dòng").click()
    rows.nth(2).locator("select[name=task_type_code]").select_option("HT01")
    # The deadline box reads dd/mm/yyyy whatever the browser's language; its calendar
    # button opens the browser's picker, whose choice is written back as dd/mm/yyyy.
    deadline = rows.nth(2).locator("input[name=deadline]")
    expect(deadline).to_have_attribute("placeholder", "dd/mm/yyyy")
    rows.nth(2).get_by_role("button", name="Chọn ngày").click()
    rows.nth(2).locator("input.day-native").evaluate(
        "el => { el.value = '2026-10-16'; el.dispatchEvent(new Event('change')); }")
    expect(deadline).to_have_value("16/10/2026")
    expect(rows).to_have_count(3)
    phone.screenshot("today-three-rows-390")
    form.get_by_role("button", name="Khai báo", exact=True).click()

    expect(page.locator("#declare .flashes")).to_contain_text("Đã khai báo 3 việc.")
    # The "declared" line is on the screen: answered below a phone's screen it was not seen.
    box = page.locator("#declare .flashes").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE_390["height"], box
    mine = page.locator("section[aria-labelledby=mine-h] li.item")
    expect(mine).to_have_count(3)
    expect(page.locator("#summary")).to_contain_text("3 việc")
    expect(page.locator("#summary")).to_contain_text("2 h 30")  # 2 × 30 + 60 + 30 minutes
    expect(page.locator("#declare-form #rows > li.row")).to_have_count(1)  # a fresh form for the next plan
    assert page.evaluate("window.__sameDocument") is True
    assert phone.scroll_width() <= PHONE_390["width"]

    # Complete the last of the three where it stands on the screen.
    item = mine.nth(2)
    item.scroll_into_view_if_needed()
    # Away from the page's bottom, where a shorter item would pull the page up by itself.
    page.mouse.wheel(0, -120)
    page.wait_for_timeout(200)
    before = page.evaluate("window.scrollY")
    assert before > 0
    item_id = item.get_attribute("id")
    item.locator("input[name=result_note]").fill("Đã trả kết quả")
    item.get_by_role("button", name="Hoàn thành").click()
    done = page.locator(f"#{item_id}")
    expect(done).to_have_class("item status-done")
    expect(done).to_contain_text("Đã trả kết quả")
    # The page stays put: at most the few pixels a shorter item takes off the bottom
    # (a reload would land at 0), and the completed item is still on the screen.
    after = page.evaluate("window.scrollY")
    assert abs(after - before) < 40, (before, after)
    box = done.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE_390["height"], box
    assert page.evaluate("window.__sameDocument") is True
    phone.screenshot("today-after-complete-390")
    phone.screenshot("today-full-390", full_page=True)
    assert phone.scroll_width() <= PHONE_390["width"]
    phone.assert_clean()
    assert in_tenant(live_server, employee_items) == [
        ("Giải quyết hồ sơ hộ tịch", "planned", True, None), ("Tờ trình xin ý kiến", "planned", True, None),
        ("Giải quyết hồ sơ hộ tịch", "done", True, None)]


def test_remove_shows_only_while_another_row_stays(phone, live_server, monkeypatch):
    """A lone row's "✕ Bỏ" did nothing when tapped: it shows only once there are two rows,
    and goes again when the second is removed."""
    monkeypatch.setattr(cal, "now", Clock(local(2026, 10, 14, 7, 40)))
    in_tenant(live_server, add_catalogue, commit=True)
    page = phone.page
    page.set_viewport_size(PHONE_390)
    phone.login(EMPLOYEE)
    phone.goto(f"/t/{SLUG}/today")
    form = page.locator("#declare-form")
    remove = form.get_by_role("button", name="Bỏ dòng này")
    expect(form.locator("#rows > li.row")).to_have_count(1)
    expect(remove).to_have_count(0)
    form.get_by_role("button", name="Thêm dòng").click()
    expect(form.locator("#rows > li.row")).to_have_count(2)
    expect(remove).to_have_count(2)
    remove.nth(1).click()
    expect(form.locator("#rows > li.row")).to_have_count(1)
    expect(remove).to_have_count(0)
    phone.assert_clean()
