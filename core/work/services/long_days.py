"""The 12-hour rule: a person's own plan for a day above 12 hours asks them to confirm;
and the 8-hour line a manager is warned about (never blocked) when their assignment,
or anything else, plans a person's day above a full working day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core.errors import Invalid
from core.extensions import db
from core.txcache import transaction_cache
from core.work.models import WorkItem

LONG_DAY_MINUTES = 12 * 60  # docs/daily-work.md: a plan above this asks its owner to confirm
# domain.md (hours-ledger): days above 8 h are flagged for the manager. The planned time
# is norm minutes × quantity × complexity, whatever the province's scoring rule.
FULL_DAY_MINUTES = 8 * 60
# The day's planned minutes each single declaration of the transaction read with its
# catalogue lookup, by (person, day) (core/txcache.py: gone with the transaction).
DAY_PLANS = "day_plans"


def planned_minutes(employee_id: int, day: date) -> float:
    """What a person has planned for a day: norm × quantity × complexity of every item not cancelled."""
    total = db.session.scalar(select(func.coalesce(func.sum(
        WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient), 0)).where(
        WorkItem.employee_id == employee_id, WorkItem.work_date == day, WorkItem.status != "cancelled"))
    return float(total or 0)


def day_loads(employee_ids: list[int], day: date) -> dict[int, float]:
    """Planned minutes of `day` per person (only those with any), in one grouped query."""
    if not employee_ids:
        return {}
    rows = db.session.execute(
        select(WorkItem.employee_id, func.sum(WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient))
        .where(WorkItem.employee_id.in_(employee_ids), WorkItem.work_date == day, WorkItem.status != "cancelled")
        .group_by(WorkItem.employee_id))
    return {employee_id: float(total or 0) for employee_id, total in rows}


def overloaded(minutes: float) -> bool:
    return minutes > FULL_DAY_MINUTES


def check_long_days(items: list[WorkItem], confirmed: bool) -> None:
    """The 12-hour rule of a person's own plan, for the page and the API alike: once the
    items are flushed, a day of their owner planned above 12 hours is refused unless
    confirmed (nothing is written: the caller rolls back). Items a manager assigned are
    not the owner's plan, so they are not asked about. One query for every day touched."""
    own = [i for i in items if i.assigned_by_id is None and i.status != "cancelled"]
    if confirmed or not own:
        return
    days = {(i.employee_id, i.work_date) for i in own}
    known = transaction_cache(DAY_PLANS)
    if len(own) == 1 and days <= known.keys():  # the declaration read its day already
        (employee_id, day), = days
        rows = [(employee_id, day, known[(employee_id, day)])]
    else:
        rows = db.session.execute(
            select(WorkItem.employee_id, WorkItem.work_date, func.coalesce(func.sum(
                WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient), 0))
            .where(WorkItem.employee_id.in_({e for e, _ in days}), WorkItem.work_date.in_({d for _, d in days}),
                   WorkItem.status != "cancelled")
            .group_by(WorkItem.employee_id, WorkItem.work_date)).all()
    long_days = sorted((day, float(minutes)) for employee_id, day, minutes in rows
                       if (employee_id, day) in days and float(minutes) > LONG_DAY_MINUTES)
    if long_days:
        day, minutes = long_days[0]
        text = (f"The plan of {day.isoformat()} adds up to {_hours(minutes)} hours, more than "
                f"{LONG_DAY_MINUTES // 60}: send confirm_long_day to declare it.")
        raise Invalid(text, {"confirm_long_day": [text]}, code="long_day")


def _hours(minutes: float) -> str:
    hours = round(minutes / 60, 2)
    return str(int(hours)) if hours.is_integer() else f"{hours:.2f}".rstrip("0")
