"""Values read once per database transaction of a session (a request, a job) and
forgotten when it ends: what one write asks several times (the tenant's calendar, its
merger records) without a round trip each time. Each user names its own part; a user
whose data the transaction itself may change drops its part then (`forget`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransactionOrigin

from core.extensions import db

_KEY = "congvu_transaction_cache"


def transaction_cache(name: str, session: Session | None = None) -> dict[Any, Any]:
    """The part `name` of the open transaction's cache (created empty)."""
    info = (session if session is not None else db.session).info
    return info.setdefault(_KEY, {}).setdefault(name, {})


def forget(name: str, session: Session | None = None) -> None:
    info = (session if session is not None else db.session).info
    info.get(_KEY, {}).pop(name, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_all(session: Session, transaction) -> None:
    # A flush's subtransaction is no database transaction; a savepoint's end may undo reads.
    if transaction.origin is not SessionTransactionOrigin.SUBTRANSACTION:
        session.info.pop(_KEY, None)
