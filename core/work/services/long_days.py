"""The 12-hour rule: a person's own plan for a day above 12 hours asks them to confirm;
and the 8-hour line a manager is warned about (never blocked) when their assignment,
or anything else, plans a person's day above a full working day."""

from __future__ import annotations

from collections.abc import Iterable
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


# What a day's plan weighs, for the 12-hour rule, the 8-hour flag, the assign form's
# loads and the review queue's day totals alike: norm minutes × quantity × complexity.
PLANNED = WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient


def day_plans(pairs: Iterable[tuple[int, date]]) -> dict[tuple[int, date], float]:
    """Planned minutes of each (person, day) asked, every item not cancelled, in one
    grouped query (a pair with nothing planned is absent). The query reads the people ×
    days asked for and keeps the pairs: a page's worth, so the surplus stays small."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(WorkItem.employee_id, WorkItem.work_date, func.sum(PLANNED))
        .where(WorkItem.employee_id.in_({e for e, _ in wanted}), WorkItem.work_date.in_({d for _, d in wanted}),
               WorkItem.status != "cancelled")
        .group_by(WorkItem.employee_id, WorkItem.work_date))
    return {(employee_id, day): float(total or 0) for employee_id, day, total in rows
            if (employee_id, day) in wanted}


def planned_minutes(employee_id: int, day: date) -> float:
    """What a person has planned for a day (day_plans of that one pair)."""
    return day_plans([(employee_id, day)]).get((employee_id, day), 0.0)


def day_loads(employee_ids: list[int], day: date) -> dict[int, float]:
    """Planned minutes of `day` per person (only those with any), in one grouped query."""
    return {employee_id: minutes for (employee_id, _), minutes in day_plans((e, day) for e in employee_ids).items()}


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
        rows = [(employee_id, day, minutes) for (employee_id, day), minutes in day_plans(days).items()]
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
