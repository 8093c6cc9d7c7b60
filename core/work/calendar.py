"""Tenant time and the working-day calendar.

Dates are calendar dates in the tenant's time zone. A working day is Monday–Friday,
less Vietnamese public holidays (the `holidays` package's VN calendar, with its
make-up Saturdays), less the tenant's own days off, plus the tenant's make-up working
days; for one employee, also less approved leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from core import workdays
from core.extensions import db
from core.tenancy import current_tenant_id
from core.tenants import config_cache
from core.tenants.models import Tenant
from core.timeutil import utcnow
from core.txcache import forget, transaction_cache
from core.work.models import CalendarDay, LeaveRecord
from core.workdays import national_holiday  # noqa: F401 - re-exported: the calendar's public API

# Far enough ahead for any deadline; bounds the search for the next working day.
_MAX_GAP_DAYS = 60
# Calendars read in the session's transaction, by (tenant, start, end) (core/txcache.py):
# forgotten when the transaction ends and when a writer notes a changed calendar day
# (core/unit_of_work.py `changed`).
_LOADED = "calendars"


def forget_loaded() -> None:
    """A calendar day changed in this transaction: calendars read before no longer hold."""
    forget(_LOADED)
    config_cache.changed()


def now() -> datetime:
    """The current moment (aware UTC). Tests replace this to fix the clock."""
    return utcnow()


def current_tenant() -> Tenant:
    return db.session.get(Tenant, current_tenant_id())


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, tenant: Tenant) -> date:
    return moment.astimezone(zone(tenant.timezone)).date()


def local_today(tenant: Tenant | None = None) -> date:
    return local_date(now(), tenant or current_tenant())


def cutoff_moment(work_date: date, tenant: Tenant) -> datetime:
    """The morning cut-off of `work_date` in the tenant's zone: declared before it = planned."""
    hours, minutes = (int(x) for x in (tenant.morning_cutoff or "09:00").split(":"))
    return datetime.combine(work_date, time(hours, minutes), tzinfo=zone(tenant.timezone))


# Built once (tenant-scoped at execution like any ORM statement): every scoring refresh reads both.
_DAYS = select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.day >= bindparam("start"),
                                                        CalendarDay.day <= bindparam("end"))
_LEAVE = select(LeaveRecord.employee_id, LeaveRecord.start_date, LeaveRecord.end_date).where(
    LeaveRecord.employee_id.in_(bindparam("ids", expanding=True)), LeaveRecord.approved.is_(True),
    LeaveRecord.start_date <= bindparam("end"), LeaveRecord.end_date >= bindparam("start"))


class WorkCalendar:
    """A tenant's calendar over a range, loaded with one query; answers per day in memory."""

    def __init__(self, start: date, end: date, overrides: dict[date, str] | None = None) -> None:
        self.start, self.end = start, end
        self.overrides = overrides or {}

    @classmethod
    def load(cls, start: date, end: date) -> WorkCalendar:
        """The current tenant's calendar; a range already read in this transaction is not
        read again (an update measures the item, then its answer does)."""
        end = end + timedelta(days=_MAX_GAP_DAYS)  # room for next_working_day near the end
        loaded = transaction_cache(_LOADED)
        key = (current_tenant_id(), start, end)
        if key not in loaded:
            loaded[key] = dict(config_cache.kept("calendar", (start, end), lambda: tuple(
                (row.day, row.kind) for row in db.session.execute(_DAYS, {"start": start, "end": end}))))
        return cls(start, end, dict(loaded[key]))

    def is_working_day(self, day: date) -> bool:
        return workdays.is_working_day(day, self.overrides)

    def next_working_day(self, day: date) -> date:
        candidate = day + timedelta(days=1)
        for _ in range(_MAX_GAP_DAYS):
            if self.is_working_day(candidate):
                return candidate
            candidate += timedelta(days=1)
        return candidate  # a tenant with two months off in a row: give up gracefully

    def add_working_days(self, day: date, n: int) -> date:
        for _ in range(max(n, 0)):
            day = self.next_working_day(day)
        return day

    def working_days(self, start: date, end: date, leave: Iterable[date] = ()) -> list[date]:
        return workdays.working_days_between(start, end, self.overrides, leave)


def calendar_days_between(start: date, end: date) -> list[CalendarDay]:
    """The tenant's own holidays and make-up working days in [start, end], by day."""
    return list(db.session.scalars(select(CalendarDay).where(CalendarDay.day >= start, CalendarDay.day <= end)
                                   .order_by(CalendarDay.day)))


def approved_leave(employee_ids: Iterable[int], start: date, end: date) -> dict[int, set[date]]:
    """Approved leave days per employee within [start, end], one query for them all."""
    ids = list(set(employee_ids))
    out: dict[int, set[date]] = {i: set() for i in ids}
    if not ids:
        return out
    rows = db.session.execute(_LEAVE, {"ids": ids, "start": start, "end": end}).all()
    for row in rows:
        day = max(row.start_date, start)
        while day <= min(row.end_date, end):
            out[row.employee_id].add(day)
            day += timedelta(days=1)
    return out


def employee_working_days(employee_id: int, start: date, end: date) -> list[date]:
    """An employee's working days in [start, end]: the tenant calendar less approved leave."""
    calendar = WorkCalendar.load(start, end)
    return calendar.working_days(start, end, approved_leave([employee_id], start, end)[employee_id])
