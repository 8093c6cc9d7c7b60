"""The audit log export for inspectors: every matching event in chain order, with the
fields each hash covers, so the chain re-checks offline from the file alone."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import unit_of_work
from core.audit.exports import HEADERS
from core.audit.models import AuditEvent
from core.audit.services import GENESIS, record, verify_chain
from core.extensions import db
from core.imports.exports import DANGEROUS
from core.tenancy import tenant_context
from tests.factories import PASSWORD, build_world


@pytest.fixture
def world(clean_app, client):
    w = build_world(clean_app, "tinh-a", client)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        # Content a spreadsheet could mistake for formulas, Vietnamese text, nesting, nulls.
        record("test.formula", "=HYPERLINK(\"http://x\")", "-5", before={"tên": "Nguyễn Văn Ă", "n": 1.5},
               after={"list": [1, None, "=1+1"], "nested": {"b": True}}, actor="user:1:kiểm tra")
        record("test.plain", None, None, actor="system")
        unit_of_work.commit()
    return w


def db_events(app, w) -> list[AuditEvent]:
    with app.app_context(), tenant_context(w.tenant_id):
        rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        for row in rows:
            db.session.expunge(row)
        return rows


def export(client, w, who: str = "admin", **query):
    return client.get(f"/api/v1/tenants/{w.slug}/audit-events/export", headers=w.headers(who), query_string=query)


def xlsx_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    # A read-only sheet gives a row up to its last written cell: empty trailing cells (an
    # event without a client address) are as the CSV has them, empty.
    width = max(map(len, rows), default=0)
    return [row + [None] * (width - len(row)) for row in rows]


def csv_rows(response) -> list[list]:
    text = response.data.decode("utf-8-sig")
    return [[None if cell == "" else cell for cell in row] for row in csv.reader(io.StringIO(text))]


def unescape(value):
    """What an inspector does: drop the apostrophe the export put before formula-like text."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(DANGEROUS):
        return value[1:]
    return value


def recheck(rows: list[list]) -> list[str]:
    """Re-verify the chain from the file's rows alone, as the module docstring of
    core/audit/exports.py tells an inspector to (independent of core.audit.services)."""
    problems, prev, expected = [], GENESIS, None
    for row in rows:
        # The twelfth column, the actor's name today, is for reading: no hash covers it.
        seq, at, actor, action, otype, oid, before, after, prev_hash, digest, tenant_id = map(unescape, row[:11])
        seq, tenant_id = int(seq), int(tenant_id)
        if expected is not None and seq != expected:
            problems.append(f"{seq}: gap")
        if expected is not None and prev_hash != prev:
            problems.append(f"{seq}: previous hash")
        content = unescape(row[12]) if len(row) > 12 else None
        payload = {"tenant_id": tenant_id, "at": at, "actor": actor, "action": action,
                   "object_type": otype, "object_id": oid,
                   "before": None if before is None else json.loads(before),
                   "after": None if after is None else json.loads(after)}
        # How and from where (columns 16 to 18): covered only when the cell is not empty.
        for name, cell in zip(("via", "client_ip", "request_id"), row[15:18], strict=False):
            if unescape(cell) is not None:
                payload[name] = unescape(cell)
        if content is None:  # written before content hashes: one document with its place
            payload |= {"seq": seq, "prev_hash": prev_hash}
            computed = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        else:
            if hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest() != content:
                digest = None  # what the row says no longer hashes to its content hash
            computed = hashlib.sha256(f"{prev_hash}:{seq}:{content}".encode()).hexdigest()
        if computed != digest:
            problems.append(f"{seq}: content")
        prev, expected = unescape(row[9]), seq + 1
    return problems


