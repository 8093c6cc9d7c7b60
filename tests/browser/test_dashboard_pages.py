"""Dashboards in a real browser (issue 9), both databases: every page loads for each role
with no console error or failed request, charts drawn by the vendored Chart.js next to
their tables, the employee pages at 360 px, 403 for a role that may not look, axe-core
finds no serious or critical violation, and screenshots for a reviewer in
test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import unit_of_work
from core.auth.models import User
from core.auth.services import principal_for_user
from core.catalogue import services as catalogue
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services as work
from tests.browser.test_work_day import add_catalogue, in_tenant
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
EMPLOYEE, MANAGER, ADMIN, AUDITOR = "snv-p1-cv-02", "truongphong", "admin", "thanhtra"
PERIOD = "2026-10"
DAYS = [date(2026, 10, d) for d in (5, 6, 7, 8, 9, 12, 13, 14)]
T = f"/t/{SLUG}"


def seed_month(clock: Clock) -> None:
    """Eight working days of October for the head of SNV-P1 and their people: two items a
    day each, finished in the evening, most reviewed by the head (some late or reworked),
    so the month has scores, bands and hours to show."""
    add_catalogue()
    catalogue.create_task_type({"code": "BC01", "name": "Tổng hợp báo cáo định kỳ", "group": "B",
                                "unit_of_measure": "báo cáo", "norm_minutes": 45, "product_weight": 1,
                                "complexity_levels": [], "position_codes": []})
    users = {u.username: principal_for_user(u) for u in db.session.scalars(
        select(User).where(User.username.like("snv-p1-%") | (User.username == MANAGER)))}
    head = users[MANAGER]
    staff = [p for name, p in sorted(users.items()) if name != MANAGER and p.employee_id]
    for n, day in enumerate(DAYS):
        clock.moment = local(day.year, day.month, day.day, 7, 40)
        items = []
        for k, person in enumerate(staff):
            for code, qty in (("BC01", 3 + (n + k) % 5), ("VB01", 1 + (n * k) % 3)):
                item, _ = work.declare(person, {"task_type_code": code, "work_date": day, "quantity": qty,
                                                "deadline": day + timedelta(days=k % 2)})
                items.append((person, item))
        unit_of_work.commit()
        clock.moment = local(day.year, day.month, day.day, 16, 40)
        for m, (person, item) in enumerate(items):
            if (m + n) % 7 == 6:
                continue  # left open: overdue later
            work.update_item(person, item, {"status": "done", "result_note": "Đã xong"})
        unit_of_work.commit()
        for m, (_person, item) in enumerate(items):
            if item.status == "done" and (m + n) % 5:
                passed = (m + n) % 11 != 3
                work.review(head, item, {"passed": passed, "stars": 3 + (m % 3) if passed else None,
                                         "comment": None if passed else "Thiếu chữ ký"})  # a return gives its reason
        unit_of_work.commit()


@pytest.fixture
def month(live_server, monkeypatch):
    """The live server at 15 October 2026 with the first half of the month worked."""
    clock = Clock(local(2026, 10, 5, 7, 40))
    monkeypatch.setattr(cal, "now", clock)
    in_tenant(live_server, lambda: seed_month(clock), commit=True)
    clock.moment = local(2026, 10, 15, 10, 0)
    return live_server


def axe_check(browser, server, username: str, path: str, viewport: dict) -> list[str]:
    """Serious and critical axe-core violations of a page. The page's CSP forbids an
    injected script, so this check alone runs in a context that bypasses it."""
    context = browser.new_context(viewport=viewport, locale="vi-VN", bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(server.page_url("/login"))
        page.select_option("#tenant", SLUG)
        page.fill("#username", username)
        page.fill("#password", "KhanhHoa@2026")
        with page.expect_navigation(wait_until="load"):
            page.click("main button[type=submit]")
        page.goto(server.page_url(path), wait_until="networkidle")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
        }""")
        return result
    finally:
        context.close()


