"""Outbound webhooks (both databases): an event is written with the change it reports and
sent afterwards, signed, to a real HTTP receiver this test starts; failures back off and end
as "failed", a person can send one again; unsafe addresses are refused; pages and API name
who subscribed; another tenant's subscriptions are 404."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.tenancy import tenant_context
from core.timeutil import utcnow
from core.webhooks import delivery, signing
from core.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.work.test_work_pages import csrf, sign_in
from tests.work.test_work_support import declare

pytest_plugins = ("tests.work.test_work_support",)


class Receiver:
    """A local HTTP server answering each POST with the next planned status (200 when the
    plan is empty), after `delay` seconds; it keeps every request it got."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.plan: list[int] = []
        self.delay = 0.0
        self.judge = lambda request: 200  # the answer when nothing is planned
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "raw": raw})
                time.sleep(receiver.delay)
                status = receiver.plan.pop(0) if receiver.plan else receiver.judge(receiver.requests[-1])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/congvu"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(clean_app, monkeypatch):
    # The receiver is on 127.0.0.1: the operator's switch for private addresses is on, and
    # sending is left to deliver_all() so each test decides when it happens.
    monkeypatch.setitem(clean_app.config, "CONGVU_OUTBOUND_ALLOW_PRIVATE", 1)
    monkeypatch.setitem(clean_app.config, "CONGVU_WEBHOOKS_WAKE", "off")
    r = Receiver()
    yield r
    r.close()


def subscribe(client, w, url: str, events=("work_item.completed",), who="admin", expect=201) -> dict:
    r = client.post(w.url("/webhooks"), json={"url": url, "events": list(events)}, headers=w.h(who))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def complete(client, w, who="staff") -> dict:
    item = declare(client, w, who)
    r = client.patch(w.url(f"/work-items/{item['id']}"), json={"status": "done"}, headers=w.h(who))
    assert r.status_code == 200, r.get_json()
    return item


def deliver(app, w) -> dict:
    with app.app_context():
        return delivery.deliver_all()[str(w.tenant_id)]


def rows(app, w) -> list[WebhookDelivery]:
    with app.app_context(), tenant_context(w.tenant_id):
        out = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        for r in out:
            db.session.expunge(r)
        return out


def make_due(app, w) -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        unit_of_work.commit()


def test_a_completed_item_reaches_the_receiver_signed(clean_app, client, world, receiver):
    sub = subscribe(client, world, receiver.url)
    assert sub["secret"].startswith("whsec_") and sub["events"] == ["work_item.completed"]
    listed = client.get(world.url("/webhooks"), headers=world.h("admin")).get_json()
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]  # shown once only

    declare(client, world, "staff")  # declared, not completed: no event
    item = complete(client, world)
    [row] = rows(clean_app, world)
    assert (row.status, row.attempts, row.event) == ("pending", 0, "work_item.completed")
    assert receiver.requests == []  # written with the change, sent afterwards

    assert deliver(clean_app, world) == {"delivered": 1, "retry": 0, "failed": 0}
    [got] = receiver.requests
    body = json.loads(got["raw"])
    assert body["event"] == "work_item.completed" and body["tenant"] == world.slug
    assert body["data"]["id"] == item["id"] and body["data"]["status"] == "done"
    assert body["data"]["employee_id"] == world.ids["staff"]
    assert got["headers"]["X-Congvu-Event"] == "work_item.completed"
    assert got["headers"]["X-Congvu-Delivery"] == str(row.id)
    header = got["headers"][signing.HEADER]
    assert signing.verify(sub["secret"], header, got["raw"], now=int(time.time()))
    assert not signing.verify(sub["secret"], header, got["raw"].replace(b"done", b"dona"), now=int(time.time()))
    assert not signing.verify("whsec_wrong", header, got["raw"], now=int(time.time()))
    assert not signing.verify(sub["secret"], header, got["raw"], now=int(time.time()) + 301)  # too old
    [row] = rows(clean_app, world)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 1, 200) and row.delivered_at
    assert deliver(clean_app, world) == {"delivered": 0, "retry": 0, "failed": 0}  # sent once


