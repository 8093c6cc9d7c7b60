"""The audit page speaks to an inspector in words: the tenant's zone as "giờ Việt Nam,
UTC+7" (not "Asia/Ho_Chi_Minh"), and the filters' examples name a person the way the
inspector knows one, not by an actor key ("user:12")."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.auth.models import User
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.work.test_work_pages import sign_in

pytest_plugins = ("tests.work.test_work_support",)


def full_name(app, world, username: str) -> str:
    with app.app_context(), tenant_context(world.tenant_id):
        return db.session.scalar(select(Employee.full_name).join(User, Employee.user_id == User.id)
                                 .where(User.username == username))


def placeholder(html: str, field: str) -> str:
    return re.search(rf'<input id="{field}" name="{field}"[^>]*placeholder="([^"]*)"', html).group(1)


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_the_zone_and_the_examples_read_in_words(clean_app, client, world, who):
    sign_in(client, world, who)
    html = client.get(f"/t/{world.slug}/admin/audit").get_data(as_text=True)
    assert "Asia/Ho_Chi_Minh" not in html and "user:12" not in html and "employee:208" not in html
    assert "dùng giờ Việt Nam, UTC+7;" in html
    assert 'data-label="Thời điểm (giờ Việt Nam, UTC+7)"' in html
    name = full_name(clean_app, world, who)
    assert name and placeholder(html, "actor") == f"Họ tên hoặc tên đăng nhập, ví dụ: {name}"
    assert placeholder(html, "employee") == f"Họ tên hoặc mã cán bộ, ví dụ: {name}"


def test_english_reads_vietnam_time(clean_app, client, world):
    sign_in(client, world, "auditor")
    html = client.get(f"/t/{world.slug}/admin/audit?lang=en").get_data(as_text=True)
    assert "Times and the date filters are in Vietnam time, UTC+7;" in html


def test_another_zone_reads_by_its_offset(app):
    from core.i18n import zone_label

    with app.test_request_context("/?lang=vi"):
        assert zone_label("Asia/Bangkok") == "UTC+7, Asia/Bangkok"
        assert zone_label("Asia/Kolkata") == "UTC+5:30, Asia/Kolkata"
        assert zone_label("no/such-zone") == "no/such-zone"