def charts_drawn(page) -> int:
    page.wait_for_function("[...document.querySelectorAll('canvas[data-chart]')].every(c => c.dataset.drawn)")
    return page.locator("canvas[data-chart][data-drawn='1']").count()


def test_the_employee_month_trend_and_proposal_on_a_phone(phone, month):
    page = phone.page
    phone.login(EMPLOYEE)
    phone.goto(f"{T}/me")
    assert page.locator("h1").inner_text().startswith("Tháng của tôi")
    assert "Tạm tính" in page.locator(".banner-info").inner_text()
    assert page.locator("section[aria-labelledby=items-h] li.item").count() == 16
    assert "Điểm nhiệm vụ" in page.locator("#score-h + dl").inner_text()
    assert phone.scroll_width() <= 360, "my month scrolls sideways at 360 px"
    phone.screenshot("dash-my-month-360")
    phone.screenshot("dash-my-month-360-full", full_page=True)
    for section in ("formula-h", "items-h", "general-h"):  # what a reviewer would scroll to
        page.locator(f"#{section}").scroll_into_view_if_needed()
        page.evaluate(f"document.getElementById('{section}').scrollIntoView()")
        phone.screenshot(f"dash-my-month-360-{section[:-2]}")

    page.fill("#g-politics_ethics", "9")
    page.fill("#g-competence_attitude", "8,5")
    page.fill("#g-innovation", "7")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Gửi đề xuất").click()
    assert "Đã lưu đề xuất." in page.locator(".flashes").inner_text()
    assert "8,5" in page.locator("#general table").inner_text()

    for by in ("day", "week", "month"):
        phone.goto(f"{T}/me/trend?by={by}")
        assert charts_drawn(page) == 1
        assert page.locator("table.numbers tbody tr").count() >= 1
        assert phone.scroll_width() <= 360, f"the trend by {by} scrolls sideways at 360 px"
        phone.screenshot(f"dash-my-trend-{by}-360", full_page=by == "day")
    phone.assert_clean()


def test_the_manager_unit_dashboard_drill_down_and_general_criteria(desktop, month):
    page = desktop.page
    desktop.login(MANAGER)
    desktop.goto(f"{T}/dashboard/unit")
    assert page.locator("h1").inner_text().startswith("Bảng điều khiển đơn vị")
    expect(page.locator("#unit-work canvas")).to_have_count(1)  # htmx loaded hours and queues
    assert charts_drawn(page) == 2
    assert "Việc quá hạn" in page.locator("#unit-work .queues").first.inner_text()
    rows = page.locator("table.people-scores tbody tr")
    assert rows.count() >= 8
    assert page.locator("table.people-scores").get_by_text("tạm tính").count() >= 1
    desktop.screenshot("dash-unit-desktop")
    desktop.screenshot("dash-unit-desktop-full", full_page=True)

    with page.expect_navigation(wait_until="load"):
        page.locator("table.people-scores tbody tr", has_text=EMPLOYEE.upper()).locator("a").click()
    assert "Xác định tiêu chí chung" in page.locator("#general").inner_text()
    page.fill("#g-politics_ethics", "8")
    page.fill("#g-competence_attitude", "9")
    page.fill("#g-innovation", "7")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Lưu").click()
    assert "Đã lưu điểm tiêu chí chung." in page.locator(".flashes").inner_text()
    assert "24" in page.locator("#score-h + dl").inner_text()
    desktop.screenshot("dash-person-desktop", full_page=True)

    desktop.goto(f"{T}/jobs")
    assert page.locator("h1").inner_text() == "Tác vụ"
    desktop.assert_clean()


