"""The scoring locks (PostgreSQL advisory locks; SQLite writes one transaction at a time).

Always taken in this order, so writers never deadlock: the tenant's scoring lock
(shared by per-item refreshes, exclusive for whole-month rewrites), then each person's
lock (ascending ids, in one statement: the changed people and every leader above them,
core/scoring/scope.py), then month rows (ascending employee ids), and last the audit
chain's lock at commit (the tenant id as a one-bigint key, migration 0047: that key space
is the chain's alone). Declarations of people with no leader in common so run side by
side; under one leader they take turns (the leader's row is computed from the others'
stored rows); only a recalculation waits for them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from core.extensions import db
from core.tenancy import current_tenant_id

# The advisory lock keys: (SCORING_LOCK, tenant) and (PERSON_LOCK, employee), each id
# folded into the second key's int4 (`key`): an id beyond 2^31 - 1 could not be cast and
# failed the statement ("integer out of range"). Ids that fold alike share a lock: more
# waiting, never less safety.
SCORING_LOCK, PERSON_LOCK = 7352, 7351
_INT4 = 2_147_483_647


def key(entity_id: int) -> int:
    return entity_id % _INT4


def lock_scoring() -> None:
    """The tenant's scoring lock, exclusively: a whole-month rewrite waits for every
    refresh under way (they hold it shared, lock_for_refresh) and holds new ones off."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite writes one transaction at a time anyway
    db.session.execute(text(f"SELECT pg_advisory_xact_lock({SCORING_LOCK}, CAST(:t AS integer))"),
                       {"t": key(current_tenant_id())})


def lock_tenants_scoring(tenant_ids: Iterable[int]) -> None:
    """Several tenants' scoring locks, exclusively, in ascending order, in one statement: a
    tenant merger rewrites both tenants' scored rows and the target's heat-map sums, so
    the refreshes under way in either finish first and new ones wait for its commit."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({key(tid) for tid in tenant_ids})
    calls = [f"pg_advisory_xact_lock({SCORING_LOCK}, CAST(:t{n} AS integer))" for n in range(len(ids))]
    db.session.execute(text("SELECT " + ", ".join(calls)), {f"t{n}": tid for n, tid in enumerate(ids)})


# A select list holds at most 1,664 entries (PostgreSQL): locks go 1,000 to a statement.
LOCKS_PER_STATEMENT = 1000


def lock_for_refresh(employee_ids: Iterable[int]) -> None:
    """The shared scoring lock, then each person's in ascending order, in one round trip
    per 1,000 people (a select list is evaluated left to right, and the statements run
    in order, so the order above holds)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({key(eid) for eid in employee_ids})
    first = True
    for start in range(0, max(len(ids), 1), LOCKS_PER_STATEMENT):
        chunk = ids[start:start + LOCKS_PER_STATEMENT]
        calls = [f"pg_advisory_xact_lock_shared({SCORING_LOCK}, CAST(:t AS integer))"] if first else []
        calls += [f"pg_advisory_xact_lock({PERSON_LOCK}, CAST(:e{n} AS integer))" for n in range(len(chunk))]
        params = {"t": key(current_tenant_id())} if first else {}
        db.session.execute(text("SELECT " + ", ".join(calls)), params | {f"e{n}": eid for n, eid in enumerate(chunk)})
        first = False
