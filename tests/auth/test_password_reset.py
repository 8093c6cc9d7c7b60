"""A tenant admin's password reset, the forced change that follows, and changing one's
own password: API and pages, on both databases."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.audit.services import verify_chain
from core.auth.models import ApiToken, User
from core.extensions import db
from core.org import services as org
from core.tenancy import tenant_context
from tests.factories import PASSWORD, build_world, login, make_operator

NEW_PASSWORD = "Blue-Lantern-Harbour-7"


@pytest.fixture
def world(clean_app, client):
    return build_world(clean_app, "tinh-a", client)


def reset(client, w, who: str = "staff", by: str = "admin", **body):
    return client.post(f"/api/v1/tenants/{w.slug}/employees/{w.ids[who]}/password-reset",
                       headers=w.headers(by), json=body)


def user_row(app, w, username: str) -> User:
    with app.app_context(), tenant_context(w.tenant_id):
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def events(app, w, action: str | None = None) -> list[AuditEvent]:
    with app.app_context(), tenant_context(w.tenant_id):
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            db.session.expunge(row)
        return rows


def token_status(client, slug: str, username: str, password: str) -> int:
    return client.post("/api/v1/auth/token", json={"tenant": slug, "username": username,
                                                   "password": password}).status_code


# ---------------------------------------------------------------- API


def test_reset_generates_a_temporary_password_that_must_be_changed(clean_app, client, world):
    old_token = world.tokens["staff"]
    response = reset(client, world)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    temp = body.pop("temporary_password")
    assert body == {"employee_id": world.ids["staff"], "username": "staff", "must_change_password": True,
                    "tokens_revoked": 1}
    assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", temp)

    # The old password and the old token are gone; the temporary password logs in.
    assert token_status(client, world.slug, "staff", PASSWORD) == 401
    assert client.get(f"/api/v1/tenants/{world.slug}/employees",
                      headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    token = login(client, world.slug, "staff", temp)
    bearer = {"Authorization": f"Bearer {token}"}

    # Until the password is changed, every other call is 403 with a clear code.
    for method, url in (("GET", f"/api/v1/tenants/{world.slug}/employees"), ("GET", "/api/v1/tenants"),
                        ("POST", f"/api/v1/tenants/{world.slug}/work-items")):
        blocked = client.open(url, method=method, headers=bearer, json={} if method == "POST" else None)
        assert blocked.status_code == 403, url
        assert blocked.get_json()["code"] == "password_change_required"
    assert user_row(clean_app, world, "staff").must_change_password is True

    changed = client.post("/api/v1/auth/password", headers=bearer,
                          json={"current_password": temp, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204
    assert user_row(clean_app, world, "staff").must_change_password is False
    # The token that made the change stays valid and is now let through.
    assert client.get(f"/api/v1/tenants/{world.slug}/employees", headers=bearer).status_code == 200
    assert token_status(client, world.slug, "staff", temp) == 401
    assert token_status(client, world.slug, "staff", NEW_PASSWORD) == 200

    # Audited, with no secret anywhere in the log; the chain still verifies.
    [reset_event] = events(clean_app, world, "auth.password_reset")
    assert reset_event.actor.startswith("user:") and reset_event.actor.endswith(":admin")
    assert reset_event.object_type == "user"
    assert reset_event.after == {"username": "staff", "generated": True, "tokens_revoked": 1,
                                 "must_change_password": True}
    [changed_event] = events(clean_app, world, "auth.password_changed")
    assert changed_event.after == {"username": "staff", "tokens_revoked": 0}
    everything = json.dumps([[e.actor, e.object_id, e.before, e.after] for e in events(clean_app, world)])
    assert temp not in everything and NEW_PASSWORD not in everything and PASSWORD not in everything
    with clean_app.app_context():
        assert verify_chain(world.tenant_id).ok


def test_reset_with_a_given_password_checks_the_policy(clean_app, client, world):
    weak = reset(client, world, password="staff")
    assert weak.status_code == 422
    assert weak.get_json()["errors"] == {"password": ["Password must have at least 12 characters.",
                                                      "Password must not be the username."]}
    common = reset(client, world, password="password1234")
    assert common.get_json()["errors"] == {"password": ["Password is too common."]}
    # Nothing changed by the refusals.
    assert token_status(client, world.slug, "staff", PASSWORD) == 200
    assert events(clean_app, world, "auth.password_reset") == []

    given = reset(client, world, password="Given-Temporary-99")
    assert given.status_code == 200 and given.get_json()["temporary_password"] is None
    assert given.get_json()["tokens_revoked"] == 2  # the world's token and the one just issued
    assert token_status(client, world.slug, "staff", "Given-Temporary-99") == 200
    [event] = events(clean_app, world, "auth.password_reset")
    assert event.after["generated"] is False and "Given-Temporary-99" not in json.dumps(event.after)


@pytest.mark.parametrize("who", ["manager", "staff", "auditor"])
def test_only_a_tenant_admin_may_reset(clean_app, client, world, who):
    response = reset(client, world, who="staff2", by=who)
    assert response.status_code == 403
    assert token_status(client, world.slug, "staff2", PASSWORD) == 200
    assert events(clean_app, world, "auth.password_reset") == []


def test_another_tenants_person_is_404_and_untouched(clean_app, client, world):
    other = build_world(clean_app, "tinh-b", client)
    response = client.post(f"/api/v1/tenants/{world.slug}/employees/{other.ids['staff']}/password-reset",
                           headers=world.headers("admin"), json={})
    assert response.status_code == 404
    cross = client.post(f"/api/v1/tenants/{other.slug}/employees/{other.ids['staff']}/password-reset",
                        headers=world.headers("admin"), json={})
    assert cross.status_code == 404
    assert token_status(client, other.slug, "staff", PASSWORD) == 200
    assert user_row(clean_app, other, "staff").must_change_password is False


def test_a_person_without_a_login_is_409(clean_app, client, world):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        nobody = org.create_employee({"code": "NL", "full_name": "Người không đăng nhập",
                                      "unit_id": world.ids["dept"], "position_code": "CV"})
        unit_of_work.commit()
        nobody_id = nobody.id
    response = client.post(f"/api/v1/tenants/{world.slug}/employees/{nobody_id}/password-reset",
                           headers=world.headers("admin"), json={})
    assert response.status_code == 409 and response.get_json()["code"] == "no_login"


def test_reset_revokes_every_token_of_that_user_only(clean_app, client, world):
    second = login(client, world.slug, "staff")
    assert reset(client, world).get_json()["tokens_revoked"] == 2
    with clean_app.app_context():
        rows = db.session.scalars(select(ApiToken).where(ApiToken.subject_tenant_id == world.tenant_id)).all()
        staff_id = user_row(clean_app, world, "staff").id
        assert {r.user_id for r in rows if r.revoked_at is not None} == {staff_id}
    for token in (world.tokens["staff"], second):
        assert client.get(f"/api/v1/tenants/{world.slug}/units",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get(f"/api/v1/tenants/{world.slug}/units", headers=world.headers("staff2")).status_code == 200


def test_changing_ones_password_refuses_bad_input(clean_app, client, world):
    url, headers = "/api/v1/auth/password", world.headers("staff")
    wrong = client.post(url, headers=headers, json={"current_password": "not-it-at-all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422
    assert wrong.get_json() == {"code": "wrong_password", "message": "The current password is wrong.",
                                "errors": {"current_password": ["Wrong password."]}}
    weak = client.post(url, headers=headers, json={"current_password": PASSWORD, "new_password": "staff"})
    assert weak.status_code == 422
    assert weak.get_json()["errors"] == {"new_password": ["Password must have at least 12 characters.",
                                                          "Password must not be the username."]}
    same = client.post(url, headers=headers, json={"current_password": PASSWORD, "new_password": PASSWORD})
    assert same.get_json()["errors"] == {"new_password": ["The new password must differ from the current one."]}
    missing = client.post(url, headers=headers, json={"current_password": PASSWORD})
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"new_password"}
    assert client.post(url, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 401
    # None of it changed anything.
    assert token_status(client, world.slug, "staff", PASSWORD) == 200
    assert events(clean_app, world, "auth.password_changed") == []


def test_a_change_ends_the_other_tokens_and_keeps_this_one(clean_app, client, world):
    other = login(client, world.slug, "staff")
    assert client.post("/api/v1/auth/password", headers=world.headers("staff"),
                       json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 204
    assert client.get(f"/api/v1/tenants/{world.slug}/units", headers=world.headers("staff")).status_code == 200
    assert client.get(f"/api/v1/tenants/{world.slug}/units",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 401
    [event] = events(clean_app, world, "auth.password_changed")
    assert event.after == {"username": "staff", "tokens_revoked": 1}


def test_failed_changes_are_rate_limited_per_account(clean_app, client, world):
    clean_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "3/minute"
    try:
        bad = {"current_password": "not-it-at-all", "new_password": NEW_PASSWORD}
        codes = [client.post("/api/v1/auth/password", headers=world.headers("staff"), json=bad).status_code
                 for _ in range(4)]
        assert codes == [422, 422, 422, 429]
        # Even the right password waits; another account is not affected.
        good = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert client.post("/api/v1/auth/password", headers=world.headers("staff"), json=good).status_code == 429
        assert client.post("/api/v1/auth/password", headers=world.headers("staff2"), json=good).status_code == 204
    finally:
        clean_app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] = "10/minute"


def test_an_operator_changes_their_password(clean_app, client):
    token = make_operator(clean_app, client)
    response = client.post("/api/v1/auth/password", headers={"Authorization": f"Bearer {token}"},
                           json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert token_status(client, None, "root", NEW_PASSWORD) == 200
    assert token_status(client, None, "root", PASSWORD) == 401


def test_the_endpoints_are_in_the_openapi_document(clean_app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/auth/password"]
    reset_doc = paths["/api/v1/tenants/{t}/employees/{employee_id}/password-reset"]["post"]
    assert {"200", "409", "422"} <= set(reset_doc["responses"])


# ---------------------------------------------------------------- pages


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def page_login(client, slug: str, username: str, password: str):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "tenant": slug, "username": username,
                                       "password": password})


def test_after_a_reset_pages_lead_to_the_change_page(clean_app, client, world):
    temp = reset(client, world).get_json()["temporary_password"]
    pages = clean_app.test_client()
    assert page_login(pages, world.slug, "staff", temp).status_code == 302
    for url in ("/", f"/t/{world.slug}/", f"/t/{world.slug}/today"):
        response = pages.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", url
    htmx = pages.get(f"/t/{world.slug}/today", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/account/password"

    page = pages.get("/account/password")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Đổi mật khẩu" in html and "quản trị viên đặt lại" in html
    for field, label in (("current_password", "Mật khẩu hiện tại"), ("new_password", "Mật khẩu mới"),
                         ("confirm", "Nhập lại mật khẩu mới")):
        assert f'<label for="{field}">{label}</label>' in html and f'id="{field}"' in html
    assert "Change password" in pages.get("/account/password?lang=en").get_data(as_text=True)
    pages.get("/account/password?lang=vi")

    # No CSRF token: refused, nothing changed.
    no_csrf = pages.post("/account/password", data={"current_password": temp, "new_password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert no_csrf.status_code == 400
    token = csrf_of(html)
    weak = pages.post("/account/password", data={"csrf_token": token, "current_password": temp,
                                                 "new_password": "password123", "confirm": "password123"})
    assert weak.status_code == 422 and "Mật khẩu quá phổ biến, dễ đoán." in weak.get_data(as_text=True)
    differ = pages.post("/account/password", data={"csrf_token": token, "current_password": temp,
                                                   "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert differ.status_code == 422 and "không khớp" in differ.get_data(as_text=True)
    wrong = pages.post("/account/password", data={"csrf_token": token, "current_password": "not-it-at-all",
                                                  "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and "Sai mật khẩu." in wrong.get_data(as_text=True)
    assert user_row(clean_app, world, "staff").must_change_password is True

    done = pages.post("/account/password", data={"csrf_token": token, "current_password": temp,
                                                  "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    # The session goes on (with the new password's stamp) and pages open again.
    assert pages.get(f"/t/{world.slug}/").status_code == 200
    assert user_row(clean_app, world, "staff").must_change_password is False
    assert token_status(client, world.slug, "staff", NEW_PASSWORD) == 200


def test_a_reset_ends_the_persons_open_sessions(clean_app, client, world):
    pages = clean_app.test_client()
    assert page_login(pages, world.slug, "staff", PASSWORD).status_code == 302
    assert pages.get(f"/t/{world.slug}/").status_code == 200
    reset(client, world)
    gone = pages.get(f"/t/{world.slug}/")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")


def test_a_change_ends_the_other_sessions(clean_app, client, world):
    first, second = clean_app.test_client(), clean_app.test_client()
    for browser in (first, second):
        assert page_login(browser, world.slug, "staff", PASSWORD).status_code == 302
    token = csrf_of(first.get("/account/password").get_data(as_text=True))
    assert first.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                  "new_password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD}).status_code == 302
    assert first.get(f"/t/{world.slug}/").status_code == 200
    assert second.get(f"/t/{world.slug}/").status_code == 302


def test_admin_logins_page_resets_with_htmx(clean_app, client, world):
    admin = clean_app.test_client()
    page_login(admin, world.slug, "admin", PASSWORD)
    page = admin.get(f"/t/{world.slug}/admin/users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Tài khoản đăng nhập" in html and "Đặt lại mật khẩu" in html
    staff_id = user_row(clean_app, world, "staff").id
    url = f"/t/{world.slug}/admin/users/{staff_id}/password-reset"
    assert f'hx-post="{url}"' in html
    assert admin.post(url, headers={"HX-Request": "true"}).status_code == 400  # no CSRF token
    response = admin.post(url, data={"csrf_token": csrf_of(html)}, headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    temp = re.search(r'<code class="secret">([^<]+)</code>', fragment).group(1)
    assert "chỉ hiển thị một lần" in fragment and "<html" not in fragment
    assert token_status(client, world.slug, "staff", temp) == 200
    assert user_row(clean_app, world, "staff").must_change_password is True
    listing = admin.get(f"/t/{world.slug}/admin/users?q=staff").get_data(as_text=True)
    assert "phải đổi mật khẩu" in listing and "Người staff2" in listing and "Người manager" not in listing


def test_logins_page_is_for_tenant_admins_of_that_tenant(clean_app, client, world):
    other = build_world(clean_app, "tinh-b")
    staff = clean_app.test_client()
    page_login(staff, world.slug, "staff", PASSWORD)
    assert staff.get(f"/t/{world.slug}/admin/users").status_code == 403
    admin = clean_app.test_client()
    page_login(admin, world.slug, "admin", PASSWORD)
    html = admin.get(f"/t/{world.slug}/admin/users").get_data(as_text=True)
    assert admin.get(f"/t/{other.slug}/admin/users").status_code == 404
    foreign = user_row(clean_app, other, "staff").id
    response = admin.post(f"/t/{world.slug}/admin/users/{foreign}/password-reset", data={"csrf_token": csrf_of(html)})
    assert response.status_code == 404
    assert token_status(client, other.slug, "staff", PASSWORD) == 200