def test_a_failing_receiver_is_retried_with_back_off_then_failed_and_replayed(clean_app, client, world, receiver):
    subscribe(client, world, receiver.url)
    complete(client, world)
    receiver.plan = [500] * delivery.MAX_ATTEMPTS
    before = utcnow()
    assert deliver(clean_app, world) == {"delivered": 0, "retry": 1, "failed": 0}
    [row] = rows(clean_app, world)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("pending", 1, 500, "HTTP 500")
    # 30 s after the first failure, then 1 min, 2 min …: not due yet.
    assert timedelta(seconds=29) <= row.next_attempt_at - before <= timedelta(seconds=32)
    assert deliver(clean_app, world) == {"delivered": 0, "retry": 0, "failed": 0}
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3840, 21600]
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        make_due(clean_app, world)
        deliver(clean_app, world)
    [row] = rows(clean_app, world)
    assert (row.status, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert len(receiver.requests) == delivery.MAX_ATTEMPTS
    # The same bytes at every attempt (a receiver may deduplicate on them).
    assert len({r["raw"] for r in receiver.requests}) == 1

    r = client.post(world.url(f"/webhook-deliveries/{row.id}/replay"), headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["replay_of"] == row.id and r.get_json()["status"] == "pending"
    assert deliver(clean_app, world) == {"delivered": 1, "retry": 0, "failed": 0}
    old, new = rows(clean_app, world)
    assert (old.status, new.status, new.replay_of) == ("failed", "delivered", old.id)
    assert json.loads(receiver.requests[-1]["raw"]) == json.loads(receiver.requests[0]["raw"])
    log = client.get(world.url(f"/webhooks/{old.subscription_id}/deliveries"), headers=world.h("auditor"))
    assert log.status_code == 200 and log.headers["X-Total-Count"] == "2"
    assert [d["id"] for d in log.get_json()] == [new.id, old.id]


def test_a_receiver_that_checks_the_signature_refuses_a_wrong_secret(clean_app, client, world, receiver):
    """The receiver does what docs/webhooks.md tells it to: it checks the signature with the
    secret it holds and answers 401 when it does not match; congvu counts that as a failure
    and tries again later. With the right secret the same bytes are taken."""
    sub = subscribe(client, world, receiver.url)
    holds = {"secret": "whsec_" + "0" * 48}  # a receiver configured with the wrong secret

    def check(request: dict) -> int:
        ok = signing.verify(holds["secret"], request["headers"][signing.HEADER], request["raw"], now=int(time.time()))
        return 200 if ok else 401

    receiver.judge = check
    complete(client, world)
    assert deliver(clean_app, world) == {"delivered": 0, "retry": 1, "failed": 0}
    [row] = rows(clean_app, world)
    assert (row.status, row.last_status) == ("pending", 401)
    holds["secret"] = sub["secret"]
    make_due(clean_app, world)
    assert deliver(clean_app, world) == {"delivered": 1, "retry": 0, "failed": 0}


def test_a_slow_receiver_times_out_and_is_tried_again(clean_app, client, world, receiver, monkeypatch):
    monkeypatch.setitem(clean_app.config, "CONGVU_WEBHOOKS_TIMEOUT", 0.3)
    subscribe(client, world, receiver.url)
    complete(client, world)
    receiver.delay = 1.0
    assert deliver(clean_app, world) == {"delivered": 0, "retry": 1, "failed": 0}
    [row] = rows(clean_app, world)
    assert row.status == "pending" and row.last_status is None and "timed out" in row.last_error


def test_the_event_is_written_with_its_change_or_not_at_all(clean_app, client, world, receiver, monkeypatch):
    subscribe(client, world, receiver.url)
    # A refused change (a result on someone else's item) leaves no event.
    item = declare(client, world, "staff")
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"status": "done"}, headers=world.h("staff2"))
    assert r.status_code in (403, 404)
    assert rows(clean_app, world) == []
    # Redis down when the deliverer is woken: the change and its event are kept for the sweep.
    monkeypatch.setitem(clean_app.config, "CONGVU_WEBHOOKS_WAKE", "on")
    monkeypatch.setitem(clean_app.config, "CONGVU_REDIS_URL", "redis://127.0.0.1:1/0")
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"status": "done"}, headers=world.h("staff"))
    assert r.status_code == 200
    [row] = rows(clean_app, world)
    assert row.status == "pending" and receiver.requests == []
    assert deliver(clean_app, world)["delivered"] == 1


