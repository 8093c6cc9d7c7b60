"""The scorer: scores refreshed beside the request that changed the work, not inside it.

A write that changes a person's items commits, with the items and their audit events,
a mark that the person's month needs re-scoring (`scoring_marks`, one row per person
and month however many of their items the transaction changed). A scorer then takes
marks in batches and, in one transaction per batch, re-scores those people's items
(the variant's SQL path on PostgreSQL), re-aggregates their months and their leaders'
(once per batch) and rewrites their heat-map cells, then deletes the marks it took.

Where it runs (`CONGVU_SCORING`, docs/scaling.md):

- "deferred" (the default when Redis is configured): the commit wakes an RQ job on the
  `scoring` queue (coalesced per tenant); `congvu scorer` drains the same way in a loop.
- "inline" (the default without Redis: `make run`, the test suite): no marks; the
  change's own commit re-scores as before (core/scoring/services.py), so a person sees
  fresh scores at once and a variant's error still refuses the write that caused it.

Why several scorers never conflict: a batch takes its marks with `FOR UPDATE SKIP
LOCKED` (another scorer's marks are skipped, not waited for) and then locks its people
and every leader above them with advisory locks, all in one statement in ascending
order (scope.lock_people) — two batches that share a leader take turns on it and can
never deadlock. A mark inserted while a batch runs is not among the rows it took, so it
stays and the next batch re-scores from the committed items: a batch that read the
items before that write never deletes the mark that write made.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core import unit_of_work
from core.audit import services as audit
from core.extensions import db
from core.plugins.manager import ComponentMissing
from core.scoring import engine, kernel, scope
from core.scoring.models import PeriodScore, ScoringMark
from core.tenancy import current_tenant_id, tenant_context
from core.tenants.models import Tenant
from core.timeutil import utcnow
from core.work.models import ClosedPeriod, WorkItem

log = logging.getLogger(__name__)

# Marks of one batch: big enough that a morning's burst is a few batches, small enough
# that one batch's transaction (and its leaders' locks) stays short.
BATCH_MARKS = 500
_redis_clients: dict[str, object] = {}


def deferred() -> bool:
    """Whether changes leave marks for a scorer instead of re-scoring in their commit."""
    if not has_app_context():
        return False
    mode = current_app.config.get("CONGVU_SCORING")
    if mode:
        return mode == "deferred"
    return bool(current_app.config.get("CONGVU_REDIS_URL"))


# ---------------------------------------------------------------- writing marks


def mark_items(session: Session, events: Iterable[tuple[int, int, str]]) -> set[int]:
    """Marks for the items of this transaction's work events (tenant, item id, change):
    one per (tenant, person, month), in one INSERT per tenant. The items were flushed in
    this transaction, so their person and date are read from the session, not the database.
    Returns the tenants marked, to wake a scorer for after the commit."""
    wanted: dict[int, set[tuple[int, str]]] = defaultdict(set)
    missing: dict[int, set[int]] = defaultdict(set)
    for tid, item_id, _ in events:
        item = session.identity_map.get(session.identity_key(WorkItem, item_id))
        if item is None:
            missing[tid].add(item_id)
        else:
            wanted[tid].add((item.employee_id, kernel.month_of(item.work_date)))
    for tid in sorted(set(wanted) | set(missing)):
        if tid == current_tenant_id():
            _insert_marks(session, wanted[tid], missing[tid], may_ride=True)
        else:
            with tenant_context(tid):  # the commit may come after the block that set the tenant
                _insert_marks(session, wanted[tid], missing[tid])
    return set(wanted) | set(missing)


def _insert_marks(session: Session, wanted: set[tuple[int, str]], missing: set[int], may_ride: bool = False) -> None:
    if missing:  # items no longer in the session (a caller that expired it): one read
        wanted |= {(r.employee_id, kernel.month_of(r.work_date)) for r in session.execute(
            select(WorkItem.employee_id, WorkItem.work_date).where(WorkItem.id.in_(sorted(missing))))}
    if not wanted:
        return
    now, tid = utcnow(), current_tenant_id()
    rows = [{"tenant_id": tid, "employee_id": pid, "period": period, "marked_at": now} for pid, period in sorted(wanted)]
    # On PostgreSQL the marks go in the statement of the transaction's audit events
    # (the commit's next step), a round trip less; else on their own.
    if may_ride and audit.ride_along(session, ScoringMark.__table__, rows):
        return
    session.execute(insert(ScoringMark.__table__), rows)


def wake_after_commit(tenants: set[int]) -> None:
    """After the commit: wake a scorer for each tenant this transaction marked. Redis down
    is no failure of the write — its marks wait in the database for the next scorer."""
    if not tenants or not has_app_context():
        return
    redis_url = current_app.config.get("CONGVU_REDIS_URL")
    if not redis_url:
        return  # `congvu scorer` (or a test) drains them
    try:
        wake(redis_url, tenants)
    except Exception:  # noqa: BLE001 - the marks are committed; any later wake takes them
        log.warning("could not wake the scorer for tenants %s; their marks wait", sorted(tenants), exc_info=True)


def _wake_key(tid: int) -> str:
    from core.jobs.queues import queue_name

    return queue_name(f"congvu:scorer-queued:{tid}")


def _redis(redis_url: str):
    """One client per URL and process (short timeouts: a write never waits long on Redis)."""
    from redis import Redis

    conn = _redis_clients.get(redis_url)
    if conn is None:
        conn = _redis_clients[redis_url] = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    return conn


def wake(redis_url: str, tenants: Iterable[int]) -> None:
    """Enqueue one scorer job per tenant unless one is already queued and not started
    (a key set when it is queued, deleted when it starts): a burst of 300 declarations
    a second is then a handful of jobs, each draining everything marked so far."""
    from rq import Queue

    from core.jobs.queues import queue_name

    conn = _redis(redis_url)
    queue = Queue(queue_name("scoring"), connection=conn)
    for tid in sorted(set(tenants)):
        if conn.set(_wake_key(tid), "1", nx=True, ex=120):
            queue.enqueue(scorer_job, tid, job_timeout=900, result_ttl=0, failure_ttl=86400,
                          description=f"scorer tenant {tid}")


def wake_waiting(redis_url: str) -> int:
    """The sweeper's part: wake a scorer for every tenant that has marks (one small read
    per tenant), so marks made while Redis was down are not left until the next write."""
    waiting = []
    for tid in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with tenant_context(tid):
            if db.session.scalar(select(ScoringMark.id).limit(1)) is not None:
                waiting.append(tid)
    unit_of_work.commit()
    if waiting:
        wake(redis_url, waiting)
    return len(waiting)


def scorer_job(tenant_id: int) -> int:
    """The RQ job: drain the tenant's marks. The queued key goes first, so a mark made
    while this job runs wakes another job rather than waiting for a later write."""
    from core.jobs import runner

    app = runner._app()
    if app is None:
        return _scorer_job(tenant_id)
    if runner._parent_pid is not None and os.getpid() != runner._parent_pid:
        with app.app_context():
            db.engine.dispose(close=False)  # a work horse never shares the parent's pooled connections
    with app.app_context():
        try:
            return _scorer_job(tenant_id)
        finally:
            db.session.remove()


def settle_seconds() -> float:
    """CONGVU_SCORER_SETTLE_MS, in seconds."""
    return int(current_app.config.get("CONGVU_SCORER_SETTLE_MS") or 0) / 1000


def _scorer_job(tenant_id: int) -> int:
    redis_url = current_app.config.get("CONGVU_REDIS_URL")
    # The job waits before it clears its wake key: writes meanwhile find the key set, queue
    # nothing, and their marks join this job's batch — one re-score of a person for all the
    # items they declared in that time, not one each (the scorer's cost grows with the
    # person's month, so re-scoring it per item is what falls behind at 7:30).
    time.sleep(settle_seconds())
    if redis_url:
        try:
            _redis(redis_url).delete(_wake_key(tenant_id))
        except Exception:  # noqa: BLE001 - the key expires by itself; the marks are what matter
            log.warning("scorer: could not clear the wake key of tenant %s", tenant_id, exc_info=True)
    return drain_tenant(tenant_id)


# ---------------------------------------------------------------- draining


def drain_batch(limit: int = BATCH_MARKS, year: str | None = None) -> int:
    """Take up to `limit` of the current tenant's marks (oldest first; `year`: only its
    months) and re-score what they name, in the caller's transaction. Returns how many
    marks were taken; the caller commits (or, if it dies, the marks are taken again)."""
    stmt = select(ScoringMark.id, ScoringMark.employee_id, ScoringMark.period).order_by(ScoringMark.id).limit(limit)
    if year is not None:
        stmt = stmt.where(ScoringMark.period.like(f"{year}-%"))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    taken = db.session.execute(stmt).all()
    if not taken:
        return 0
    tenant = db.session.get(Tenant, current_tenant_id())
    if tenant is not None and tenant.status == "suspended":
        # Suspended, not gone: its marks wait (untouched, so none is lost) and are re-scored
        # once it is resumed; dropping them left those people's months at their old scores.
        return 0
    if tenant is None or tenant.status != "active":
        log.warning("scorer: dropped %d marks of tenant %s (%s): it is no longer active", len(taken),
                    current_tenant_id(), tenant.status if tenant else "gone")
        _delete_marks([r.id for r in taken])
        return len(taken)
    by_period: dict[str, set[int]] = defaultdict(set)
    for row in taken:
        by_period[row.period].add(row.employee_id)
    closed = set(db.session.scalars(select(ClosedPeriod.period).where(ClosedPeriod.period.in_(sorted(by_period)))))
    for period in sorted(closed):
        # A closed month's scores are frozen; a change to it was refused, so this mark is
        # a leftover (the month was closed after the write): dropped, not retried forever.
        log.warning("scorer: dropped the marks of %d people of tenant %s for %s: the month is closed",
                    len(by_period[period]), current_tenant_id(), period)
    live = {p: ids for p, ids in by_period.items() if p not in closed}
    if live:
        # Everyone of the batch and every leader above them, in one statement, ascending.
        scope.lock_people(set().union(*live.values()))
    for period in sorted(live):
        _rescore(period, live[period])
    _delete_marks([r.id for r in taken])
    return len(taken)


def _rescore(period: str, people: set[int]) -> None:
    from core.dashboards.aggregates import write_week_hours
    from core.scoring.stale import mark_stale

    try:
        scheme = kernel.scheme_for(period)
    except ComponentMissing as exc:
        mark_stale([period], exc.message)
        return
    moved = engine.moved_version(scheme, people)
    if moved is not None:
        mark_stale([period], moved)
        return
    ids = sorted(people)
    engine.score_items(scheme, employee_ids=ids)
    engine.aggregate(scheme, ids, scope.read_scope(ids))
    write_week_hours(period, ids)


def _delete_marks(ids: list[int]) -> None:
    db.session.execute(delete(ScoringMark).where(ScoringMark.id.in_(ids)),
                       execution_options={"synchronize_session": False})


def drain(year: str | None = None, limit: int = BATCH_MARKS) -> int:
    """Drain the current tenant's marks (of `year`, if given), one committed transaction
    per batch. Marks another scorer holds are skipped: drain_year waits for those."""
    total = 0
    while True:
        try:
            taken = drain_batch(limit, year)
            unit_of_work.commit()
        except Exception:
            db.session.rollback()
            raise
        total += taken
        if taken < limit:
            return total


def drain_tenant(tenant_id: int, limit: int = BATCH_MARKS) -> int:
    with tenant_context(tenant_id):
        return drain(limit=limit)


def drain_all(limit: int = BATCH_MARKS) -> int:
    """Every tenant's marks (`congvu scorer`): tenants with none cost one small read each."""
    total = 0
    for tid in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        total += drain_tenant(tid, limit)
    return total


