"""How and from where (both databases): each event says through which channel it was made
— a page, the API (with the token), a command, a job — the client's address and the
request's id; the content hash covers them when they are set, and only then, so the
chains written before they existed still verify, and changing them afterwards does not."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import pytest
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from core import unit_of_work
from core.audit import services
from core.audit.exports import HEADERS
from core.audit.models import AuditEvent
from core.audit.services import content_hash, record, verify, verify_chain
from core.auth.models import ApiToken
from core.extensions import db
from core.tenancy import tenant_context, unscoped
from tests.audit.test_audit_actor import last, last_run, page_post
from tests.audit.test_audit_checkpoints import owner_sql
from tests.cli.test_cli import run
from tests.work.test_work_pages import csrf, sign_in
from tests.work.test_work_support import declare

pytest_plugins = ("tests.work.test_work_support",)

CLIENT = "203.0.113.7"


def page_write(client, w, who: str = "staff", remote: str = CLIENT, headers: dict | None = None):
    """Declare a work item on the page from `remote`, with a request id of our own."""
    sign_in(client, w, who)
    token = csrf(client.get(f"/t/{w.slug}/today").get_data(as_text=True))
    r = client.post(f"/t/{w.slug}/today/declare", data={"csrf_token": token, "task_type_code": "HT01", "quantity": "3"},
                    headers={"X-Request-Id": "req-page-1", **(headers or {})}, environ_base={"REMOTE_ADDR": remote})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return r


def token_id(app, w, who: str) -> int:
    with app.app_context(), unscoped():
        return db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hashlib.sha256(
            w.tokens[who].encode()).hexdigest()))


def test_a_page_write_says_page_and_the_clients_address(clean_app, client, world, clock):
    page_write(client, world)
    event = last(clean_app, world, "work_item.create")
    assert (event.via, event.client_ip, event.request_id) == ("page", CLIENT, "req-page-1")
    assert event.content_hash == content_hash(event)


def test_an_api_write_says_api_and_its_token(clean_app, client, world, clock):
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2},
                    headers=world.h("staff2"), environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert r.status_code == 201, r.get_json()
    event = last(clean_app, world, "work_item.create")
    assert event.via == f"api:token:{token_id(clean_app, world, 'staff2')}"
    assert event.client_ip == "198.51.100.4"
    assert event.request_id == r.headers["X-Request-Id"] and event.request_id  # the id its log lines carry


def test_an_address_is_the_trusted_proxys_client_and_a_forged_header_is_not_believed(clean_app, client, world,
                                                                                      clock):
    # No proxy trusted (CONGVU_PROXY_HOPS unset): X-Forwarded-For is anyone's to write.
    page_write(client, world, remote="10.0.0.5", headers={"X-Forwarded-For": "192.0.2.66"})
    assert last(clean_app, world, "work_item.create").client_ip == "10.0.0.5"
    # Behind nginx, as wsgi.py sets it up: the address nginx appended is the client's.
    plain = clean_app.wsgi_app
    clean_app.wsgi_app = ProxyFix(plain, x_for=1, x_proto=1, x_host=1)
    try:
        page_write(client, world, remote="10.0.0.5", headers={"X-Forwarded-For": "192.0.2.66"})
    finally:
        clean_app.wsgi_app = plain
    assert last(clean_app, world, "work_item.create").client_ip == "192.0.2.66"


def test_a_job_says_job_with_the_request_that_ran_it(clean_app, client, world, clock):
    r = page_post(client, world, "admin", "/jobs/recalculate", {"period": "2026-10"})
    run_id = last_run(clean_app, world, "recalculation")
    event = last(clean_app, world, "scores.recalculate")
    assert event.actor.endswith(f" via job {run_id}")
    assert event.via == "job"
    # Run inline in the admin's request (as tests run jobs): that request's id and address.
    assert (event.request_id, event.client_ip) == (r.headers["X-Request-Id"], "127.0.0.1")


def test_a_job_a_worker_runs_later_carries_the_request_that_started_it(clean_app, client, world, clock,
                                                                      monkeypatch):
    """With Redis a worker runs the job outside any request: its events still carry the id
    and address of the request that submitted it (kept on the run), so an inspector follows
    the job's writes back to the click and its log lines."""
    from core.jobs import runner

    held: list[tuple[int, str]] = []
    monkeypatch.setattr(runner, "execute", lambda tenant_id, run_id, listener=None: held.append((tenant_id, run_id)))
    r = page_post(client, world, "admin", "/jobs/recalculate", {"period": "2026-10"})
    assert len(held) == 1  # queued, not run
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "scores.recalculate")) is None
    monkeypatch.undo()
    with clean_app.app_context():
        runner.execute(*held[0])  # as the worker: no request, no tenant of its own
    event = last(clean_app, world, "scores.recalculate")
    assert event.actor.endswith(f" via job {held[0][1]}") and event.via == "job"
    assert (event.request_id, event.client_ip) == (r.headers["X-Request-Id"], "127.0.0.1")


