"""Writing and verifying the audit log.

Each event's hash covers its content and the previous event's hash, so editing,
removing or reordering any event breaks every hash after it (`congvu audit verify`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import has_request_context
from sqlalchemy import Insert, Table, bindparam, func, insert, select, text, union_all
from sqlalchemy.orm import Session

from core.audit import checkpoints
from core.audit.models import AuditEvent
from core.extensions import db
from core.tenancy import current_tenant_id, tenant_context
from core.timeutil import utcnow
from core.txcache import pending

GENESIS = "0" * 64


# How and from where an event was made (migration 0040). The content hash covers each
# one only when it is set: an event without them hashes exactly as it did before they
# existed, so the chains written then still verify.
CHANNEL_FIELDS = ("via", "client_ip", "request_id")


def _content(event: AuditEvent) -> dict:
    content = {
        "tenant_id": event.tenant_id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
    }
    for name in CHANNEL_FIELDS:
        value = getattr(event, name)
        if value is not None:
            content[name] = value
    return content


def _json(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()


def content_hash(event: AuditEvent) -> str:
    """SHA-256 of what the event says (not where it stands in the chain)."""
    return hashlib.sha256(_json(_content(event))).hexdigest()


def link_hash(prev_hash: str, seq: int, content: str) -> str:
    """An event's hash: its place in the chain and its content hash. The database
    computes the same expression when it chains an event at commit (migration 0038)."""
    return hashlib.sha256(f"{prev_hash}:{seq}:{content}".encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    """The hash the event must carry. An event chained before content hashes existed
    (content_hash NULL) hashed its content and place in one document."""
    if event.content_hash is None:
        return hashlib.sha256(_json(_content(event) | {"seq": event.seq, "prev_hash": event.prev_hash})).hexdigest()
    return link_hash(event.prev_hash, event.seq, event.content_hash)


# Set while a job runs (core/jobs/runner.py): the job's events name who asked for it,
# even when the job runs inline inside that person's request.
_JOB_ACTOR: ContextVar[str | None] = ContextVar("congvu_job_actor", default=None)
# The request that started the running job: (request id, client address).
_JOB_ORIGIN: ContextVar[tuple[str | None, str | None]] = ContextVar("congvu_job_origin", default=(None, None))


@contextmanager
def acting_as(actor: str, request_id: str | None = None, client_ip: str | None = None) -> Iterator[None]:
    """Events recorded inside name `actor` (unless a caller names one itself) and, for a
    job, the request that started it (`request_id`, `client_ip`)."""
    token = _JOB_ACTOR.set(actor)
    origin = _JOB_ORIGIN.set((request_id, client_ip))
    try:
        yield
    finally:
        _JOB_ORIGIN.reset(origin)
        _JOB_ACTOR.reset(token)


def request_origin() -> tuple[str | None, str | None]:
    """The current request's id and client address (None, None outside a request): what a
    job submitted now keeps, for its events to carry."""
    if not has_request_context():
        return None, None
    from flask import g, request

    return g.get("request_id"), (request.remote_addr or "")[:64] or None


# Who an event names when there is no job and no signed-in person: `system`, unless the
# process says who it is (the `congvu` command line sets "cli").
_FALLBACK_ACTOR: ContextVar[str] = ContextVar("congvu_fallback_actor", default="system")


@contextmanager
def acting_outside_requests(actor: str) -> Iterator[None]:
    """Events recorded inside with no job and no request principal name `actor`. Unlike
    `acting_as` it never overrides the person of a request or the requester of a job."""
    token = _FALLBACK_ACTOR.set(actor)
    try:
        yield
    finally:
        _FALLBACK_ACTOR.reset(token)


def job_actor(requested_by: str, run_id: str) -> str:
    return f"{requested_by} via job {run_id}"


def current_actor() -> str:
    """Who the next event names: the person a running job was requested by, else the
    authenticated principal of the request (the same rule for pages and the API), else
    who the process says it is (`cli` for a command), else `system`."""
    job = _JOB_ACTOR.get()
    if job:
        return job
    if has_request_context():
        from core.auth.guards import request_principal

        principal = request_principal()
        if principal is not None:
            return principal.actor
    return _FALLBACK_ACTOR.get()


@dataclass(frozen=True)
class Channel:
    via: str
    client_ip: str | None = None
    request_id: str | None = None


def current_channel() -> Channel:
    """How the next event is being made: by a running job ("job"), a request to the API
    ("api", "api:token:<id>" when a bearer token authenticated it) or to a page ("page"),
    else the process's fallback actor ("cli" for a command) or "system". Inside a request
    (a job run inline too) also the client's address — `remote_addr`, which the trusted
    proxy setup of wsgi.py has already made the client's — and the request's id, the one
    its log lines carry. A job run by a worker has neither."""
    client_ip = request_id = None
    via = None
    if has_request_context():
        from flask import g, request

        client_ip = (request.remote_addr or "")[:64] or None
        request_id = g.get("request_id")
        if request.path.startswith("/api/"):
            # The principal the request already resolved (the actor's): never a second lookup.
            token_id = getattr(g.get("principal"), "token_id", None)
            via = f"api:token:{token_id}" if token_id is not None else "api"
        else:
            via = "page"
    if _JOB_ACTOR.get():
        via = "job"
        # A worker has no request: the one that started the job (kept on its run row).
        started_by = _JOB_ORIGIN.get()
        request_id, client_ip = request_id or started_by[0], client_ip or started_by[1]
    elif via is None:
        via = "cli" if _FALLBACK_ACTOR.get() == "cli" else "system"
    return Channel(via, client_ip, request_id)


def record(action: str, object_type: str | None = None, object_id: Any = None,
           before: dict | None = None, after: dict | None = None, actor: str | None = None,
           tenant_id: int | None = None, seal: bool = False) -> AuditEvent:
    """Add an event to the tenant's chain, in the caller's transaction.

    The event is chained (numbered and hashed) as its transaction commits, after every
    other piece of work of it: chaining takes the tenant's lock until the commit ends,
    and holding it any longer would make one tenant's writes wait for each other
    (`chain_pending`). `seal=True` chains it at once (for a caller that needs its seq
    and hash now).
    """
    tid = tenant_id if tenant_id is not None else current_tenant_id()
    event = AuditEvent(
        tenant_id=tid,
        at=utcnow().replace(microsecond=0),
        actor=actor or current_actor(),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    channel = current_channel()
    event.via, event.client_ip, event.request_id = channel.via, channel.client_ip, channel.request_id
    event.content_hash = content_hash(event)
    if seal:
        _chain(db.session(), [event])
    else:
        pending().setdefault("audit_events", []).append(event)
    return event


def _chain(session, events: list[AuditEvent]) -> None:
    """Number and hash `events` after the last event of their tenants, in order."""
    for tid in dict.fromkeys(e.tenant_id for e in events):
        # At commit the request may be in another tenant's context (or none): chain each
        # tenant's events in its own, so the write guards and RLS see the right tenant.
        with tenant_context(tid):
            _chain_tenant(session, tid, [e for e in events if e.tenant_id == tid])


# SQLite (the embedded, single-process mode) has no advisory locks: a process lock held
# from chaining until the commit ends does the same for the threads of the dev server.
_SQLITE_CHAIN = threading.RLock()
_HELD = "congvu_audit_sqlite_lock"


# Built once: every audited write of every request reads it.
_events = AuditEvent.__table__
_LAST_EVENT = (select(_events.c.seq, _events.c.hash).where(_events.c.tenant_id == bindparam("tid"))
               .order_by(_events.c.seq.desc()).limit(1))
_LOCKED_HEAD = text("SELECT seq, hash FROM public.congvu_audit_head(CAST(:tid AS bigint))")


def _chain_tenant(session, tid: int, events: list[AuditEvent]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends per tenant so two transactions never fork the chain: the
        # function takes the tenant's lock (its 64-bit id, migration 0047), then reads the head.
        last = session.connection().execute(_LOCKED_HEAD, {"tid": tid}).first()
    else:
        held = session.info.get(_HELD)
        if held is not None and held[0] is not session.get_transaction():
            release_chain_lock(session)  # left by a transaction that ended without its commit
        _SQLITE_CHAIN.acquire()
        count = session.info[_HELD][1] if _HELD in session.info else 0
        session.info[_HELD] = (session.get_transaction(), count + 1)
        # On the connection: the statement names its tenant itself.
        last = session.connection().execute(_LAST_EVENT, {"tid": tid}).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    for item in events:
        seq += 1
        item.seq, item.prev_hash = seq, prev
        item.hash = prev = link_hash(prev, seq, item.content_hash)
        session.add(item)
    session.flush()
    # The new head, signed into a checkpoint once the commit has succeeded.
    pending(session).setdefault("audit_heads", {})[tid] = (seq, prev)


def chain_pending(session: Session) -> dict | None:
    """A step of the commit (core/unit_of_work.py), the last before it: chain the events
    this transaction recorded.

    On PostgreSQL, when they all belong to the transaction's tenant, the database chains
    them itself as it commits (a deferred trigger, migration 0038): the tenant's lock is
    then held only inside the server's commit, not across the round trips and Python
    between here and the commit's end, so one tenant's writes do not wait on each other.
    The trigger reports each new head as a notice: the dictionary returned is where
    `heads_heard` finds them after the commit. Otherwise (SQLite; events of another
    tenant) they are chained here, under the lock, held to the commit's end."""
    events = pending(session).pop("audit_events", None)
    rides = pending(session).pop(RIDES, None) or []
    tid = current_tenant_id()
    if (events and tid is not None and session.get_bind().dialect.name == "postgresql"
            and all(e.tenant_id == tid for e in events) and all(t == tid for t, _, _ in rides)):
        # One INSERT, not the ORM's flush: nothing reads these rows back in the transaction
        # (the database numbers them), and the flush's bookkeeping cost more than the row.
        # The rows that ride along go in the same statement, as CTEs.
        params = {f"e{i}_{name}": getattr(e, name) for i, e in enumerate(events) for name in _UNCHAINED_FIELDS}
        for k, (_, _table, rows) in enumerate(rides):
            params |= {f"r{k}_{j}_{name}": value for j, row in enumerate(rows) for name, value in row.items()}
        session.execute(_insert_with(len(events), rides), params)
        info = session.connection().info  # the pooled connection's: its notice handler writes there
        info.pop(HEARD, None)
        return info
    for rtid, table, rows in rides:  # nothing to ride with: on their own
        with tenant_context(rtid):
            session.execute(insert(table), rows)
    if events:
        _chain(session, events)
    return None


