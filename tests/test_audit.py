"""The audit chain: events are chained at commit (after the rest of the transaction's
work), a rolled-back transaction leaves none, and concurrent writers never fork it."""

from __future__ import annotations

import threading

from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.audit.services import record, verify_chain
from core.extensions import db
from core.tenancy import tenant_context
from tests.factories import build_world


def test_events_are_chained_at_commit_and_dropped_on_rollback(clean_app):
    w = build_world(clean_app, "tinh-a")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        before = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        pending = record("test.one", "thing", 1)
        assert pending.seq is None  # not chained until the commit
        record("test.two", "thing", 2)
        unit_of_work.commit()
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("test.%"))
                                  .order_by(AuditEvent.seq)).all()
        assert [(r.action, r.seq) for r in rows] == [("test.one", before + 1), ("test.two", before + 2)]
        record("test.lost", "thing", 3)
        db.session.rollback()
        unit_of_work.commit()
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "test.lost")) is None
        assert verify_chain(w.tenant_id).ok


def test_concurrent_writers_keep_one_chain(clean_app):
    w = build_world(clean_app, "tinh-a")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with clean_app.app_context(), tenant_context(w.tenant_id):
                for i in range(10):
                    record("test.concurrent", "writer", f"{n}-{i}")
                    unit_of_work.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with clean_app.app_context(), tenant_context(w.tenant_id):
        result = verify_chain(w.tenant_id)
        count = len(db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "test.concurrent")).all())
    assert result.ok, result.problems
    assert count == 40


def test_audit_events_api_for_admins_and_auditors(clean_app, client):
    w = build_world(clean_app, "tinh-a", client)
    client.patch("/api/v1/tenants/tinh-a/settings", headers=w.headers("admin"), json={"morning_cutoff": "08:30"})
    r = client.get("/api/v1/tenants/tinh-a/audit-events?action=settings.update", headers=w.headers("auditor"))
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "1"
    (event,) = r.get_json()
    assert event["after"]["morning_cutoff"] == "08:30" and event["before"]["morning_cutoff"] == "09:00"
    assert event["actor"].endswith(":admin") and len(event["hash"]) == 64
    every = client.get("/api/v1/tenants/tinh-a/audit-events?per_page=500", headers=w.headers("admin")).get_json()
    assert [e["seq"] for e in every] == list(range(1, len(every) + 1))
    assert client.get("/api/v1/tenants/tinh-a/audit-events", headers=w.headers("staff")).status_code == 403
    assert client.get("/api/v1/tenants/tinh-a/audit-events?from=2026-13-01", headers=w.headers("admin")).status_code == 422
    today = client.get("/api/v1/tenants/tinh-a/audit-events?from=2000-01-01&to=2000-01-02",
                       headers=w.headers("admin"))
    assert today.get_json() == []