def test_month_classification_and_bonus_events_reach_the_receiver(clean_app, client, world, receiver):
    from tests.classification.test_classification_api import TOTALS_2026, set_totals

    subscribe(client, world, receiver.url, events=("month.scored", "classification.decided", "bonus_run.done"))
    r = client.post(world.url("/recalculations"), json={"period": "2026-10"}, headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    set_totals(clean_app, world, TOTALS_2026)
    assert client.post(world.url("/classifications/2026/run"), headers=world.h("admin")).status_code == 202
    r = client.post(world.url("/classifications/2026/finalize"), headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    r = client.post(world.url("/bonus-runs"), json={"year": 2026, "fund": 2_000_000}, headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    assert [d.event for d in rows(clean_app, world)] == ["month.scored", "classification.decided", "bonus_run.done"]
    assert deliver(clean_app, world)["delivered"] == 3
    bodies = [json.loads(r["raw"]) for r in receiver.requests]
    assert bodies[0]["data"]["period"] == "2026-10"
    assert bodies[1]["data"] == {"year": 2026, "scope": "tenant", "decided_by": f"user:{world.principals['admin'].id}:admin"}
    assert bodies[2]["data"]["fund"] == 2_000_000 and bodies[2]["data"]["year"] == 2026


def test_a_paused_subscription_gets_nothing_new(clean_app, client, world, receiver):
    sub = subscribe(client, world, receiver.url)
    r = client.patch(world.url(f"/webhooks/{sub['id']}"), json={"active": False}, headers=world.h("admin"))
    assert r.status_code == 200 and r.get_json()["active"] is False
    complete(client, world)
    assert rows(clean_app, world) == []


@pytest.mark.parametrize(("url", "events", "field"), [
    ("ftp://example.org/hook", ["work_item.completed"], "url"),
    ("http://10.0.0.5/hook", ["work_item.completed"], "url"),
    ("http://169.254.169.254/latest/meta-data", ["work_item.completed"], "url"),
    ("http://localhost:6379/", ["work_item.completed"], "url"),
    ("https://user:pw@example.org/hook", ["work_item.completed"], "url"),
    ("http://[::1]:5432/", ["work_item.completed"], "url"),
    ("https://example.org/hook", [], "events"),
    ("https://example.org/hook", ["work_item.deleted"], "events"),
])
def test_unsafe_or_wrong_subscriptions_are_refused(clean_app, client, world, url, events, field):
    # Without the operator's switch, private, local and link-local addresses are refused.
    r = client.post(world.url("/webhooks"), json={"url": url, "events": events}, headers=world.h("admin"))
    assert r.status_code == 422, r.get_json()
    assert field in json.dumps(r.get_json()["errors"])
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(WebhookSubscription.id)) is None


def test_the_platforms_own_host_is_refused_even_when_private_is_allowed(clean_app, client, world, receiver):
    r = client.post(world.url("/webhooks"), json={"url": "http://localhost/api", "events": ["month.scored"]},
                    headers=world.h("admin"))
    assert r.status_code == 422 and "url" in r.get_json()["errors"]


def test_only_the_admin_subscribes(clean_app, client, world, receiver):
    for who in ("staff", "manager", "auditor"):
        subscribe(client, world, receiver.url, who=who, expect=403)


def test_pages_subscribe_show_the_secret_once_and_name_the_admin(clean_app, client, world, receiver):
    sign_in(client, world, "admin")
    page = client.get(f"/t/{world.slug}/admin/webhooks")
    assert page.status_code == 200 and "Chưa có đăng ký nào" in page.get_data(as_text=True)
    token = csrf(page.get_data(as_text=True))
    bad = client.post(f"/t/{world.slug}/admin/webhooks", data={"csrf_token": token, "url": "gopher://x"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Chỉ nhận địa chỉ http:// hoặc https://" in html and "Chọn ít nhất một sự kiện" in html
    r = client.post(f"/t/{world.slug}/admin/webhooks", data={"csrf_token": token, "url": receiver.url,
                                                             "events": ["work_item.completed", "month.scored"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 201 and "không hiển thị lại" in html
    with clean_app.app_context(), tenant_context(world.tenant_id):
        sub = db.session.scalars(select(WebhookSubscription)).one()
        secret, sub_id = sub.secret, sub.id
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.create")).one()
        assert event.actor == f"user:{world.principals['admin'].id}:admin"
        assert "secret" not in json.dumps(event.after) and secret not in json.dumps(event.after)
    assert secret in html
    assert secret not in client.get(f"/t/{world.slug}/admin/webhooks").get_data(as_text=True)
    complete(client, world)
    deliver(clean_app, world)
    detail = client.get(f"/t/{world.slug}/admin/webhooks/{sub_id}").get_data(as_text=True)
    assert "Một công việc được hoàn thành" in detail and "đã gửi" in detail and secret not in detail


def test_page_replay_and_pause_are_audited_and_the_auditor_only_reads(clean_app, client, world, receiver):
    sub = subscribe(client, world, receiver.url)
    complete(client, world)
    deliver(clean_app, world)
    [row] = rows(clean_app, world)
    sign_in(client, world, "auditor")
    assert client.get(f"/t/{world.slug}/admin/webhooks/{sub['id']}").status_code == 200
    sign_in(client, world, "admin")
    token = csrf(client.get(f"/t/{world.slug}/admin/webhooks/{sub['id']}").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/admin/webhooks/deliveries/{row.id}/replay", data={"csrf_token": token})
    assert r.status_code == 302
    r = client.post(f"/t/{world.slug}/admin/webhooks/{sub['id']}/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 302
    sign_in(client, world, "auditor")
    r = client.post(f"/t/{world.slug}/admin/webhooks/{sub['id']}/active", data={"csrf_token": token, "active": "1"})
    assert r.status_code == 403
    admin = f"user:{world.principals['admin'].id}:admin"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        got = {e.action: e.actor for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["webhook.replay", "webhook.update"])))}
        assert db.session.get(WebhookSubscription, sub["id"]).active is False
    assert got == {"webhook.replay": admin, "webhook.update": admin}
    # Removing needs the box ticked; the removal is audited and the log goes with it.
    sign_in(client, world, "admin")
    assert client.post(f"/t/{world.slug}/admin/webhooks/{sub['id']}/delete",
                       data={"csrf_token": token}).status_code == 400
    assert client.post(f"/t/{world.slug}/admin/webhooks/{sub['id']}/delete",
                       data={"csrf_token": token, "confirm": "1"}).status_code == 302
    assert rows(clean_app, world) == []
    with clean_app.app_context(), tenant_context(world.tenant_id):
        removed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.delete")).one()
        assert removed.actor == admin and removed.before["url"] == receiver.url


def test_another_tenants_subscription_is_404_on_pages(clean_app, client, world, receiver):
    from tests.work.test_work_support import build

    other = build(clean_app, slug="tinh-x", catalogue_too=False)
    sub = subscribe(client, other, receiver.url)
    sign_in(client, world, "admin")
    assert client.get(f"/t/{world.slug}/admin/webhooks/{sub['id']}").status_code == 404
    assert client.get(world.url(f"/webhooks/{sub['id']}"), headers=world.h("admin")).status_code == 404
    assert client.get(f"/t/{other.slug}/admin/webhooks").status_code == 404


# ---------------------------------------------------------------- for the isolation walk

def _subscription(app, w) -> int:
    key = "webhook"
    if key not in w.ids:
        with app.app_context(), tenant_context(w.tenant_id):
            sub = WebhookSubscription(url="https://example.org/hook", events=["month.scored"], secret="whsec_x",
                                      created_by="test")
            db.session.add(sub)
            db.session.flush()
            db.session.add(WebhookDelivery(subscription_id=sub.id, event="month.scored", payload={},
                                           status="failed"))
            unit_of_work.commit()
            w.ids[key] = sub.id
    return w.ids[key]


def _delivery(app, w) -> int:
    sub_id = _subscription(app, w)
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub_id))


FOREIGN_WEBHOOK_IDS = {"webhook_id": _subscription, "delivery_id": _delivery}


def test_the_command_sends_what_is_due(clean_app, client, world, receiver):
    subscribe(client, world, receiver.url)
    complete(client, world)
    from core.cli import main

    result = clean_app.test_cli_runner().invoke(main, ["webhooks", "deliver"])
    assert result.exit_code == 0, result.output
    assert "webhooks: 1 delivered, 0 to retry, 0 given up" in result.output
    assert len(receiver.requests) == 1