# What an event says when it is written for the database to chain (seq, prev_hash, hash: its trigger's).
_UNCHAINED_FIELDS = ("tenant_id", "at", "actor", "action", "object_type", "object_id", "before", "after",
                     "content_hash", *CHANNEL_FIELDS)
# What `ride_along` leaves for `chain_pending`: (tenant, table, rows).
RIDES = "audit_rides"


def ride_along(session: Session, table: Table, rows: list[dict]) -> bool:
    """Insert `rows` into `table` with this transaction's audit events, in their statement:
    one round trip less for a write that leaves both (a declaration's scoring mark). Only
    on PostgreSQL, for rows of the current tenant when events of it alone are waiting
    (chain_pending's single INSERT); False: the caller inserts them itself."""
    tid = current_tenant_id()
    events = pending(session).get("audit_events")
    if (tid is None or not events or session.get_bind().dialect.name != "postgresql"
            or any(e.tenant_id != tid for e in events)):
        return False
    pending(session).setdefault(RIDES, []).append((tid, table, [dict(r) for r in rows]))
    return True


# One statement per shape (how many events, which rows ride), built once: a declaration's
# is always the same one, so SQLAlchemy's compiled cache and psycopg's prepared statement
# hold. (A multi-row VALUES list is never cached by SQLAlchemy, it would be compiled on
# every request: several rows are a UNION ALL of bound rows instead.)
_WITH: dict[tuple, Insert] = {}


