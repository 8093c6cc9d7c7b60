"""The tenant admin's day on a phone (390×844), in a real browser: creates a unit, a
position, a task type with a norm and an employee with a login, closes a month and
changes a scoring setting through the generated form — no console error, no failed
request, no horizontal overflow on any page. Both databases; screenshots in
test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.catalogue.models import NormVersion, TaskType
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee, JobPosition, OrgUnit
from core.tenancy import tenant_context
from core.tenants import choices as tenant_choices
from core.tenants.models import Tenant
from core.work.models import ClosedPeriod
from tests.browser.conftest import Browsing, _browsing

pytestmark = pytest.mark.browser

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
def phone390(browser, live_server) -> Iterator[Browsing]:
    yield from _browsing(browser, live_server, PHONE_390)


def in_tenant(server, fn):
    with server.app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tenant_id):
            try:
                return fn()
            finally:
                db.session.rollback()


def fits(b: Browsing, name: str) -> None:
    """The page is as wide as the phone (nothing to scroll sideways); a screenshot for people."""
    b.screenshot(name, full_page=True)
    assert b.scroll_width() <= PHONE_390["width"], name


def submit(b: Browsing, button_name: str) -> None:
    with b.page.expect_navigation(wait_until="load"):
        b.page.get_by_role("button", name=button_name).click()


def test_admin_sets_up_and_runs_the_province_on_a_phone(phone390, live_server):
    b, page = phone390, phone390.page
    b.login("admin")
    b.goto(f"/t/{SLUG}/")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Cán bộ, đơn vị và danh mục").click()
    fits(b, "admin-hub-390")

    # A unit under the first agency.
    page.get_by_role("link", name="Cơ cấu đơn vị").click()
    page.wait_for_load_state("load")
    fits(b, "admin-units-390")
    page.get_by_text("+ Thêm đơn vị").click()
    page.fill("#code", "PHONG-SO")
    page.fill("#name", "Tổ Dữ liệu số")
    page.select_option("#kind", "department")
    page.select_option("#parent_id", index=1)
    submit(b, "Tạo đơn vị")
    assert "Đã lưu." in page.locator(".saved").inner_text()
    # Back on the list, which shows the new unit found by its code.
    assert "Tổ Dữ liệu số" in page.locator("#unit-list .tree").inner_text()

    # A position: its code shows in the list (the staff import needs it).
    b.goto(f"/t/{SLUG}/admin/positions")
    page.get_by_text("+ Thêm vị trí việc làm").click()
    page.fill("#code", "CV-CDS")
    page.fill("#name", "Chuyên viên chuyển đổi số")
    page.select_option("#group", "professional")
    submit(b, "Tạo vị trí việc làm")
    assert "CV-CDS" in page.locator("table").inner_text()
    fits(b, "admin-positions-390")

    # A task type with a norm and two complexity levels, for that position; a wrong
    # number first: the error shows beside the field and the typed name stays.
    b.goto(f"/t/{SLUG}/admin/task-types/new")
    page.fill("#code", "CDS-01")
    page.fill("#name", "Số hóa hồ sơ lưu trữ")
    page.select_option("#group", "B")
    page.fill("#unit_of_measure", "hồ sơ")
    page.fill("#norm_minutes", "mười lăm")
    page.fill("#level_0", "1")
    page.fill("#coefficient_0", "1")
    page.fill("#level_1", "2")
    page.fill("#coefficient_1", "1.4")
    page.get_by_label("Chuyên viên chuyển đổi số").check()
    submit(b, "Lưu")
    assert page.locator("#norm_minutes-err").inner_text() == "Phải là số."
    assert page.input_value("#name") == "Số hóa hồ sơ lưu trữ"
    fits(b, "admin-task-type-error-390")
    page.fill("#norm_minutes", "15")
    submit(b, "Lưu")
    assert "15 phút / hồ sơ" in page.locator("table").inner_text()
    fits(b, "admin-task-types-390")

    # An employee of the new unit with a login.
    b.goto(f"/t/{SLUG}/admin/employees/new")
    page.fill("#code", "CDS-CV-01")
    page.fill("#full_name", "Nguyễn Thị Thu Hà")
    page.select_option("#unit_id", label=page.locator("#unit_id option", has_text="(PHONG-SO)")
                       .inner_text())
    page.select_option("#position_code", "CV-CDS")
    page.fill("#username", "thuha")
    page.fill("#password", "Nha-Trang-Bien-2026")
    fits(b, "admin-employee-form-390")
    submit(b, "Lưu")
    assert "Đã lưu." in page.locator(".saved").inner_text()
    page.fill("#q", "thuha")  # htmx swaps the results in as the admin types
    expect(page).to_have_url(re.compile(r"/admin/employees\?q=thuha$"))
    expect(page.locator("#results p.muted")).to_have_text("1/1")
    assert "Nguyễn Thị Thu Hà" in page.locator("#results table").inner_text()
    fits(b, "admin-employees-390")

    # Close a month, after confirming.
    b.goto(f"/t/{SLUG}/admin/periods")
    fits(b, "admin-periods-390")
    row = page.locator("li.month-row").nth(1)  # last month
    period = row.get_attribute("id").removeprefix("m-")
    close = row.get_by_role("button", name=f"Khóa sổ tháng {period[5:]}/{period[:4]}")
    with page.expect_navigation(wait_until="load"):
        close.click()
    assert "Hãy đánh dấu ô để xác nhận." in page.locator(f"#confirm-{period}-err").inner_text()
    page.locator(f"#confirm-{period}").check()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name=f"Khóa sổ tháng {period[5:]}/{period[:4]}").click()
    assert "đã khóa sổ" in page.locator(f"#m-{period}").inner_text()

    # A scoring setting, through the form generated from the variant's settings schema.
    b.goto(f"/t/{SLUG}/admin/components")
    with page.expect_navigation(wait_until="load"):
        page.locator("#pick-scoring_variant ~ button").click()
    fits(b, "admin-scoring-settings-390")
    field = page.locator("form.card input[inputmode=decimal]").first
    name = field.get_attribute("name").removeprefix("s.")
    field.fill("0,5")
    submit(b, "Lưu")
    assert "/admin/components" in page.url

    # The other screens fit the phone too.
    for path, shot in (("what-if", "admin-what-if-390"), ("competencies", "admin-competencies-390"),
                       ("calendar", "admin-calendar-390")):
        b.goto(f"/t/{SLUG}/admin/{path}")
        fits(b, shot)
    page.get_by_text("+ Đặt một ngày").click()
    fits(b, "admin-calendar-form-390")
    b.goto(f"/t/{SLUG}/admin/what-if")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Xem trước").click()
    assert "Xem trước tháng" in page.locator("#result-h").inner_text()
    fits(b, "admin-what-if-result-390")

    def stored():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "PHONG-SO"))
        person = db.session.scalar(select(Employee).where(Employee.code == "CDS-CV-01"))
        tt = db.session.scalar(select(TaskType).where(TaskType.code == "CDS-01"))
        norm = db.session.scalar(select(NormVersion).where(NormVersion.task_type_id == tt.id))
        return {
            "unit": (unit.name, unit.parent_id is not None),
            "position": db.session.scalar(select(JobPosition.name).where(JobPosition.code == "CV-CDS")),
            "norm": (float(norm.norm_minutes), norm.complexity_levels, [p.position.code for p in tt.positions]),
            "person": (person.unit_id == unit.id, person.position.code, person.user.username),
            "closed": db.session.scalar(select(ClosedPeriod.period).where(ClosedPeriod.period == period)),
            "setting": tenant_choices.choice_in_force("scoring_variant").settings.get(name),
        }

    assert in_tenant(live_server, stored) == {
        "unit": ("Tổ Dữ liệu số", True), "position": "Chuyên viên chuyển đổi số",
        "norm": (15.0, [{"level": 1, "coefficient": 1.0}, {"level": 2, "coefficient": 1.4}], ["CV-CDS"]),
        "person": (True, "CV-CDS", "thuha"), "closed": period, "setting": 0.5,
    }
    # The two deliberately refused forms (bad norm, unconfirmed close) answer 422, which
    # chromium logs as a failed load; nothing else may appear.
    b.assert_clean(allow=[re.compile(r"status of 422 \(UNPROCESSABLE ENTITY\)")])
    assert sum("422" in p for p in b.watch.problems()) == 2