def test_a_command_says_cli_without_address(clean_app):
    assert run(clean_app, "tenant", "create", "--slug", "hue", "--name", "Huế").exit_code == 0
    with clean_app.app_context(), unscoped():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tenant.create",
                                                           AuditEvent.actor == "cli"))
        assert (event.via, event.client_ip, event.request_id) == ("cli", None, None)


def test_outside_any_request_job_or_command_the_system(clean_app, world, clock):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        event = record("test.system", "thing", 1)
        unit_of_work.commit()
        assert (event.via, event.client_ip, event.request_id) == ("system", None, None)


def _old_hash(e: AuditEvent) -> str:
    """The content hash as written before channels existed, computed here from scratch."""
    payload = {"tenant_id": e.tenant_id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
               "object_type": e.object_type, "object_id": e.object_id, "before": e.before, "after": e.after}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _mixed_chain(app, w, monkeypatch) -> tuple[list[int], list[int]]:
    """Events as written before channels (via NULL), then new ones, chained both ways: at
    commit (the database's trigger on PostgreSQL) and sealed at once (in the app)."""
    with app.app_context(), tenant_context(w.tenant_id):
        with monkeypatch.context() as m:
            m.setattr(services, "current_channel", lambda: services.Channel(None))
            record("test.old", "thing", 1, after={"n": 1})
            record("test.old", "thing", 2, seal=True)
            unit_of_work.commit()
        record("test.new", "thing", 3, after={"tên": "Nguyễn"})
        record("test.new", "thing", 4, seal=True)
        unit_of_work.commit()
        seqs = {action: list(db.session.scalars(select(AuditEvent.seq).where(AuditEvent.action == action)
                                                .order_by(AuditEvent.seq)))
                for action in ("test.old", "test.new")}
        assert len(seqs["test.old"]) == len(seqs["test.new"]) == 2
        return seqs["test.old"], seqs["test.new"]


def test_a_chain_of_old_and_new_events_verifies(clean_app, world, clock, monkeypatch):
    old, new = _mixed_chain(clean_app, world, monkeypatch)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        events = {e.seq: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.seq.in_(old + new)))}
        for seq in old:  # byte for byte the hash an event had before channels existed
            assert events[seq].via is None and events[seq].content_hash == _old_hash(events[seq])
        for seq in new:  # the channel is covered: the old rule no longer gives its hash
            assert events[seq].via == "system" and events[seq].content_hash != _old_hash(events[seq])
            assert events[seq].content_hash == content_hash(events[seq])
        result = verify(world.tenant_id)
        assert result.ok, result.problems


def test_changing_a_stored_channel_or_address_breaks_verification(clean_app, backend, world, clock, monkeypatch):
    old, new = _mixed_chain(clean_app, world, monkeypatch)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert verify_chain(world.tenant_id).ok
    cases = [("via", "api:token:1", new[0]), ("client_ip", "198.51.100.99", new[1]),
             ("via", "page", old[0]), ("client_ip", "192.0.2.1", old[1])]  # a claim added to an old event
    for column, value, seq in cases:
        owner_sql(backend, f"UPDATE audit_events SET {column} = :v WHERE tenant_id = :t AND seq = :s",
                  v=value, t=world.tenant_id, s=seq)
        with clean_app.app_context(), tenant_context(world.tenant_id):
            result = verify_chain(world.tenant_id)
        assert f"event seq {seq}: content was changed" in result.problems, (column, seq)


