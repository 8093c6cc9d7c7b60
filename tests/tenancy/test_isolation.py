"""Tenant isolation, walked from the URL map: every tenant-scoped API route, called
with tenant A's token against tenant B (and with B's ids inside A's URLs), answers
404 and leaks no row; every list shows only the caller's tenant.

A new endpoint joins automatically; one with a new kind of id in its path must add
a way to make such an object of tenant B to FOREIGN_IDS, or this test fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from core import unit_of_work
from tests.classification.test_classification_api import FOREIGN_CLASSIFICATION_IDS
from tests.factories import World, build_world, make_operator
from tests.imports.test_live_sources import FOREIGN_LIVE_IDS
from tests.webhooks.test_webhooks import FOREIGN_WEBHOOK_IDS
from tests.work.test_work_support import FOREIGN_WORK_IDS

TENANT_PREFIX = "/api/v1/tenants/<t>"

# How to find (or make) an object of the other tenant for each id in a path.
FOREIGN_IDS: dict[str, Callable[[object, World], int]] = {
    "unit_id": lambda app, w: w.ids["dept"],
    "position_id": lambda app, w: w.ids["position"],
    "employee_id": lambda app, w: w.ids["staff"],
    "agency_id": lambda app, w: w.ids["dept"],
    **FOREIGN_WORK_IDS,
    **FOREIGN_CLASSIFICATION_IDS,
    **FOREIGN_WEBHOOK_IDS,
    **FOREIGN_LIVE_IDS,
    "job_id": lambda app, w: _job_of(app, w),
    "field_id": lambda app, w: _deputy_field_of(app, w),
}
# Path parameters that are not object ids (values to use for them).
PLAIN_PARAMS = {"period": "2026-10", "year": "2026", "connector": "staff-xlsx", "kind": "scores", "step": "self"}


def _job_of(app, w: World) -> str:
    """A finished recalculation job of w's tenant (made once per world)."""
    if "job" not in w.ids:
        from core.jobs.runner import submit
        from core.tenancy import tenant_context

        with app.app_context(), tenant_context(w.tenant_id):
            w.ids["job"] = submit("recalculation", "2026-10", {"period": "2026-10"}, "test").id
            unit_of_work.commit()
    return w.ids["job"]


def _deputy_field_of(app, w: World) -> int:
    """A deputy's field in charge of w's tenant (made once per world)."""
    if "deputy_field" not in w.ids:
        from datetime import date

        from core.extensions import db
        from core.org.models import DeputyField
        from core.tenancy import tenant_context

        with app.app_context(), tenant_context(w.tenant_id):
            row = DeputyField(deputy_id=w.ids["staff2"], unit_id=w.ids["other"], start_date=date(2026, 10, 1))
            db.session.add(row)
            unit_of_work.commit()
            w.ids["deputy_field"] = row.id
    return w.ids["deputy_field"]


def tenant_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(TENANT_PREFIX + "/") and rule.rule != TENANT_PREFIX:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


def fill(app, rule: str, slug: str, owner: World) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        if name == "t":
            return slug
        if name in FOREIGN_IDS:
            return str(FOREIGN_IDS[name](app, owner))
        if name in PLAIN_PARAMS:
            return PLAIN_PARAMS[name]
        pytest.fail(f"path parameter <{name}> of {rule}: add it to FOREIGN_IDS or PLAIN_PARAMS in {__file__}")
        return ""

    return re.sub(r"<([^>]+)>", value, rule)


def foreign_page_failures(app, person, token: str, routes, a, b, object_part: str, who: str) -> list[str]:
    """Each (method, rule) of a page walked by a signed-in person of A at B's address, and at
    A's with B's object (`object_part` names it in the rule): every answer must be a 404."""
    failures = []
    for method, rule in routes:
        for url in {fill(app, rule, b.slug, b), fill(app, rule, a.slug, b)}:
            if url.startswith(f"/t/{a.slug}/") and object_part not in rule:
                continue  # no object of B in this URL: it is A's own page
            response = person.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            if response.status_code != 404:
                failures.append(f"{who} of A: {method} {url} -> {response.status_code}")
    return failures


@pytest.fixture
def worlds(clean_app, client):
    return build_world(clean_app, "tinh-a", client), build_world(clean_app, "tinh-b", client)


