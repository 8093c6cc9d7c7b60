"""Values that belong to one database transaction of a session (a request, a job) and
are gone when it ends, without a Session listener: each value is stored beside the
transaction object it belongs to, and a later call that finds another transaction open
starts afresh. Two kinds:

- `transaction_cache(name)`: what one write reads several times (the tenant's calendar,
  its merger records) without a round trip each time. It also starts afresh when a
  savepoint begins or ends (a savepoint's rollback may undo what was read). A user whose
  data the transaction itself changes drops its part then (`forget`).
- `pending(session)`: what a write leaves for its commit (audit events to chain, work
  events, changed facts of scoring), taken by `core.unit_of_work.commit()`. A rollback
  ends the transaction, so what it left is never seen again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.extensions import PENDING_KEY, db

_CACHE_KEY = "congvu_transaction_cache"


def _session(session: Session | None) -> Session:
    return session if session is not None else db.session()


def _root(session: Session) -> object:
    """The session's outermost transaction, begun now if none is (no statement is sent
    until the first query needs a connection)."""
    if not session.in_transaction():
        session.begin()
    return session.get_transaction()


def transaction_cache(name: str, session: Session | None = None) -> dict[Any, Any]:
    """The part `name` of the open transaction's cache (created empty)."""
    session = _session(session)
    owner = (_root(session), session.get_nested_transaction())
    held = session.info.get(_CACHE_KEY)
    if held is None or held[0][0] is not owner[0] or held[0][1] is not owner[1]:
        held = session.info[_CACHE_KEY] = (owner, {})
    return held[1].setdefault(name, {})


def forget(name: str, session: Session | None = None) -> None:
    held = _session(session).info.get(_CACHE_KEY)
    if held is not None:
        held[1].pop(name, None)


def pending(session: Session | None = None) -> dict[str, Any]:
    """What the open transaction has left for its commit, by kind (created empty)."""
    session = _session(session)
    root = _root(session)
    held = session.info.get(PENDING_KEY)
    if held is None or held[0] is not root:
        held = session.info[PENDING_KEY] = (root, {})
    return held[1]


def peek_pending(session: Session) -> dict[str, Any]:
    """What the open transaction has left, without beginning one ({} if nothing)."""
    held = session.info.get(PENDING_KEY)
    if held is None or held[0] is not session.get_transaction():
        return {}
    return held[1]


def take_pending(session: Session) -> dict[str, Any]:
    """Take (and clear) what the open transaction has left: its commit is under way."""
    found = peek_pending(session)
    session.info.pop(PENDING_KEY, None)
    return found
