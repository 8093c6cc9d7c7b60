"""Searches typed without Vietnamese marks find people and logins through their stored
keys (search_key): the employees list, the logins page, the home page and the employees
API; the list reads a page, not the tenant, whatever its size; the migration's backfill
writes the keys the app would."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, text

from core import unit_of_work
from core.auth.models import User
from core.auth.normalize import search_key, search_term
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.admin.test_admin_pages import sign_in
from tests.factories import PASSWORD, build_world

SLUG = "tinh-tk"
API = f"/api/v1/tenants/{SLUG}/employees"


@pytest.fixture
def world(clean_app, client):
    w = build_world(clean_app, SLUG, client)
    sign_in(clean_app, client, w, "admin")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        for code, name, username in [("DTH-01", "Đặng Thị Hương", "huong"), ("NVA-01", "Nguyễn Văn Ánh", None),
                                     ("NVA-02", "Ngô Văn An", "ngô.an")]:
            data = {"code": code, "full_name": name, "unit_id": w.ids["dept"]}
            if username:
                data |= {"username": username, "password": PASSWORD, "roles": ["employee"]}
            org.create_employee(data)
        unit_of_work.commit()
    return w


def test_keys_fold_marks_case_spaces_and_unicode_forms():
    assert search_term("  Nguyễn   VĂN ") == "nguyen van"
    assert search_term("Nguye\u0302\u0303n") == "nguyen"  # typed with combining marks (NFD)
    assert search_key("Đặng Thị Hương", "DTH-01") == "dang thi huong\ndth-01"
    assert search_key("Ngô", None, "") == "ngo"


def test_the_orm_writes_the_key_with_the_name_code_and_username(clean_app, world):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        person = db.session.scalar(select(Employee).where(Employee.code == "NVA-02"))
        assert person.search_key == "ngo van an\nnva-02" and person.user.search_key == "ngo.an"
        org.update_employee(person, {"full_name": "Ngô Đức An"})
        unit_of_work.commit()
        assert db.session.scalar(select(Employee.search_key).where(Employee.code == "NVA-02")) == "ngo duc an\nnva-02"


def _codes(client, world, q: str) -> list[str]:
    response = client.get(API, query_string={"q": q}, headers=world.headers("admin"))
    assert response.status_code == 200, response.get_json()
    return sorted(e["code"] for e in response.get_json())


@pytest.mark.parametrize(("typed", "expected"), [
    ("dang thi", ["DTH-01"]), ("DANG", ["DTH-01"]), ("nguyen van anh", ["NVA-01"]), ("Nguyễn Văn", ["NVA-01"]),
    ("Nguye\u0302\u0303n", ["NVA-01"]), ("van  a", ["NVA-01", "NVA-02"]), ("nva-0", ["NVA-01", "NVA-02"]),
    ("100%", []), ("_", [])])
def test_the_employees_api_q_matches_without_marks(client, world, typed, expected):
    assert _codes(client, world, typed) == expected


def test_the_employees_api_q_pages_and_counts(client, world):
    response = client.get(API, query_string={"q": "van", "per_page": 1, "page": 2}, headers=world.headers("admin"))
    assert response.headers["X-Total-Count"] == "2" and len(response.get_json()) == 1


def test_the_employees_api_q_keeps_what_the_caller_may_see(client, world):
    """A member sees only themself, searched or not."""
    response = client.get(API, query_string={"q": "nguoi staff"}, headers=world.headers("staff"))
    assert [e["code"] for e in response.get_json()] == ["STAFF"]


def _logins(client, q: str) -> list[str]:
    html = client.get(f"/t/{SLUG}/admin/users", query_string={"q": q}).get_data(as_text=True)
    return sorted(set(re.findall(r"Người \w+|Đặng Thị Hương|Ngô Văn An", html)))


@pytest.mark.parametrize(("typed", "expected"), [
    ("dang thi", ["Đặng Thị Hương"]), ("ngo.an", ["Ngô Văn An"]), ("NGÔ.AN", ["Ngô Văn An"]),
    ("nguoi staff", ["Người staff", "Người staff2"]), ("dth-01", ["Đặng Thị Hương"])])
def test_the_logins_page_matches_name_code_or_username_without_marks(client, world, typed, expected):
    assert _logins(client, typed) == expected


def test_the_home_page_search_matches_without_marks(client, world):
    html = client.get(f"/t/{SLUG}/", query_string={"q": "dang thi huong"}).get_data(as_text=True)
    assert "Đặng Thị Hương" in html and "Ngô Văn An" not in html


def _statements(app, client, url: str, q: str) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(url, query_string={"q": q}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def _unbounded(statements: list[str]) -> list[str]:
    """Statements that read employees without a LIMIT, a count or a key: a whole tenant."""
    return [s for s in statements if "employees" in s and "LIMIT" not in s.upper() and "count(" not in s
            and not re.search(r"WHERE employees\.(user_)?id (=|IN)", s)]


def test_the_employees_search_reads_a_page_whatever_the_number_of_people(clean_app, client, world):
    url = f"/t/{SLUG}/admin/employees"

    def add(start: int, stop: int) -> None:
        with clean_app.app_context(), tenant_context(world.tenant_id):
            for i in range(start, stop):
                org.create_employee({"code": f"TVB-{i:03d}", "full_name": f"Trần Văn Bình {i:03d}",
                                     "unit_id": world.ids["dept"]})
            unit_of_work.commit()

    add(0, 30)
    small = _statements(clean_app, client, url, "tran van")
    add(30, 300)
    large = _statements(clean_app, client, url, "tran van")
    assert len(small) == len(large)
    # The session's login and tenant, then a count and a page of 30, and the header's unread
    # notifications (PostgreSQL also sets the row-security settings per transaction).
    assert len([s for s in large if not s.startswith("SELECT set_config")]) == 6
    assert sum("FROM notifications" in s for s in large) == 1
    assert _unbounded(large) == []
    html = client.get(url, query_string={"q": "tran van binh", "page": 10}).get_data(as_text=True)
    assert "Trần Văn Bình 270" in html and "30/300" in html and "Trang 10/10" in html


def _migration():
    path = Path(__file__).parents[2] / "core/migrations/versions/0044_search_keys.py"
    spec = importlib.util.spec_from_file_location("search_keys_0044", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_backfills_the_keys_the_app_writes(clean_app, world, monkeypatch):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        expected = dict(db.session.execute(select(Employee.id, Employee.search_key)).all())
        logins = dict(db.session.execute(select(User.id, User.search_key)).all())
    assert len(expected) == 9 and expected[min(expected)] != ""
    migration = _migration()
    monkeypatch.setattr(migration, "_CHUNK", 2)  # several chunks from nine people
    owner = create_engine(clean_app.config["CONGVU_DATABASE_OWNER_URL"])
    try:
        with owner.begin() as conn:
            conn.execute(text("UPDATE employees SET search_key = ''"))
            conn.execute(text("UPDATE users SET search_key = ''"))
            updates: list[int] = []
            event.listen(conn, "before_cursor_execute",
                         lambda *a: updates.append(1) if a[2].startswith("UPDATE employees") else None)
            assert migration.backfill(conn, "employees", "search_key", ("full_name", "code"), 300,
                                      migration._key) == 9
            assert len(updates) == 5  # one executemany per chunk of two, not one per person
            assert migration.backfill(conn, "users", "search_key", ("username",), 100, migration._key) == 8
            assert migration.backfill(conn, "employees", "search_key", ("full_name", "code"), 300,
                                      migration._key) == 0  # written once
    finally:
        owner.dispose()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert dict(db.session.execute(select(Employee.id, Employee.search_key)).all()) == expected
        assert dict(db.session.execute(select(User.id, User.search_key)).all()) == logins


def test_the_task_types_page_matches_without_marks(clean_app, client, world):
    """Task types kept their folded text (search_text) before people had keys: the admin's
    catalogue page reads it too."""
    from datetime import date

    from core.catalogue import services as catalogue

    with clean_app.app_context(), tenant_context(world.tenant_id):
        for code, name in [("HT01", "Giải quyết hồ sơ hộ tịch"), ("DD01", "Đo đạc địa chính")]:
            catalogue.create_task_type({"code": code, "name": name, "group": "B", "unit_of_measure": "hồ sơ",
                                        "norm_minutes": 30, "product_weight": 1, "complexity_levels": [],
                                        "position_codes": [], "effective_from": date(2026, 1, 1)})
        unit_of_work.commit()
    for typed, shown, hidden in [("ho tich", "HT01", "DD01"), ("do dac", "DD01", "HT01"), ("Địa chính", "DD01", "HT01")]:
        html = client.get(f"/t/{SLUG}/admin/task-types", query_string={"q": typed}).get_data(as_text=True)
        assert shown in html and hidden not in html, typed


# The eth ð/Ð (U+00F0/U+00D0) looks like đ/Đ and stands in for it in text converted from
# the old Vietnamese encodings: it folds to "d" like them.
ETH_NAME = "\u00d0\u1eb7ng V\u0103n \u00f0\u1ee9c"  # "Ðặng Văn ðức"


def test_the_eth_folds_to_d_like_dj():
    from core.catalogue.services import fold

    assert search_term(ETH_NAME) == "dang van duc" == search_term("Đặng Văn Đức")
    assert search_key(ETH_NAME, "ETH-01") == "dang van duc\neth-01"
    assert fold(f"ÐO-01 {ETH_NAME}") == "do-01 dang van duc"


@pytest.mark.parametrize("typed", ["dang van duc", "Đặng Văn Đức", ETH_NAME, "DUC"])
def test_a_name_written_with_the_eth_is_found_as_with_dj(clean_app, client, world, typed):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        org.create_employee({"code": "ETH-01", "full_name": ETH_NAME, "unit_id": world.ids["dept"]})
        unit_of_work.commit()
    assert _codes(client, world, typed) == ["ETH-01"]


def test_the_eth_migration_rekeys_the_rows_that_hold_one(clean_app, world):
    """Rows written before the fold knew the eth kept "ðang…" keys: 0046 rewrites those, and
    only those."""
    path = Path(__file__).parents[2] / "core/migrations/versions/0046_eth_search_keys.py"
    spec = importlib.util.spec_from_file_location("eth_search_keys_0046", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        org.create_employee({"code": "ETH-01", "full_name": ETH_NAME, "unit_id": world.ids["dept"],
                             "username": "\u00f0uc.eth", "password": PASSWORD, "roles": ["employee"]})
        unit_of_work.commit()
        before = dict(db.session.execute(select(Employee.code, Employee.search_key)).all())
    owner = create_engine(clean_app.config["CONGVU_DATABASE_OWNER_URL"])
    try:
        with owner.begin() as conn:
            conn.execute(text("UPDATE employees SET search_key = :old WHERE code = 'ETH-01'"),
                         {"old": "\u00f0ang van \u00f0uc\neth-01"})
            conn.execute(text("UPDATE users SET search_key = :old WHERE username = :name"),
                         {"old": "\u00f0uc.eth", "name": "\u00f0uc.eth"})
            assert migration.rekey(conn, *migration.TARGETS[0]) == 1
            assert migration.rekey(conn, *migration.TARGETS[1]) == 1
            assert migration.rekey(conn, *migration.TARGETS[0]) == 0  # written once
    finally:
        owner.dispose()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert dict(db.session.execute(select(Employee.code, Employee.search_key)).all()) == before
        assert before["ETH-01"] == "dang van duc\neth-01"
        assert db.session.scalar(select(User.search_key).where(User.username == "\u00f0uc.eth")) == "duc.eth"