def call(client, method: str, url: str, headers: dict):
    body = {} if method in ("POST", "PATCH", "PUT") else None
    return client.open(url, method=method, headers=headers, json=body)


def test_there_are_tenant_routes_to_walk(clean_app):
    routes = tenant_routes(clean_app)
    assert ("GET", "/api/v1/tenants/<t>/employees") in routes and len(routes) >= 14


@pytest.mark.parametrize("who", ["admin", "manager", "staff", "auditor"])
def test_other_tenants_urls_are_404_for_every_role(clean_app, client, worlds, who):
    a, b = worlds
    failures = []
    for method, rule in tenant_routes(clean_app):
        url = fill(clean_app, rule, b.slug, b)
        response = call(client, method, url, a.headers(who))
        if response.status_code != 404:
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_other_tenants_ids_inside_own_urls_are_404(clean_app, client, worlds):
    a, b = worlds
    failures = []
    for method, rule in tenant_routes(clean_app):
        params = {m.split(":")[-1] for m in re.findall(r"<([^>]+)>", rule)}
        if not params & set(FOREIGN_IDS):
            continue
        url = fill(clean_app, rule, a.slug, b)
        response = call(client, method, url, a.headers("admin"))
        if response.status_code != 404:
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_lists_hold_no_foreign_rows(clean_app, client, worlds):
    """Each list, read by each tenant's admin, shares no row with the other tenant's list
    (ids are global per table, so a shared id would be a leaked row)."""
    a, b = worlds

    def rows_of(world, rule):
        # Lists that need a period get one; query arguments a list does not take are ignored.
        response = client.get(fill(clean_app, rule, world.slug, world) + "?period=2026-10&year=2026",
                              headers=world.headers("admin"))
        assert response.status_code == 200, rule
        data = response.get_json()
        return [r for r in (data if isinstance(data, list) else []) if isinstance(r, dict)]

    for method, rule in tenant_routes(clean_app):
        if method != "GET" or re.search(r"<(?!t>)[^>]+>", rule.removeprefix(TENANT_PREFIX)):
            continue
        mine, theirs = rows_of(a, rule), rows_of(b, rule)
        for key in ("id", "employee_id"):
            shared = {r.get(key) for r in mine if r.get(key) is not None} & \
                {r.get(key) for r in theirs if r.get(key) is not None}
            assert shared == set(), (rule, key)
        if mine and "tenant_id" in mine[0]:
            assert {r["tenant_id"] for r in mine} == {a.tenant_id}


