"""The employees list on a phone: thirty to a page, searched by name, code or username
with or without Vietnamese marks, and a saved employee comes back found by code."""

from __future__ import annotations

import re

import pytest

from core import unit_of_work
from core.org import services as org
from core.tenancy import tenant_context
from tests.admin.test_admin_pages import csrf, sign_in
from tests.factories import build_world


@pytest.fixture
def world(clean_app, client):
    w = build_world(clean_app, "tinh-nv", client)
    sign_in(clean_app, client, w, "admin")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        for code, name in [("DTH-01", "Đặng Thị Hương"), ("NVA-01", "Nguyễn Văn Ánh"), ("NVA-02", "Ngô Văn An")]:
            org.create_employee({"code": code, "full_name": name, "unit_id": w.ids["dept"]})
        unit_of_work.commit()
    return w


def names(html: str) -> list[str]:
    body = re.search(r'<div id="results".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r'/admin/employees/\d+">([^<]+)</a>', body)


@pytest.mark.parametrize(("typed", "expected"), [
    ("dang thi huong", ["Đặng Thị Hương"]), ("DANG", ["Đặng Thị Hương"]), ("nguyen van anh", ["Nguyễn Văn Ánh"]),
    ("van a", ["Ngô Văn An", "Nguyễn Văn Ánh"]), ("nva-02", ["Ngô Văn An"]), ("STAFF2", ["Người staff2"]),
    ("Nguyễn Văn", ["Nguyễn Văn Ánh"])])
def test_a_search_finds_people_with_or_without_marks(client, world, typed, expected):
    html = client.get(f"/t/{world.slug}/admin/employees", query_string={"q": typed}).get_data(as_text=True)
    # In the database's name order, which is its collation's business.
    assert sorted(names(html)) == sorted(expected) and f"{len(expected)}/{len(expected)}" in html


def test_a_search_pages_its_people_thirty_at_a_time(clean_app, client, world):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        for i in range(35):
            org.create_employee({"code": f"TT-{i:02d}", "full_name": f"Trần Thị {i:02d}", "unit_id": world.ids["dept"]})
        unit_of_work.commit()
    first = client.get(f"/t/{world.slug}/admin/employees", query_string={"q": "tran thi"}).get_data(as_text=True)
    assert names(first) == [f"Trần Thị {i:02d}" for i in range(30)] and "30/35" in first and "Trang 1/2" in first
    second = client.get(f"/t/{world.slug}/admin/employees",
                        query_string={"q": "tran thi", "page": 2}).get_data(as_text=True)
    assert names(second) == [f"Trần Thị {i:02d}" for i in range(30, 35)] and "5/35" in second
    beyond = client.get(f"/t/{world.slug}/admin/employees", query_string={"q": "tran thi", "page": 9})
    assert beyond.status_code == 200 and names(beyond.get_data(as_text=True)) == []


def test_a_saved_employee_is_shown_found_by_code(client, world):
    token = csrf(client.get(f"/t/{world.slug}/admin/employees/new").get_data(as_text=True))
    saved = client.post(f"/t/{world.slug}/admin/employees/new", data={
        "csrf_token": token, "code": "ZZ-9", "full_name": "Võ Thị Zung", "unit_id": str(world.ids["dept"]),
        "salary_coefficient": "2,34", "roles": ["employee"]}, follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu." in saved and names(saved) == ["Võ Thị Zung"]


def test_a_start_date_in_year_one_is_refused_beside_its_field_in_vietnamese(client, world):
    token = csrf(client.get(f"/t/{world.slug}/admin/employees/new").get_data(as_text=True))
    refused = client.post(f"/t/{world.slug}/admin/employees/new", data={
        "csrf_token": token, "code": "ZZ-8", "full_name": "Võ Thị Tám", "unit_id": str(world.ids["dept"]),
        "start_date": "0001-01-01", "roles": ["employee"]})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'id="start_date-err"[^>]*>\s*Ngày phải trong khoảng 1900 đến 2099\.', html), html[:0]
    listed = client.get(f"/t/{world.slug}/admin/employees?q=ZZ-8").get_data(as_text=True)
    assert names(listed) == []