def _insert_with(count: int, rides: list[tuple[int, Table, list[dict]]]) -> Insert:
    if not rides:
        key: tuple = (count,)
    else:
        key = (count, *((t.name, len(rows), tuple(rows[0])) for _, t, rows in rides))
    stmt = _WITH.get(key)
    if stmt is None:
        stmt = _insert_rows(_events, _UNCHAINED_FIELDS, count, lambda i, name: f"e{i}_{name}")
        for k, (_, table, rows) in enumerate(rides):
            ride = _insert_rows(table, tuple(rows[0]), len(rows), lambda j, name, k=k: f"r{k}_{j}_{name}")
            stmt = stmt.add_cte(ride.cte(f"ride_{k}"))
        if len(_WITH) < 256:
            _WITH[key] = stmt
    return stmt


def _insert_rows(table: Table, names: tuple[str, ...], count: int, param) -> Insert:
    """INSERT of `count` rows of `names`, row i's value of `name` bound as param(i, name)."""
    def bound(i: int) -> list:
        return [bindparam(param(i, name), type_=table.c[name].type) for name in names]

    if count == 1:
        return insert(table).values(dict(zip(names, bound(0), strict=True)))
    rows = union_all(*(select(*bound(i)) for i in range(count)))
    return insert(table).from_select(list(names), rows, include_defaults=False)


