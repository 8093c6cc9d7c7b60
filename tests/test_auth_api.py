"""Tokens: issue, use, revoke, expire; rate limits; the password policy."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.auth.models import ApiToken
from core.auth.passwords import password_problems
from core.extensions import db
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
        db.session.commit()
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
    assert password_problems("short1") == ["Password must have at least 8 characters."]
    assert password_problems("password123") == ["Password is too common."]
    assert password_problems("Nguyen-Van-A", "nguyen-van-a") == ["Password must not be the username."]
    assert password_problems("x" * 64 + "Yz!") == []
    assert password_problems("Một mật khẩu dài có dấu tiếng Việt") == []


def test_weak_password_refused_when_creating_a_login(clean_app, client):
    world = build_world(clean_app, "tinh-a", client)
    response = client.post("/api/v1/tenants/tinh-a/employees", headers=world.headers("admin"), json={
        "code": "NEW", "full_name": "Người mới", "unit_id": world.ids["dept"], "username": "new",
        "password": "12345678"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["password"] == ["Password is too common."]
    listing = client.get("/api/v1/tenants/tinh-a/employees?q=NEW", headers=world.headers("admin"))
    assert listing.get_json() == []