def test_the_api_lists_and_the_export_ends_with_channel_address_and_request(clean_app, client, world, clock):
    page_write(client, world)
    r = client.get(world.url("/audit-events"), headers=world.h("auditor"), query_string={"action": "work_item.create"})
    assert r.status_code == 200
    [item] = r.get_json()
    assert (item["via"], item["client_ip"], item["request_id"]) == ("page", CLIENT, "req-page-1")
    # The existing columns keep their places; the three come last.
    assert HEADERS[12:15] == ["Mã băm nội dung (content_hash)", "Loại đối tượng", "Đối tượng"]
    assert HEADERS[15:] == ["Kênh thực hiện (via)", "Địa chỉ IP (client_ip)", "Mã yêu cầu (request_id)"]
    text = client.get(world.url("/audit-events/export"), headers=world.h("auditor"),
                      query_string={"format": "csv", "action": "work_item.create"}).data.decode("utf-8-sig")
    header, [row] = (lambda rows: (rows[0], rows[1:]))(list(csv.reader(io.StringIO(text))))
    assert header == HEADERS
    assert row[15:] == ["page", CLIENT, "req-page-1"]


def test_the_audit_page_words_the_channel_beside_the_actor(clean_app, client, world, clock):
    page_write(client, world)
    declare(client, world, "staff2")
    sign_in(client, world, "auditor")
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"action": "work_item.create"}).get_data(as_text=True)
    assert '<span class="via">qua trang web</span><small class="muted ip" title="request_id req-page-1">' \
        f'IP {CLIENT}</small>' in html
    assert f'<span class="via">qua API (token {token_id(clean_app, world, "staff2")})</span>' in html
    with client.session_transaction() as session:
        session["lang"] = "en"
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"action": "work_item.create"}).get_data(as_text=True)
    assert '<span class="via">via the web page</span>' in html


def test_an_inspector_filters_by_channel_and_address(clean_app, client, world, clock):
    """Everything made through the API (any token), or from one address: on the API, the
    page (the summary says the channel in words) and its export; a bad channel is a field
    error, not the whole log."""
    page_write(client, world)  # through the page, from CLIENT
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2},
                    headers=world.h("staff2"), environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert r.status_code == 201, r.get_json()

    def listed(**query) -> set[tuple[str, str | None]]:
        r = client.get(world.url("/audit-events"), headers=world.h("auditor"),
                       query_string={"action": "work_item.create", **query})
        assert r.status_code == 200, r.get_json()
        return {(e["via"].split(":")[0], e["client_ip"]) for e in r.get_json()}

    assert listed(via="api") == {("api", "198.51.100.4")}
    assert listed(via="page") == {("page", CLIENT)}
    assert listed(client_ip=CLIENT) == {("page", CLIENT)}
    assert listed(via="api", client_ip=CLIENT) == set()
    bad = client.get(world.url("/audit-events"), headers=world.h("auditor"), query_string={"via": "fax"})
    assert bad.status_code == 422 and "via" in bad.get_json()["errors"]

    sign_in(client, world, "auditor")
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"via": "api"}).get_data(as_text=True)
    assert "Thực hiện qua: <strong>API</strong>" in html and '<option value="api" selected>API</option>' in html
    assert "198.51.100.4" in html and CLIENT not in html
    export = client.get(f"/t/{world.slug}/admin/audit/export",
                        query_string={"via": "page", "format": "csv"}).data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(export)))[1:]
    assert rows and {row[15] for row in rows} == {"page"}
    refused = client.get(f"/t/{world.slug}/admin/audit", query_string={"via": "fax"})
    assert refused.status_code == 422 and 'id="via-err"' in refused.get_data(as_text=True)


