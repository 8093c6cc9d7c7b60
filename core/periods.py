"""API periods (``2026-10``, ``2026-Q4``, ``2026-W43``, ``2026``, ``2026-10-27``) and the
plugin-facing form of the working-day rule (core/workdays.py, the one the tenant's
calendar uses too). Pure (no framework, no database), so plugins use it through the
toolkit and the core uses it directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from core import workdays
from core.workdays import public_holidays

__all__ = ["is_working_day", "period_bounds", "public_holidays", "working_days"]


def is_working_day(day: date, extra_days_off: Iterable[date] = (),
                   overrides: Mapping[date, str] | None = None) -> bool:
    """The platform's working-day rule (core/workdays.py): Monday to Friday and the national
    make-up Saturdays, less public holidays; ``overrides`` are the tenant's calendar rows
    (day → ``"working_day"`` or ``"day_off"``); ``extra_days_off`` never count (leave)."""
    return workdays.is_working_day(day, overrides, extra_days_off)


def working_days(start: date, end: date, extra_days_off: Iterable[date] = (),
                 overrides: Mapping[date, str] | None = None) -> int:
    """The number of working days from ``start`` to ``end`` inclusive (0 when end < start),
    by the same rule as `is_working_day`."""
    return len(workdays.working_days_between(start, end, overrides, extra_days_off))


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])(?:-(\d{2}))?|Q([1-4])|W(\d{2})))?$")


def period_bounds(period: str) -> tuple[date, date]:
    """The first and last day of an API period: ``2026-10``, ``2026-Q4``, ``2026``,
    ``2026-W43`` (ISO week) or ``2026-10-27``. Raises ValueError for anything else."""
    match = _PERIOD.match(period or "")
    if not match:
        raise ValueError(f"not a period: {period!r}")
    year, month, day, quarter, week = match.groups()
    y = int(year)
    if day:
        d = date(y, int(month), int(day))  # ValueError for 2026-02-30
        return d, d
    if month:
        m = int(month)
        return date(y, m, 1), date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    if quarter:
        first = 3 * int(quarter) - 2
        return date(y, first, 1), date(y + (first + 2) // 12, (first + 2) % 12 + 1, 1) - timedelta(days=1)
    if week:
        start = date.fromisocalendar(y, int(week), 1)  # ValueError for week 54
        return start, start + timedelta(days=6)
    return date(y, 1, 1), date(y, 12, 31)
