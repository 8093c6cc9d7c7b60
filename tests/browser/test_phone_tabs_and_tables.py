"""What the second phone walk (390×844, the demo province) found, each checked in chromium
on both databases: the platform operator's tables fold into labelled cards instead of
running off the screen; the classification pages show the app's one tab bar (no private
one), the current tab marked and in view, every tab a 44-px tap target; the auditor's
export links and filters are thumb-sized; the province's heat map keeps its grid instead
of one number a line; a tick box stands before its words."""

from __future__ import annotations

import pytest

from core import unit_of_work
from core.demo import SLUG

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
T = f"/t/{SLUG}"
OPERATOR, OPERATOR_PASSWORD = "root", "Operator-Passw0rd-2026"


def _label_before(cell) -> str:
    """The text a phone shows before a folded table's cell: its data-label."""
    return cell.evaluate("e => getComputedStyle(e, '::before').content")


def _fits(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5


def test_the_operators_pages_fold_their_tables_into_labelled_cards(phone, live_server):
    from core.auth.services import create_operator

    with live_server.app.app_context():
        create_operator(OPERATOR, OPERATOR_PASSWORD)
        unit_of_work.commit()
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.goto("/login")
    page.select_option("#tenant", label="Quản trị nền tảng")
    page.fill("#username", OPERATOR)
    page.fill("#password", OPERATOR_PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")

    assert page.url == live_server.page_url("/operator/")
    assert phone.scroll_width() <= PHONE["width"]
    row = page.locator("main table.stack tbody tr", has_text=SLUG)
    assert _fits(page, row)
    assert page.locator("main table thead").evaluate("e => e.getBoundingClientRect().height") <= 1  # headings in the cells
    status = row.locator("td[data-label='Trạng thái']")
    assert _label_before(status) == '"Trạng thái: "' and status.inner_text() == "đang hoạt động"
    phone.screenshot("operator-home-390")

    phone.goto("/operator/dashboard")
    assert page.locator("h1").inner_text() == "Tổng quan nền tảng"
    assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "Tổng quan nền tảng"
    assert phone.scroll_width() <= PHONE["width"]
    for table in page.locator("main table").all():
        assert "stack" in table.get_attribute("class")
        assert table.bounding_box()["width"] <= PHONE["width"]
    tenant = page.locator("#tenants-h ~ table tbody tr", has_text=SLUG)
    assert _label_before(tenant.locator("td[data-label]").nth(2)) == '"Cán bộ, công chức: "'
    plugin = page.locator("#plugins-h ~ table tbody tr", has_text="decree335").first
    assert _label_before(plugin.locator("td[data-label]").nth(1)) == '"Trạng thái: "'
    phone.screenshot("operator-overview-390", full_page=True)
    phone.assert_clean()

    # A text box takes its form's width like the other fields (the browser's default was
    # 20 columns: half the phone), and the merges page leads back to the tenants.
    for path, box in ((f"/operator/tenants/{SLUG}/suspend", "#reason"), ("/operator/merges", "#mapping")):
        phone.goto(path)
        field, label = page.locator(box).bounding_box(), page.locator(f"label[for={box[1:]}]").bounding_box()
        assert field["width"] >= 300 and abs(field["x"] - label["x"]) <= 1, (path, field, label)
        assert phone.scroll_width() <= PHONE["width"]
    back = page.locator("main p.tap a", has_text="Các tỉnh (khách thuê)")
    assert back.get_attribute("href") == "/operator/" and back.bounding_box()["height"] >= 44


CLASSIFICATION = (  # (page, the tab marked current)
    ("/classification", "Xếp loại của tôi"),
    ("/evaluation", "Đánh giá, xếp loại cuối năm"),
    ("/classification/unit", "Xem xét xếp loại đơn vị"),
    ("/classification/province", "Xếp loại toàn tỉnh"),
)


def test_the_classification_pages_share_the_one_tab_bar(phone, live_server):
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login("admin")  # the Sở Nội vụ's admin: every tab, the longest bar
    phone.goto(f"{T}/today")
    everyday = page.locator("nav.tabs a").all_inner_texts()
    for path, current in CLASSIFICATION:
        phone.goto(f"{T}{path}?year=2025")
        tabs = page.locator("nav.tabs")
        assert tabs.count() == 1, path
        assert page.locator("nav[aria-label='Xếp loại']").count() == 0, path  # the private bar is gone
        assert tabs.get_attribute("aria-label") == "Trang của tôi"
        assert tabs.locator("a").all_inner_texts() == everyday, path
        marked = tabs.locator("a[aria-current=page]")
        assert marked.all_inner_texts() == [current], path
        assert _fits(page, marked), path  # scrolled into view on the one-row bar (tabs.js)
        heights = tabs.locator("a").evaluate_all("as => as.map(a => a.getBoundingClientRect().height)")
        assert min(heights) >= 44, (path, heights)
        # The classification tabs keep the year being looked at; the others do not take it.
        assert "year=2025" in tabs.locator("a", has_text="Xếp loại của tôi").get_attribute("href")
        assert "year=" not in tabs.locator("a", has_text="Hôm nay").get_attribute("href")
        assert page.locator("input#year").input_value() == "2025"
        assert phone.scroll_width() <= PHONE["width"], path
    phone.screenshot("classification-province-tabs-390")
    # A tick box stands before its words, not alone in a page-wide box above them.
    phone.goto(f"{T}/admin/imports")
    tick, label = page.locator("#dry_run"), page.locator("label[for=dry_run]")
    assert tick.bounding_box()["width"] < 40
    assert tick.bounding_box()["x"] < label.bounding_box()["x"] + 20 and label.bounding_box()["height"] >= 44
    phone.assert_clean()


def test_the_auditors_controls_are_thumb_sized_and_the_heat_map_keeps_its_grid(phone, live_server):
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login("thanhtra")
    phone.goto(f"{T}/admin/audit")
    for control in (page.locator("main a.button"), page.locator("details.filters > summary")):
        assert control.count() >= 1
        for box in control.evaluate_all("es => es.map(e => e.getBoundingClientRect().height)"):
            assert box >= 44, box  # the export links were 19 px, the filters' summary 28
    assert phone.scroll_width() <= PHONE["width"]

    phone.goto(f"{T}/dashboard/province")
    heat = page.locator("#heatmap table.heatmap")
    heat.wait_for()
    assert heat.evaluate("t => getComputedStyle(t).display") == "table"
    caption = heat.locator("caption").bounding_box()
    assert caption["height"] < 120, caption  # was a word a line: 450 px
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()
