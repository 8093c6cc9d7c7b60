"""The positions page holds a province's sixty-odd positions on a phone: they fold by group
(leadership, professional, support) once the list is long, and a search finds a position by
name or code, Vietnamese marks or not, naming its group; a saved position comes back found."""

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
    w = build_world(clean_app, "tinh-vtvl", client)
    sign_in(clean_app, client, w, "admin")
    return w


def add_positions(app, world, n: int) -> None:
    with app.app_context(), tenant_context(world.tenant_id):
        for i in range(n):
            org.create_position({"code": f"LD{i:02d}", "name": f"Phó Trưởng phòng số {i:02d}", "group": "leadership"})
        org.create_position({"code": "NV-BV", "name": "Nhân viên bảo vệ", "group": "support"})
        unit_of_work.commit()


def folds(html: str) -> dict[str, tuple[bool, int]]:
    """Each group's fold: whether it opens, and how many positions it holds."""
    return {label: (bool(opened), int(n)) for opened, label, n in re.findall(
        r'<details class="list-fold"( open)?>\s*<summary>([^<]+?) <span class="muted">\((\d+)\)</span>', html)}


def found_rows(html: str) -> str:
    return re.search(r'<table class="stack" aria-label="Vị trí việc làm tìm thấy">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)


def test_a_short_list_shows_open_and_a_long_one_folds_by_group(clean_app, client, world):
    short = folds(client.get(f"/t/{world.slug}/admin/positions").get_data(as_text=True))
    assert short == {"Chuyên môn, nghiệp vụ": (True, 1)}
    add_positions(clean_app, world, 20)
    html = client.get(f"/t/{world.slug}/admin/positions").get_data(as_text=True)
    # The groups in their own order (leaders first), each closed: 22 rows were too many.
    assert list(folds(html).items()) == [("Lãnh đạo, quản lý", (False, 20)), ("Chuyên môn, nghiệp vụ", (False, 1)),
                                         ("Hỗ trợ, phục vụ", (False, 1))]
    support = re.search(r'<summary>Hỗ trợ, phục vụ.*?</details>', html, re.S).group(0)
    assert "Nhân viên bảo vệ" in support and "Phó Trưởng phòng" not in support


@pytest.mark.parametrize("typed", ["pho truong phong so 07", "ld07", "Phó Trưởng phòng số 07"])
def test_a_search_finds_a_position_with_or_without_marks_and_names_its_group(clean_app, client, world, typed):
    add_positions(clean_app, world, 20)
    html = client.get(f"/t/{world.slug}/admin/positions", query_string={"q": typed}).get_data(as_text=True)
    rows = found_rows(html)
    assert rows.count("<tr>") == 1 and "Phó Trưởng phòng số 07" in rows and "Lãnh đạo, quản lý" in rows
    assert "1/22" in html and 'class="list-fold"' not in html


def test_a_search_that_finds_nothing_says_so(clean_app, client, world):
    response = client.get(f"/t/{world.slug}/admin/positions", query_string={"q": "<không có>" * 30})
    assert response.status_code == 200
    assert "Không có vị trí việc làm nào có tên hoặc mã này." in found_rows(response.get_data(as_text=True))


def test_a_saved_position_is_shown_found_by_its_code(clean_app, client, world):
    """On a long list a new or edited position would sit in a closed fold."""
    add_positions(clean_app, world, 20)
    token = csrf(client.get(f"/t/{world.slug}/admin/positions").get_data(as_text=True))
    created = client.post(f"/t/{world.slug}/admin/positions", data={
        "csrf_token": token, "code": "CV-CDS", "name": "Chuyên viên chuyển đổi số", "group": "professional"},
        follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu." in created and 'value="CV-CDS"' in created
    assert "Chuyên viên chuyển đổi số" in found_rows(created)
    edited = client.post(f"/t/{world.slug}/admin/positions/{world.ids['position']}", data={
        "csrf_token": token, "code": "CV-2", "name": "Chuyên viên hạng hai", "group": "professional"},
        follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu." in edited and "Chuyên viên hạng hai" in found_rows(edited)
