"""The documents page on a phone (390×844), in a real browser on the demo province: the
admin mistypes a period and sees the error beside the field with the value kept, then
downloads their annual form as PDF; no horizontal overflow. Both databases; screenshots
in test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from core.demo import SLUG

pytestmark = pytest.mark.browser


def test_documents_page_on_a_phone(phone):
    page = phone.page
    page.set_viewport_size({"width": 390, "height": 844})
    phone.login("admin")
    phone.goto(f"/t/{SLUG}/documents")
    assert page.locator("h1").inner_text() == "Văn bản, biểu mẫu"
    assert phone.scroll_width() <= 390
    page.fill("#ev-period", "2026-13")
    with page.expect_navigation(wait_until="load"):
        page.locator("form:has(#ev-period) button[type=submit]").click()
    assert page.locator("#ev-period-err").inner_text() == "Nhập tháng dạng YYYY-MM hoặc quý dạng YYYY-Qn."
    assert page.input_value("#ev-period") == "2026-13"
    assert page.get_attribute("#ev-period", "aria-invalid") == "true"
    assert phone.scroll_width() <= 390
    phone.screenshot("documents-phone-error", full_page=True)
    page.locator("#templates").scroll_into_view_if_needed()
    assert page.locator("form:has(#tpl-decision) h3").inner_text() == "Quyết định xếp loại của cơ quan"
    with page.expect_download() as download:
        page.locator("a[href$='/documents/templates/decision']").click()
    assert download.value.suggested_filename == "mau-decision.docx"
    phone.assert_clean(allow=[re.compile(r"422")])
