"""The one rule for a working day, pure (no database, no Flask) so that the tenant's
calendar (core/work/calendar.py), the reports and the plugins' toolkit all count days the
same way.

A working day is Monday to Friday, less Vietnam's public holidays (the `holidays`
package's VN calendar, observed and substituted days included), plus the make-up
Saturdays that calendar names; then the tenant's own calendar rows override it
(`working_day` or `day_off`), and days in `days_off` (a person's approved leave) never
count."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache

import holidays

WORKING_DAY, DAY_OFF = "working_day", "day_off"  # the kinds of a tenant's calendar row


@lru_cache(maxsize=32)
def national(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays, make-up Saturdays) of one year."""
    vn = holidays.country_holidays("VN", years=[year])
    makeup = frozenset(d for d in getattr(vn, "weekend_workdays", ()) if d.year == year)
    return frozenset(vn.keys()), makeup


def national_holiday(day: date) -> bool:
    return day in national(day.year)[0]


def public_holidays(start: date, end: date) -> set[date]:
    """The public holidays from `start` to `end` inclusive."""
    return {d for year in range(start.year, end.year + 1) for d in national(year)[0] if start <= d <= end}


def is_working_day(day: date, overrides: Mapping[date, str] | None = None,
                   days_off: Iterable[date] = ()) -> bool:
    """Whether `day` is worked, given the tenant's calendar rows (`overrides`: day → kind)
    and days that never count (`days_off`)."""
    if day in set(days_off):
        return False
    kind = (overrides or {}).get(day)
    if kind == WORKING_DAY:
        return True
    if kind == DAY_OFF:
        return False
    holidays_, makeup = national(day.year)
    return day in makeup or (day.weekday() < 5 and day not in holidays_)


def working_days_between(start: date, end: date, overrides: Mapping[date, str] | None = None,
                         days_off: Iterable[date] = ()) -> list[date]:
    """The working days from `start` to `end` inclusive (none when end < start)."""
    off = set(days_off)
    days, day = [], start
    while day <= end:
        if day not in off and is_working_day(day, overrides):
            days.append(day)
        day += timedelta(days=1)
    return days
