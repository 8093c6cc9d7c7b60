"""The audit chain: events are chained at commit (after the rest of the transaction's
work), a rolled-back transaction leaves none, and concurrent writers never fork it."""

from __future__ import annotations

import threading

import pytest
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


def test_postgresql_chains_at_commit_without_holding_the_tenant_between_round_trips(clean_app, backend):
    """On PostgreSQL the database numbers and hashes an event as its transaction commits:
    a transaction whose event is already written (flushed) holds no lock, so another
    writer of the same tenant commits past it; the first then takes the next number.
    Each committed event's hash links its content hash to the event before it, and the
    head the database reported is signed into a checkpoint after each commit."""
    if backend.name != "postgresql":
        pytest.skip("SQLite chains in the app, one writer at a time")
    from core.audit import checkpoints
    from core.audit.services import content_hash, link_hash

    w = build_world(clean_app, "tinh-a")
    first_written, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            with clean_app.app_context(), tenant_context(w.tenant_id):
                session = db.session()
                database_commit = session.commit

                def commit_when_the_other_is_done():
                    # The commit's steps have run: the event's row is written; the database's
                    # commit (where it is chained) has not come.
                    first_written.set()
                    assert second_done.wait(10), "the other writer waited for this transaction"
                    database_commit()

                session.commit = commit_when_the_other_is_done
                record("test.slow", "thing", 1)
                unit_of_work.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            first_written.set()

    thread = threading.Thread(target=slow)
    thread.start()
    assert first_written.wait(10)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        record("test.fast", "thing", 2)
        unit_of_work.commit()
        second_done.set()
    thread.join(15)
    assert errors == []
    with clean_app.app_context(), tenant_context(w.tenant_id):
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        fast, slow_row = (next(r for r in rows if r.action == a) for a in ("test.fast", "test.slow"))
        assert slow_row.seq == fast.seq + 1 == rows[-1].seq
        assert slow_row.prev_hash == fast.hash
        for row in rows[-2:]:
            assert row.content_hash == content_hash(row)
            assert row.hash == link_hash(row.prev_hash, row.seq, row.content_hash)
        assert verify_chain(w.tenant_id).ok
        signed = checkpoints.of_tenant(w.tenant_id)
        assert (signed[-1].seq, signed[-1].head) == (slow_row.seq, slow_row.hash)
        assert any((c.seq, c.head) == (fast.seq, fast.hash) for c in signed)


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
