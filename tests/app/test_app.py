"""The application shell: config, OpenAPI, pages, CSRF, language, security headers."""

from __future__ import annotations

import re

import pytest

from core import create_app
from core.config import ConfigError
from tests.factories import PASSWORD, build_world, make_operator


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="CONGVU_SECRET_KEY"):
        create_app({"CONGVU_ENV": "production", "CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                    "CONGVU_INSTANCE_PATH": str(tmp_path)})
    app = create_app({"CONGVU_ENV": "production", "CONGVU_SECRET_KEY": "k" * 64, "CONGVU_AUDIT_KEY": "a" * 64,
                      "CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CONGVU_INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_development_secret_is_generated_once(tmp_path):
    first = create_app({"CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CONGVU_INSTANCE_PATH": str(tmp_path)})
    second = create_app({"CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CONGVU_INSTANCE_PATH": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("CONGVU_LOGIN_LIMIT_PER_ACCOUNT", "5/minute")
    monkeypatch.setenv("CONGVU_TOKEN_TTL_SECONDS", "60")
    app = create_app({"TESTING": True, "CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                      "CONGVU_INSTANCE_PATH": str(tmp_path)})
    assert app.config["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"] == "5/minute" and app.config["CONGVU_TOKEN_TTL_SECONDS"] == 60


def test_openapi_document_validates_and_documents_the_foundation(clean_app, client):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    paths = doc["paths"]
    for path, method in [("/api/v1/auth/token", "post"), ("/api/v1/auth/revoke", "post"),
                         ("/api/v1/tenants", "get"), ("/api/v1/tenants", "post"),
                         ("/api/v1/tenants/{t}/settings", "patch"), ("/api/v1/tenants/{t}/units", "post"),
                         ("/api/v1/tenants/{t}/units/{unit_id}", "delete"),
                         ("/api/v1/tenants/{t}/positions/{position_id}", "patch"),
                         ("/api/v1/tenants/{t}/employees", "get"),
                         ("/api/v1/tenants/{t}/employees/{employee_id}", "get")]:
        assert method in paths[path], (path, method)
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


def test_login_page_is_vietnamese_and_needs_csrf(clean_app, client):
    build_world(clean_app, "tinh-a")
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Đăng nhập" in html and 'lang="vi"' in html
    no_token = client.post("/login", data={"tenant": "tinh-a", "username": "staff", "password": PASSWORD})
    assert no_token.status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    wrong = client.post("/login", data={"csrf_token": token, "tenant": "tinh-a", "username": "staff",
                                        "password": "wrong-password"})
    assert wrong.status_code == 401 and "Sai đơn vị" in wrong.get_data(as_text=True)
    ok = client.post("/login", data={"csrf_token": token, "tenant": "tinh-a", "username": "staff",
                                     "password": PASSWORD})
    assert ok.status_code == 302
    home = client.get("/t/tinh-a/")
    text = home.get_data(as_text=True)
    assert home.status_code == 200 and "Tỉnh thử tinh-a" in text and "Người staff" in text
    assert "Người outsider" not in text
    assert client.get("/t/tinh-b/").status_code == 404


def test_other_tenants_home_is_404_and_anonymous_is_sent_to_login(clean_app, client):
    build_world(clean_app, "tinh-a")
    build_world(clean_app, "tinh-b")
    assert client.get("/t/tinh-a/").status_code == 302
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.post("/login", data={"csrf_token": token, "tenant": "tinh-b", "username": "admin", "password": PASSWORD})
    assert client.get("/t/tinh-a/").status_code == 404
    assert client.get("/t/tinh-b/").status_code == 200


def test_english_on_request(clean_app, client):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in html and 'lang="en"' in html
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)  # remembered
    assert "Đăng nhập" in client.get("/login?lang=vi").get_data(as_text=True)


def test_security_headers(clean_app, client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)


def test_unknown_api_path_and_method_answer_in_contract_format(clean_app, client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    wrong = client.delete("/api/v1/tenants")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "method_not_allowed"


def test_upload_over_the_limit_is_413(clean_app, client):
    response = client.post("/api/v1/auth/token", data=b"x" * (10 * 1024 * 1024 + 1),
                           content_type="application/json")
    assert response.status_code == 413 and response.get_json()["code"] == "too_large"


def _page_login(app, slug: str | None, username: str):
    """A browser-like client signed in through the login form."""
    browser = app.test_client()
    html = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    signed_in = browser.post("/login", data={"csrf_token": token, "tenant": slug or "__operator__", "username": username,
                                             "password": PASSWORD})
    assert signed_in.status_code == 302
    return browser


# What each role's home page links to: (path under /t/<slug>/, Vietnamese label).
TODAY, MONTH, TREND, MINE = ("today", "Hôm nay"), ("me", "Tháng của tôi"), ("me/trend", "Xu hướng của tôi"), \
    ("classification", "Xếp loại của tôi")
DOCUMENTS = ("documents", "Văn bản, biểu mẫu")  # everyone: one's own forms at least
EVALUATION = ("evaluation", "Đánh giá, xếp loại cuối năm")  # everyone evaluated, and the tenant admin
OWN = {TODAY, MONTH, TREND, MINE, DOCUMENTS, EVALUATION}
UNIT = {("unit", "Đơn vị của tôi"), ("dashboard/unit", "Bảng điều khiển đơn vị"), ("jobs", "Tác vụ")}
REVIEW = ("classification/unit", "Xem xét xếp loại đơn vị")
PROVINCE = {("dashboard/province", "Bảng điều khiển toàn tỉnh"),
            ("classification/province", "Xếp loại và chia thưởng toàn tỉnh")}
COMPONENTS, AUDIT = ("admin/components", "Thành phần và cấu hình"), ("admin/audit", "Nhật ký kiểm tra")
ADMIN_ONLY = {("admin/imports", "Nhập và xuất dữ liệu"), ("admin/users", "Tài khoản đăng nhập"),
              ("admin/", "Cán bộ, đơn vị và danh mục")}
HOME_LINKS = {
    "staff": OWN,
    "manager": OWN | UNIT | {REVIEW},
    "auditor": OWN | UNIT | PROVINCE | {COMPONENTS, AUDIT},
    "admin": OWN | UNIT | {REVIEW} | PROVINCE | {COMPONENTS, AUDIT} | ADMIN_ONLY,
}


@pytest.mark.parametrize("who", sorted(HOME_LINKS))
def test_home_links_every_page_the_role_may_open_and_no_other(clean_app, who):
    build_world(clean_app, "tinh-a")
    browser = _page_login(clean_app, "tinh-a", who)
    html = browser.get("/t/tinh-a/").get_data(as_text=True)
    links = set(re.findall(r'<a href="/t/tinh-a/([^"?]*)">([^<]+)</a>', html))
    assert links == HOME_LINKS[who]
    assert '<a href="/account/password">Đổi mật khẩu</a>' in html  # every signed-in person, in the top bar
    for path, _label in sorted(links):
        page = browser.get(f"/t/tinh-a/{path}")
        assert page.status_code == 200, path
        title = re.search(r"<title>(.*?)</title>", page.get_data(as_text=True), re.S).group(1)
        assert "<" not in title, (path, title)  # a title is text: markup there shows as text in the tab
    everything = set().union(*HOME_LINKS.values())
    for path, _label in sorted(everything - links):  # a link not shown is a page the role may not open
        assert browser.get(f"/t/tinh-a/{path}").status_code == 403, path


VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảãàáắằẳẵặấầẩẫậẹẻẽèéếềểễệịỉĩìíọỏõòóốồổỗộớờởỡợụủũùúứừửữựỳýỷỹỵ]", re.I)


def test_admin_pages_speak_english_on_request(clean_app):
    build_world(clean_app, "tinh-a")
    browser = _page_login(clean_app, "tinh-a", "admin")
    for path, _label in sorted(ADMIN_ONLY | {COMPONENTS, AUDIT}):
        vi = browser.get(f"/t/tinh-a/{path}?lang=vi").get_data(as_text=True)
        assert VIETNAMESE_LETTERS.search(re.search(r"<h1>(.*?)</h1>", vi, re.S).group(1)), path
        en = browser.get(f"/t/tinh-a/{path}?lang=en").get_data(as_text=True)
        heading = re.search(r"<h1>(.*?)</h1>", en, re.S).group(1)
        assert not VIETNAMESE_LETTERS.search(heading), (path, heading)
    imports = browser.get("/t/tinh-a/admin/imports?lang=en").get_data(as_text=True)
    body = re.sub(r"<option[^>]*>.*?</option>|<li><a [^>]*>.*?</li>|<title>.*?</title>"
                  r"|<p(?: class=\"tap\")?><a [^>]*>.*?</a></p>"
                  r"|lang=\"vi\">Tiếng Việt|Hướng dẫn", "", imports, flags=re.S)
    assert not VIETNAMESE_LETTERS.search(body), VIETNAMESE_LETTERS.findall(body)[:5]


def test_every_message_in_the_code_has_its_vietnamese():
    """What `_()`/`_l()` mark in core/ and plugins/ (babel.cfg) is in vi/messages.po with a
    translation: a msgid left out shows English in the Vietnamese interface."""
    from pathlib import Path

    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with open(root / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(root, method_map, options_map,
                                                                           keywords=keywords):
        found.setdefault(message[0] if isinstance(message, tuple) else message, f"{filename}:{lineno}")
    with open(root / "core/translations/vi/LC_MESSAGES/messages.po", "rb") as po:
        catalog = read_po(po)
    untranslated = {m: where for m, where in found.items() if m and (m not in catalog or not catalog[m].string)}
    assert len(found) > 400 and untranslated == {}


def test_operator_pages_name_a_tenants_status_in_vietnamese(clean_app, client):
    from core import unit_of_work
    from core.tenants.services import create_tenant

    with clean_app.app_context():
        create_tenant("tinh-s", "Tỉnh S")
        unit_of_work.commit()
    make_operator(clean_app, client, "root")
    browser = _page_login(clean_app, None, "root")
    for path in ("/operator/", "/operator/dashboard"):
        html = browser.get(path).get_data(as_text=True)
        # The cells carry a data-label (the phone's folded cards): match the text, not the tag.
        assert ">đang hoạt động</td>" in html and ">active</td>" not in html, path


def test_operator_pages_are_linked_from_the_operator_home(clean_app, client):
    make_operator(clean_app, client, "root")
    browser = _page_login(clean_app, None, "root")
    home = browser.get("/", follow_redirects=True)
    html = home.get_data(as_text=True)
    assert home.request.path == "/operator/"
    links = set(re.findall(r'<a href="(/[^"?]*)">([^<]+)</a>', html))
    assert links >= {("/operator/", "Các tỉnh (khách thuê)"), ("/operator/dashboard", "Tổng quan nền tảng"),
                     ("/operator/merges", "Sáp nhập tỉnh"), ("/account/password", "Đổi mật khẩu")}
    for path, _label in sorted(links):
        assert browser.get(path).status_code == 200, path
