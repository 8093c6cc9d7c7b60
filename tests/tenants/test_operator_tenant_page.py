"""The platform operator adds a province from the page (both databases): until now only the
API or a command could, and the province then had nobody to sign in. The page creates
the tenant, its communes from a province code and its first tenant admin, whose
temporary password is shown once and must be changed at the first sign-in; a wrong field
is said beside it in Vietnamese and writes nothing; only an operator may."""

from __future__ import annotations

import html as htmllib
import re

from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.auth.models import User
from core.extensions import db
from core.org.models import OrgUnit
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from tests.factories import build_world
from tests.mergers.test_mergers import _csrf, _operator_session
from tests.tenancy.test_isolation import page_session


def _text(page: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _tenants(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Tenant))


def test_the_operator_adds_a_province_with_its_first_admin(clean_app, client):
    _operator_session(clean_app, client)
    home = client.get("/operator/").get_data(as_text=True)
    assert 'href="/operator/tenants/new"' in home and "Thêm tỉnh" in home
    assert re.search(r'<nav class="tabs"[^>]*>\s*<a href="/operator/" aria-current="page">', home)
    form = client.get("/operator/tenants/new")
    assert form.status_code == 200 and 'value="admin"' in form.get_data(as_text=True)
    token = _csrf(form.get_data(as_text=True))
    before = _tenants(clean_app)

    bad = client.post("/operator/tenants/new", data={"csrf_token": token, "name": "Tỉnh Thử", "slug": "Tinh Thu!",
                                                     "province_code": "56", "username": "admin"})
    assert bad.status_code == 422
    assert "Dùng 2–63 chữ thường không dấu, chữ số hoặc '-'." in _text(bad.get_data(as_text=True))
    unknown = client.post("/operator/tenants/new", data={"csrf_token": token, "name": "Tỉnh Thử", "slug": "tinh-thu",
                                                         "province_code": "998", "username": "admin"})
    assert unknown.status_code == 422
    assert "Không có tỉnh nào hiện hành mang mã 998." in _text(unknown.get_data(as_text=True))
    assert _tenants(clean_app) == before

    made = client.post("/operator/tenants/new", data={"csrf_token": token, "name": "Tỉnh Khánh Hòa",
                                                      "slug": "khanh-hoa", "province_code": "56",
                                                      "username": "quantri"})
    assert made.status_code == 200
    words = _text(made.get_data(as_text=True))
    assert "Đã thêm tỉnh: Tỉnh Khánh Hòa" in words and "/t/khanh-hoa/" in words
    password = re.search(r'<code class="secret">([^<]+)</code>', made.get_data(as_text=True)).group(1)
    assert re.fullmatch(r"[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}", password)
    with clean_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "khanh-hoa"))
        with tenant_context(tenant.id):
            units = db.session.scalar(select(func.count()).select_from(OrgUnit))
            admin = db.session.scalar(select(User).where(User.username == "quantri"))
            assert admin.roles == ["tenant_admin"] and admin.must_change_password
            events = [(e.action, e.actor) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert f"Đã tạo {units} xã, phường thành đơn vị." in words and units > 0
    assert events == [("tenant.create", "operator:wizard"), ("user.create", "operator:wizard")]
    # The admin signs in with it and is sent to choose their own.
    signed = client.post("/login", data={"tenant": "khanh-hoa", "username": "quantri", "password": password,
                                         "csrf_token": _csrf(client.get("/login").get_data(as_text=True))})
    assert signed.status_code in (302, 303)
    assert client.get(signed.headers["Location"], follow_redirects=True).request.path == "/account/password"


def test_a_taken_slug_is_said_beside_it(clean_app, client):
    build_world(clean_app, "tinh-a")
    _operator_session(clean_app, client)
    token = _csrf(client.get("/operator/tenants/new").get_data(as_text=True))
    taken = client.post("/operator/tenants/new", data={"csrf_token": token, "name": "Tỉnh A", "slug": "tinh-a",
                                                       "username": "admin"})
    assert taken.status_code == 422
    assert re.search(r'<p class="error" id="slug-err">Đã có tỉnh dùng mã định danh này.</p>',
                     taken.get_data(as_text=True))


def test_only_an_operator_adds_a_province(clean_app):
    world = build_world(clean_app, "tinh-a")
    admin, token = page_session(clean_app, world, "admin")
    assert admin.get("/operator/tenants/new").status_code == 403
    assert admin.post("/operator/tenants/new", data={"csrf_token": token, "name": "X", "slug": "tinh-x",
                                                     "username": "admin"}).status_code == 403
    assert _tenants(clean_app) == 1