def test_xlsx_has_exactly_the_events_in_chain_order_and_rechecks(clean_app, client, world):
    response = export(client, world)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.search(r'filename=.*nhat-ky-kiem-tra-tinh-a-\d{4}-\d{2}-\d{2}\.xlsx', response.headers["Content-Disposition"])
    header, *rows = xlsx_rows(response)
    assert header == HEADERS and header[0] == "Số thứ tự (seq)"
    events = db_events(clean_app, world)
    assert len(events) > 10
    assert [r[0] for r in rows] == [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [(r[3], r[8], r[9]) for r in rows] == [(e.action, e.prev_hash, e.hash) for e in events]
    assert {r[10] for r in rows} == {world.tenant_id}
    with clean_app.app_context():
        assert verify_chain(world.tenant_id).ok
    assert recheck(rows) == []
    # The recheck does catch a changed cell: it is not vacuous.
    tampered = [list(r) for r in rows]
    tampered[3][2] = "user:999:someone-else"
    assert recheck(tampered) == [f"{tampered[3][0]}: content"]


def test_formula_like_text_is_escaped_and_stays_text(clean_app, client, world):
    rows = xlsx_rows(export(client, world, action="test.formula"))[1:]
    assert len(rows) == 1
    row = rows[0]
    assert row[4] == "'=HYPERLINK(\"http://x\")" and row[5] == "'-5" and row[2] == "user:1:kiểm tra"
    assert json.loads(row[6]) == {"tên": "Nguyễn Văn Ă", "n": 1.5}
    sheet = load_workbook(io.BytesIO(export(client, world, action="test.formula").data)).worksheets[0]
    assert sheet.cell(2, 5).data_type == "s"  # a string cell, not a formula
    # A filtered export is a run of the chain: each row's own hash still rechecks.
    assert recheck(rows) == []


def test_csv_is_the_same_rows(clean_app, client, world):
    response = export(client, world, format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # Excel reads the Vietnamese headers right
    header, *rows = csv_rows(response)
    assert header == HEADERS
    xlsx = xlsx_rows(export(client, world))[1:]
    assert [[str(c) if c is not None else None for c in r] for r in xlsx] == rows
    assert recheck(rows) == []


def test_filters_by_action_actor_and_dates(clean_app, client, world):
    events = db_events(clean_app, world)
    logins = [e.seq for e in events if e.action == "auth.login"]
    assert len(logins) == 6  # build_world logs each of its six people in
    assert [r[0] for r in xlsx_rows(export(client, world, action="auth.login"))[1:]] == logins
    assert [r[0] for r in xlsx_rows(export(client, world, actor="system"))[1:]] == \
        [e.seq for e in events if e.actor == "system"]
    day = events[0].at.date()
    assert len(xlsx_rows(export(client, world, **{"from": day.isoformat(), "to": day.isoformat()}))) - 1 == \
        len([e for e in events if e.at.date() == day])
    assert xlsx_rows(export(client, world, to="2000-01-01")) == [HEADERS]


def test_bad_query_is_422(clean_app, client, world):
    assert export(client, world, format="pdf").status_code == 422
    assert export(client, world, **{"from": "yesterday"}).status_code == 422
    assert export(client, world, actor="x" * 201).status_code == 422


@pytest.mark.parametrize("who,status", [("admin", 200), ("auditor", 200), ("manager", 403), ("staff", 403)])
def test_admins_and_auditors_only(clean_app, client, world, who, status):
    assert export(client, world, who).status_code == status


def test_another_tenant_sees_nothing(clean_app, client, world):
    other = build_world(clean_app, "tinh-b", client)
    assert client.get(f"/api/v1/tenants/{other.slug}/audit-events/export",
                      headers=world.headers("admin")).status_code == 404
    theirs = xlsx_rows(export(client, other))[1:]
    assert {r[10] for r in theirs} == {other.tenant_id}
    assert [r[0] for r in theirs] == list(range(1, len(theirs) + 1))
    assert recheck(theirs) == []


def page_login(client, slug: str, username: str):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    client.post("/login", data={"csrf_token": token, "tenant": slug, "username": username, "password": PASSWORD})


def test_audit_log_page_lists_filters_and_exports(clean_app, client, world):
    page_login(client, world.slug, "auditor")
    page = client.get(f"/t/{world.slug}/admin/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nhật ký kiểm tra" in html and "Xuất tệp Excel" in html
    assert "test.formula" in html and "auth.login" in html
    filtered = client.get(f"/t/{world.slug}/admin/audit?action=test.plain").get_data(as_text=True)
    assert "test.plain" in filtered and "test.formula" not in filtered
    assert f'href="/t/{world.slug}/admin/audit/export?format=csv&amp;action=test.plain"' in filtered
    bad = client.get(f"/t/{world.slug}/admin/audit?from=nope")
    assert bad.status_code == 422 and "không hợp lệ" in bad.get_data(as_text=True)
    download = client.get(f"/t/{world.slug}/admin/audit/export?format=xlsx&action=test.plain")
    assert download.status_code == 200
    assert [r[3] for r in xlsx_rows(download)[1:]] == ["test.plain"]
    assert "Audit log" in client.get(f"/t/{world.slug}/admin/audit?lang=en").get_data(as_text=True)


def test_audit_log_page_is_for_admins_and_auditors_of_that_tenant(clean_app, client, world):
    other = build_world(clean_app, "tinh-b")
    page_login(client, world.slug, "staff")
    assert client.get(f"/t/{world.slug}/admin/audit").status_code == 403
    assert client.get(f"/t/{world.slug}/admin/audit/export").status_code == 403
    admin = clean_app.test_client()
    page_login(admin, world.slug, "admin")
    assert admin.get(f"/t/{world.slug}/admin/audit").status_code == 200
    assert admin.get(f"/t/{other.slug}/admin/audit").status_code == 404
    assert admin.get(f"/t/{other.slug}/admin/audit/export").status_code == 404
