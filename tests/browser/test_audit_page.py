""""Nhật ký kiểm tra" in a real browser: the people are named, and the page fits a phone
(390 px, and the suite's 360 px phone) with long changes and a job's actor."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core import unit_of_work
from core.audit.services import record
from core.audit.views import PAGE_SIZE
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
        # The change field by field, then the stored JSON with its long unbroken value.
        first.locator("td.details > details > summary").click()
        first.locator("details.stored > summary").click()
        assert phone.scroll_width() <= width
        phone.screenshot(f"audit-log-phone-{width}", full_page=False)
    phone.assert_clean()


def test_an_inspector_finds_a_person_by_name_pages_and_exports_on_a_phone(phone, live_server):
    """At 390×844, as the inspector "thanhtra": the admin's full name typed in the actor
    filter finds their 130 writes and the job they asked for, a page of them at a time; the pager keeps
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
    assert page.locator("nav.pager span").inner_text() == f"Trang 1/{-(-expected // PAGE_SIZE)}"
    actors = page.locator("tbody td.actor").all_inner_texts()
    assert len(actors) == PAGE_SIZE and all(a.startswith(f"{name} (admin)") for a in actors)
    assert actors[0] == f"{name} (admin) qua tác vụ 3f2a0c1e"  # newest first: the job
    # Times in the tenant's zone (Hồ Chí Minh), the UTC value in the tooltip.
    first_at = page.locator("tbody td.at").first
    assert first_at.inner_text() == job_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M:%S")
    assert first_at.get_attribute("data-label") == "Thời điểm (giờ Việt Nam, UTC+7)"
    assert phone.scroll_width() <= 390
    phone.screenshot("audit-log-person-390")

    with page.expect_navigation(wait_until="load"):
        page.click("nav.pager a[rel=next]")
    assert page.locator("#actor").input_value() == name
    assert page.locator("nav.pager span").inner_text() == f"Trang 2/{-(-expected // PAGE_SIZE)}"
    assert page.locator("tbody td.actor").count() == min(PAGE_SIZE, expected - PAGE_SIZE)

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


def test_the_inspector_reads_whom_and_what_each_event_touched_on_a_phone(phone, live_server):
    """At 390×844, as the inspector "thanhtra": an event on a person reads "Nhân sự" and
    their name and code, one on a work item its title, owner and day, one on a person
    deleted since the name the event kept — the stored type and id beneath each; the
    person filter (by code) lists what was done to or by that person; nothing wider than
    the phone."""
    from core.auth.services import principal_for_user
    from core.work import services as work
    from core.work.calendar import local_today
    from tests.browser.test_work_day import add_catalogue

    app = live_server.app
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tid):
            admin = db.session.scalar(select(User).where(User.username == "admin"))
            add_catalogue()
            owner = principal_for_user(db.session.scalar(select(User).where(User.username == "snv-p1-cv-02")))
            item, _ = work.declare(owner, {"task_type_code": "VB01", "title": "Soạn công văn trả lời Sở Tài chính",
                                           "work_date": local_today(), "quantity": 1})
            person = db.session.get(Employee, item.employee_id)
            name, code, title, day = person.full_name, person.code, item.title, item.work_date
            person_id, item_id = person.id, item.id
            actor = f"user:{admin.id}:admin"
            record("employee.update", "employee", person_id, before={"is_leader": False},
                   after={"is_leader": True}, actor=actor)
            record("work_item.review", "work_item", item_id, after={"passed": False}, actor=actor)
            record("employee.delete", "employee", 987654321,
                   before={"full_name": "Phạm Thị Nghỉ Hưu Với Một Cái Tên Rất Dài", "code": "NV-NGHI-HUU"}, actor=actor)
            unit_of_work.commit()
    phone.login("thanhtra")
    page = phone.page
    page.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"/t/{SLUG}/admin/audit")

    def cell(action: str):
        return page.locator("tbody tr", has_text=action).first.locator("td.object")

    assert cell("employee.update").locator(".kind").inner_text() == "Nhân sự"
    assert cell("employee.update").locator(".name").inner_text() == f"{name} ({code})"
    assert cell("employee.update").locator(".raw").inner_text() == f"employee #{person_id}"
    assert cell("work_item.review").locator(".kind").inner_text() == "Công việc"
    assert cell("work_item.review").locator(".name").inner_text() == \
        f"“{title}” của {name}, ngày {day.strftime('%d/%m/%Y')}"
    assert cell("employee.delete").locator(".name").inner_text() == \
        "Phạm Thị Nghỉ Hưu Với Một Cái Tên Rất Dài (NV-NGHI-HUU) (đã xóa)"
    assert phone.scroll_width() <= 390
    phone.screenshot("audit-log-objects-390", full_page=True)

    page.click(".audit .filters summary")
    # The day boxes keep the width of the row (their picker button beside them, not over them).
    assert page.locator("#from").bounding_box()["width"] >= 250
    assert page.locator(".day-box:has(#from) .day-pick").bounding_box()["width"] <= 60
    page.fill("#employee", code)
    with page.expect_navigation(wait_until="load"):
        page.click(".audit form button[type=submit]")
    assert page.locator(".audit .filters summary").inner_text() == f"Lọc · Nhân sự (bị tác động hoặc thực hiện): {code}"
    raws = page.locator("tbody td.object .raw").all_inner_texts()
    assert f"employee #{person_id}" in raws and f"work_item #{item_id}" in raws
    assert "employee #987654321" not in raws
    assert phone.scroll_width() <= 390
    phone.screenshot("audit-log-person-filter-390", full_page=True)

    page.click(".audit .filters summary")
    page.fill("#employee", "Không Ai Cả")
    with page.expect_navigation(wait_until="load"):
        page.click(".audit form button[type=submit]")
    assert page.locator("#employee-err").inner_text() == "Không có nhân sự nào của tỉnh khớp với “Không Ai Cả”."
    assert page.locator("#employee").get_attribute("aria-invalid") == "true"
    assert phone.scroll_width() <= 390
    phone.assert_clean(allow=[re.compile(r"422")])


