"""Bad input is a clear 4xx, never a 500 (issue 17, item 8), both databases: JSON with a
lone surrogate or nested beyond CONGVU_JSON_MAX_DEPTH on the login and on a tenant
endpoint; a foreign tenant's URL stays a 404 whatever its body; every 405 names the
methods the resource takes in `Allow`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import MethodNotAllowed

from core.extensions import db
from core.org.models import OrgUnit
from core.tenancy import tenant_context
from tests.work.test_work_support import build

DEPTH_MESSAGE = "The JSON nests deeper than 64 levels."
SURROGATE_MESSAGE = "The JSON text contains an invalid character (a lone UTF-16 surrogate such as \\ud800)."


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


def post_raw(client, url: str, body: str, headers: dict | None = None):
    return client.post(url, data=body.encode(), content_type="application/json", headers=headers or {})


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("body, message", [
    ('{"tenant": "tinh-w", "username": "\\ud800", "password": "x"}', SURROGATE_MESSAGE),
    ('{"tenant": "tinh-w", "username": "staff", "password": "abc\\udfff"}', SURROGATE_MESSAGE),
    ('{"\\ud800": 1, "tenant": "tinh-w", "username": "staff", "password": "x"}', SURROGATE_MESSAGE),
    (nested(50_000), DEPTH_MESSAGE),
    ('{"tenant": "tinh-w", "username": "staff", "password": "x", "extra": ' + nested(65) + "}", DEPTH_MESSAGE),
])
def test_the_login_answers_400_to_unencodable_or_too_deep_json(clean_app, client, w, body, message):
    r = post_raw(client, "/api/v1/auth/token", body)
    assert r.status_code == 400, r.get_data(as_text=True)[:200]
    assert r.get_json() == {"code": "bad_json", "message": message, "errors": {"_body": [message]}}
    assert r.headers["X-Content-Type-Options"] == "nosniff"  # our answer, with its headers


def test_depth_64_is_allowed_and_65_is_not(clean_app, client, w):
    """The limit counts the outermost object as level 1."""
    ok = post_raw(client, "/api/v1/auth/token", json.dumps({"tenant": "tinh-w", "username": "staff",
                                                            "password": "x", "pad": json.loads(nested(63))}))
    assert ok.status_code == 422  # parsed; the schema refuses the unknown field
    too_deep = post_raw(client, "/api/v1/auth/token", json.dumps({"tenant": "tinh-w", "username": "staff",
                                                                  "password": "x", "pad": json.loads(nested(64))}))
    assert too_deep.status_code == 400


@pytest.mark.parametrize("body", ['{"code": "X1", "name": "\\ud800", "kind": "department"}', nested(50_000)])
def test_a_tenant_json_endpoint_answers_400_and_writes_nothing(clean_app, client, w, body):
    r = post_raw(client, w.url("/units"), body, w.h("admin"))
    assert r.status_code == 400 and r.get_json()["code"] == "bad_json"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 3  # the world's units


def test_another_tenants_url_stays_404_whatever_the_body(clean_app, client, w):
    other = build(clean_app, "tinh-x")
    r = post_raw(client, other.url("/units"), nested(50_000), w.h("admin"))
    assert r.status_code == 404


def _url_of(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        values[name] = ("tinh-w" if name == "t" else "1" if kind == "IntegerConverter"
                        else sorted(converter.items)[0] if kind == "AnyConverter" else "x")
    return rule.build(values, append_unknown=False)[1]


def test_every_405_names_the_allowed_methods(clean_app, client, w):
    """Each route of the URL map, called with a method it does not take: where that is a
    405, `Allow` lists exactly the methods the URL takes (API and pages)."""
    checked = 0
    adapter = clean_app.url_map.bind("localhost")
    for rule in clean_app.url_map.iter_rules():
        if rule.endpoint == "static" or "<path:" in rule.rule:
            continue
        url = _url_of(rule)
        wrong = next((m for m in ("PATCH", "DELETE", "PUT", "POST", "GET") if m not in rule.methods), None)
        if wrong is None:
            continue
        r = client.open(url, method=wrong, headers=w.h("admin") if url.startswith("/api/") else {})
        if r.status_code != 405:
            continue  # another rule at this URL takes the method
        with pytest.raises(MethodNotAllowed) as raised:
            adapter.match(url, method=wrong)
        allowed = set(raised.value.valid_methods or [])
        assert r.headers.get("Allow"), (rule.rule, wrong)
        assert set(r.headers["Allow"].split(", ")) == allowed, (rule.rule, wrong, r.headers["Allow"])
        checked += 1
    assert checked > 100  # the API's and the pages' routes, not a handful


NUL_MESSAGE = "The text contains a NUL character (\\u0000), which no field can hold."


@pytest.mark.parametrize("body", ['{"code": "X1", "name": "a\\u0000b", "kind": "department"}',
                                  '{"code": "X\\u0000", "name": "Phòng mới", "kind": "department"}'])
def test_a_nul_character_in_json_text_is_a_400_and_writes_nothing(clean_app, client, w, body):
    """PostgreSQL's text cannot hold U+0000: a name with one was a 500 there (and stored on
    SQLite, to break the same province's move to PostgreSQL)."""
    r = post_raw(client, w.url("/units"), body, w.h("admin"))
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.get_json() == {"code": "bad_json", "message": NUL_MESSAGE, "errors": {"_body": [NUL_MESSAGE]}}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 3  # the world's units


def test_a_nul_character_in_a_page_form_is_a_400_in_the_pages_language(clean_app, client, w):
    """The admin's unit form stored 'a\\x00b' on SQLite; on PostgreSQL it cannot be stored."""
    from tests.tenancy.test_isolation import page_session

    admin, csrf = page_session(clean_app, w, "admin")
    r = admin.post(w.url("/admin/units").replace("/api/v1/tenants/", "/t/"), data={
        "csrf_token": csrf, "code": "AG-P9", "name": "Phòng\x00 Chín", "kind": "department"})
    assert r.status_code == 400
    assert "Nội dung có ký tự NUL (\\u0000), không trường nào lưu được." in r.get_data(as_text=True)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 3  # the world's units
    fine = admin.post(w.url("/admin/units").replace("/api/v1/tenants/", "/t/"), data={
        "csrf_token": csrf, "code": "AG-P9", "name": "Phòng Chín", "kind": "department"})
    assert fine.status_code == 302


@pytest.mark.parametrize("disposition", ['form-data; name="\r"', "form-data"])
def test_a_multipart_part_without_a_readable_name_is_not_a_500(clean_app, client, w, disposition):
    """Werkzeug keys such a part None; the NUL check read it as text and answered 500
    (found by the API fuzzing on PUT …/document-templates/{kind}). The upload is judged as
    if the part were not there: no file, a 422 naming the field, nothing stored."""
    body = (f"--b\r\nContent-Disposition: {disposition}\r\n\r\nfalse\r\n--b--\r\n").encode()
    r = client.put(w.url("/document-templates/evaluation_form"), data=body,
                   content_type="multipart/form-data; boundary=b", headers=w.h("admin"))
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert r.get_json()["errors"] == {"file": ["Required."]}
    templates = client.get(w.url("/document-templates"), headers=w.h("admin")).get_json()
    assert templates and not any(t["custom"] for t in templates), templates
