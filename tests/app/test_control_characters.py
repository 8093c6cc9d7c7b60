"""A name is one line of visible text (core/text.py): a control character (U+0001–U+001F,
U+007F–U+009F: a tab, a line break, an escape) or a line/paragraph separator (U+2028,
U+2029) in a person's, a unit's, a position's, a task type's or a login's name is refused
with a field error in the reader's language — a 422 in the API, beside the field on the
admin's pages, the row's error in its column in an import — and nothing is written. Both
databases. Fields that hold several lines (a reason, a comment) keep their line breaks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.catalogue.models import TaskType
from core.extensions import db
from core.messages import localise
from core.org.models import Employee, JobPosition, OrgUnit
from core.tenancy import tenant_context
from core.text import LINE_MESSAGE, LINE_REASON, breaks_line
from tests.admin.test_admin_pages import error_of, value_of
from tests.imports.test_imports import STAFF_HEADER, csv_bytes, result_of, upload
from tests.tenancy.test_isolation import page_session
from tests.work.test_work_support import build

VI_MESSAGE = "Xóa ký tự tab, xuống dòng hoặc ký tự điều khiển khác: trường này chỉ là một dòng chữ."
# One of each kind: C0 (tab, line feed, carriage return, escape, unit separator), DEL,
# C1 (NEL), and the Unicode line and paragraph separators.
BREAKING = ["\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\u2028", "\u2029"]


@pytest.fixture
def w(clean_app, tmp_path):
    clean_app.config["CONGVU_UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield build(clean_app)
    clean_app.config["CONGVU_UPLOAD_DIR"] = None


def count(app, w, model) -> int:
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_the_rule_refuses_controls_and_separators_and_keeps_every_vietnamese_letter():
    assert all(breaks_line(f"Phòng{c}Một") for c in BREAKING)
    for fine in ("Nguyễn Thị Ánh", "Phòng Tư pháp – Hộ tịch", "Đỗ\u00a0Văn Ngọc", "Ph\u01b0\u01a1\u0300ng", ""):
        assert not breaks_line(fine), fine  # NBSP, combining marks (NFD) and an empty name are not controls


@pytest.mark.parametrize("char", BREAKING)
def test_the_api_refuses_a_unit_name_with_a_control_character(clean_app, client, w, char):
    before = count(clean_app, w, OrgUnit)
    r = client.post(w.url("/units"), json={"code": "X1", "name": f"Phòng{char}Mới", "kind": "department"},
                    headers=w.h("admin"))
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["errors"] == {"name": [LINE_MESSAGE]}
    assert count(clean_app, w, OrgUnit) == before


@pytest.mark.parametrize(("path", "body", "field", "model"), [
    ("/employees", {"code": "NV9", "full_name": "Lê\x1bVăn", "unit_id": "dept"}, "full_name", Employee),
    ("/employees", {"code": "NV9", "full_name": "Lê Văn", "unit_id": "dept", "username": "le\tvan",
                    "password": "Song-Huong-2026-x", "roles": ["employee"]}, "username", Employee),
    ("/positions", {"code": "P9", "name": "Chuyên\nviên", "group": "professional"}, "name", JobPosition),
    ("/task-types", {"code": "T9", "name": "Hộ\u2028tịch", "group": "B", "unit_of_measure": "hồ sơ",
                     "norm_minutes": 30, "product_weight": 1, "complexity_levels": [], "position_codes": []},
     "name", TaskType),
])
def test_every_name_of_the_api_is_one_line_in_vietnamese_when_asked(clean_app, client, w, path, body, field, model):
    body = {k: w.ids[v] if k == "unit_id" else v for k, v in body.items()}
    before = count(clean_app, w, model)
    r = client.post(w.url(path), json=body, headers={**w.h("admin"), "Accept-Language": "vi"})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["errors"] == {field: [VI_MESSAGE]}
    assert count(clean_app, w, model) == before


def test_a_rename_is_held_to_the_same_rule(clean_app, client, w):
    url = w.url(f"/units/{w.ids['dept']}")
    r = client.patch(url, json={"name": "Phòng\x07Một"}, headers=w.h("admin"))
    assert r.status_code == 422 and r.get_json()["errors"] == {"name": [LINE_MESSAGE]}
    assert client.patch(url, json={"name": "Phòng Một mới"}, headers=w.h("admin")).status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.get(OrgUnit, w.ids["dept"]).name == "Phòng Một mới"


def test_the_admins_page_shows_the_refusal_beside_the_field_and_keeps_the_input(clean_app, w):
    admin, csrf = page_session(clean_app, w, "admin")
    url = f"/t/{w.slug}/admin/units"
    r = admin.post(url, data={"csrf_token": csrf, "code": "AG-P9", "name": "Phòng\x1bChín", "kind": "department"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert error_of(html, "name") == VI_MESSAGE
    assert value_of(html, "code") == "AG-P9"
    assert count(clean_app, w, OrgUnit) == 3  # the world's units
    fine = admin.post(url, data={"csrf_token": csrf, "code": "AG-P9", "name": "Phòng Chín", "kind": "department"})
    assert fine.status_code == 302


def test_an_import_refuses_the_name_in_its_row_and_column(clean_app, client, w):
    rows = [STAFF_HEADER,
            ["NV1", "Nguyễn\tThị Ánh", "AG-P1", "", "", "", "", "", "", "", "", ""],
            ["NV2", "Trần Văn Bình", "AG-P1", "", "", "", "", "", "", "bi\u2029nh", "", "employee"],
            ["NV3", "Lê Văn Ba", "AG-P1", "", "", "", "", "", "", "", "", ""]]
    before = count(clean_app, w, Employee)
    result = result_of(client, w, upload(client, w, "staff-csv", csv_bytes(rows), "s.csv"))
    assert [(e["row"], e["column"], e["message"]) for e in result["errors"]] == [
        (2, "full_name", f"Invalid value 'Nguyễn\\tThị Ánh': {LINE_REASON}."),
        (3, "username", f"Invalid value 'bi\\u2029nh': {LINE_REASON}.")]
    assert result["rows_written"] == 0 and result["rows_valid"] == 1
    assert count(clean_app, w, Employee) == before
    with clean_app.test_request_context():
        assert localise(result["errors"][0]["message"], "vi") == (
            "Giá trị 'Nguyễn\\tThị Ánh' không hợp lệ: có ký tự tab, xuống dòng hoặc ký tự điều khiển khác, "
            "mà tên chỉ là một dòng chữ.")


def test_a_field_of_several_lines_keeps_its_line_breaks(clean_app, client, w):
    """A work item's result note is text of several lines: not a name."""
    item = client.post(w.url("/work-items"), headers=w.h("staff"), json={
        "task_type_code": "HT01", "work_date": "2026-09-15", "quantity": 1})
    assert item.status_code == 201, item.get_json()
    noted = client.patch(w.url(f"/work-items/{item.get_json()['id']}"), headers=w.h("staff"),
                         json={"result_note": "Dòng một\nDòng hai\tcột"})
    assert noted.status_code == 200, noted.get_json()
    assert noted.get_json()["result_note"] == "Dòng một\nDòng hai\tcột"
