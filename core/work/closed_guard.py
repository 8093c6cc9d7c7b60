"""The database's refusal of changes in a closed month (migration 0042), as the app speaks it.

The app refuses a change in a closed month itself (core/work/services/periods.py), from
what it read under the tenant's config stamp; a month closed while a request runs is
caught by the database's triggers instead. Their refusal is turned here, where SQLAlchemy
raises it, into the same `Conflict` (409, code `period_closed`) the app's check raises:
services, views and the API meet one exception whichever of the two refused.

`writing_closed_months()` is the sanctioned way round the triggers, for the few writers
that carry history into closed months (a tenant merger moves people's past months).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import delete, event, insert, text
from sqlalchemy.engine import Connection, Engine, ExceptionContext

from core.errors import Conflict

MARKER = "congvu:period_closed"
# "congvu:period_closed <table>[ <month>]": the month on PostgreSQL only (SQLite's RAISE
# takes a fixed message).
_REFUSAL = re.compile(MARKER + r" (\w+)(?: (\d{4}-\d{2}))?")
# The field the app's own check names for each table (core/work/services/periods.py), so a
# page's form puts the message where it puts the app's.
FIELDS = {"work_items": "work_date", "leave_records": "start_date", "calendar_days": "day",
          "general_scores": "period"}


def refusal(error: BaseException | None) -> Conflict | None:
    """The Conflict a trigger's refusal stands for, or None for any other error."""
    text_ = str(error or "")
    if MARKER not in text_:
        return None
    found = _REFUSAL.search(text_)
    table, month = (found.group(1), found.group(2)) if found else (None, None)
    message = f"The period {month} is closed." if month else "A month this change touches is closed."
    conflict = Conflict(message, {FIELDS.get(table, "period"): [message]}, code="period_closed")
    # The statement failed inside the transaction (PostgreSQL's is aborted): whoever
    # answers must roll it back before reading anything again (core/errors.py).
    conflict.needs_rollback = True
    return conflict


def _translate(context: ExceptionContext) -> None:
    conflict = refusal(context.original_exception)
    if conflict is not None:
        # Raised in place of the driver's error (SQLAlchemy's handle_error contract); the
        # session rolls its flush back as for any error.
        raise conflict from context.original_exception


def install(engine: Engine) -> None:
    event.listen(engine, "handle_error", _translate)


@contextmanager
def writing_closed_months(connection: Connection, reason: str) -> Iterator[None]:
    """The statements run inside may write into closed months; only this transaction's.

    PostgreSQL: `congvu.allow_closed` set for the transaction only (`set_config(…, true)`),
    and set off again on the way out. SQLite: a `closed_month_passes` row, deleted on the
    way out; SQLite has one writer at a time, so no other transaction ever sees it, and
    a rollback takes it with everything else."""
    from core.work.models import ClosedMonthPass

    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT set_config('congvu.allow_closed', 'on', true)"))
    else:
        connection.execute(insert(ClosedMonthPass.__table__).values(reason=reason[:64]))
    try:
        yield
    except BaseException:
        # PostgreSQL's transaction is aborted and its rollback ends the setting; SQLite's
        # row goes now, in case the caller commits what went through before the error.
        if not postgres:
            with suppress(Exception):
                connection.execute(delete(ClosedMonthPass.__table__))
        raise
    if postgres:
        connection.execute(text("SELECT set_config('congvu.allow_closed', 'off', true)"))
    else:
        connection.execute(delete(ClosedMonthPass.__table__))
