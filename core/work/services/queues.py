"""Lists: the manager's queue, the filtered item list and a unit's day per person."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, select

from core.auth.principal import Principal
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.work import calendar as cal
from core.work.models import OPEN_STATUSES, WorkItem
from core.work.services.access import visible_items_clause
from core.work.services.long_days import PLANNED, overloaded

# What waits for a manager, by queue state: a declaration to check, a finished item to review.
# One definition for the queue's lists and counts and the home page's waiting counts.
WAITING = {
    "declarations": and_(WorkItem.verification == "pending", WorkItem.status != "cancelled"),
    "reviews": and_(WorkItem.status == "done", WorkItem.reviewed_at.is_(None)),
}


def managed_items_clause(principal: Principal):
    """Items of the people `principal` manages, themselves excluded."""
    if principal.employee_id is None or not principal.has_role("manager"):
        return WorkItem.id.is_(None)
    return and_(WorkItem.employee_id.in_(org.managed_scope(principal.employee_id)),
                WorkItem.employee_id != principal.employee_id)


def queue(principal: Principal, limit: int = 200) -> dict[str, list[WorkItem]]:
    """What waits for a manager: declarations to check and finished items to review."""
    mine = managed_items_clause(principal)
    to_check = db.session.scalars(
        select(WorkItem).where(mine, WAITING["declarations"])
        .order_by(WorkItem.work_date.desc(), WorkItem.id).limit(limit)).all()
    to_review = db.session.scalars(
        select(WorkItem).where(mine, WAITING["reviews"])
        .order_by(WorkItem.work_date.desc(), WorkItem.id).limit(limit)).all()
    return {"declarations": list(to_check), "reviews": list(to_review)}


# ---------------------------------------------------------------- lists and summaries


def items_query(principal: Principal, args: dict):
    stmt = select(WorkItem).order_by(WorkItem.work_date.desc(), WorkItem.id.desc())
    clause = visible_items_clause(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    if args.get("employee_id") is not None:
        stmt = stmt.where(WorkItem.employee_id == args["employee_id"])
    if args.get("unit_id") is not None:
        units = org.unit_subtree_ids(args["unit_id"])
        stmt = stmt.where(WorkItem.employee_id.in_(select(Employee.id).where(Employee.unit_id.in_(units))))
    if args.get("work_date") is not None:
        stmt = stmt.where(WorkItem.work_date == args["work_date"])
    if args.get("from") is not None:
        stmt = stmt.where(WorkItem.work_date >= args["from"])
    if args.get("to") is not None:
        stmt = stmt.where(WorkItem.work_date <= args["to"])
    if args.get("status"):
        stmt = stmt.where(WorkItem.status.in_(args["status"]))
    if args.get("verification"):
        stmt = stmt.where(WorkItem.verification == args["verification"])
    if args.get("overdue"):
        stmt = stmt.where(WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < cal.local_today())
    return stmt


def unit_day(principal: Principal, day: date, unit_id: int | None = None) -> list[dict]:
    """Per person a manager sees: items declared for `day`, planned minutes, open and
    overdue items. Two grouped queries, whatever the size of the unit."""
    people_stmt = select(Employee).order_by(Employee.full_name)
    if principal.has_role("tenant_admin", "auditor") and unit_id is None:
        unit_id = db.session.scalar(select(Employee.unit_id).where(Employee.id == principal.employee_id))
    if unit_id is not None:
        people_stmt = people_stmt.where(Employee.unit_id.in_(org.unit_subtree_ids(unit_id)))
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        people_stmt = people_stmt.where(clause)
    people = list(db.session.scalars(people_stmt.limit(1000)).unique())
    ids = [p.id for p in people]
    if not ids:
        return []
    minutes = PLANNED
    today_rows = {r.employee_id: r for r in db.session.execute(
        select(WorkItem.employee_id, func.count().label("n"), func.sum(minutes).label("minutes"),
               func.sum(case((WorkItem.status == "done", 1), else_=0)).label("done"),
               func.sum(case((WorkItem.planned.is_(True), 1), else_=0)).label("planned"))
        .where(WorkItem.employee_id.in_(ids), WorkItem.work_date == day, WorkItem.status != "cancelled")
        .group_by(WorkItem.employee_id))}
    overdue_rows = dict(db.session.execute(
        select(WorkItem.employee_id, func.count()).where(
            WorkItem.employee_id.in_(ids), WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < day)
        .group_by(WorkItem.employee_id)).all())
    out = []
    for p in people:
        row = today_rows.get(p.id)
        out.append({"employee_id": p.id, "full_name": p.full_name, "code": p.code, "unit_name": p.unit.name,
                    "declared": row.n if row else 0, "planned_items": int(row.planned or 0) if row else 0,
                    "done": int(row.done or 0) if row else 0,
                    "planned_minutes": float(row.minutes or 0) if row else 0.0,
                    "overloaded": overloaded(float(row.minutes or 0)) if row else False,
                    "overdue": overdue_rows.get(p.id, 0)})
    return out
