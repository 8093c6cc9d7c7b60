"""The whole annual evaluation for one person, as each actor walks it in a real browser at
390×844 (a phone), on the demo province with eleven months of scores for the Sở Nội vụ's
first department: the director opens the Sở's evaluation; Đỗ Ngọc Hiền (snv-p1-cv-02) is
urged to self-assess on her home page and does; her head of department (truongphong) finds
the proposal waiting on his home page, proposes HTT and keys in the unit's minutes (a wrong
count first: the error beside its field); the director finds the decision on his home page
and decides; she reads the decided level and the last day to appeal on her home page and
appeals; the director settles it (a missing reason first) and her level becomes HTXS; the
audit log names who took each step. Each actor starts from the home page the login lands on,
nothing scrolls sideways, and the browser reports nothing. Both databases."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.classification import procedure
from core.classification.models import EvaluationStep
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.scoring.models import PeriodScore
from tests.browser.conftest import _browsing
from tests.browser.test_evaluation_phone import _principal
from tests.browser.test_work_day import in_tenant

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}
HER, HER_CODE, HER_NAME = "snv-p1-cv-02", "SNV-P1-CV-02", "Đỗ Ngọc Hiền"
HEAD_OF_DEPT, DIRECTOR = "truongphong", "snv-gd"
# The form posts answer 422 with the error beside its field; the browser logs those.
UNPROCESSABLE = re.compile(r"^console\.error: .*422")


def _department() -> list[Employee]:
    return list(db.session.scalars(select(Employee).where(Employee.code.like("SNV-P1-%")).order_by(Employee.code)))


def seed_scores() -> None:
    """January to November of the department, 68–92 a month: the scheme classifies them
    (the rest of the Sở has no scores, so no level and no steps)."""
    for n, e in enumerate(_department()):
        for m in range(1, 12):
            total = Decimal(68 + (n * 3 + m) % 25)
            db.session.add(PeriodScore(employee_id=e.id, unit_id=e.unit_id, period=f"2026-{m:02d}", item_count=30,
                                       working_days=20, task_score=total - 25, general_score=Decimal(25),
                                       total=total, components={}, sums={}, variant_key="decree335",
                                       variant_version="1.0.0", settings_hash="x", provisional=False))
    db.session.flush()


def colleagues_done() -> None:
    """Her colleagues' three steps (the decision waits for every classified person)."""
    step = {"level": "HTT", "comment": "Hoàn thành tốt nhiệm vụ"}
    minutes = {**step, "meeting_date": date(2026, 12, 8), "attendees": 8, "votes_for": 8, "votes_against": 0}
    for e in _department():
        if e.code == HER_CODE:
            continue
        procedure.record_step(_principal(e.code), 2026, e.id, "self", step)
        boss = db.session.get(Employee, e.manager_id).code
        procedure.record_step(_principal(boss), 2026, e.id, "manager", step)
        procedure.record_step(_principal(boss), 2026, e.id, "meeting", minutes)


def her_levels() -> dict[str, str]:
    me = db.session.scalar(select(Employee.id).where(Employee.code == HER_CODE))
    return {s.step: s.level for s in db.session.scalars(select(EvaluationStep).where(EvaluationStep.employee_id == me))}


