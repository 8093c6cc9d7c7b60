"""The measuring rules: what an item counts at one moment (`Measure`), and the nightly
sweep that stores the day's flags on open items in bulk.

Rules (domain.md; "our rule" where the text leaves a choice):
- planned (core/work/building.py): declared before the tenant's morning cut-off on the work date, in the
  tenant's time zone.
- missed deadlines: each deadline (original or extended) that passed while the item
  was unfinished counts one. A deadline passes at the end of its day; an item done on
  its deadline day is on time. A deadline replaced by an extension before it passed
  does not count. When a failed review reopens an item, the final completion counts.
- not reported: a result entered (marked done) after the end of the Nth working day
  (tenant setting, default 1) after the day the work was completed; an open item whose
  due day (deadline, else work date) is more than N working days past.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from core.extensions import db
from core.periods import period_bounds
from core.tenants.models import Tenant
from core.work import calendar as cal
from core.work.models import OPEN_STATUSES, ClosedPeriod, WorkItem
from core.work.services.settings import work_settings


class Measure:
    """What the rules say about items at one moment: built once per request or list.
    The calendar is loaded (one query) only when a rule needs it."""

    def __init__(self, tenant: Tenant, today: date, dates: list[date], report_within: int | None = None,
                 calendar: cal.WorkCalendar | None = None) -> None:
        self.tenant, self.today, self._report_within = tenant, today, report_within
        self._range = (min([*dates, today]) - timedelta(days=1), max([*dates, today]))
        self._calendar = calendar

    @property
    def report_within(self) -> int:
        if self._report_within is None:
            self._report_within = work_settings().report_within_working_days
        return self._report_within

    @property
    def calendar(self) -> cal.WorkCalendar:
        if self._calendar is None:
            self._calendar = cal.WorkCalendar.load(*self._range)
        return self._calendar

    @classmethod
    def for_dates(cls, dates: list[date]) -> Measure:
        tenant = cal.current_tenant()
        return cls(tenant, cal.local_today(tenant), dates)

    def local(self, moment: datetime) -> date:
        return cal.local_date(moment, self.tenant)

    def current_deadline_missed(self, item: WorkItem) -> bool:
        if item.deadline is None or item.status == "cancelled":
            return False
        if item.status == "done" and item.completed_at is not None:
            return self.local(item.completed_at) > item.deadline
        return self.today > item.deadline

    def missed_deadlines(self, item: WorkItem) -> int:
        return (item.missed_before or 0) + (1 if self.current_deadline_missed(item) else 0)

    def overdue(self, item: WorkItem) -> bool:
        return item.status in OPEN_STATUSES and item.deadline is not None and self.today > item.deadline

    def not_reported(self, item: WorkItem) -> bool:
        if item.status == "cancelled":
            return False
        if item.status == "done" and item.completed_at is not None and item.reported_at is not None:
            due = self.calendar.add_working_days(self.local(item.completed_at), self.report_within)
            return self.local(item.reported_at) > due
        due_day = item.deadline or item.work_date
        if due_day >= self.today:  # the window ends on or after the due day: nothing to look up
            return False
        return self.today > self.calendar.add_working_days(due_day, self.report_within)

    def refresh(self, item: WorkItem) -> None:
        """Bring the stored flags up to date (scoring reads the columns)."""
        item.missed_deadlines = self.missed_deadlines(item)
        item.not_reported = self.not_reported(item)


def sweep(today: date | None = None) -> int:
    """Store the day's flags on open items in bulk (for scoring, which reads columns):
    a passed deadline counts as missed, a due day long past marks "not reported".
    Two UPDATE statements for the whole tenant; returns the rows touched. Items of a
    closed month are left as they were closed: the month is frozen (and the database
    refuses their change, migration 0042)."""
    tenant = cal.current_tenant()
    today = today or cal.local_today(tenant)
    n = work_settings().report_within_working_days
    calendar = cal.WorkCalendar.load(today - timedelta(days=90), today)
    # The latest due day whose report window has ended before today (windows are monotone).
    last_due, day = None, today
    for _ in range(90):
        day -= timedelta(days=1)
        if calendar.add_working_days(day, n) < today:
            last_due = day
            break
    # A tenant closes a few months a year: one range each, read in one statement.
    frozen = [~WorkItem.work_date.between(*period_bounds(p)) for p in db.session.scalars(select(ClosedPeriod.period))]
    touched = db.session.execute(
        update(WorkItem).where(WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < today, *frozen)
        .values(missed_deadlines=WorkItem.missed_before + 1)
        .execution_options(synchronize_session=False)).rowcount
    if last_due is not None:
        touched += db.session.execute(
            update(WorkItem).where(WorkItem.status.in_(OPEN_STATUSES), WorkItem.not_reported.is_(False),
                                   func.coalesce(WorkItem.deadline, WorkItem.work_date) <= last_due, *frozen)
            .values(not_reported=True).execution_options(synchronize_session=False)).rowcount
    return touched
