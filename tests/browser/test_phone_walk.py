"""What a civil servant and a Sở Nội vụ admin tripped on at 390×844 with the demo
(issue 18's walk), each checked in chromium: the month picker reads "tháng MM/YYYY";
"Tháng của tôi" folds each item's factors, so the general-criteria form is a few screens
down instead of 33,000 px; the home page of an admin shows 25 people and folds the
province's units. Both databases."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_dashboard_pages import EMPLOYEE, T, month  # noqa: F401 - the fixture
from tests.browser.test_work_day import in_tenant

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_my_month_on_a_phone_folds_items_and_picks_months_in_vietnamese(phone, month):  # noqa: F811
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login(EMPLOYEE)
    phone.goto(f"{T}/me")
    picker = page.locator("select#period-input")
    assert picker.evaluate("e => e.options[e.selectedIndex].text") == "tháng 10/2026"
    assert page.locator("input[type=month]").count() == 0
    # Another month from the picker: the page reads it, the picker keeps it.
    picker.select_option("2026-09")
    with page.expect_navigation(wait_until="load"):
        page.locator("form.periodnav button[type=submit]").click()
    assert "period=2026-09" in page.url and "09/2026" in page.locator("h1").inner_text()
    assert page.locator("select#period-input").evaluate("e => e.value") == "2026-09"
    phone.goto(f"{T}/me")

    items = page.locator("section[aria-labelledby=items-h] details.explain-item")
    assert items.count() == 16
    assert page.locator("section[aria-labelledby=items-h] details.explain-item[open]").count() == 0
    # The general-criteria form is reachable: below 6 screens, not past every item's factors.
    top = page.locator("#general").evaluate("e => e.getBoundingClientRect().top + window.scrollY")
    assert top < 6 * PHONE["height"], top
    first = items.first
    first.locator("summary").click()
    expect(first.locator("h3", has_text="Các yếu tố")).to_be_visible()
    assert phone.scroll_width() <= PHONE["width"]
    phone.screenshot("walk-my-month-390")
    phone.assert_clean()


def test_an_admins_home_on_a_phone_is_a_few_screens(phone, live_server):
    from core.org.models import OrgUnit

    page = phone.page
    page.set_viewport_size(PHONE)
    units = in_tenant(live_server, lambda: OrgUnit.query.count())
    assert units > 12  # the demo province: every commune
    phone.login("admin")
    phone.goto(f"{T}/")
    assert page.locator("section[aria-labelledby=people-h] tbody tr").count() <= 25
    folded = page.locator("details.units-all")
    expect(folded.locator("summary")).to_have_text(f"Xem cả {units} đơn vị")
    assert folded.get_attribute("open") is None
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, height  # it was 14,700 px with 100 people and 121 units open
    folded.locator("summary").click()
    expect(page.locator("ul.units li").first).to_be_visible()
    assert phone.scroll_width() <= PHONE["width"]
    phone.screenshot("walk-admin-home-390")
    phone.assert_clean()


def test_an_admin_cannot_close_the_month_in_progress_by_a_mistaken_tap(phone, live_server):
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login("admin")
    phone.goto(f"{T}/admin/periods")
    current, last = page.locator("li.month-row").nth(0), page.locator("li.month-row").nth(1)
    assert current.locator("button").count() == 0
    assert "Tháng chưa kết thúc: có thể khóa sổ từ ngày 01/" in current.inner_text()
    expect(last.get_by_role("button", name="Khóa sổ tháng", exact=False)).to_be_visible()
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()