def test_how_and_from_where_read_beside_the_actor_on_a_phone(phone, live_server):
    """At 390 and 360 px: a page write from a long IPv6 address and an API write with its
    token say so beside the actor, the address on its own muted line, nothing wider than
    the phone."""
    import dataclasses

    from flask import g

    from core.auth.services import principal_for_user

    app = live_server.app
    address = "2001:db8:85a3:1234:5678:8a2e:370:7334"
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tid):
            admin = db.session.scalar(select(User).where(User.username == "admin"))
            actor = f"user:{admin.id}:admin"
            # Each committed inside its request: the request's end rolls back what is left.
            with app.test_request_context(f"/t/{SLUG}/admin/people", environ_base={"REMOTE_ADDR": address}):
                record("employee.update", "employee", 1, after={"is_leader": True}, actor=actor)
                unit_of_work.commit()
            with app.test_request_context(f"/api/v1/tenants/{SLUG}/employees", environ_base={"REMOTE_ADDR": address}):
                g.principal = dataclasses.replace(principal_for_user(admin), token_id=4242)
                record("employee.create", "employee", 2, after={"code": "NV-MOI"}, actor=actor)
                unit_of_work.commit()
    phone.login("thanhtra")
    for width in (390, 360):
        phone.page.set_viewport_size({"width": width, "height": 844})
        phone.goto(f"/t/{SLUG}/admin/audit")
        on_page = phone.page.locator("tbody tr", has_text="employee.update").first.locator("td.actor")
        on_api = phone.page.locator("tbody tr", has_text="employee.create").first.locator("td.actor")
        assert on_page.locator(".via").inner_text() == "qua trang web"
        assert on_page.locator(".ip").inner_text() == f"IP {address}"
        assert on_api.locator(".via").inner_text() == "qua API (token 4242)"
        # The address is a line of its own, under the name, not beside it.
        assert on_page.locator(".ip").bounding_box()["y"] > on_page.locator("strong").bounding_box()["y"]
        assert phone.scroll_width() <= width
        phone.screenshot(f"audit-log-via-{width}", full_page=False)
    phone.assert_clean()
