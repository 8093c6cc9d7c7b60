"""The Sở Nội vụ's admin finds one agency among the demo province's 76 on the evaluation page,
on a 390×844 phone with JavaScript off: the search box is a plain GET form, the list is
paged, and the page is no wider than the screen. Both databases; screenshots in
test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from core.demo import SLUG
from tests.browser.conftest import Browsing, _watch
from tests.browser.test_evaluation_phone import PHONE_390

pytestmark = pytest.mark.browser


def test_the_admin_finds_an_agency_on_a_phone_without_script(browser, live_server, clock):
    clock.set(2026, 12, 3, 9, 0)
    context = browser.new_context(viewport=PHONE_390, locale="vi-VN", java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    phone = Browsing(live_server, page, _watch(page))
    try:
        phone.login("admin")
        phone.goto(f"/t/{SLUG}/evaluation?year=2026")
        agencies = page.locator("#agencies > li")
        assert agencies.count() == 20  # the first page of the province's agencies and communes
        heading = page.locator("h2#agencies-h").inner_text()
        total = int(heading.split("/")[-1].rstrip(")"))
        assert total > 40 and f"({total}/{total})" in heading
        assert page.locator("nav.pager").inner_text().startswith(f"Trang 1/{(total - 1) // 20 + 1}")
        page.fill("#agency-q", "tai chinh")  # no diacritics typed
        with page.expect_navigation(wait_until="load"):
            page.press("#agency-q", "Enter")
        assert page.locator("h2#agencies-h").inner_text().endswith(f"(1/{total})")
        assert agencies.count() == 1 and agencies.first.inner_text().startswith("Sở Tài chính")
        assert agencies.first.get_by_role("button", name="Mở kỳ đánh giá").is_visible()
        assert page.locator("#agency-q").input_value() == "tai chinh"
        assert phone.scroll_width() <= 390
        phone.screenshot("evaluation-agency-search-phone", full_page=True)
        # Opening it comes back to the same search, with the agency now open.
        with page.expect_navigation(wait_until="load"):
            agencies.first.get_by_role("button", name="Mở kỳ đánh giá").click()
        assert "q=tai+chinh" in page.url
        assert agencies.count() == 1 and agencies.first.get_by_role("button", name="Tính lại").is_visible()
        phone.assert_clean()
    finally:
        context.close()
