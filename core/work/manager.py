"""The manager's queue as a list that can be filtered, counted and paged, the bulk
decisions taken on it, reminders for overdue items, and the unit's workload by person
and week.

Bulk decisions go through `services.verify` / `services.review` item by item, so each
item keeps the same rules and its own audit event; they are all-or-nothing (one
transaction), and at most one page of the queue (`MAX_BULK`) is decided at a time, so
the per-item checks stay bounded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, select

from core.audit.models import AuditEvent
from core.audit.services import record
from core.auth.principal import Principal
from core.errors import Invalid, NotFound
from core.extensions import db
from core.notifications.services import expect_recipients, notify
from core.org import services as org
from core.org.models import Employee
from core.timeutil import utcnow
from core.work import calendar as cal
from core.work import services
from core.work.models import OPEN_STATUSES, WorkItem
from core.work.services.access import may_judge
from core.work.services.queues import WAITING

MAX_BULK = 100
STATES = ("declarations", "reviews")


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for pybabel; notify() translates it
    return message


REMINDER = N_('Reminder from your manager: "%(title)s" was due on %(deadline)s.')


@dataclass
class QueueFilter:
    state: str = "declarations"
    employee_id: int | None = None
    work_date: date | None = None


def queue_query(principal: Principal, f: QueueFilter) -> Select:
    """What waits for `principal` (the people they manage, never themself), filtered."""
    waiting = WAITING["reviews" if f.state == "reviews" else "declarations"]
    stmt = select(WorkItem).where(services.managed_items_clause(principal), waiting)
    if f.employee_id is not None:
        stmt = stmt.where(WorkItem.employee_id == f.employee_id)
    if f.work_date is not None:
        stmt = stmt.where(WorkItem.work_date == f.work_date)
    return stmt.order_by(WorkItem.work_date.desc(), WorkItem.id)


def queue_counts(principal: Principal, f: QueueFilter) -> dict[str, int]:
    """Both states' totals under the same person and day filters (one query each)."""
    out = {}
    for state in STATES:
        stmt = queue_query(principal, QueueFilter(state, f.employee_id, f.work_date))
        out[state] = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return out


def page_of(stmt: Select, page: int, per_page: int) -> list:
    return list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())


def _selected(principal: Principal, ids: list[int], state: str) -> list[WorkItem]:
    """The selected items, every one still waiting in the queue; else a field error."""
    if not ids:
        raise Invalid("Select at least one item.", {"ids": ["Select at least one item."]})
    if len(ids) > MAX_BULK:
        raise Invalid("Too many items at a time.", {"ids": ["Select at most one page of items."]})
    wanted = sorted(set(ids))
    items = list(db.session.scalars(queue_query(principal, QueueFilter(state)).where(WorkItem.id.in_(wanted))))
    if len(items) != len(wanted):
        gone = sorted(set(wanted) - {i.id for i in items})
        visible = select(func.count()).select_from(WorkItem).where(WorkItem.id.in_(gone))
        clause = services.visible_items_clause(principal)
        if db.session.scalar(visible.where(clause) if clause is not None else visible) != len(gone):
            raise NotFound("Work item not found.")  # another's item is answered as missing
        raise Invalid("Some selected items are no longer waiting.",
                      {"ids": ["Some selected items are no longer waiting; the list has been refreshed."]})
    return items


def bulk_verify(principal: Principal, ids: list[int], accepted: bool, reason: str | None) -> list[WorkItem]:
    """Accept, or refuse with one reason, each selected declaration."""
    reason = (reason or "").strip()
    if not accepted and not reason:
        raise Invalid("Give a reason for refusing.", {"reason": ["Give a reason for refusing."]})
    items = _selected(principal, ids, "declarations")
    if not accepted:
        expect_recipients({i.employee_id for i in items})  # each refusal notifies its owner
    for item in items:
        services.verify(principal, item, accepted, reason or None)
    return items


