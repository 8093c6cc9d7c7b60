"""The year's classification in a real browser (issue 6), on the demo province: the
admin runs it, an employee reads theirs and appeals on a phone, the head of the
department rejects the appeal with a reason, the admin finalises. Both databases;
screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.demo import SLUG
from core.org.models import Employee
from core.scoring.models import PeriodScore
from tests.browser.test_work_day import EMPLOYEE, MANAGER, in_tenant

pytestmark = pytest.mark.browser


def seed_totals() -> None:
    from core.extensions import db

    for n, e in enumerate(db.session.scalars(select(Employee).order_by(Employee.id))):
        total = Decimal(45 + (n * 7) % 53)  # 45…97, spread over every band
        db.session.add(PeriodScore(employee_id=e.id, unit_id=e.unit_id, period="2026-06", item_count=3,
                                   working_days=20, task_score=total - 25, general_score=Decimal(25), total=total,
                                   components={}, sums={}, variant_key="decree335", variant_version="1.0.0",
                                   settings_hash="x", provisional=False))


def test_run_read_appeal_reject_and_finalise(phone, desktop, live_server):
    in_tenant(live_server, seed_totals, commit=True)
    page = desktop.page
    desktop.login("admin")
    desktop.goto(f"/t/{SLUG}/classification/province?year=2026")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Chạy xếp loại").click()
    assert "Đã thực hiện." in page.locator(".flashes").inner_text()
    assert page.locator("svg.chart rect").count() >= 3
    assert page.locator("h2#dist-h").is_visible() and page.locator("h2#quota-h").is_visible()
    desktop.screenshot("classification-province-draft-desktop", full_page=True)

    mine = phone.page
    phone.login(EMPLOYEE)
    phone.goto(f"/t/{SLUG}/classification?year=2026")
    assert mine.locator("h1").inner_text().startswith("Xếp loại của tôi")
    mine.fill("#reason", "Tôi đã hoàn thành mọi việc đúng hạn")
    with mine.expect_navigation(wait_until="load"):
        mine.get_by_role("button", name="Gửi khiếu nại").click()
    assert "Đã gửi khiếu nại." in mine.locator(".flashes").inner_text()
    assert phone.scroll_width() <= 360
    phone.screenshot("classification-mine-phone", full_page=True)
    phone.assert_clean()

    head = desktop.page
    desktop.login(MANAGER)
    desktop.goto(f"/t/{SLUG}/classification/unit?year=2026")
    appeal = head.locator("section[aria-labelledby=appeals-h] li.item")
    assert appeal.count() == 1
    appeal.locator("input[name=reason]").fill("Điểm tháng 6 đã được xác nhận")
    with head.expect_navigation(wait_until="load"):
        appeal.get_by_role("button", name="Không chấp nhận").click()
    assert head.locator("section[aria-labelledby=appeals-h]").count() == 0
    desktop.screenshot("classification-review-desktop", full_page=True)

    desktop.login("admin")
    desktop.goto(f"/t/{SLUG}/classification/province?year=2026")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Phê duyệt chính thức (khóa năm)").click()
    page.get_by_role("checkbox").check()  # the confirmation step: the box says what locking ends
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Phê duyệt chính thức (khóa năm)").click()
    assert "Chính thức" in page.locator("main").inner_text()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Chia thưởng").click()
    assert page.locator("section[aria-labelledby=bonus-h] li.item a").count() == 1
    desktop.screenshot("classification-province-final-desktop", full_page=True)
    desktop.assert_clean()

    phone.login("admin")
    phone.goto(f"/t/{SLUG}/classification/province?year=2026")
    assert phone.scroll_width() <= 360
    phone.screenshot("classification-province-phone", full_page=True)
    # The tables' headings are hidden on a phone: each count says which level (or column) it
    # is, the unit's name comes first in bold.
    assert phone.page.locator("section[aria-labelledby=dist-h] thead").is_hidden()
    labels = phone.page.eval_on_selector_all(
        "section[aria-labelledby=dist-h] tbody td:not(.name), section[aria-labelledby=quota-h] tbody td:not(.name)",
        "cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert labels and all(label.startswith('"') and label.endswith(': "') for label in labels), labels[:5]
    assert {'"HTXS: "', '"HTT: "', '"HT: "', '"KHT: "'} <= set(labels)
    phone.goto(phone.page.locator("section[aria-labelledby=bonus-h] li.item a").first.get_attribute("href"))
    labels = phone.page.eval_on_selector_all(
        "table.bonus-allocations tbody td:not(.name)", "cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert labels and set(labels) == {'"Mức xếp loại: "', '"Số tháng làm việc: "', '"Số tiền: "'}, set(labels)
    assert "hoàn thành" in phone.page.locator("main").inner_text()  # the run's status, not "finished"
    assert phone.scroll_width() <= 360
    phone.screenshot("classification-bonus-phone", full_page=True)