def drain_year(year: str, wait_seconds: float = 60.0) -> None:
    """Before a classification or bonus run: no mark of the year left, so the run reads
    final months. Marks a running scorer holds are waited for (their batch commits them)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        drain(year=year)
        if not pending_year(year) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


# ---------------------------------------------------------------- freshness


def pending_people(period: str, employee_ids: Iterable[int] | None = None) -> set[int]:
    """People of the current tenant whose `period` (a month, or a year: any of its months)
    has changes not scored yet."""
    cond = ScoringMark.period == period if kernel.is_month(period) else ScoringMark.period.like(f"{period}-%")
    stmt = select(ScoringMark.employee_id).where(cond).distinct()
    if employee_ids is not None:
        stmt = stmt.where(ScoringMark.employee_id.in_(list(employee_ids)))
    return set(db.session.scalars(stmt))


def pending_year(year: str) -> bool:
    return db.session.scalar(select(ScoringMark.id).where(ScoringMark.period.like(f"{year}-%")).limit(1)) is not None


def freshness(period: str, employee_ids: Iterable[int] | None = None) -> dict:
    """What a page says about a month's freshness: whether any of these people (everyone
    of the tenant if None) has pending changes, and when their month rows were last
    computed."""
    ids = None if employee_ids is None else list(employee_ids)
    if ids is None:  # the whole tenant: whether any mark exists, not who has one
        pending = db.session.scalar(select(ScoringMark.id).where(ScoringMark.period == period).limit(1)) is not None
    else:
        pending = bool(pending_people(period, ids))
    stmt = select(func.max(PeriodScore.computed_at)).where(PeriodScore.period == period)
    if ids is not None:
        stmt = stmt.where(PeriodScore.employee_id.in_(ids))
    refreshed: datetime | None = db.session.scalar(stmt) if pending else None
    return {"pending": pending, "refreshed_at": refreshed}
