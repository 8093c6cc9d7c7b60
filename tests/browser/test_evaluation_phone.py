"""The evaluation procedure in a real browser at 390×844 (a phone), on the demo province:
the head of a department sends his proposal and the unit's minutes for one of his staff,
then the director of the Sở decides for the agency's staff — first with a wrong
confirmation (the error beside the field, the text kept), then with "SNV 2026". Both
databases; screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.auth.models import User
from core.auth.services import principal_for_user
from core.classification import procedure
from core.classification.models import EvaluationStep
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.scoring.models import PeriodScore
from tests.browser.conftest import _browsing
from tests.browser.test_work_day import EMPLOYEE, MANAGER, in_tenant

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}
DEPT = "SNV-P1-"


def _principal(code: str):
    e = db.session.scalar(select(Employee).where(Employee.code == code))
    return principal_for_user(db.session.get(User, e.user_id))


def seed() -> None:
    """Scores for the people of the Sở's first department (the only ones the scheme classifies),
    the Sở opened, every step done except the proposal and minutes for snv-p1-cv-02."""
    people = list(db.session.scalars(select(Employee).where(Employee.code.like(DEPT + "%")).order_by(Employee.code)))
    for n, e in enumerate(people):
        total = Decimal(70 + n)
        db.session.add(PeriodScore(employee_id=e.id, unit_id=e.unit_id, period="2026-06", item_count=3,
                                   working_days=20, task_score=total - 25, general_score=Decimal(25), total=total,
                                   components={}, sums={}, variant_key="decree335", variant_version="1.0.0",
                                   settings_hash="x", provisional=False))
    db.session.flush()
    agency = db.session.scalar(select(Employee.unit_id).where(Employee.code == "SNV-GD"))
    procedure.open_agency(_principal("SNV-ADMIN"), 2026, agency)
    step = {"level": "HTT", "comment": "Hoàn thành tốt"}
    minutes = {**step, "meeting_date": date(2026, 12, 8), "attendees": 8, "votes_for": 8,
               "votes_against": 0}
    for e in people:
        procedure.record_step(_principal(e.code), 2026, e.id, "self", step)
        if e.code == EMPLOYEE.upper():
            continue
        boss = db.session.get(Employee, e.manager_id).code
        procedure.record_step(_principal(boss), 2026, e.id, "manager", step)
        procedure.record_step(_principal(boss), 2026, e.id, "meeting", minutes)


def decided_level() -> str | None:
    me = db.session.scalar(select(Employee.id).where(Employee.code == EMPLOYEE.upper()))
    return db.session.scalar(select(EvaluationStep.level).where(EvaluationStep.employee_id == me,
                                                                EvaluationStep.step == "decision"))


def test_manager_proposes_and_the_director_decides_on_a_phone(browser, live_server, clock):
    clock.set(2026, 12, 9, 9, 0)
    in_tenant(live_server, seed, commit=True)
    browsing = _browsing(browser, live_server, PHONE_390)
    phone = next(browsing)
    try:
        page = phone.page
        phone.login(MANAGER)
        phone.goto(f"/t/{SLUG}/evaluation?year=2026")
        assert page.locator("h1").inner_text().startswith("Đánh giá, xếp loại cuối năm")
        todo = page.locator("section[aria-labelledby=todo-h] li.item")
        assert todo.count() == 1  # his own self-assessment is done; one proposal waits
        todo.locator("select[name=level]").select_option("HTXS")
        todo.locator("textarea[name=comment]").fill("Đề nghị HTXS: vượt 25% khối lượng, đúng hạn")
        phone.screenshot("evaluation-manager-proposal-phone", full_page=True)
        assert phone.scroll_width() <= 390
        with page.expect_navigation(wait_until="load"):
            todo.get_by_role("button", name="Gửi đề xuất").click()
        assert "Đã lưu." in page.locator(".flashes").inner_text()
        todo = page.locator("section[aria-labelledby=todo-h] li.item")  # now the unit's meeting
        todo.locator("input[name=meeting_date]").fill("08/12/2026")
        todo.locator("input[name=attendees]").fill("8")
        todo.locator("input[name=votes_for]").fill("7")
        todo.locator("input[name=votes_against]").fill("1")
        todo.locator("select[name=level]").select_option("HTXS")
        todo.locator("textarea[name=comment]").fill("Tập thể thống nhất đề nghị HTXS")
        with page.expect_navigation(wait_until="load"):
            todo.get_by_role("button", name="Lưu").click()
        assert page.locator("section[aria-labelledby=todo-h] li.item").count() == 0
        phone.assert_clean()

        phone.login("snv-gd")
        phone.goto(f"/t/{SLUG}/evaluation?year=2026")
        decision = page.locator("section[aria-labelledby=todo-h] li.item", has_text="Quyết định")
        assert "Để xác nhận, gõ SNV 2026" in decision.inner_text()
        assert decision.locator("table tbody tr").count() >= 8  # what will be frozen, shown before deciding
        assert decision.locator("table tbody tr", has_text="HTXS").count() == 1  # the one the meeting proposed
        decision.locator("input[name=confirmation]").fill("SNV 2025")
        with page.expect_navigation(wait_until="load"):
            decision.get_by_role("button", name="Quyết định").click()
        decision = page.locator("section[aria-labelledby=todo-h] li.item", has_text="Quyết định")
        assert decision.locator(".error").inner_text() == "Gõ chính xác: SNV 2026"
        assert decision.locator("input[name=confirmation]").input_value() == "SNV 2025"
        assert in_tenant(live_server, decided_level) is None
        phone.screenshot("evaluation-head-decision-error-phone", full_page=True)
        assert phone.scroll_width() <= 390
        decision.locator("input[name=confirmation]").fill("SNV 2026")
        with page.expect_navigation(wait_until="load"):
            decision.get_by_role("button", name="Quyết định").click()
        assert "Đã quyết định." in page.locator(".flashes").inner_text()
        assert in_tenant(live_server, decided_level) == "HTXS"
        phone.screenshot("evaluation-head-decided-phone", full_page=True)
        phone.assert_clean(allow=[re.compile(r"^console\.error: .*422")])
    finally:
        browsing.close()