SAFE_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("sent", ["x" * 10_000, "req-1\n", "req-1\r\nSet-Cookie: a=b", "<script>alert(1)</script>",
                                  "a" * 65, "req 1", "req-\x00-1"],
                         ids=["10000-chars", "trailing-newline", "crlf", "html", "65-chars", "space", "nul"])
def test_a_clients_request_id_is_taken_only_as_a_short_safe_token(clean_app, client, world, clock, sent):
    """Anything else is replaced by a fresh id: in the answer's header, the audit event and
    the job run alike, never echoed or stored as sent."""
    # Through the WSGI environ: the test client refuses a header value with a newline.
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2},
                    headers=world.h("staff2"), environ_base={"HTTP_X_REQUEST_ID": sent})
    assert r.status_code == 201, r.get_json()
    made = r.headers["X-Request-Id"]
    assert SAFE_ID.fullmatch(made), made
    assert last(clean_app, world, "work_item.create").request_id == made


def test_a_job_run_keeps_no_unsafe_request_id_and_a_safe_one_as_sent(clean_app, client, world, clock):
    from core.jobs.models import JobRun

    sign_in(client, world, "admin")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    kept = "nginx-" + "a" * 58  # 64 characters: the longest kept
    for sent in ("req-2\n", kept):
        r = client.post(f"/t/{world.slug}/jobs/recalculate", data={"csrf_token": token, "period": "2026-10"},
                        environ_base={"HTTP_X_REQUEST_ID": sent})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        with clean_app.app_context(), tenant_context(world.tenant_id):
            stored = db.session.get(JobRun, last_run(clean_app, world, "recalculation")).request_id
        assert stored == r.headers["X-Request-Id"]
        assert stored == kept if sent == kept else SAFE_ID.fullmatch(stored)


def test_events_before_channels_are_not_recorded_and_a_filter_of_their_own(clean_app, client, world, clock,
                                                                          monkeypatch):
    """An event written before migration 0040 (via NULL) is no "system" event: `via=system`
    leaves it out, `via=unrecorded` finds it, on the API, the page and its export; the page
    says its channel was not recorded."""
    _mixed_chain(clean_app, world, monkeypatch)  # test.old: via NULL; test.new: "system"

    def listed(**query) -> list[tuple[str, str | None]]:
        r = client.get(world.url("/audit-events"), headers=world.h("auditor"), query_string=query)
        assert r.status_code == 200, r.get_json()
        return sorted((e["action"], e["via"]) for e in r.get_json() if e["action"].startswith("test."))

    assert listed(via="system") == [("test.new", "system"), ("test.new", "system")]
    assert listed(via="unrecorded") == [("test.old", None), ("test.old", None)]
    r = client.get(world.url("/audit-events"), headers=world.h("auditor"), query_string={"via": "unrecorded"})
    assert {e["action"] for e in r.get_json()} == {"test.old"}  # nothing else in the log is unrecorded
    export = client.get(world.url("/audit-events/export"), headers=world.h("auditor"),
                        query_string={"format": "csv", "via": "unrecorded"}).data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(export)))[1:]
    assert len(rows) == 2 and {row[15] for row in rows} == {""}

    sign_in(client, world, "auditor")
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"via": "unrecorded"}).get_data(as_text=True)
    assert '<option value="unrecorded" selected>không ghi nhận (sự kiện ghi trước khi lưu kênh thực hiện)</option>' \
        in html
    assert html.count('<span class="via unrecorded" title="Sự kiện này được ghi trước khi hệ thống lưu kênh thực hiện, '
                      'nên không rõ được thực hiện qua kênh nào.">kênh thực hiện: không ghi nhận</span>') == 2
    system = client.get(f"/t/{world.slug}/admin/audit", query_string={"via": "system"}).get_data(as_text=True)
    assert "không ghi nhận</span>" not in system
    with client.session_transaction() as session:
        session["lang"] = "en"
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"via": "unrecorded"}).get_data(as_text=True)
    assert html.count('">channel not recorded</span>') == 2