def test_one_person_through_the_whole_procedure_on_a_phone(browser, live_server, clock):
    clock.set(2026, 12, 1, 8, 0)
    in_tenant(live_server, seed_scores, commit=True)
    browsing = _browsing(browser, live_server, PHONE_390)
    phone = next(browsing)
    page = phone.page
    todo = page.locator("section[aria-labelledby=todo-h] li.item")

    def on_phone(name: str) -> None:
        phone.screenshot(f"procedure-walk-{name}", full_page=True)
        assert phone.scroll_width() <= 390, name

    def follow(link) -> None:
        with page.expect_navigation(wait_until="load"):
            link.click()

    try:
        # 1 December: the director opens the Sở's evaluation from his home page. He has no
        # scores of his own, so he is not urged to a self-assessment he has no form for.
        phone.login(DIRECTOR)
        assert page.get_by_test_id("self-assessment").count() == 0
        follow(page.locator("nav.quick").get_by_role("link", name="Đánh giá, xếp loại cuối năm"))
        assert "Còn 15 ngày đến hạn" in page.locator("#deadline").inner_text()
        follow(page.locator("#agencies li.item", has_text="Sở Nội vụ").get_by_role("button", name="Mở kỳ đánh giá"))
        assert "Kỳ đánh giá đã mở." in page.locator(".flashes").inner_text()
        # The months that count, as people write them (not 2026-01 – 2026-11).
        assert "đang mở: tháng 01/2026 – tháng 11/2026" in page.locator("#agencies").inner_text()
        on_phone("1-opened")

        # 3 December: she is told on her home page, with the deadline, and self-assesses.
        clock.set(2026, 12, 3, 9, 0)
        phone.login(HER)
        notice = page.get_by_test_id("self-assessment")
        assert "trước ngày 15/12/2026" in notice.inner_text()
        follow(notice.get_by_role("link", name="Tự đánh giá ngay"))
        mine = todo.filter(has_text="tự đánh giá")
        mine.locator("select[name=level]").select_option("HTXS")
        follow(mine.get_by_role("button", name="Lưu"))
        assert mine.locator("textarea[name=comment] ~ .error").inner_text() == "Bắt buộc."
        assert mine.locator("select[name=level]").input_value() == "HTXS"  # what she chose is kept
        on_phone("2-self-error")
        mine.locator("textarea[name=comment]").fill("Vượt 20% khối lượng; sáng kiến số hóa hồ sơ biên chế đã áp dụng")
        follow(mine.get_by_role("button", name="Lưu"))
        assert "Đã lưu." in page.locator(".flashes").inner_text()
        assert "Tự đánh giá: HTXS" in page.locator("section[aria-labelledby=mine-h]").inner_text()
        # Who acts next, and by when.
        assert page.locator("#next-step").inner_text() == ("Bước tiếp theo: nhận xét, đề xuất của người quản lý, "
                                                          "do Nguyễn Hoài Lan thực hiện, hạn 15/12/2026.")
        phone.assert_clean(allow=[UNPROCESSABLE])

        # 7 December: her head of department finds the proposal and the minutes waiting.
        in_tenant(live_server, colleagues_done, commit=True)
        clock.set(2026, 12, 7, 9, 0)
        phone.login(HEAD_OF_DEPT)
        waiting = page.get_by_test_id("evaluation-waiting")
        assert "1 bước đánh giá người bạn quản lý" in waiting.inner_text()
        assert "hạn 15/12/2026" in waiting.inner_text()
        on_phone("3-head-of-dept-home")
        follow(waiting.get_by_role("link", name="Mở trang đánh giá cuối năm"))
        item = todo.filter(has_text=HER_NAME)
        assert "Tự đánh giá: HTXS" in item.inner_text()  # her self-assessment beside his form
        item.locator("select[name=level]").select_option("HTT")
        item.locator("textarea[name=comment]").fill("Hoàn thành tốt; sáng kiến chưa được Hội đồng công nhận")
        follow(item.get_by_role("button", name="Gửi đề xuất"))
        item = todo.filter(has_text=HER_NAME)
        assert "họp tập thể" in item.inner_text()  # the next step is his too
        item.locator("input[name=meeting_date]").fill("07/12/2026")
        item.locator("input[name=attendees]").fill("8")
        item.locator("input[name=votes_for]").fill("9")
        item.locator("input[name=votes_against]").fill("0")
        item.locator("textarea[name=comment]").fill("Tập thể thống nhất đề nghị HTT")
        follow(item.get_by_role("button", name="Lưu"))
        item = todo.filter(has_text=HER_NAME)
        assert item.locator("input[name=votes_for] + .error").inner_text() == "Số phiếu nhiều hơn số người dự họp."
        assert item.locator("input[name=attendees]").input_value() == "8"
        on_phone("4-minutes-error")
        item.locator("input[name=votes_for]").fill("7")
        item.locator("input[name=votes_against]").fill("1")
        follow(item.get_by_role("button", name="Lưu"))
        assert todo.count() == 0
        phone.assert_clean(allow=[UNPROCESSABLE])

        # The director finds the decision waiting on his home page and decides.
        phone.login(DIRECTOR)
        waiting = page.get_by_test_id("evaluation-waiting")
        assert "1 quyết định" in waiting.inner_text()
        follow(waiting.get_by_role("link", name="Mở trang đánh giá cuối năm"))
        decision = todo.filter(has_text="Quyết định: Sở Nội vụ")
        assert decision.locator("tbody tr", has_text=HER_NAME).locator("td").nth(1).inner_text() == "HTT"
        decision.locator("input[name=confirmation]").fill("SNV 2026")
        follow(decision.get_by_role("button", name="Quyết định"))
        assert "Đã quyết định." in page.locator(".flashes").inner_text()
        assert in_tenant(live_server, her_levels)["decision"] == "HTT"
        on_phone("5-decided")

        # She reads the decision on her home page, with the last day to appeal, and appeals.
        phone.login(HER)
        notice = page.get_by_test_id("evaluation-decided")
        assert "đã được quyết định: HTT" in notice.inner_text()
        assert "khiếu nại đến hết ngày 22/12/2026" in notice.inner_text()
        assert page.get_by_test_id("self-assessment").count() == 0
        on_phone("6-her-home-decided")
        follow(notice.get_by_role("link", name="Xem quyết định"))
        assert "Ngô Thu An" in page.locator("#my-decision").inner_text()
        assert page.locator("#next-step").count() == 0  # decided: nobody's step is due
        assert "22/12/2026" in page.locator("#appeal-until").inner_text()
        page.locator("#appeal-reason").fill("Sáng kiến số hóa hồ sơ đã được Hội đồng sáng kiến Sở công nhận ngày 05/12")
        follow(page.locator("#appeal").get_by_role("button", name="Khiếu nại"))
        assert "Đã gửi khiếu nại của bạn." in page.locator(".flashes").inner_text()
        assert "đang chờ Ngô Thu An giải quyết" in page.locator("#my-appeals").inner_text()
        assert page.locator("#appeal").count() == 0  # one appeal at a time: no second form
        on_phone("7-appealed")

        # The director settles it: the appeal names her; a reason is required.
        phone.login(DIRECTOR)
        waiting = page.get_by_test_id("evaluation-waiting")
        assert "1 khiếu nại cần giải quyết" in waiting.inner_text()
        follow(waiting.get_by_role("link", name="Mở trang đánh giá cuối năm"))
        appeal = todo.filter(has_text="Khiếu nại")
        assert HER_NAME in appeal.inner_text()
        appeal.locator("select[name=level]").select_option("HTXS")
        follow(appeal.get_by_role("button", name="Chấp nhận", exact=True))
        appeal = todo.filter(has_text="Khiếu nại")
        assert appeal.locator("input[name=reason] + .error").inner_text() == "Bắt buộc."
        on_phone("8-settle-error")
        appeal.locator("input[name=reason]").fill("Sáng kiến được công nhận trước khi quyết định")
        appeal.locator("select[name=level]").select_option("HTXS")
        follow(appeal.get_by_role("button", name="Chấp nhận", exact=True))
        assert todo.count() == 0
        assert in_tenant(live_server, her_levels) == {"self": "HTXS", "manager": "HTT", "meeting": "HTT",
                                                      "decision": "HTXS"}
        phone.assert_clean(allow=[UNPROCESSABLE])

        # She sees the outcome where she appealed.
        phone.login(HER)
        phone.goto(f"/t/{SLUG}/evaluation?year=2026")
        outcome = page.locator("#my-appeals").inner_text()
        assert "được chấp nhận" in outcome and "HTXS" in outcome
        assert "Quyết định: HTXS" in page.locator("section[aria-labelledby=mine-h]").inner_text()
        on_phone("9-settled")
        # 'Xếp loại của tôi' sends her to the evaluation, with no draft's appeal date or stored reason.
        follow(page.locator("nav.tabs").get_by_role("link", name="Xếp loại của tôi"))
        assert page.locator("#under-procedure").is_visible()
        assert "Decision" not in page.locator("main").inner_text()

        # The audit log names who took each step.
        phone.login("admin")
        rows = page.locator("tbody tr")
        for login, actor, action in ((DIRECTOR, "Ngô Thu An", "Mở đợt đánh giá"),
                                     (HER, HER_NAME, "Tự đánh giá"),
                                     (HEAD_OF_DEPT, "Nguyễn Hoài Lan", "Nhận xét, đề xuất của người quản lý"),
                                     (HEAD_OF_DEPT, "Nguyễn Hoài Lan", "Họp tập thể"),
                                     (DIRECTOR, "Ngô Thu An", "Quyết định kết quả đánh giá"),
                                     (HER, HER_NAME, "Khiếu nại kết quả đánh giá"),
                                     (DIRECTOR, "Ngô Thu An", "Giải quyết khiếu nại đánh giá")):
            phone.goto(f"/t/{SLUG}/admin/audit?actor={login}")
            mentions = rows.filter(has_text=f"{actor} ({login})").filter(has_text=action)
            if action not in ("Mở đợt đánh giá", "Quyết định kết quả đánh giá"):
                mentions = mentions.filter(has_text=HER_NAME)
            assert mentions.count() >= 1, (login, action)
        phone.assert_clean(allow=[UNPROCESSABLE])
    finally:
        browsing.close()
