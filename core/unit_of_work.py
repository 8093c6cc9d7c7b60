"""The write path: how a change becomes committed, in the order it happens.

A service changes rows and records what the commit has to finish, in the open
transaction (core/txcache.py `pending`):

- `core.work.services.events` queues a work event per changed item (`work_events`);
- `changed(obj)` notes a change of what scores are computed from besides items: a
  person (leader, unit, employment), leave, a deputy's field, a calendar day (`facts`);
- `core.audit.services.record` queues the audit event (`audit_events`).

`commit()` then runs these steps, each a plain call:

1. changed facts: the months they touch are re-scored, or marked stale to recalculate;
2. work items: marks for the scorer (deferred scoring), or the items and their months
   re-scored inline (embedded mode);
3. the audit chain: the transaction's events numbered and hashed after the tenant's last
   (on PostgreSQL the marks of step 2 are written in the events' INSERT, one round trip);
4. the database commit;
5. after it: audit checkpoints signed, the scorer woken for the tenants marked, and
   `congvu_work_item_changed` emitted to plugins (they may read the committed rows).

Nothing of this rides on Session listeners (only tenant stamping and row-level security
do, core/tenancy/). A plain `db.session.commit()` of a transaction that left work for
these steps raises `UnitOfWorkBypassed` (core/extensions.py) instead of losing it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from core.extensions import UnitOfWorkBypassed, db
from core.org.models import DeputyField, Employee
from core.tenancy import current_tenant_id
from core.txcache import pending, take_pending
from core.work import calendar as cal
from core.work.models import CalendarDay, LeaveRecord

__all__ = ["UnitOfWorkBypassed", "changed", "commit", "rollback"]

# Employee columns a month's scores depend on (leaders' unit results, who is employed).
EMPLOYEE_FIELDS = ("is_leader", "unit_id", "start_date", "end_date")


def changed(obj: LeaveRecord | DeputyField | CalendarDay | Employee, gone: bool = False) -> None:
    """Note, before it is flushed, that `obj` was added, changed or (`gone`) deleted: the
    commit re-scores the months it touches. Earlier values of its dates and people count
    too (a leave moved from one month to another re-scores both)."""
    tid = current_tenant_id()
    if tid is None or obj.tenant_id not in (None, tid):  # None: stamped with `tid` at the flush
        return  # an operator's or a merger's bulk work: it re-scores by itself
    facts = pending().setdefault("facts", {}).setdefault(tid, {"spans": [], "days": set(), "people": False})
    state = inspect(obj)
    if isinstance(obj, (LeaveRecord, DeputyField)):
        person = "employee_id" if isinstance(obj, LeaveRecord) else "deputy_id"
        people = {getattr(obj, person), *state.attrs[person].history.deleted}
        starts = [obj.start_date, *state.attrs.start_date.history.deleted]
        # A deputy's open field (no end) runs to this month: resolved when the commit settles it.
        ends: list[date | None] = [obj.end_date, *state.attrs.end_date.history.deleted]
        facts["spans"].append((frozenset(people), starts, ends))
    elif isinstance(obj, CalendarDay):
        facts["days"].update((obj.day, *state.attrs.day.history.deleted))
        cal.forget_loaded()
    elif isinstance(obj, Employee):
        if gone or state.pending or state.transient or any(
                state.attrs[name].history.has_changes() for name in EMPLOYEE_FIELDS):
            facts["people"] = True


def commit(session: Session | None = None) -> None:
    """Finish the transaction's write: the steps above, in order."""
    # Imported here: those services (and the jobs they use) commit through this module.
    from core.audit import services as audit
    from core.scoring import scorer, stamps
    from core.scoring import services as scoring
    from core.work.services.events import emit_events

    session = session if session is not None else db.session()
    try:
        # 1. facts other than items (people, leave, calendar) → their months.
        scoring.settle_facts(session, pending(session).pop("facts", None) or {})
        # 2. work items → scoring marks (on PostgreSQL written with step 3's statement),
        #    or their scores refreshed inline.
        events = pending(session).pop("work_events", None) or []
        woken = scoring.score_items(session, events) if events else set()
        # 3. the audit chain (its lock is held from here, or from inside the database's
        #    commit, to the commit's end).
        heard = audit.chain_pending(session)
        left = take_pending(session)
        heads = left.pop("audit_heads", None) or {}
        if any(left.values()):
            raise UnitOfWorkBypassed(f"work left after the commit's steps: {sorted(k for k, v in left.items() if v)}")
        # 4. the commit.
        written_stamps = stamps.written(session)
        session.commit()
    finally:
        audit.release_chain_lock(session)
    # 5. after it: what the committed rows make true.
    stamps.remember(written_stamps)
    audit.write_checkpoints(heads | audit.heads_heard(heard))
    scorer.wake_after_commit(woken)
    emit_events(events)


def rollback(session: Session | None = None) -> None:
    """Undo the transaction; what it left for its commit goes with it."""
    from core.audit import services as audit

    session = session if session is not None else db.session()
    try:
        session.rollback()
    finally:
        audit.release_chain_lock(session)
