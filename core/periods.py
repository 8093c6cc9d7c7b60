"""API periods (``2026-10``, ``2026-Q4``, ``2026-W43``, ``2026``, ``2026-10-27``) and
Vietnam's national working-day calendar (weekdays less public holidays).

The national calendar knows nothing of a tenant: its make-up Saturdays and own days off
are in core/work/calendar.py. Pure (no framework, no database), so plugins use it
through the toolkit and the core uses it directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays("VN", years=year))


def public_holidays(start: date, end: date) -> set[date]:
    """Vietnam's public holidays (with observed and substituted days) from ``start`` to ``end`` inclusive."""
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        days.update(d for d in _vn_holidays(year) if start <= d <= end)
    return days


def is_working_day(day: date, extra_days_off: Iterable[date] = ()) -> bool:
    """Monday to Friday, not a public holiday, not one of ``extra_days_off`` (the tenant's own)."""
    return day.weekday() < 5 and day not in _vn_holidays(day.year) and day not in set(extra_days_off)


def working_days(start: date, end: date, extra_days_off: Iterable[date] = ()) -> int:
    """The number of working days from ``start`` to ``end`` inclusive (0 when end < start).

    ``extra_days_off``: the tenant's own holidays and the employee's approved leave.
    """
    if end < start:
        return 0
    off = set(extra_days_off) | public_holidays(start, end)
    count, day = 0, start
    while day <= end:
        if day.weekday() < 5 and day not in off:
            count += 1
        day += timedelta(days=1)
    return count


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
