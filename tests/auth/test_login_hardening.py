"""Logins under attack and outage (issue 17, items 3, 6, 9), both databases: logout ends
the session on the server, deactivated people and people past their end date stop at
the next request and cannot log in, one failed-login count per account for the page and
the API, a back-off per account + address that leaves the owner elsewhere alone, and
logins that keep working while Redis is down."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from sqlalchemy import select, update

from core import unit_of_work
from core.auth.models import User
from core.auth.throttle import FALLBACKS
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.conftest import make_app
from tests.factories import PASSWORD, build_world, login

SLUG = "tinh-a"
ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def page_login(client, username: str, password: str = PASSWORD, environ: dict | None = None):
    html = client.get("/login", environ_base=environ or {}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    return client.post("/login", data={"csrf_token": token, "tenant": SLUG, "username": username,
                                       "password": password}, environ_base=environ or {})


def api_login(client, username: str, password: str = PASSWORD, environ: dict | None = None):
    return client.post("/api/v1/auth/token", json={"tenant": SLUG, "username": username, "password": password},
                       environ_base=environ or {})


@pytest.fixture
def limits(clean_app):
    saved = {k: clean_app.config[k] for k in ("CONGVU_LOGIN_LIMIT_PER_ACCOUNT", "CONGVU_LOGIN_LIMIT_PER_ADDRESS",
                                              "CONGVU_LOGIN_BACKOFF_AFTER")}
    yield clean_app.config
    clean_app.config.update(saved)


# ---------------------------------------------------------------- sessions (item 6)


def test_logout_ends_the_session_on_the_server(clean_app, client):
    """A copy of the session cookie taken before logout (another browser, a thief) is
    signed out too: the login's session generation moved on."""
    build_world(clean_app, SLUG)
    assert page_login(client, "staff").status_code == 302
    stolen = client.get_cookie("session").value
    other = clean_app.test_client()
    other.set_cookie("session", stolen)
    assert other.get(f"/t/{SLUG}/").status_code == 200
    html = client.get(f"/t/{SLUG}/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = clean_app.test_client()
    replay.set_cookie("session", stolen)
    for browser in (client, other, replay):
        r = browser.get(f"/t/{SLUG}/")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    # Logging in again works, with a new session.
    assert page_login(client, "staff").status_code == 302
    assert client.get(f"/t/{SLUG}/").status_code == 200


def test_a_session_id_without_a_stamp_loads_nothing(clean_app, client):
    """Such an id could never be ended by a logout or a new password."""
    world = build_world(clean_app, SLUG)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        user_id = db.session.scalar(select(User.id).where(User.username == "staff"))
    with client.session_transaction() as session:
        session["_user_id"] = f"u:{world.tenant_id}:{user_id}"
        session["_fresh"] = True
    assert client.get(f"/t/{SLUG}/").status_code == 302


def _set(app, world, username: str, **values) -> None:
    with app.app_context(), tenant_context(world.tenant_id):
        if "end_date" in values:
            user_id = db.session.scalar(select(User.id).where(User.username == username))
            db.session.execute(update(Employee).where(Employee.user_id == user_id).values(**values))
        else:
            db.session.execute(update(User).where(User.username == username).values(**values))
        unit_of_work.commit()


@pytest.mark.parametrize("change, code", [({"active": False}, "account_deactivated"),
                                          ({"end_date": date(2026, 10, 13)}, "employment_ended")])
def test_deactivated_or_past_end_date_stops_at_the_next_request(clean_app, client, clock, change, code):
    """Today is 14 Oct 2026 (the clock fixture). The token and the page session both
    stop at once; the right password then gets a clear 403, the wrong one the usual 401."""
    world = build_world(clean_app, SLUG, client)
    pages = clean_app.test_client()
    assert page_login(pages, "staff").status_code == 302
    units = f"/api/v1/tenants/{SLUG}/units"
    assert client.get(units, headers=world.headers("staff")).status_code == 200
    _set(clean_app, world, "staff", **change)
    assert client.get(units, headers=world.headers("staff")).status_code == 401
    assert pages.get(f"/t/{SLUG}/").status_code == 302
    refused = api_login(client, "staff")
    assert refused.status_code == 403 and refused.get_json()["code"] == code, refused.get_json()
    assert api_login(client, "staff", "Wrong-Password-99").status_code == 401
    r = page_login(pages, "staff")
    text = r.get_data(as_text=True)
    assert r.status_code == 403
    assert ("Tài khoản này đã bị khóa" in text) if code == "account_deactivated" else ("đã chấm dứt" in text)
    # Others are unaffected.
    assert client.get(units, headers=world.headers("staff2")).status_code == 200


def test_the_last_day_of_employment_still_works(clean_app, client, clock):
    world = build_world(clean_app, SLUG, client)
    _set(clean_app, world, "staff", end_date=date(2026, 10, 14))  # today in Hồ Chí Minh
    assert client.get(f"/api/v1/tenants/{SLUG}/units", headers=world.headers("staff")).status_code == 200
    assert api_login(client, "staff").status_code == 200
    clock.set(2026, 10, 15, 0, 1)  # one minute into the next day, local time
    assert client.get(f"/api/v1/tenants/{SLUG}/units", headers=world.headers("staff")).status_code == 401


# ---------------------------------------------------------------- one limit, back-off (item 9)


def test_page_and_api_share_one_failed_login_count_per_account(clean_app, client, limits):
    build_world(clean_app, SLUG)
    limits["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "3/minute"
    assert api_login(client, "staff", "Wrong-Password-1").status_code == 401
    assert page_login(client, "staff", "Wrong-Password-2").status_code == 401
    # The same account typed in another case: the same count.
    assert api_login(client, "STAFF", "Wrong-Password-3").status_code == 401
    api = api_login(client, "staff")
    assert api.status_code == 429 and api.get_json()["code"] == "rate_limited" and int(api.headers["Retry-After"]) > 0
    page = page_login(client, "staff")
    assert page.status_code == 429 and "Thử quá nhiều lần" in page.get_data(as_text=True)
    # Another account from the same address is not locked out.
    assert api_login(client, "manager").status_code == 200


def test_backoff_per_account_and_address_leaves_the_owner_elsewhere_alone(clean_app, client, limits):
    """An attacker's address guessing at `admin` waits 1 s after the 5th failure, 2 s after
    the 6th …; the owner at another address logs in meanwhile."""
    build_world(clean_app, SLUG)
    limits["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "1000/minute"
    codes = [api_login(client, "admin", f"Guess-{i:04d}-abcd", ATTACKER).status_code for i in range(5)]
    assert codes == [401] * 5
    held = api_login(client, "admin", "Guess-0005-abcd", ATTACKER)
    assert held.status_code == 429 and held.headers["Retry-After"] == "1"
    assert api_login(client, "admin", environ=OWNER).status_code == 200
    assert page_login(clean_app.test_client(), "admin", environ=OWNER).status_code == 302


def test_an_account_kept_over_its_limit_still_lets_the_owner_in_from_a_known_address(clean_app, client, limits):
    """Many addresses keep the account's count over its limit: new addresses wait, an
    address the owner logged in from before does not."""
    build_world(clean_app, SLUG)
    limits["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "3/minute"
    assert api_login(client, "admin", environ=OWNER).status_code == 200  # the owner's usual address
    for i in range(3):
        assert api_login(client, "admin", "Wrong-Password-0", {"REMOTE_ADDR": f"203.0.113.{i}"}).status_code == 401
    assert api_login(client, "admin", environ={"REMOTE_ADDR": "192.0.2.1"}).status_code == 429
    assert api_login(client, "admin", environ=OWNER).status_code == 200


def test_a_password_reset_lets_the_owner_in_from_a_new_address(clean_app, client, limits):
    world = build_world(clean_app, SLUG, client)
    limits["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "3/minute"
    for i in range(3):
        assert api_login(client, "staff", "Wrong-Password-0", {"REMOTE_ADDR": f"203.0.113.{i}"}).status_code == 401
    new_address = {"REMOTE_ADDR": "192.0.2.1"}
    assert api_login(client, "staff", environ=new_address).status_code == 429
    reset = client.post(f"/api/v1/tenants/{SLUG}/employees/{world.ids['staff']}/password-reset",
                        headers=world.headers("admin"), json={"password": "Temporary-Lantern-51"})
    assert reset.status_code == 200
    assert api_login(client, "staff", "Temporary-Lantern-51", new_address).status_code == 200


# ---------------------------------------------------------------- Redis down (item 3)


def test_logins_work_while_redis_is_down_and_still_count_failures(clean_app, backend, tmp_path_factory, caplog):
    # Port 1 on loopback: nothing listens, so every Redis call fails at once.
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL="redis://127.0.0.1:1/0",
                   CONGVU_LOGIN_LIMIT_PER_ACCOUNT="3/minute")
    build_world(app, SLUG)
    client = app.test_client()
    before = FALLBACKS._value.get()
    with caplog.at_level(logging.WARNING, logger="core.auth.throttle"):
        assert login(client, SLUG, "staff")
        assert page_login(client, "manager").status_code == 302
        assert client.get(f"/t/{SLUG}/").status_code == 200
    assert any("Redis failed" in r.getMessage() for r in caplog.records)
    assert FALLBACKS._value.get() > before
    metrics = client.get("/metrics").get_data(as_text=True)
    assert re.search(r"^congvu_login_limiter_fallback_total [1-9]", metrics, re.M)
    # The limits hold in this process meanwhile.
    codes = [api_login(client, "staff2", "Wrong-Password-0").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Changing a password works too (its Flask-Limiter limit is one limiter object shared by
    # every app of the test run, kept on memory storage here; core/app.py enables its
    # in-memory fallback for production).
    token = login(client, SLUG, "staff")
    auth = {"Authorization": f"Bearer {token}"}
    wrong = client.post("/api/v1/auth/password", headers=auth,
                        json={"current_password": "Not-The-Password-1", "new_password": "Blue-Lantern-Harbour-7"})
    assert wrong.status_code == 422  # a failure, counted (in memory)
    r = client.post("/api/v1/auth/password", headers=auth,
                    json={"current_password": PASSWORD, "new_password": "Blue-Lantern-Harbour-7"})
    assert r.status_code == 204
