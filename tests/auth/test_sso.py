"""Single sign-on (OpenID Connect) against a real provider on this machine
(tests/oidc_provider.py): the browser's round trip is followed by hand — the app's
redirect, the provider's authorization endpoint over HTTP, the callback — and the app
fetches discovery, keys and tokens from the provider over HTTP itself."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.sso import crypto
from core.sso.models import SsoConfig
from core.tenancy import tenant_context
from tests.factories import PASSWORD, build_world
from tests.oidc_provider import Provider


@pytest.fixture(scope="module")
def provider():
    p = Provider().start()
    yield p
    p.stop()


@pytest.fixture
def idp(provider):
    provider.reset()
    return provider


@pytest.fixture
def world(clean_app, client):
    return build_world(clean_app, "tinh-a", client)


def settings(idp: Provider, **extra) -> dict:
    return {"issuer": idp.issuer, "client_id": idp.client_id, "client_secret": idp.client_secret,
            "claim": "preferred_username", "maps_to": "username", **extra}


def configure(client, world, idp, **extra) -> dict:
    r = client.put(f"/api/v1/tenants/{world.slug}/sso", json=settings(idp, **extra), headers=world.headers("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def sso_login(client, world, idp, **claims):
    """The browser's round trip: the app → the provider (real HTTP) → the app's callback."""
    idp.claims = claims
    start = client.get(f"/t/{world.slug}/sso/login")
    assert start.status_code == 302, start.get_data(as_text=True)
    location = start.headers["Location"]
    assert location.startswith(idp.issuer + "/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0] and query["state"][0]
    at_idp = requests.get(location, allow_redirects=False, timeout=10)
    assert at_idp.status_code == 302, at_idp.text
    back = urlsplit(at_idp.headers["Location"])
    assert back.path == f"/t/{world.slug}/sso/callback"
    return client.get(back.path, query_string=back.query)


def signed_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def events(app, world, action: str) -> list[AuditEvent]:
    with app.app_context(), tenant_context(world.tenant_id):
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def counts(app, world) -> tuple[int, int]:
    with app.app_context(), tenant_context(world.tenant_id):
        return (db.session.scalar(select(func.count()).select_from(User)),
                db.session.scalar(select(func.count()).select_from(Employee).where(Employee.user_id.is_not(None))))


def user_id(app, world, username: str) -> int:
    with app.app_context(), tenant_context(world.tenant_id):
        return db.session.scalar(select(User.id).where(User.username == username))


# ---------------------------------------------------------------- settings


def test_settings_are_stored_with_the_secret_encrypted_and_never_shown(clean_app, client, world, idp):
    body = configure(client, world, idp)
    assert body["configured"] is True and body["client_secret_set"] is True and "client_secret" not in body
    assert body["callback_url"] == f"http://localhost/t/{world.slug}/sso/callback"
    assert (body["issuer"], body["claim"], body["maps_to"], body["sso_only"], body["jit_create"]) == (
        idp.issuer, "preferred_username", "username", False, False)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        cfg = db.session.scalar(select(SsoConfig))
        assert idp.client_secret not in cfg.client_secret_enc
        assert crypto.decrypt(cfg.client_secret_enc) == idp.client_secret
    got = client.get(f"/api/v1/tenants/{world.slug}/sso", headers=world.headers("auditor"))
    assert got.status_code == 200 and idp.client_secret not in got.get_data(as_text=True)
    assert client.get(f"/api/v1/tenants/{world.slug}/sso", headers=world.headers("staff")).status_code == 403
    # Saved again without a secret: the stored one stays.
    again = client.put(f"/api/v1/tenants/{world.slug}/sso", json={**settings(idp), "client_secret": None,
                                                                    "claim": "email"},
                       headers=world.headers("admin"))
    assert again.status_code == 200 and again.get_json()["claim"] == "email"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert crypto.decrypt(db.session.scalar(select(SsoConfig)).client_secret_enc) == idp.client_secret
    changed = events(clean_app, world, "sso.settings_changed")
    assert [e.actor for e in changed] == [f"user:{user_id(clean_app, world, 'admin')}:admin"] * 2
    assert [e.after["client_secret_changed"] for e in changed] == [True, False]
    assert all(idp.client_secret not in str(e.after) for e in changed)


def test_bad_settings_are_422_with_field_errors_and_change_nothing(clean_app, client, world, idp):
    url, h = f"/api/v1/tenants/{world.slug}/sso", world.headers("admin")
    r = client.put(url, json={}, headers=h)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"issuer", "client_id"}
    r = client.put(url, json=settings(idp, client_secret=None), headers=h)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"client_secret"}
    r = client.put(url, json=settings(idp, issuer="ftp://idp.example"), headers=h)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"issuer"}
    r = client.put(url, json=settings(idp, sso_only=True), headers=h)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"break_glass_username"}
    r = client.put(url, json=settings(idp, sso_only=True, break_glass_username="staff"), headers=h)
    assert r.get_json()["errors"] == {"break_glass_username": ["No active tenant administrator has this username."]}
    r = client.put(url, json=settings(idp, jit_create=True), headers=h)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"jit_create"}
    r = client.put(url, json=settings(idp, maps_to="email", claim="bad claim!"), headers=h)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"maps_to", "claim"}
    clean_app.config["CONGVU_ENV"] = "production"
    try:
        r = client.put(url, json=settings(idp), headers=h)
    finally:
        clean_app.config["CONGVU_ENV"] = "development"
    assert r.status_code == 422 and r.get_json()["errors"] == {"issuer": ["The issuer must be an https:// address."]}
    vi = client.put(url + "?lang=vi", json=settings(idp, sso_only=True, break_glass_username="staff"), headers=h)
    assert vi.get_json()["errors"] == {"break_glass_username": [
        "Không có quản trị viên của đơn vị nào đang hoạt động có tên đăng nhập này."]}
    assert client.get(url, headers=h).get_json()["configured"] is False
    assert events(clean_app, world, "sso.settings_changed") == []


# ---------------------------------------------------------------- signing in


def test_a_good_login_signs_the_person_in_and_logout_ends_the_session(clean_app, client, world, idp):
    configure(client, world, idp)
    r = sso_login(client, world, idp, preferred_username="staff")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    staff = user_id(clean_app, world, "staff")
    assert signed_in_as(client).startswith(f"u:{world.tenant_id}:{staff}:")
    assert client.get(f"/t/{world.slug}/me").status_code == 200
    login = events(clean_app, world, "auth.login")[-1]
    assert (login.actor, login.after) == (f"user:{staff}:staff", {"via": "sso", "issuer": idp.issuer})
    # Logout raises the login's session generation: a copy of the cookie is signed out too.
    cookie = client.get_cookie("session").value
    page = client.get(f"/t/{world.slug}/me").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    copy = clean_app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get(f"/t/{world.slug}/me").status_code == 302


def test_the_state_must_be_this_browsers(clean_app, client, world, idp):
    configure(client, world, idp)
    idp.claims = {"preferred_username": "staff"}
    location = client.get(f"/t/{world.slug}/sso/login").headers["Location"]
    back = urlsplit(requests.get(location, allow_redirects=False, timeout=10).headers["Location"])
    code = parse_qs(back.query)["code"][0]
    forged = client.get(back.path, query_string={"code": code, "state": "forged"})
    assert forged.status_code == 400 and signed_in_as(client) is None
    # Another browser, with no attempt of its own, cannot use the callback either.
    stranger = clean_app.test_client()
    assert stranger.get(back.path, query_string=back.query).status_code == 400
    assert [e.after["reason"] for e in events(clean_app, world, "auth.sso_failed")] == ["bad_state", "no_attempt"]
    assert idp.token_requests == 0


@pytest.mark.parametrize("tamper, reason", [
    ({"sign_with": "rogue"}, "bad_signature"),
    ({"aud": "another-client"}, "wrong_audience"),
    ({"exp_offset": -3600}, "expired"),
    ({"nonce": "replayed-nonce"}, "bad_nonce"),
])
def test_a_token_that_fails_a_check_signs_nobody_in(clean_app, client, world, idp, tamper, reason):
    configure(client, world, idp)
    idp.tamper = tamper
    r = sso_login(client, world, idp, preferred_username="staff")
    assert r.status_code == 401
    assert "Không xác minh được danh tính" in r.get_data(as_text=True)
    assert signed_in_as(client) is None
    failed = events(clean_app, world, "auth.sso_failed")
    assert [e.after["reason"] for e in failed] == [reason]
    assert failed[0].actor == "anonymous@127.0.0.1"
    assert [e.after for e in events(clean_app, world, "auth.login") if e.after["via"] == "sso"] == []
    assert idp.token_requests == 1


def test_an_unknown_person_is_refused_in_vietnamese_and_nothing_is_created(clean_app, client, world, idp):
    configure(client, world, idp)
    before = counts(clean_app, world)
    r = sso_login(client, world, idp, preferred_username="nguoi-la")
    assert r.status_code == 403
    html = r.get_data(as_text=True)
    assert ("Tài khoản đăng nhập một lần của bạn (nguoi-la) chưa được liên kết với ai trong Tỉnh thử tinh-a. "
            "Hãy đề nghị quản trị viên của đơn vị thêm tài khoản đăng nhập cho bạn.") in html
    assert counts(clean_app, world) == before and signed_in_as(client) is None
    assert [(e.after["reason"], e.after["value"]) for e in events(clean_app, world, "auth.sso_failed")] == [
        ("unknown_person", "nguoi-la")]


def test_just_in_time_creation_makes_a_login_for_a_roster_employee_only(clean_app, client, world, idp):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        newbie = org.create_employee({"code": "NEWBIE", "full_name": "Người Mới", "unit_id": world.ids["dept"],
                                      "position_code": "CV"}).id
        unit_of_work.commit()
    configure(client, world, idp, claim="employee_code", maps_to="employee_code", jit_create=True)
    users, linked = counts(clean_app, world)
    refused = sso_login(client, world, idp, employee_code="GHOST")
    assert refused.status_code == 403 and counts(clean_app, world) == (users, linked)
    r = sso_login(client, world, idp, employee_code="NEWBIE")
    assert r.status_code == 302 and counts(clean_app, world) == (users + 1, linked + 1)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        user = db.session.scalar(select(User).where(User.username == "NEWBIE"))
        assert (user.roles, db.session.get(Employee, newbie).user_id) == (["employee"], user.id)
    assert signed_in_as(client).startswith(f"u:{world.tenant_id}:{user.id}:")
    created = events(clean_app, world, "auth.sso_login_created")
    assert [(e.actor, e.after["employee_id"]) for e in created] == [(f"user:{user.id}:NEWBIE", newbie)]
    # The new login has no password: none opens it.
    r = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "NEWBIE", "password": "!sso"})
    assert r.status_code == 401
    # An employee code already linked signs its own login in, with nothing created.
    again = clean_app.test_client()
    assert sso_login(again, world, idp, employee_code="STAFF").status_code == 302
    assert counts(clean_app, world) == (users + 1, linked + 1)


def test_sso_only_refuses_passwords_but_the_break_glass_admins(clean_app, client, world, idp):
    configure(client, world, idp, sso_only=True, break_glass_username="admin")
    r = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "staff", "password": PASSWORD})
    assert r.status_code == 403 and r.get_json()["code"] == "sso_only"
    r = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "manager", "password": "wrong"})
    assert r.status_code == 403 and r.get_json()["code"] == "sso_only"
    r = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "admin", "password": PASSWORD})
    assert r.status_code == 200
    page = client.get(f"/login?t={world.slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf_token": token, "tenant": world.slug, "username": "staff",
                                    "password": PASSWORD})
    assert r.status_code == 403 and signed_in_as(client) is None
    html = r.get_data(as_text=True)
    assert "Tỉnh thử tinh-a chỉ đăng nhập một lần (SSO): hãy dùng nút bên dưới." in html
    assert f'href="/t/{world.slug}/sso/login"' in html
    # Single sign-on itself still works for the same person.
    assert sso_login(client, world, idp, preferred_username="staff").status_code == 302


def test_the_login_page_shows_the_tenants_sso_button(clean_app, client, world, idp):
    button = f'href="/t/{world.slug}/sso/login"'
    assert button not in client.get(f"/login?t={world.slug}").get_data(as_text=True)
    assert client.get(f"/t/{world.slug}/sso/login").status_code == 404
    configure(client, world, idp)
    html = client.get(f"/login?t={world.slug}").get_data(as_text=True)
    assert button in html and "Đăng nhập một lần: Tỉnh thử tinh-a" in html
    configure(client, world, idp, enabled=False)
    assert button not in client.get("/login").get_data(as_text=True)
    assert client.get(f"/t/{world.slug}/sso/login").status_code == 404


def test_an_unreachable_provider_is_a_clear_502(clean_app, client, world, idp):
    configure(client, world, idp, issuer="http://127.0.0.1:9")
    r = client.get(f"/t/{world.slug}/sso/login")
    assert r.status_code == 502 and "Máy chủ đăng nhập một lần không phản hồi" in r.get_data(as_text=True)


def _page_client(app, world, username: str):
    from core.auth.services import principal_for_user

    page = app.test_client()
    with app.app_context(), tenant_context(world.tenant_id):
        sid = principal_for_user(db.session.scalar(select(User).where(User.username == username))).get_id()
    with page.session_transaction() as session:
        session["_user_id"], session["_fresh"] = sid, True
    html = page.get(f"/t/{world.slug}/admin/sso").get_data(as_text=True)
    return page, re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_admin_page_sets_sso_and_shows_field_errors(clean_app, client, world, idp):
    page, token = _page_client(clean_app, world, "admin")
    form = {"csrf_token": token, "enabled": "1", "issuer": idp.issuer, "client_id": idp.client_id,
            "client_secret": idp.client_secret, "claim": "preferred_username", "maps_to": "username"}
    bad = page.post(f"/t/{world.slug}/admin/sso", data={**form, "issuer": "", "sso_only": "1"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="issuer-err"' in html and 'id="break_glass_username-err"' not in html  # the schema speaks first
    bad = page.post(f"/t/{world.slug}/admin/sso", data={**form, "sso_only": "1"})
    assert bad.status_code == 422 and 'id="break_glass_username-err"' in bad.get_data(as_text=True)
    assert idp.client_secret not in bad.get_data(as_text=True)
    ok = page.post(f"/t/{world.slug}/admin/sso", data=form)
    assert ok.status_code == 302
    shown = page.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu khóa bí mật (đã mã hóa)" in shown and idp.client_secret not in shown
    assert f"http://localhost/t/{world.slug}/sso/callback" in shown
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(SsoConfig.client_id)) == idp.client_id
    assert [e.actor for e in events(clean_app, world, "sso.settings_changed")] == [
        f"user:{user_id(clean_app, world, 'admin')}:admin"]
    removed = page.post(f"/t/{world.slug}/admin/sso", data={"csrf_token": token, "remove": "1"})
    assert removed.status_code == 302
    assert client.get(f"/api/v1/tenants/{world.slug}/sso", headers=world.headers("admin")).get_json()[
        "configured"] is False


def test_a_provider_that_rotates_its_keys_is_followed(clean_app, client, world, idp):
    configure(client, world, idp)
    assert sso_login(client, world, idp, preferred_username="staff").status_code == 302
    idp.rotate()  # the app holds the old key set in its cache: an unknown key id fetches it again
    other = clean_app.test_client()
    assert sso_login(other, world, idp, preferred_username="manager").status_code == 302
    assert signed_in_as(other).startswith(f"u:{world.tenant_id}:{user_id(clean_app, world, 'manager')}:")


def test_a_deactivated_login_or_a_missing_claim_is_refused(clean_app, client, world, idp):
    configure(client, world, idp)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.scalar(select(User).where(User.username == "staff2")).active = False
        unit_of_work.commit()
    r = sso_login(client, world, idp, preferred_username="staff2")
    assert r.status_code == 403 and "Tài khoản này đã bị khóa" in r.get_data(as_text=True)
    r = sso_login(client, world, idp, email="staff@example.vn")  # no preferred_username in the token
    assert r.status_code == 403 and signed_in_as(client) is None
    assert [e.after["reason"] for e in events(clean_app, world, "auth.sso_failed")] == [
        "account_deactivated", "claim_missing"]


def test_the_secret_key_rotates_and_production_needs_one(clean_app, client, world, idp):
    configure(client, world, idp)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        stored = db.session.scalar(select(SsoConfig.client_secret_enc))
        old = clean_app.config["CONGVU_SSO_KEY"]
        clean_app.config["CONGVU_SSO_KEY"] = "a-new-passphrase-for-2027," + old
        try:
            assert crypto.decrypt(stored) == idp.client_secret  # the old key still opens it
            assert crypto.decrypt(crypto.encrypt("x")) == "x"
            clean_app.config["CONGVU_SSO_KEY"] = "a-new-passphrase-for-2027"
            with pytest.raises(crypto.SecretUnavailable):
                crypto.decrypt(stored)
        finally:
            clean_app.config["CONGVU_SSO_KEY"] = old
    # Without any key (production with CONGVU_SSO_KEY unset) a secret is not stored: 409, nothing changed.
    clean_app.config["CONGVU_SSO_KEY"] = None
    try:
        r = client.put(f"/api/v1/tenants/{world.slug}/sso", json=settings(idp, claim="email"),
                       headers=world.headers("admin"))
        broken = client.get(f"/t/{world.slug}/sso/login")
    finally:
        clean_app.config["CONGVU_SSO_KEY"] = old
    assert r.status_code == 409 and r.get_json()["code"] == "sso_key_missing"
    assert broken.status_code == 503
    assert client.get(f"/api/v1/tenants/{world.slug}/sso", headers=world.headers("admin")).get_json()["claim"] == (
        "preferred_username")
