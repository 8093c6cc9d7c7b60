"""Which of a person's items count toward a month's score, and why the others do not.

The month page explains the score by its formula and its items; a person who finished
something this month and does not find it there asks why. This sorts every item that
touches the month (its work date, deadline or completion falls in it) by the shared
definitions of domain.md:

- an item belongs to the month of its **work date** (one completed or due in this
  month but worked in another counts there, not here);
- cancelled items (a refused declaration is cancelled) are left out everywhere;
- an item is completed when its status is done; one not completed counts as assigned
  but not completed (what that costs depends on the rule: see `UNFINISHED`);
- an exempted item counts, but neither its failed reviews nor its missed deadlines;
- while the month is in progress its score is to date (core/dashboards/to_date.py):
  an item not done whose due day (deadline, else work date) is today or later, or
  whose work date is after today, is not counted yet.

One query, whatever the month holds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, literal, or_, select

from core.dashboards.to_date import counted_to_date
from core.extensions import db
from core.work import calendar as cal
from core.work.models import WorkItem

# What "not completed" costs, by the rule's key: decree335 and its forebear weigh it in
# the denominator; hours-ledger credits only completed work; deadline-buckets leaves an
# unfinished item out until its deadline passes, then gives it 0 completion points.
UNFINISHED = {
    "hours-ledger": "unfinished_hours",
    "deadline-buckets": "unfinished_buckets",
}
ITEM_LIMIT = 2000  # a month's items of one person; far above any real month


def month_counting(employee_id: int, start: date, end: date, as_of: date | None,
                   variant_key: str | None) -> dict[str, Any]:
    """The groups of items the month page lists under "What counts this month".

    `as_of` is the day the month is scored to (None once it has ended: every item of the
    month counts). Each item: id, title, work_date, status, deadline, exempt_reason,
    refusal (the manager's reason when a declaration was refused) and, for an item of
    another month, its period "YYYY-MM"."""
    zone = cal.zone(cal.current_tenant().timezone)
    # The month's local days as UTC moments, to find items completed in it.
    after = datetime.combine(start, time.min, zone)
    before = datetime.combine(end + timedelta(days=1), time.min, zone)
    in_month = and_(WorkItem.work_date >= start, WorkItem.work_date <= end)
    rows = db.session.execute(
        select(WorkItem.id, WorkItem.title, WorkItem.work_date, WorkItem.status, WorkItem.deadline,
               WorkItem.exempt, WorkItem.exempt_reason, WorkItem.verification, WorkItem.verification_note,
               (literal(True) if as_of is None else counted_to_date(as_of)).label("to_date"))
        .where(WorkItem.employee_id == employee_id,
               or_(in_month,
                   and_(WorkItem.status != "cancelled",
                        or_(and_(WorkItem.completed_at >= after, WorkItem.completed_at < before),
                            and_(WorkItem.deadline >= start, WorkItem.deadline <= end)))))
        .order_by(WorkItem.work_date, WorkItem.id).limit(ITEM_LIMIT)).all()
    groups: dict[str, list[dict]] = {key: [] for key in (
        "done", "unfinished", "exempt", "not_due", "cancelled", "other_month")}
    for row in rows:
        item = {"id": row.id, "title": row.title, "work_date": row.work_date, "status": row.status,
                "deadline": row.deadline, "exempt_reason": row.exempt_reason,
                "refusal": row.verification_note if row.verification == "refused" else None}
        if not start <= row.work_date <= end:
            item["period"] = row.work_date.strftime("%Y-%m")
            groups["other_month"].append(item)
        elif row.status == "cancelled":
            groups["cancelled"].append(item)
        elif not row.to_date:
            groups["not_due"].append(item)
        elif row.exempt:
            groups["exempt"].append(item)
        elif row.status == "done":
            groups["done"].append(item)
        else:
            groups["unfinished"].append(item)
    counted = len(groups["done"]) + len(groups["unfinished"]) + len(groups["exempt"])
    return {"groups": groups, "counted": counted, "not_counted": len(rows) - counted,
            "unfinished_rule": UNFINISHED.get(variant_key or "", "unfinished_assigned"),
            "truncated": len(rows) >= ITEM_LIMIT}

