"""The home page's first answer to "what do I do now?": a person's day and what waits
for a manager, each in one aggregate query (the home page is opened at 7:30 by everyone
in the province at once, so it never lists items, it counts them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select

from core.auth.principal import Principal
from core.extensions import db
from core.work.models import OPEN_STATUSES, WorkItem
from core.work.services.long_days import PLANNED
from core.work.services.queues import WAITING, managed_items_clause


@dataclass(frozen=True)
class DayGlance:
    declared: int  # today's items, refused ones aside
    done: int
    open: int  # today's items still planned or in progress
    refused: int  # today's declarations the manager refused
    carried: int  # open items of earlier days
    overdue: int  # of those, past their deadline
    planned_minutes: float  # norm × quantity × complexity of today's items, as the 8-hour line counts


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def day_glance(employee_id: int, day: date) -> DayGlance:
    """`day` and the open items carried into it, for one person, in one query."""
    today = WorkItem.work_date == day
    live = WorkItem.status != "cancelled"
    earlier_open = and_(WorkItem.work_date < day, WorkItem.status.in_(OPEN_STATUSES))
    row = db.session.execute(select(
        _count(and_(today, live)),
        _count(and_(today, WorkItem.status == "done")),
        _count(and_(today, WorkItem.status.in_(OPEN_STATUSES))),
        _count(and_(today, WorkItem.status == "cancelled", WorkItem.verification == "refused")),
        _count(earlier_open),
        _count(and_(earlier_open, WorkItem.deadline.is_not(None), WorkItem.deadline < day)),
        func.coalesce(func.sum(case((and_(today, live), PLANNED), else_=0)), 0),
    ).where(WorkItem.employee_id == employee_id, WorkItem.work_date <= day)).one()
    return DayGlance(*(int(v) for v in row[:6]), planned_minutes=float(row[6]))


def waiting_for_manager(principal: Principal) -> dict[str, int]:
    """Declarations to check and finished items to review, as the manager's queue counts
    them (`queues.WAITING`), both in one query; zeros for a non-manager."""
    if principal.employee_id is None or not principal.has_role("manager"):
        return {"declarations": 0, "reviews": 0}
    row = db.session.execute(select(_count(WAITING["declarations"]), _count(WAITING["reviews"]))
                             .where(managed_items_clause(principal))).one()
    return {"declarations": int(row[0]), "reviews": int(row[1])}
