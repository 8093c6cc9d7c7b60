"""Tokens: issue, use, revoke, expire; rate limits; the password policy."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from sqlalchemy import select, update

from core import unit_of_work
from core.auth.models import ApiToken, User
from core.auth.passwords import password_problems
from core.extensions import db
from core.tenancy import tenant_context
from core.timeutil import utcnow
from tests.factories import PASSWORD, build_world, login, make_operator


def test_token_gives_access_and_revoke_ends_it(clean_app, client):
    build_world(clean_app, "tinh-a")
    token = login(client, "tinh-a", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tenants/tinh-a/units", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    response = client.get("/api/v1/tenants/tinh-a/units", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_tokens_are_stored_hashed_and_expire(clean_app, client):
    build_world(clean_app, "tinh-a")
    token = login(client, "tinh-a", "staff")
    with clean_app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
        assert token not in stored and len(stored) == 1 and len(stored[0]) == 64
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        unit_of_work.commit()
    assert client.get("/api/v1/tenants/tinh-a/units", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_wrong_credentials_are_401_in_contract_format(clean_app, client):
    build_world(clean_app, "tinh-a")
    for body in ({"tenant": "tinh-a", "username": "admin", "password": "wrong-password"},
                 {"tenant": "tinh-a", "username": "nobody", "password": PASSWORD},
                 {"tenant": "no-such", "username": "admin", "password": PASSWORD},
                 {"tenant": None, "username": "admin", "password": PASSWORD}):
        response = client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 401, body
        assert response.get_json()["code"] == "invalid_credentials"


def test_malformed_login_body_is_400_or_422(clean_app, client):
    assert client.post("/api/v1/auth/token", data="{nope", content_type="application/json").status_code == 400
    response = client.post("/api/v1/auth/token", json={"username": 5})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"username", "password"}


def test_failed_logins_are_rate_limited_per_account(clean_app, client):
    build_world(clean_app, "tinh-a")
    clean_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "3/minute"
    try:
        bad = {"tenant": "tinh-a", "username": "staff", "password": "wrong-password"}
        codes = [client.post("/api/v1/auth/token", json=bad).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        limited = client.post("/api/v1/auth/token", json={**bad, "password": PASSWORD})
        assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
        # Another account from the same address is not locked out.
        assert login(client, "tinh-a", "manager")
    finally:
        clean_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "10/minute"


def test_failed_logins_are_rate_limited_per_address(clean_app, client):
    build_world(clean_app, "tinh-a")
    clean_app.config["CONGVU_LOGIN_LIMIT_PER_ADDRESS"] = "4/minute"
    try:
        codes = [client.post("/api/v1/auth/token", json={"tenant": "tinh-a", "username": f"u{i}",
                                                        "password": "wrong-password"}).status_code for i in range(5)]
        assert codes == [401, 401, 401, 401, 429]
    finally:
        clean_app.config["CONGVU_LOGIN_LIMIT_PER_ADDRESS"] = "100/minute"


def test_successful_logins_do_not_count_against_the_limit(clean_app, client):
    build_world(clean_app, "tinh-a")
    clean_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "2/minute"
    try:
        for _ in range(4):
            login(client, "tinh-a", "staff")
    finally:
        clean_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "10/minute"


def test_operator_logs_in_with_null_tenant(clean_app, client):
    token = make_operator(clean_app, client)
    response = client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "0"


def test_password_policy():
    """NIST SP 800-63B: at least 12 characters, no composition rules, a deny-list of common
    and guessable passwords including Vietnamese stock words and province names decorated
    with digits and symbols; whitespace alone is refused; NFC and NFD count the same."""
    assert password_problems("short1") == ["Password must have at least 12 characters."]
    assert password_problems("password1234") == ["Password is too common."]
    assert password_problems("Nguyen-Van-A", "nguyen-van-a") == ["Password must not be the username."]
    assert password_problems("x" * 64 + "Yz!") == []
    assert password_problems("Một mật khẩu dài có dấu tiếng Việt") == []
    assert password_problems(" " * 8) == ["Password must not be only spaces."]
    assert password_problems(" " * 20) == ["Password must not be only spaces."]
    assert password_problems("Matkhau@123") == ["Password must have at least 12 characters.",
                                                "Password is too common."]
    for guessable in ("Matkhau@12345", "khanhhoa2026", "KhanhHoa@2026!", "Khánh Hòa 2026!!", "Admin#2026-2027",
                      "HoChiMinh.1975", "123456789012", "aaaaaaaaaaaa", "adminadmin2026"):
        assert password_problems(guessable) == ["Password is too common."], guessable
    # Length in characters as a person counts them: 12 letters with marks typed as NFD
    # are 12 characters, not 20-odd code points.
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ả")
    assert len(nfd) > 12 and password_problems(nfd) == password_problems("Nguyễn Thị Ả") == []


def test_a_password_typed_as_nfd_logs_in_as_nfc_and_back(clean_app, client):
    """One password, whichever way the keyboard composes it."""
    world = build_world(clean_app, "tinh-a", client)
    nfc_password = "Mật khẩu của Nguyễn"
    reset = client.post(f"/api/v1/tenants/tinh-a/employees/{world.ids['staff']}/password-reset",
                        headers=world.headers("admin"), json={"password": unicodedata.normalize("NFD", nfc_password)})
    assert reset.status_code == 200
    assert login(client, "tinh-a", "staff", nfc_password)
    assert login(client, "tinh-a", "staff", unicodedata.normalize("NFD", nfc_password))


def test_usernames_are_nfc_so_both_spellings_are_one_login(clean_app, client):
    world = build_world(clean_app, "tinh-a", client)
    nfd_name = unicodedata.normalize("NFD", "nguyễn")
    made = client.post("/api/v1/tenants/tinh-a/employees", headers=world.headers("admin"), json={
        "code": "NG", "full_name": unicodedata.normalize("NFD", "Nguyễn Văn Ân"), "unit_id": world.ids["dept"],
        "username": nfd_name, "password": PASSWORD})
    assert made.status_code == 201, made.get_json()
    again = client.post("/api/v1/tenants/tinh-a/employees", headers=world.headers("admin"), json={
        "code": "NG2", "full_name": "Nguyễn Văn Ân", "unit_id": world.ids["dept"],
        "username": "nguyễn", "password": PASSWORD})
    assert again.status_code in (409, 422), again.get_json()  # the same login, not a look-alike second one
    assert login(client, "tinh-a", "nguyễn") and login(client, "tinh-a", nfd_name)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalars(select(User.username).where(User.username.like("ngu%"))).all() == ["nguyễn"]
    # The name was stored NFC, so a search typed either way finds it.
    for q in ("Nguyễn Văn", unicodedata.normalize("NFD", "Nguyễn Văn")):
        found = client.get("/api/v1/tenants/tinh-a/employees", query_string={"q": q}, headers=world.headers("admin"))
        assert [e["code"] for e in found.get_json()] == ["NG"], q


def test_weak_password_refused_when_creating_a_login(clean_app, client):
    world = build_world(clean_app, "tinh-a", client)
    response = client.post("/api/v1/tenants/tinh-a/employees", headers=world.headers("admin"), json={
        "code": "NEW", "full_name": "Người mới", "unit_id": world.ids["dept"], "username": "new",
        "password": "123456789012"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["password"] == ["Password is too common."]
    listing = client.get("/api/v1/tenants/tinh-a/employees?q=NEW", headers=world.headers("admin"))
    assert listing.get_json() == []


def test_migration_0014_rewrites_stored_names_as_nfc(clean_app, backend):
    """Rows written before normalisation (here straight through SQL, past the models'
    validators) become NFC; a username whose NFC form another login already has stays."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import create_engine, text

    world = build_world(clean_app, "tinh-a")
    nfd = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731
    owner = create_engine(backend.owner_url)
    with owner.begin() as conn:
        conn.execute(text("UPDATE users SET username = :u WHERE username = 'staff'"), {"u": nfd("nguyễn")})
        conn.execute(text("UPDATE users SET username = :u WHERE username = 'staff2'"), {"u": "trần"})
        conn.execute(text("UPDATE users SET username = :u WHERE username = 'outsider'"), {"u": nfd("trần")})
        conn.execute(text("UPDATE employees SET full_name = :n WHERE code = 'STAFF'"), {"n": nfd("Nguyễn Thị Ả")})
        conn.execute(text("UPDATE org_units SET name = :n WHERE code = 'AG-P1'"), {"n": nfd("Phòng Một")})
    path = Path(__file__).resolve().parents[2] / "core/migrations/versions/0014_sessions_nfc.py"
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with owner.begin() as conn:
        assert migration.normalise(conn) == {"users.username": 1, "operators.username": 0,
                                             "employees.full_name": 1, "org_units.name": 1}
        assert migration.normalise(conn) == {"users.username": 0, "operators.username": 0,
                                             "employees.full_name": 0, "org_units.name": 0}
        names = set(conn.execute(text("SELECT username FROM users WHERE tenant_id = :t"),
                                 {"t": world.tenant_id}).scalars())
        assert {"nguyễn", "trần", nfd("trần")} <= names  # the clash is left for a person
        assert conn.execute(text("SELECT full_name FROM employees WHERE code = 'STAFF'")).scalar() == "Nguyễn Thị Ả"
        assert conn.execute(text("SELECT name FROM org_units WHERE code = 'AG-P1'")).scalar() == "Phòng Một"
    owner.dispose()