def bulk_review(principal: Principal, ids: list[int], passed: bool, stars: int | None,
                comment: str | None) -> list[WorkItem]:
    """Pass each selected finished item with one rating, or send them all back."""
    if passed and stars is not None and not 1 <= stars <= 5:
        raise Invalid("Invalid rating.", {"stars": ["Between 1 and 5."]})
    items = _selected(principal, ids, "reviews")
    data = {"passed": passed, "stars": stars if passed else None, "comment": (comment or "").strip() or None}
    for item in items:
        services.review(principal, item, dict(data))
    return items


def overdue_query(principal: Principal, today: date) -> Select:
    return (select(WorkItem).where(services.managed_items_clause(principal), WorkItem.status.in_(OPEN_STATUSES),
                                   WorkItem.deadline < today)
            .order_by(WorkItem.deadline, WorkItem.id))


def remind(principal: Principal, item: WorkItem, link: str | None = None) -> int:
    """An in-app notification (and an e-mail when configured) to the item's owner that
    its deadline has passed; by the assigner or a manager of the owner, as for extending;
    at most once a day per item (the audit log says when the last one went)."""
    may_judge(principal, item, "remind")
    if item.status not in OPEN_STATUSES or item.deadline is None or item.deadline >= cal.local_today():
        raise Invalid("Only an open item past its deadline can be reminded.",
                      {"status": ["Only an open item past its deadline can be reminded."]})
    last = db.session.scalar(select(func.max(AuditEvent.at)).where(
        AuditEvent.action == "work_item.remind", AuditEvent.object_type == "work_item",
        AuditEvent.object_id == str(item.id)))
    tenant = cal.current_tenant()
    # The audit log's own clock on both sides: its times are what "today" is compared with.
    if last is not None and cal.local_date(last, tenant) == cal.local_date(utcnow(), tenant):
        # One reminder a day is a reminder; more would be noise in the person's inbox.
        raise Invalid("Already reminded today.", {"status": ["A reminder for this item was sent today."]})
    sent = notify([item.employee_id], "work.reminder", REMINDER,
                  {"title": item.title, "deadline": item.deadline.strftime("%d/%m/%Y")}, link=link)
    record("work_item.remind", "work_item", item.id, after={"employee_id": item.employee_id,
                                                            "deadline": item.deadline})
    return sent


def assignable_people(principal: Principal) -> list[Employee]:
    """Whom `principal` may assign work to: the people they manage, by name."""
    if principal.employee_id is None or not principal.has_role("manager"):
        return []
    return list(db.session.scalars(
        select(Employee).where(Employee.id.in_(org.managed_scope(principal.employee_id)),
                               Employee.id != principal.employee_id).order_by(Employee.full_name).limit(1000)))


def _week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def person_heatmap(people: list[tuple[int, str]], start: date, end: date) -> dict:
    """Person × ISO week of [start, end]: credited hours (norm minutes × quantity ×
    complexity of the completed items, by work date) per working day of that week
    inside the range. One grouped query for the people shown."""
    calendar = cal.WorkCalendar.load(start - timedelta(days=1), end)
    week_days: dict[str, int] = defaultdict(int)
    for d in calendar.working_days(start, end):
        week_days[_week(d)] += 1
    weeks = sorted(week_days)
    ids = [p[0] for p in people]
    minutes = WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient
    grid: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    if ids:
        rows = db.session.execute(
            select(WorkItem.employee_id, WorkItem.work_date, func.sum(minutes))
            .where(WorkItem.employee_id.in_(ids), WorkItem.status == "done", WorkItem.work_date >= start,
                   WorkItem.work_date <= end)
            .group_by(WorkItem.employee_id, WorkItem.work_date))
        for employee_id, day, total in rows:
            grid[employee_id][_week(day)] += float(total or 0)
    out = []
    for employee_id, name in people:
        cells = []
        for w in weeks:
            hours = grid[employee_id][w] / 60 / week_days[w] if week_days[w] else 0.0
            cells.append({"week": w, "hours": round(hours, 1), "level": min(5, int(hours // 2) + (hours > 0))})
        out.append({"employee_id": employee_id, "name": name, "cells": cells})
    return {"weeks": weeks, "rows": out}
