"""The units page holds a province's seventy-odd communes and wards on a phone: top-level
units fold by kind (and the units under one fold with it) once the tree is large, and a
search finds a unit by name or code, Vietnamese marks or not, naming its parent."""

from __future__ import annotations

import re

import pytest

from core import unit_of_work
from core.org import services as org
from core.tenancy import tenant_context
from tests.admin.test_admin_pages import sign_in
from tests.factories import build_world


@pytest.fixture
def world(clean_app, client):
    w = build_world(clean_app, "tinh-u", client)
    sign_in(clean_app, client, w, "admin")
    return w


def add_communes(app, world, n: int) -> None:
    with app.app_context(), tenant_context(world.tenant_id):
        for i in range(n):
            commune = org.create_unit({"code": f"XA-{i:02d}", "name": f"Xã Số {i:02d}", "kind": "commune"})
            org.create_unit({"code": f"XA-{i:02d}-VP", "name": f"Văn phòng HĐND-UBND xã {i:02d}",
                             "kind": "department", "parent_id": commune.id})
        unit_of_work.commit()


def folds(html: str) -> dict[str, tuple[bool, int]]:
    """Each kind's fold: whether it opens, and how many top-level units it holds."""
    return {label: (bool(opened), int(n)) for opened, label, n in re.findall(
        r'<details class="unit-group"( open)?>\s*<summary>([^<]+?) <span class="muted">\((\d+)\)</span>', html)}


def test_a_small_tree_shows_open_and_a_large_one_folds_by_kind(clean_app, client, world):
    small = client.get(f"/t/{world.slug}/admin/units").get_data(as_text=True)
    assert all(opened for opened, _ in folds(small).values())
    assert 'class="depth-1"' in small and "Phòng Một" in small
    add_communes(clean_app, world, 15)
    html = client.get(f"/t/{world.slug}/admin/units").get_data(as_text=True)
    groups = folds(html)
    assert groups["Xã"] == (False, 15) and not any(opened for opened, _ in groups.values())
    assert list(groups)[0] == "Cơ quan"  # kinds in their own order, agencies first
    # Each commune folds its office under it.
    assert re.search(r"<details><summary>.*?Xã Số 03</a>.*?</summary>\s*<ul class=\"tree\">"
                     r"<li class=\"depth-1\">.*?Văn phòng HĐND-UBND xã 03", html, re.S)


@pytest.mark.parametrize("typed", ["van phong hdnd-ubnd xa 07", "XA-07-vp", "Văn phòng HĐND-UBND xã 07"])
def test_a_search_finds_a_unit_with_or_without_marks_and_names_its_parent(clean_app, client, world, typed):
    add_communes(clean_app, world, 15)
    html = client.get(f"/t/{world.slug}/admin/units", query_string={"q": typed}).get_data(as_text=True)
    found = re.search(r'<ul class="tree" aria-label="Đơn vị tìm thấy">(.*?)</ul>', html, re.S).group(1)
    assert found.count("<li") == 1 and "Văn phòng HĐND-UBND xã 07" in found and "thuộc Xã Số 07" in found
    assert "1/" in html and 'class="unit-group"' not in html


def test_a_search_that_finds_nothing_says_so(clean_app, client, world):
    response = client.get(f"/t/{world.slug}/admin/units", query_string={"q": "<không có>" * 30})
    assert response.status_code == 200
    assert "Không có đơn vị nào có tên hoặc mã này." in response.get_data(as_text=True)


def test_a_saved_unit_is_shown_found_by_its_code(clean_app, client, world):
    """On a large tree a new or edited unit would sit in a closed fold: the list comes back
    searched for it."""
    from tests.admin.test_admin_pages import csrf

    add_communes(clean_app, world, 15)
    token = csrf(client.get(f"/t/{world.slug}/admin/units").get_data(as_text=True))
    created = client.post(f"/t/{world.slug}/admin/units", data={
        "csrf_token": token, "code": "XA-03-KT", "name": "Phòng Kinh tế xã 03", "kind": "department",
        "parent_id": str(world.ids["agency"])}, follow_redirects=True)
    html = created.get_data(as_text=True)
    assert "Đã lưu." in html and 'value="XA-03-KT"' in html and 'class="unit-group"' not in html
    found = re.search(r'<ul class="tree" aria-label="Đơn vị tìm thấy">(.*?)</ul>', html, re.S).group(1)
    assert "Phòng Kinh tế xã 03" in found
