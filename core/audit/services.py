"""Writing and verifying the audit log.

Each event's hash covers its content and the previous event's hash, so editing,
removing or reordering any event breaks every hash after it (`congvu audit verify`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import func, select, text

from core.audit.models import AuditEvent
from core.extensions import db
from core.tenancy import current_tenant_id
from core.timeutil import utcnow

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "tenant_id": event.tenant_id,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def current_actor() -> str:
    if has_request_context() and getattr(g, "actor", None):
        return g.actor
    return "system"


def record(action: str, object_type: str | None = None, object_id: Any = None,
           before: dict | None = None, after: dict | None = None, actor: str | None = None,
           tenant_id: int | None = None) -> AuditEvent:
    """Append an event to the current tenant's chain, in the caller's transaction."""
    tid = tenant_id if tenant_id is not None else current_tenant_id()
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends per tenant so two transactions never fork the chain.
        session.execute(text("SELECT pg_advisory_xact_lock(7350, CAST(:t AS integer))"), {"t": tid})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.tenant_id == tid)
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        tenant_id=tid,
        seq=(last.seq + 1) if last else 1,
        at=utcnow().replace(microsecond=0),
        actor=actor or current_actor(),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


def _jsonable(data: dict | None) -> dict | None:
    if data is None:
        return None
    return json.loads(json.dumps(data, default=str))


@dataclass
class VerifyResult:
    ok: bool
    count: int
    problems: list[str]


def verify_chain(tenant_id: int) -> VerifyResult:
    """Walk the tenant's chain in order; report each break."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id))
    rows = db.session.execute(
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    ).scalars()
    for event in rows:
        if event.seq != expected_seq:
            problems.append(f"event seq {event.seq}: expected seq {expected_seq} (removed or reordered)")
            expected_seq = event.seq
        if event.prev_hash != prev:
            problems.append(f"event seq {event.seq}: previous hash does not match")
        if event_hash(event) != event.hash:
            problems.append(f"event seq {event.seq}: content was changed")
        prev = event.hash
        expected_seq += 1
    return VerifyResult(ok=not problems, count=count or 0, problems=problems)
