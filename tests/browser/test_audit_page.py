""""Nhật ký kiểm tra" in a real browser: the people are named, and the page fits a phone
(390 px, and the suite's 360 px phone) with long changes and a job's actor."""

from __future__ import annotations

from sqlalchemy import select

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
            db.session.commit()
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
