"""The jobs of the roles beyond the civil servant and the manager, walked in a real browser
at 390×844 and 1280×800 on the demo province.

The inspector ("thanhtra") answers "who changed this person's classification, when and
from where": the action is chosen in words, the change reads field by field in Vietnamese,
the person's whole history and page are one tap away, and the chain is checked from the
page — nothing wider than the screen."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.audit.services import record
from core.auth.models import User
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from tests.browser.conftest import _browsing

pytestmark = pytest.mark.browser
SIZES = ({"width": 390, "height": 844}, {"width": 1280, "height": 800})
T = f"/t/{SLUG}"
OPERATOR_PASSWORD = "Vận-hành-nền-tảng-2026"


def _an_override(app) -> tuple[int, str, str]:
    """The manager "truongphong" raises a person's level of 2026 from HT to HTT (as the
    review page records it); returns the person's id, their label and the manager's name."""
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tid):
            manager = db.session.scalar(select(User).where(User.username == "truongphong"))
            name = db.session.scalar(select(Employee.full_name).where(Employee.user_id == manager.id))
            person = db.session.scalar(select(Employee).where(Employee.code == "SNV-P1-CV-02"))
            record("classification.override", "employee_classification", f"2026:{person.id}",
                   before={"level": "HT", "computed_level": "HT", "reason": None},
                   after={"level": "HTT", "computed_level": "HT", "reason": "Hoàn thành xuất sắc đề án"},
                   actor=f"user:{manager.id}:truongphong")
            unit_of_work.commit()
            return person.id, f"{person.full_name} ({person.code})", name


@pytest.mark.parametrize("size", SIZES, ids=("phone", "desktop"))
def test_the_inspector_finds_who_changed_a_level_follows_it_and_checks_the_chain(browser, live_server, size):
    person, label, manager = _an_override(live_server.app)
    browsing = _browsing(browser, live_server, size)
    walk = next(browsing)
    try:
        walk.login("thanhtra")
        page = walk.page
        walk.goto(f"{T}/admin/audit")
        # The action in words, not "classification.override".
        page.click(".filters > summary")
        page.select_option("#action", label="Điều chỉnh mức xếp loại")
        with page.expect_navigation():
            page.click(".search button[type=submit]")
        assert "Hành động: Điều chỉnh mức xếp loại" in page.inner_text(".filters > summary")
        rows = page.locator("tbody tr")
        assert rows.count() == 1
        row = rows.first
        assert row.locator("td.actor strong").inner_text() == manager
        assert "năm 2026" in row.locator("td.object").inner_text() and label in row.locator("td.object").inner_text()
        # The change field by field, in words: the level, the computed level unchanged is
        # not listed, the reason that was empty.
        row.locator("td.details > details > summary").click()
        changes = row.locator("dl.changes").inner_text()
        assert "Xếp loại" in changes and "HT → HTT" in changes.replace("\n", " ")
        assert "(trống)" in changes and "computed_level" not in changes and "null" not in changes
        assert walk.scroll_width() <= size["width"]
        walk.screenshot(f"roles-inspector-override-{size['width']}")
        # Everything about the person, then the person's own page.
        with page.expect_navigation():
            row.locator("a.history").click()
        assert f"employee=employee%3A{person}" in page.url or f"employee=employee:{person}" in page.url
        assert label in page.inner_text(".filters > summary")
        with page.expect_navigation():
            page.locator("tbody tr", has_text="Điều chỉnh mức xếp loại").locator("a.thing").click()
        assert page.url.endswith(f"{T}/dashboard/person/{person}")
        # The chain, checked from the page.
        walk.goto(f"{T}/admin/audit")
        with page.expect_navigation():
            page.click("text=Kiểm tra tính toàn vẹn")
        assert page.locator("h2", has_text="Nhật ký nguyên vẹn").is_visible()
        assert walk.scroll_width() <= size["width"]
        walk.assert_clean()
    finally:
        browsing.close()


@pytest.mark.parametrize("size", SIZES, ids=("phone", "desktop"))
def test_the_operator_adds_a_province_from_the_tenants_page(browser, live_server, size):
    """The operator ("root", signed in as "Quản trị nền tảng") adds a province with its
    communes and first admin from the tenants page; a wrong slug is said beside its field."""
    from core.auth.services import create_operator

    with live_server.app.app_context():
        create_operator("root", OPERATOR_PASSWORD)
        unit_of_work.commit()
    browsing = _browsing(browser, live_server, size)
    walk = next(browsing)
    try:
        walk.login("root", OPERATOR_PASSWORD, tenant="__operator__")
        page = walk.page
        assert page.url.endswith("/operator/")
        # Its actions are a finger's height: "Thêm tỉnh" and "Sáp nhập tỉnh" (19 px before).
        for name in ("Thêm tỉnh", "Sáp nhập tỉnh"):
            assert page.get_by_role("link", name=name, exact=True).bounding_box()["height"] >= 44, name
        with page.expect_navigation():
            page.click("text=Thêm tỉnh")
        page.fill("#name", "Tỉnh Gia Lai")
        page.fill("#slug", "Gia Lai")
        page.fill("#province_code", "52")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.inner_text("#slug-err") == "Dùng 2–63 chữ thường không dấu, chữ số hoặc '-'."
        assert page.input_value("#name") == "Tỉnh Gia Lai" and page.input_value("#province_code") == "52"
        page.fill("#slug", "gia-lai")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.locator("h1").inner_text() == "Đã thêm tỉnh: Tỉnh Gia Lai"
        assert page.locator("code.secret").inner_text()
        assert walk.scroll_width() <= size["width"]
        walk.screenshot(f"roles-operator-added-{size['width']}")
        with page.expect_navigation():
            page.click("text=Quay lại danh sách tỉnh")
        assert "gia-lai" in page.inner_text("table")
        walk.assert_clean(allow=[re.compile(r"422")])  # the refused slug's page, expected
    finally:
        browsing.close()


@pytest.mark.parametrize("size", SIZES, ids=("phone", "desktop"))
def test_the_admin_imports_a_catalogue_and_reads_its_errors_by_row_and_column(browser, live_server, size, tmp_path):
    """The Sở Nội vụ admin downloads the catalogue template, fills it with openpyxl (one good
    row, one with three mistakes, one without its code) and uploads it as a dry run: the
    errors read by row and column on a phone too, the finished bar says 100% and nothing
    else, and the result is not linked from itself."""
    import openpyxl

    browsing = _browsing(browser, live_server, size)
    walk = next(browsing)
    try:
        walk.login("admin")
        page = walk.page
        walk.goto(f"{T}/admin/imports")
        with page.expect_download() as download:
            page.click(f"a[href='{T}/admin/imports/templates/catalogue-xlsx']")
        template = tmp_path / "danh-muc.xlsx"
        download.value.save_as(template)
        book = openpyxl.load_workbook(template)
        sheet = book[book.sheetnames[0]]
        assert [c.value for c in sheet[1]][:5] == ["Mã", "Tên loại công việc", "Nhóm", "Đơn vị tính", "Định mức (phút)"]
        sheet.delete_rows(2, sheet.max_row)
        sheet.append(["T01", "Soạn thảo tờ trình", "A", "văn bản", 120, 1.0, "", "", ""])
        sheet.append(["T02", "Thẩm định hồ sơ", "X", "hồ sơ", "-5", "abc", "", "", ""])
        sheet.append(["", "Thiếu mã", "A", "hồ sơ", 30, 1, "", "", ""])
        filled = tmp_path / "danh-muc-sai.xlsx"
        book.save(filled)
        page.select_option("#connector", "catalogue-xlsx")
        page.set_input_files("#file", str(filled))
        with page.expect_navigation():
            page.click("form.card button[type=submit] >> nth=0")
        page.wait_for_selector("#job .job-done", timeout=15_000)
        page.reload()
        job = page.locator("#job")
        assert job.locator(".job-inline progress + span.muted").inner_text().strip() == "100%"
        assert job.locator("a", has_text="Xem kết quả nhập").count() == 0
        rows = job.locator("table.import-errors tbody tr")
        assert [[c.inner_text() for c in r.locator("td").all()] for r in rows.all()] == [
            ["3", "Nhóm", "Giá trị 'X' không hợp lệ: dùng A, B, C hoặc D."],
            ["3", "Định mức (phút)", "Giá trị '-5' không hợp lệ: phải từ 0.01 trở lên."],
            ["3", "Hệ số sản phẩm", "Giá trị 'abc' không hợp lệ: không phải số."],
            ["4", "Mã", "Bắt buộc."]]
        # Each fact after its label on a phone ("Dòng: 3"), the caption across the card.
        assert rows.first.locator("td").first.get_attribute("data-label") == "Dòng"
        caption = job.locator("caption").bounding_box()
        assert caption["width"] > 250
        assert walk.scroll_width() <= size["width"]
        walk.screenshot(f"roles-admin-import-errors-{size['width']}", full_page=True)
        walk.assert_clean()
    finally:
        browsing.close()
