"""The signed decision in a real browser at 390×844 (a phone), on the demo province: the
director of the Sở, who took the decision step for its staff, uploads the decision PDF he
signed with his token (PAdES; a throwaway CA here) on the evaluation page; the page shows
the step signed with who and when, and a person of the agency sees the same under "my
evaluation". A signature by someone else is refused beside the file field first. Both
databases; screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from core.classification import procedure
from core.demo import SLUG
from core.documents import services as documents
from core.extensions import db
from core.org.models import Employee
from tests.browser.conftest import _browsing
from tests.browser.test_evaluation_phone import PHONE_390, _principal, seed
from tests.browser.test_work_day import EMPLOYEE, in_tenant
from tests.documents.test_documents_support import ThrowawayCA, sign

pytestmark = pytest.mark.browser


def decided_and_issued() -> tuple[str, int, bytes]:
    """Every step done, the director decides the Sở's staff and prints the decision PDF."""
    seed()
    me = db.session.scalar(select(Employee).where(Employee.code == EMPLOYEE.upper()))
    minutes = {"level": "HTT", "comment": "Hoàn thành tốt", "meeting_date": date(2026, 12, 8), "attendees": 8,
               "votes_for": 8, "votes_against": 0}
    boss = db.session.get(Employee, me.manager_id).code
    procedure.record_step(_principal(boss), 2026, me.id, "manager", minutes)
    procedure.record_step(_principal(boss), 2026, me.id, "meeting", minutes)
    director = db.session.scalar(select(Employee).where(Employee.code == "SNV-GD"))
    procedure.decide(_principal("SNV-GD"), 2026, director.unit_id, "staff", "SNV 2026")
    pdf = documents.decision(_principal("SNV-GD"), director.unit_id, 2026, "pdf", "15")
    return director.full_name, director.unit_id, pdf.content


def test_the_director_uploads_the_signed_decision_on_a_phone(browser, live_server, clock, monkeypatch):
    clock.set(2026, 12, 9, 9, 0)
    ca = ThrowawayCA()
    monkeypatch.setitem(live_server.app.config, "CONGVU_SIGNING_TRUST_ROOTS", ca.pem)
    name, agency_id, issued = in_tenant(live_server, decided_and_issued, commit=True)
    browsing = _browsing(browser, live_server, PHONE_390)
    phone = next(browsing)
    try:
        page = phone.page
        phone.login("snv-gd")
        phone.goto(f"/t/{SLUG}/evaluation?year=2026")
        block = page.locator(f"#decision-{agency_id}-staff")
        assert "chưa ký số" in block.inner_text() and f"bởi {name}, 09/12/2026 09:00" in block.inner_text()
        # Signed by another person: refused beside the field, nothing recorded.
        block.locator("input[type=file]").set_input_files(
            {"name": "qd.pdf", "mimeType": "application/pdf", "buffer": sign(issued, ca.person("Lê Văn Khác"))})
        with page.expect_navigation(wait_until="load"):
            block.get_by_role("button", name="Tải lên quyết định đã ký số").click()
        block = page.locator(f"#decision-{agency_id}-staff")
        assert block.locator(".error").inner_text().startswith(
            "Người ký không phải người có thẩm quyền quyết định của cơ quan.")
        assert "chưa ký số" in block.inner_text()
        assert phone.scroll_width() <= 390
        clock.set(2026, 12, 9, 14, 5)
        block.locator("input[type=file]").set_input_files(
            {"name": "qd-da-ky.pdf", "mimeType": "application/pdf", "buffer": sign(issued, ca.person(name))})
        with page.expect_navigation(wait_until="load"):
            block.get_by_role("button", name="Tải lên quyết định đã ký số").click()
        assert "Quyết định đã ký số đã được kiểm tra và ghi nhận." in page.locator(".flashes").inner_text()
        block = page.locator(f"#decision-{agency_id}-staff")
        assert block.locator(".signed").inner_text() == f"Đã ký số: {name}, 09/12/2026 14:05"
        assert block.locator("input[type=file]").count() == 0
        assert block.get_by_role("link", name="Tệp PDF đã ký số").count() == 1
        phone.screenshot("evaluation-decision-signed-phone", full_page=True)
        assert phone.scroll_width() <= 390
        phone.assert_clean(allow=[re.compile(r"^console\.error: .*422")])

        phone.login(EMPLOYEE)
        phone.goto(f"/t/{SLUG}/evaluation?year=2026")
        mine = page.locator("#my-decision")
        assert f"Đã ký số: {name}, 09/12/2026 14:05" in mine.inner_text()
        assert mine.get_by_role("link", name="Thông báo kết quả bằng văn bản (PDF)").count() == 1
        phone.screenshot("evaluation-my-decision-signed-phone", full_page=True)
        assert phone.scroll_width() <= 390
        phone.assert_clean(allow=[re.compile(r"^console\.error: .*422")])  # the refused upload above
    finally:
        browsing.close()