def test_the_province_dashboard_heat_map_and_a_recalculation(desktop, month):
    page = desktop.page
    desktop.login(ADMIN)
    desktop.goto(f"{T}/dashboard/province")
    assert page.locator("h1").inner_text().startswith("Bảng điều khiển toàn tỉnh")
    assert charts_drawn(page) == 3  # ranking, distribution, trend
    assert page.locator("table.units-table tbody tr").first.locator("th").inner_text() == "Sở Nội vụ"
    expect(page.locator("#heatmap table.heatmap")).to_be_visible()  # htmx loaded it after the page
    assert page.locator("#heatmap table.heatmap tbody tr").count() >= 1
    desktop.screenshot("dash-province-desktop")
    desktop.screenshot("dash-province-desktop-full", full_page=True)
    page.select_option("#kind-select", "commune")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Lọc").click()
    assert "Sở Nội vụ" not in page.locator("table.units-table").inner_text()

    desktop.goto(f"{T}/jobs")
    page.select_option("#recalc-period", PERIOD)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Tính lại", exact=True).click()
    assert "Đã bắt đầu tính lại điểm tháng 2026-10." in page.locator(".flashes").inner_text()
    job = page.locator("li.job").first
    expect(job.locator(".status")).to_have_text("hoàn thành")  # inline jobs finish at once
    assert job.locator("progress").get_attribute("value") == "100"
    desktop.screenshot("dash-jobs-desktop")
    desktop.assert_clean()


def test_the_auditor_and_the_operator(desktop, month):
    from core.auth.services import create_operator

    page = desktop.page
    desktop.login(AUDITOR)
    desktop.goto(f"{T}/dashboard/province")
    assert charts_drawn(page) == 3
    desktop.goto(f"{T}/dashboard/unit")
    assert page.locator("h1").inner_text().startswith("Bảng điều khiển đơn vị")
    desktop.assert_clean()

    with month.app.app_context():
        create_operator("root", "Operator-Passw0rd-2026")
        unit_of_work.commit()
    page.context.clear_cookies()
    desktop.goto("/login")
    page.select_option("#tenant", label="Quản trị nền tảng")
    page.fill("#username", "root")
    page.fill("#password", "Operator-Passw0rd-2026")
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")
    with page.expect_navigation(wait_until="load"):
        page.locator("main").get_by_role("link", name="Tổng quan nền tảng").click()  # the tabs; the header has it too
    assert page.locator("h1").inner_text() == "Tổng quan nền tảng"
    assert "decree335" in page.locator("#plugins-h ~ table").inner_text()
    assert SLUG in page.locator("#tenants-h ~ table").inner_text()
    desktop.screenshot("dash-operator-desktop", full_page=True)
    desktop.assert_clean()


@pytest.mark.parametrize("who, path", [
    (EMPLOYEE, "/dashboard/unit"), (EMPLOYEE, "/dashboard/province"), (EMPLOYEE, "/jobs"),
    (MANAGER, "/dashboard/province"),
])
def test_a_person_without_the_role_gets_403(desktop, live_server, who, path):
    desktop.login(who)
    response = desktop.goto(T + path)
    assert response.status == 403
    assert "Bạn không có quyền xem trang này." in desktop.page.locator("main").inner_text()


def test_no_serious_accessibility_violations(browser, month):
    pages = [(EMPLOYEE, f"{T}/me", {"width": 360, "height": 740}),
             (EMPLOYEE, f"{T}/me/trend?by=week", {"width": 360, "height": 740}),
             (MANAGER, f"{T}/dashboard/unit", {"width": 1280, "height": 900}),
             (MANAGER, f"{T}/dashboard/person/{{me}}", {"width": 1280, "height": 900}),
             (ADMIN, f"{T}/dashboard/province", {"width": 1280, "height": 900}),
             (ADMIN, f"{T}/jobs", {"width": 1280, "height": 900}),
             (ADMIN, f"{T}/", {"width": 1280, "height": 900})]
    found = {}
    employee_id = in_tenant(month, lambda: db.session.scalar(
        select(Employee.id).where(Employee.code == EMPLOYEE.upper())))
    for who, path, viewport in pages:
        violations = axe_check(browser, month, who, path.replace("{me}", str(employee_id)), viewport)
        if violations:
            found[path] = violations
    assert found == {}, "\n".join(f"{p}: {v}" for p, v in found.items())