# Where a connection's notice handler keeps the heads the chain trigger reported.
HEARD = "congvu_audit_heads"
_HEAD_NOTICE = "congvu-audit-head "


def hear_heads(dbapi_connection, record) -> None:
    """For each new PostgreSQL connection: keep the heads the chain trigger reports."""
    info = record.info

    def heard(diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if message.startswith(_HEAD_NOTICE):
            tid, seq, head = message[len(_HEAD_NOTICE):].split()
            info.setdefault(HEARD, {})[int(tid)] = (int(seq), head)

    dbapi_connection.add_notice_handler(heard)


def heads_heard(info: dict | None) -> dict[int, tuple[int, str]]:
    """After the commit: the heads the database reported while chaining at commit."""
    return info.pop(HEARD, None) or {} if info is not None else {}


def write_checkpoints(heads: dict[int, tuple[int, str]]) -> None:
    """After the commit: sign each tenant's new head into a checkpoint."""
    if heads:
        checkpoints.write_after_commit((tid, seq, head) for tid, (seq, head) in heads.items())


def release_chain_lock(session: Session) -> None:
    """However the transaction ended, the SQLite chain lock goes with it: a thread that
    kept it would stop every later write of the process."""
    held = session.info.pop(_HELD, None)
    for _ in range(held[1] if held else 0):
        _SQLITE_CHAIN.release()


def _jsonable(data: dict | None) -> dict | None:
    if data is None:
        return None
    return json.loads(json.dumps(data, default=str))


@dataclass
class VerifyResult:
    ok: bool
    count: int
    problems: list[str]  # the first KEPT_PROBLEMS found
    anchor: checkpoints.Checkpoint | None = None  # the newest genuine checkpoint checked against
    problem_count: int = 0  # all found, kept or not


PROGRESS_EVERY = 1000  # events between two progress reports of the chain's walk
# A chain broken at its start reports every event after it: millions for a province's
# year. The first ones name where it broke; the rest are counted (and heard by
# `on_problem` as they are found), not kept.
KEPT_PROBLEMS = 1000


class _Problems:
    """Problems as they are found: told to `on_problem`, the first `keep` kept, all counted."""

    def __init__(self, on_problem: Callable[[str], None] | None, keep: int):
        self.kept: list[str] = []
        self.count = 0
        self.on_problem, self.keep = on_problem, keep

    def add(self, problem: str) -> None:
        self.count += 1
        if len(self.kept) < self.keep:
            self.kept.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)


def verify_chain(tenant_id: int, progress: Callable[[int, int], None] | None = None,
                 on_problem: Callable[[str], None] | None = None, keep: int | None = None) -> VerifyResult:
    """Walk the tenant's chain in order; report each break. `progress(done, total)` hears
    every thousand events (a province's year is millions: the page's job shows a bar);
    `on_problem` hears each break as it is found; the result keeps the first `keep`."""
    problems = _Problems(on_problem, KEPT_PROBLEMS if keep is None else keep)
    prev = GENESIS
    expected_seq = 1
    count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id))
    rows = db.session.execute(
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    ).scalars()
    for walked, event in enumerate(rows, 1):
        if event.seq != expected_seq:
            problems.add(f"event seq {event.seq}: expected seq {expected_seq} (removed or reordered)")
            expected_seq = event.seq
        if event.prev_hash != prev:
            problems.add(f"event seq {event.seq}: previous hash does not match")
        if event_hash(event) != event.hash or (
                event.content_hash is not None and content_hash(event) != event.content_hash):
            problems.add(f"event seq {event.seq}: content was changed")
        prev = event.hash
        expected_seq += 1
        if progress is not None and walked % PROGRESS_EVERY == 0:
            progress(walked, count or 0)
    return VerifyResult(ok=not problems.count, count=count or 0, problems=problems.kept,
                        problem_count=problems.count)


