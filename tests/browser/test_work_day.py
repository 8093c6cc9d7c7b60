"""The daily loop in a real browser (issue 4): an employee declares two items from the
catalogue search in the morning on a phone and completes them in the evening; their manager sees them on the
unit page and reviews one. Both databases; screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import unit_of_work
from core.catalogue import services as catalogue
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.work import calendar as cal
from core.work.models import WorkItem
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser

EMPLOYEE, MANAGER = "snv-p1-cv-02", "truongphong"


def in_tenant(server, fn, commit: bool = False):
    with server.app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tenant_id):
            try:
                result = fn()
                if commit:
                    unit_of_work.commit()
                return result
            finally:
                db.session.rollback()


def add_catalogue() -> None:
    catalogue.create_task_type({"code": "HT01", "name": "Giải quyết hồ sơ hộ tịch", "group": "B",
                                "unit_of_measure": "hồ sơ", "norm_minutes": 30, "product_weight": 1,
                                "complexity_levels": [], "position_codes": ["CV", "CVC"]})
    catalogue.create_task_type({"code": "VB01", "name": "Soạn thảo văn bản hành chính", "group": "B",
                                "unit_of_measure": "văn bản", "norm_minutes": 60, "product_weight": 1.5,
                                "complexity_levels": [], "position_codes": []})
    catalogue.create_task_type({"code": "DD01", "name": "Đo đạc địa chính", "group": "C",
                                "unit_of_measure": "thửa", "norm_minutes": 90, "product_weight": 2,
                                "complexity_levels": [], "position_codes": ["CV-DC"]})


def employee_items():
    me = db.session.scalar(select(Employee.id).where(Employee.code == EMPLOYEE.upper()))
    return [(i.title, i.status, i.planned, i.stars) for i in
            db.session.scalars(select(WorkItem).where(WorkItem.employee_id == me).order_by(WorkItem.id))]


def test_declare_in_the_morning_complete_in_the_evening_manager_reviews(phone, desktop, live_server,
                                                                         monkeypatch):
    clock = Clock(local(2026, 10, 14, 7, 40))
    monkeypatch.setattr(cal, "now", clock)
    in_tenant(live_server, add_catalogue, commit=True)
    page = phone.page

    # 07:40 on a phone: find the work without typing diacritics, declare two items.
    phone.login(EMPLOYEE)
    phone.goto(f"/t/{SLUG}/today")
    assert page.locator("h1").inner_text().startswith("Hôm nay")
    assert "Đo đạc địa chính" not in page.locator("#catalogue").inner_text()  # another position's work
    page.fill("#q", "ho tich")
    row = page.locator("#catalogue li.cat-row")
    expect(row).to_have_count(1)  # htmx swapped the list in as the user typed
    row.locator("input[name=quantity]").fill("2")
    # htmx swaps the form and the day in place: no navigation.
    row.get_by_role("button", name="Khai báo Giải quyết hồ sơ hộ tịch").click()
    expect(page.locator("#declare .flashes")).to_contain_text("Đã khai báo 1 việc.")
    page.fill("#q", "van ban")
    expect(page.locator("#catalogue li.cat-row")).to_have_count(1)
    page.get_by_role("button", name="Khai báo Soạn thảo văn bản hành chính").click()
    items = page.locator("section[aria-labelledby=mine-h] li.item")
    expect(items).to_have_count(2)
    assert "2 việc" in page.locator(".summary").inner_text() and "2 h 00" in page.locator(".summary").inner_text()
    assert phone.scroll_width() <= 360
    phone.screenshot("work-today-morning-phone", full_page=True)

    # 16:45: report results and complete both.
    clock.moment = local(2026, 10, 14, 16, 45)
    for n in range(2):
        item = page.locator("section[aria-labelledby=mine-h] li.item.status-planned").first
        item.locator("input[name=result_note]").fill(f"Đã xong phần việc {n + 1}")
        item.get_by_role("button", name="Hoàn thành").click()
        expect(page.locator("section[aria-labelledby=mine-h] li.item.status-done")).to_have_count(n + 1)
    phone.screenshot("work-today-evening-phone", full_page=True)
    phone.assert_clean()
    assert in_tenant(live_server, employee_items) == [
        ("Giải quyết hồ sơ hộ tịch", "done", True, None), ("Soạn thảo văn bản hành chính", "done", True, None)]

    # The head of the department sees them on the unit page and reviews one.
    page = desktop.page
    desktop.login(MANAGER)
    desktop.goto(f"/t/{SLUG}/unit?state=reviews")
    assert page.locator("h1").inner_text().startswith("Đơn vị của tôi")
    row = page.locator("#people table tbody tr", has_text=EMPLOYEE.upper())
    assert row.locator("td").nth(1).inner_text() == "2" and row.locator("td").nth(3).inner_text() == "2"
    reviews = page.locator("#queue li.item")
    assert reviews.count() == 2
    reviews.filter(has_text="Giải quyết hồ sơ hộ tịch").locator("input[name=ids]").check()
    page.select_option("#bulk-stars", "5")
    page.get_by_role("button", name="Đạt — các việc đã chọn", exact=True).click()
    expect(page.locator("#queue .flash")).to_have_text("1 việc đã đạt khi đánh giá.")
    assert page.locator("#queue li.item").count() == 1
    desktop.screenshot("work-unit-desktop", full_page=True)
    desktop.assert_clean()
    assert in_tenant(live_server, employee_items)[0] == ("Giải quyết hồ sơ hộ tịch", "done", True, 5)
