"""The unit and province dashboards of a tenant evaluating by quarters, in a real browser at
390×844 (a phone) and 1366×768, on the demo province with half of October 2026 worked
(tests/browser/test_dashboard_pages.py): they open on "Quý IV/2026", draw their charts, fit
the phone's width, switch to the month and back, and the person's page sets the quarter's
general criteria."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.classification.procedure import PROCEDURE_KIND
from core.extensions import db
from core.tenants.models import BEGINNING, ComponentChoice
from tests.browser.conftest import _browsing
from tests.browser.test_dashboard_pages import ADMIN, MANAGER, T, charts_drawn, month  # noqa: F401 - the fixture
from tests.browser.test_evaluation_phone import PHONE_390
from tests.browser.test_work_day import in_tenant

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 768}


def by_quarters() -> None:
    db.session.add(ComponentChoice(kind=PROCEDURE_KIND, key="-", effective_from=BEGINNING,
                                   settings={"period": "quarter"}))


def test_the_dashboards_open_on_the_quarter_on_a_phone_and_a_desktop(browser, month):  # noqa: F811
    in_tenant(month, by_quarters, commit=True)
    for viewport, name in ((PHONE_390, "phone"), (WIDE, "desktop")):
        browsing = _browsing(browser, month, viewport)
        screen = next(browsing)
        try:
            page = screen.page
            screen.login(ADMIN)
            screen.goto(f"{T}/dashboard/province")
            assert page.locator("h1").inner_text().endswith("Quý IV/2026")
            assert charts_drawn(page) == 3  # ranking, distribution, trend (eight quarters)
            assert page.locator("#trend-h").inner_text() == "Xu hướng: tổng điểm quý trung bình"
            expect(page.locator("#heatmap table.heatmap")).to_be_visible()
            screen.screenshot(f"dash-province-quarter-{name}", full_page=True)
            assert screen.scroll_width() <= viewport["width"]
            with page.expect_navigation(wait_until="load"):
                page.get_by_role("link", name="Theo tháng").click()
            assert page.locator("h1").inner_text().endswith("tháng 10/2026")
            with page.expect_navigation(wait_until="load"):
                page.get_by_role("link", name="Theo quý").click()
            assert page.locator("h1").inner_text().endswith("Quý IV/2026")
            screen.assert_clean()

            screen.login(MANAGER)
            screen.goto(f"{T}/dashboard/unit")
            assert page.locator("h1").inner_text().endswith("Quý IV/2026")
            assert page.locator("#people-h").inner_text().startswith("Cán bộ: hôm nay và từ đầu quý")
            expect(page.locator("#unit-work canvas[data-chart]").first).to_be_visible()
            screen.screenshot(f"dash-unit-quarter-{name}", full_page=True)
            assert screen.scroll_width() <= viewport["width"]
            screen.assert_clean()
        finally:
            browsing.close()


def test_the_manager_sets_the_quarters_general_criteria_on_a_phone(browser, month):  # noqa: F811
    in_tenant(month, by_quarters, commit=True)
    browsing = _browsing(browser, month, PHONE_390)
    screen = next(browsing)
    try:
        page = screen.page
        screen.login(MANAGER)
        screen.goto(f"{T}/dashboard/unit")
        with page.expect_navigation(wait_until="load"):
            page.locator("table.people-scores tbody tr a").first.click()
        assert "period=2026-10" in page.url  # a person's page is a month's
        general = page.locator("#general")
        assert general.locator("h2").inner_text() == "Tiêu chí chung Quý IV/2026"
        for field, value in (("politics_ethics", "9"), ("competence_attitude", "8,5"), ("innovation", "7")):
            general.locator(f"input[name={field}]").fill(value)
        assert screen.scroll_width() <= 390
        with page.expect_navigation(wait_until="load"):
            general.get_by_role("button", name="Lưu").click()
        assert "period=2026-10" in page.url
        assert page.locator("#general table tbody tr").nth(1).inner_text().endswith("8,5")
        screen.screenshot("dash-person-quarter-criteria-phone", full_page=True)
        screen.assert_clean()
    finally:
        browsing.close()
