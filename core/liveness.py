"""Whether a pooled PostgreSQL connection is still alive, checked without a round trip.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout: one round trip per
request, as many as a declaration's own statements cost each other. An idle connection
has nothing to read, so a socket that is readable at checkout means the server spoke
first — it ended the session (a restart, a fail-over, `pg_terminate_backend`: the
backend sends its FATAL message and closes before it exits) — and the connection is
replaced before the request sees it. A connection cut after the check fails its first
statement; that request answers 503 (core/errors.py) and the pool drops the others it
opened before it.
"""

from __future__ import annotations

import select

from sqlalchemy.exc import DisconnectionError


def refuse_dead(dbapi_connection, record, proxy) -> None:
    """Pool `checkout` hook: raising DisconnectionError makes the pool discard this
    connection and check out (or open) another."""
    try:
        fd = dbapi_connection.fileno()
    except Exception as exc:  # noqa: BLE001 - a closed connection has no socket
        raise DisconnectionError("the connection is closed") from exc
    # poll, not select: a busy process's descriptors run past select's limit of 1024.
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed or spoke on an idle connection")