def verify(tenant_id: int, extra_checkpoints: tuple = (),
           progress: Callable[[int, int], None] | None = None,
           on_problem: Callable[[str], None] | None = None, keep: int | None = None) -> VerifyResult:
    """The chain, then the table against the newest checkpoint whose signature holds
    (from the checkpoint folder and `extra_checkpoints` files: a log, an export). Anchor
    problems come first in the result: they are the ones the chain alone cannot see (a
    few at most, always kept); `on_problem` hears them after the chain's."""
    result = verify_chain(tenant_id, progress, on_problem, keep)
    found = checkpoints.of_tenant(tenant_id, extra_checkpoints)
    anchor_problems = [f"checkpoint of {c.at} (seq {c.seq}): bad signature (forged, or not signed with this "
                       "CONGVU_AUDIT_KEY)" for c in found if not checkpoints.genuine(c)]
    genuine = [c for c in found if checkpoints.genuine(c)]
    anchor = max(genuine, key=lambda c: (c.seq, c.at), default=None)
    if anchor is not None:
        anchor_problems += _against(tenant_id, anchor)
    elif result.count == 0:
        anchor_problems.append("the log is empty, yet every tenant's log begins with its creation: it was wiped")
    if on_problem is not None:
        for problem in anchor_problems:
            on_problem(problem)
    result.problems = anchor_problems + result.problems
    result.problem_count += len(anchor_problems)
    result.ok, result.anchor = not result.problem_count, anchor
    return result


def _against(tenant_id: int, anchor: checkpoints.Checkpoint) -> list[str]:
    where = (AuditEvent.tenant_id == tenant_id,)
    head = db.session.execute(select(AuditEvent.seq, AuditEvent.hash).where(*where)
                              .order_by(AuditEvent.seq.desc()).limit(1)).first()
    signed = f"the checkpoint of {anchor.at} signed seq {anchor.seq}, {anchor.count} events"
    if head is None:
        return [f"the log is empty but {signed}: the log was wiped"] if anchor.count else []
    if head.seq < anchor.seq:
        return [f"the log ends at seq {head.seq} but {signed}: {anchor.seq - head.seq} events were removed "
                "from the end"]
    at_anchor = db.session.scalar(select(AuditEvent.hash).where(*where, AuditEvent.seq == anchor.seq))
    problems = []
    if anchor.seq and at_anchor is None:
        problems.append(f"event seq {anchor.seq} is missing but {signed}")
    elif anchor.seq and at_anchor != anchor.head:
        problems.append(f"event seq {anchor.seq} has hash {at_anchor[:12]}… but {signed} with hash "
                        f"{anchor.head[:12]}…: the history up to it was rewritten")
    up_to = db.session.scalar(select(func.count()).select_from(AuditEvent).where(*where, AuditEvent.seq <= anchor.seq))
    if up_to != anchor.count:
        problems.append(f"{up_to} events up to seq {anchor.seq} but {signed}")
    return problems


def checkpoint_now(tenant_id: int) -> checkpoints.Checkpoint:
    """Sign and write a checkpoint of the tenant's head as it is (`congvu audit checkpoint`:
    after an upgrade, the chains that existed before checkpoints did)."""
    head = db.session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.tenant_id == tenant_id)
                              .order_by(AuditEvent.seq.desc()).limit(1)).first()
    count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id))
    made = checkpoints.sign(tenant_id, head.seq if head else 0, head.hash if head else GENESIS, count or 0)
    checkpoints.write(made)
    return made
