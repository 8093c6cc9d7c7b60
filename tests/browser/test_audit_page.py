""""Nhật ký kiểm tra" in a real browser: the people are named, and the page fits a phone
(390 px, and the suite's 360 px phone) with long changes and a job's actor."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core import unit_of_work
from core.audit.services import record
from core.auth.models import User
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from core.tenants.models import Tenant


def _long_events(app) -> str:
    """A change with a long unbroken value and an event a job made for the admin; returns
    the admin's full name."""
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tid):
            admin = db.session.scalar(select(User).where(User.username == "admin"))
            name = db.session.scalar(select(Employee.full_name).where(Employee.user_id == admin.id))
            record("settings.update", "tenant", tid, before={"note": "x" * 300},
                   after={"import_connectors": ["csv-nhan-su", "excel-cong-viec"] * 8},
                   actor=f"user:{admin.id}:admin via job 0b5e9c1e-8f0a-4c59-9d77-2f0f1f3a9c11")
            unit_of_work.commit()
    return name


def test_the_audit_log_names_people_and_fits_a_phone(phone, live_server):
    name = _long_events(live_server.app)
    phone.login("thanhtra")
    for width in (390, 360):
        phone.page.set_viewport_size({"width": width, "height": 844})
        phone.goto(f"/t/{SLUG}/admin/audit")
        first = phone.page.locator("tbody tr", has_text="settings.update").first
        assert first.locator("td.actor").inner_text() == f"{name} (admin) qua tác vụ 0b5e9c1e"
        first.locator("details summary").click()
        assert phone.scroll_width() <= width
        phone.screenshot(f"audit-log-phone-{width}", full_page=False)
    phone.assert_clean()


def test_an_inspector_finds_a_person_by_name_pages_and_exports_on_a_phone(phone, live_server):
    """At 390×844, as the inspector "thanhtra": the admin's full name typed in the actor
    filter finds their 130 writes and the job they asked for, 50 a page; the pager keeps
    the filter, the export link carries it, and a reversed date range is refused beside
    its field — nothing wider than the phone."""
    import csv
    import io
    from zoneinfo import ZoneInfo

    from core.audit.models import AuditEvent

    app = live_server.app
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tid):
            admin = db.session.scalar(select(User).where(User.username == "admin"))
            name = db.session.scalar(select(Employee.full_name).where(Employee.user_id == admin.id))
            for i in range(130):
                record("test.bulk", "thing", i, after={"i": i}, actor=f"user:{admin.id}:admin")
            record("scores.recalculate", "period", "2026-10",
                   actor=f"user:{admin.id}:admin via job 3f2a0c1e-8f0a-4c59-9d77-2f0f1f3a9c11")
            unit_of_work.commit()
            job_at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.actor.like("% via job 3f2a0c1e-%")))
            expected = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.actor.startswith(f"user:{admin.id}:")))
    assert expected >= 131
    phone.login("thanhtra")
    phone.page.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"/t/{SLUG}/admin/audit")
    # The filters are folded so the events start on the first screen of a phone.
    assert phone.page.locator("tbody tr").first.bounding_box()["y"] < 844
    phone.page.click(".audit .filters summary")
    phone.page.fill("#actor", name)
    with phone.page.expect_navigation(wait_until="load"):
        phone.page.click(".audit form button[type=submit]")
    page = phone.page
    assert page.locator("h1 .count").inner_text() == f"({expected})"
    assert page.locator(".audit .filters summary").inner_text() == f"Lọc · Người thực hiện: {name}"
    assert page.locator("tbody tr").first.bounding_box()["y"] < 844
    assert page.locator("nav.pages span").inner_text() == f"Trang 1/{-(-expected // 50)}"
    actors = page.locator("tbody td.actor").all_inner_texts()
    assert len(actors) == 50 and all(a.startswith(f"{name} (admin)") for a in actors)
    assert actors[0] == f"{name} (admin) qua tác vụ 3f2a0c1e"  # newest first: the job
    # Times in the tenant's zone (Hồ Chí Minh), the UTC value in the tooltip.
    first_at = page.locator("tbody td.at").first
    assert first_at.inner_text() == job_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M:%S")
    assert first_at.get_attribute("data-label") == "Thời điểm (Asia/Ho_Chi_Minh)"
    assert phone.scroll_width() <= 390
    phone.screenshot("audit-log-person-390")

    with page.expect_navigation(wait_until="load"):
        page.click("nav.pages a:has-text('Cũ hơn')")
    assert page.locator("#actor").input_value() == name
    assert page.locator("nav.pages span").inner_text() == f"Trang 2/{-(-expected // 50)}"
    assert page.locator("tbody td.actor").count() == min(50, expected - 50)

    href = page.locator("a.button:has-text('Xuất tệp CSV')").get_attribute("href")
    export = page.request.get(live_server.page_url(href))
    assert export.status == 200
    rows = list(csv.reader(io.StringIO(export.body().decode("utf-8-sig"))))[1:]
    assert len(rows) == expected and {r[11].split(",")[0] for r in rows} == {f"{name} (admin)"}

    page.click(".audit .filters summary")
    # Day boxes read dd/mm/yyyy (not the browser's own date format).
    page.fill("#from", "15/10/2026")
    page.fill("#to", "14/10/2026")
    with page.expect_navigation(wait_until="load"):
        page.click(".audit form button[type=submit]")
    assert page.locator("#to-err").inner_text() == "Trước ngày bắt đầu."
    assert (page.locator("#from").input_value(), page.locator("#to").input_value()) == ("15/10/2026", "14/10/2026")
    assert page.locator("#to").get_attribute("aria-invalid") == "true"
    assert page.locator("#actor").input_value() == name
    assert page.locator("h1 .count").inner_text() == "(0)" and page.locator("a.button").count() == 0
    assert phone.scroll_width() <= 390
    phone.screenshot("audit-log-bad-range-390")
    phone.assert_clean(allow=[re.compile(r"422")])