def test_operator_reads_no_tenant_data(clean_app, client, worlds):
    a, _ = worlds
    token = make_operator(clean_app, client)
    failures = []
    for method, rule in tenant_routes(clean_app):
        url = fill(clean_app, rule, a.slug, a)
        response = call(client, method, url, {"Authorization": f"Bearer {token}"})
        if response.status_code != 403 and not re.search(r"/merges(/|$)", rule):
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_platform_routes_answer_only_the_operator(clean_app, client, worlds):
    """The operator's platform API (/api/v1/platform/…, its health board as JSON): nobody
    signed in gets 401, every role of a tenant 403 with nothing of the platform in the
    answer, the operator 200. A new platform route joins by itself."""
    a, _ = worlds
    routes = [(method, rule.rule) for rule in clean_app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/platform/") for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert ("GET", "/api/v1/platform/health") in routes
    token = make_operator(clean_app, client)
    failures = []
    for method, rule in routes:
        url = fill(clean_app, rule, a.slug, a)
        anonymous = call(client, method, url, {})
        if anonymous.status_code != 401:
            failures.append(f"anonymous: {method} {url} -> {anonymous.status_code}")
        for who in ("admin", "manager", "staff", "auditor"):
            response = call(client, method, url, a.headers(who))
            if response.status_code != 403 or "tinh-b" in response.get_data(as_text=True):
                failures.append(f"{who} of A: {method} {url} -> {response.status_code}")
        response = call(client, method, url, {"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            failures.append(f"operator: {method} {url} -> {response.status_code}")
    assert failures == []


def test_tenant_list_shows_only_own_tenant_to_members(clean_app, client, worlds):
    a, _ = worlds
    response = client.get("/api/v1/tenants", headers=a.headers("admin"))
    assert [t["slug"] for t in response.get_json()] == ["tinh-a"]
    assert client.post("/api/v1/tenants", headers=a.headers("admin"),
                       json={"slug": "evil", "name": "Evil"}).status_code == 403


# ---------------------------------------------------------------- the manager's pages

MANAGER_PAGES = "/t/<t>/unit"
PAGE_PARAMS = {"action": "remind"}


def manager_page_routes(app) -> list[tuple[str, str]]:
    return [(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.rule == MANAGER_PAGES or rule.rule.startswith(MANAGER_PAGES + "/")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_manager_pages_of_another_tenant_are_404(clean_app, client, clock):
    """Tenant A's manager, signed in to the pages, asks for tenant B's unit pages, and for
    B's items inside A's URLs: 404 every time, and B's items stay as they were."""
    from core.extensions import db
    from core.tenancy import tenant_context
    from core.work.models import WorkItem
    from tests.work.test_work_support import build

    a, b = build(clean_app, "tinh-a"), build(clean_app, "tinh-b")
    routes = manager_page_routes(clean_app)
    assert len(routes) >= 5
    with client.session_transaction() as session:
        session["_user_id"] = a.principals["manager"].get_id()
        session["_fresh"] = True
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get(f"/t/{a.slug}/unit").get_data(as_text=True)).group(1)
    foreign_item = FOREIGN_IDS["item_id"](clean_app, b)
    failures = []
    for method, rule in routes:
        params = {m.split(":")[-1] for m in re.findall(r"<([^>]+)>", rule)}
        slugs = [b.slug] + ([a.slug] if "item_id" in params else [])
        for slug in slugs:
            url = re.sub(r"<([^>]+)>", lambda m, s=slug: {"t": s, "item_id": str(foreign_item)}.get(
                m.group(1).split(":")[-1]) or PAGE_PARAMS[m.group(1).split(":")[-1]], rule)
            data = {"csrf_token": token, "ids": [foreign_item], "action": "accept", "reason": "x",
                    "deadline": "2026-10-30", "employee_id": b.ids["staff"], "task_type_code": "HT01",
                    "quantity": "1"}
            response = client.open(url, method=method, data=data if method == "POST" else None,
                                   query_string={"employee_id": b.ids["staff"]} if method == "GET" else None)
            if response.status_code != 404:
                failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []
    # B's ids in the bodies of A's forms: a bulk decision is 404, an assignment names no such person.
    r = client.post(f"/t/{a.slug}/unit/queue", data={"csrf_token": token, "ids": [foreign_item], "action": "accept"})
    assert r.status_code == 404
    r = client.post(f"/t/{a.slug}/unit/assign", data={"csrf_token": token, "employee_id": b.ids["staff"],
                                                       "task_type_code": "HT01", "quantity": "1",
                                                       "deadline": "2026-10-30"})
    assert r.status_code == 422 and "as-employee_id-error" in r.get_data(as_text=True)
    with clean_app.app_context(), tenant_context(b.tenant_id):
        assert db.session.query(WorkItem).count() == 1
        item = db.session.get(WorkItem, foreign_item)
        assert (item.verification, item.exempt, item.deadline) == ("pending", False, None)


def test_document_pages_of_another_tenant_are_404(clean_app, client, worlds):
    """The documents pages (tenant pages, not API routes): tenant A's admin, signed in, finds
    nothing at tenant B's addresses, for every method, with a valid CSRF token."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.auth.services import principal_for_user
    from core.extensions import db
    from core.tenancy import tenant_context

    a, b = worlds
    with clean_app.app_context(), tenant_context(a.tenant_id):
        user_id = principal_for_user(db.session.scalar(select(User).where(User.username == "admin"))).get_id()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
    own = client.get(f"/t/{a.slug}/documents")
    assert own.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', own.get_data(as_text=True)).group(1)
    rules = [r for r in clean_app.url_map.iter_rules() if r.rule.startswith("/t/<t>/documents")]
    assert len(rules) >= 8
    failures = []
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule.replace("<t>", b.slug).replace("<kind>", "decision")
            query = {"unit_id": b.ids["agency"], "year": 2026, "code": "STAFF", "period": "2026-10"}
            response = client.open(url, method=method, query_string=query, data={"csrf_token": token})
            if response.status_code != 404:
                failures.append(f"{method} {url} -> {response.status_code}")


# ---------------------------------------------------------------- the admin screens (pages)

ADMIN_PAGES = "admin_pages."


def admin_page_routes(app) -> list[tuple[str, str]]:
    """Every route of the tenant admin's screens (core/admin); a new screen joins by itself."""
    return [(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(ADMIN_PAGES) and rule.rule.startswith("/t/<t>/")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def page_session(app, world: World, username: str):
    """A browser session signed in as `username`, and a CSRF token for its forms."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.auth.services import principal_for_user
    from core.extensions import db
    from core.tenancy import tenant_context

    client = app.test_client()
    with app.app_context(), tenant_context(world.tenant_id):
        user_id = principal_for_user(db.session.scalar(select(User).where(User.username == username))).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    html = client.get(f"/t/{world.slug}/").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_admin_pages_of_another_tenant_are_404_and_refuse_non_admins(clean_app, worlds):
    a, b = worlds
    routes = admin_page_routes(clean_app)
    assert ("GET", "/t/<t>/admin/employees") in routes and len(routes) >= 17
    admin, admin_token = page_session(clean_app, a, "admin")
    failures = []
    for method, rule in routes:
        data = {"csrf_token": admin_token} if method == "POST" else None
        # B's tenant in the URL, and B's objects inside A's URLs: 404 either way.
        for url in {fill(clean_app, rule, b.slug, b), fill(clean_app, rule, a.slug, b)}:
            if url.startswith(f"/t/{a.slug}/") and not re.search(r"<(?!t>)[^>]+>", rule.replace("<period>", "")):
                continue  # no object of B in this URL: it is A's own page
            response = admin.open(url, method=method, data=data)
            if response.status_code != 404:
                failures.append(f"admin of A: {method} {url} -> {response.status_code}")
    for who in ("manager", "staff", "auditor"):
        client, token = page_session(clean_app, a, who)
        for method, rule in routes:
            url = fill(clean_app, rule, a.slug, a)
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            if response.status_code != 403:
                failures.append(f"{who} of A: {method} {url} -> {response.status_code}")
    assert failures == []


# ---------------------------------------------------------------- single sign-on

def test_sso_settings_and_sign_on_stay_in_their_tenant(clean_app, client, worlds):
    """The SSO API is walked above with every role (404 at another tenant's URL); here the
    sign-on itself: an attempt begun at tenant A's provider proves nothing at B's callback,
    even when both tenants trust the same provider and have a login of the same name."""
    from urllib.parse import urlsplit

    import requests

    from tests.auth.test_sso import settings
    from tests.oidc_provider import Provider

    a, b = worlds
    assert {("GET", "/api/v1/tenants/<t>/sso"), ("PUT", "/api/v1/tenants/<t>/sso"),
            ("DELETE", "/api/v1/tenants/<t>/sso")} <= set(tenant_routes(clean_app))
    idp = Provider().start()
    try:
        idp.claims = {"preferred_username": "staff"}
        assert client.put(f"/api/v1/tenants/{a.slug}/sso", json=settings(idp), headers=a.headers("admin")
                          ).status_code == 200
        secret = client.get(f"/api/v1/tenants/{a.slug}/sso", headers=b.headers("admin"))
        assert secret.status_code == 404
        start = client.get(f"/t/{a.slug}/sso/login")
        back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
        # B has no single sign-on: its callback does not exist.
        assert client.get(f"/t/{b.slug}/sso/callback", query_string=back.query).status_code == 404
        assert client.put(f"/api/v1/tenants/{b.slug}/sso", json=settings(idp), headers=b.headers("admin")
                          ).status_code == 200
        start = client.get(f"/t/{a.slug}/sso/login")
        back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
        assert client.get(f"/t/{b.slug}/sso/callback", query_string=back.query).status_code == 400
        with client.session_transaction() as session:
            assert "_user_id" not in session
        assert idp.token_requests == 0
    finally:
        idp.stop()


def test_audit_pages_of_another_tenant_are_404(clean_app, worlds):
    """The inspector's pages (the log, its export, the chain check and its verdict): an
    auditor of A finds nothing at B's addresses nor B's runs at A's, for every method;
    B's log gains no check run."""
    from sqlalchemy import func, select

    from core.extensions import db
    from core.jobs.models import JobRun
    from core.tenancy import tenant_context

    a, b = worlds
    routes = [(method, rule.rule) for rule in clean_app.url_map.iter_rules()
              if rule.endpoint.startswith("audit_pages.") and rule.rule.startswith("/t/<t>/")
              for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert {("POST", "/t/<t>/admin/audit/verify"), ("GET", "/t/<t>/admin/audit/verify/<job_id>")} <= set(routes)
    auditor, token = page_session(clean_app, a, "auditor")
    _job_of(clean_app, b)  # B's run, whose id the addresses below carry
    with clean_app.app_context(), tenant_context(b.tenant_id):
        runs_of_b = db.session.scalar(select(func.count()).select_from(JobRun))
    assert foreign_page_failures(clean_app, auditor, token, routes, a, b, "<job_id>", "auditor") == []
    with clean_app.app_context(), tenant_context(b.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == runs_of_b


def test_classification_and_evaluation_pages_of_another_tenant_are_404(clean_app, client, worlds):
    """The year's pages (the province view, the finalising confirmation, the evaluation and its
    agencies search): tenant A's admin, signed in, finds nothing at tenant B's addresses, for
    every method, with a valid CSRF token; nothing of B is changed."""
    from sqlalchemy import select

    from core.auth.models import User
    from core.auth.services import principal_for_user
    from core.classification.models import ClassificationYear
    from core.extensions import db
    from core.tenancy import tenant_context

    a, b = worlds
    with clean_app.app_context(), tenant_context(a.tenant_id):
        user_id = principal_for_user(db.session.scalar(select(User).where(User.username == "admin"))).get_id()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
    own = client.get(f"/t/{a.slug}/classification/province?year=2026")
    assert own.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', own.get_data(as_text=True)).group(1)
    rules = [r for r in clean_app.url_map.iter_rules()
             if r.rule.startswith(("/t/<t>/classification", "/t/<t>/evaluation"))]
    assert "/t/<t>/classification/<int:year>/finalize" in {r.rule for r in rules} and len(rules) >= 15
    failures = []
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = re.sub(r"<int:\w+>", "1", rule.rule.replace("<t>", b.slug).replace("<int:year>", "2026"))
            response = client.open(url, method=method, query_string={"year": 2026, "q": "Sở"},
                                   data={"csrf_token": token, "confirm": "yes", "agency_id": b.ids["agency"]})
            if response.status_code != 404:
                failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []
    with clean_app.app_context(), tenant_context(b.tenant_id):
        assert db.session.scalar(select(ClassificationYear)) is None


def test_notification_pages_of_another_tenant_are_404(clean_app, worlds):
    """The inbox ("Thông báo"): a person of A, signed in, finds nothing at B's addresses,
    nor B's notification inside A's, for every method with a valid CSRF token; B's
    notification stays unread. (The API's notifications are walked with the others above.)"""
    from core.extensions import db
    from core.notifications.models import Notification
    from core.tenancy import tenant_context

    a, b = worlds
    routes = {(method, rule.rule) for rule in clean_app.url_map.iter_rules()
              if rule.endpoint.startswith("notification_pages.")
              for method in sorted(rule.methods - {"HEAD", "OPTIONS"})}
    assert routes == {("GET", "/t/<t>/notifications"), ("POST", "/t/<t>/notifications/read"),
                      ("POST", "/t/<t>/notifications/<int:notification_id>/read")}
    theirs = FOREIGN_IDS["notification_id"](clean_app, b)
    failures = []
    for who in ("staff", "admin"):
        person, token = page_session(clean_app, a, who)
        assert person.get(f"/t/{a.slug}/notifications").status_code == 200
        failures += foreign_page_failures(clean_app, person, token, sorted(routes), a, b, "<int:notification_id>", who)
    assert failures == []
    with clean_app.app_context(), tenant_context(b.tenant_id):
        assert db.session.get(Notification, theirs).read_at is None
