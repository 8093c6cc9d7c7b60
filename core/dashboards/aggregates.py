"""The per-person, per-week hours aggregate (`week_hours`) behind the workload heat map.

Written by the scoring engine in the same transaction as the month scores: once per
month in a full recalculation, and for the people whose items changed in the per-item
refresh. One INSERT … SELECT each time: the month's completed items grouped by person
and ISO week in SQL, never a row per item through Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Integer, and_, cast, delete, extract, func, insert, literal, or_, select

from core.dashboards.models import WeekHours
from core.extensions import db
from core.mergers.models import UnitAssignment
from core.org.models import Employee
from core.plugins.toolkit import period_bounds
from core.tenancy import current_tenant_id
from core.work.models import WorkItem

# Credited norm minutes of an item: what the heat map and the unit's hours chart show.
CREDITED_MINUTES = WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient


def week_start(column, dialect: str):
    """The Monday of the ISO week of a date column, in SQL on both databases."""
    if dialect == "sqlite":
        # 'weekday 0' moves to the next Sunday (or stays on one); six days back is Monday.
        return func.date(column, "weekday 0", "-6 days")
    return column - cast(extract("isodow", column), Integer) + 1


def units_then(day: date, employee_ids: list[int] | None = None):
    """Who had a unit history row for `day` (core/mergers/units.py), with that unit: a
    subquery of one row per person, to LEFT JOIN (a join, not a lookup per row)."""
    stmt = (select(UnitAssignment.employee_id, func.max(UnitAssignment.unit_id).label("unit_id"))
            .where(UnitAssignment.tenant_id == current_tenant_id(),
                   or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= day),
                   or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= day)))
    if employee_ids is not None:
        stmt = stmt.where(UnitAssignment.employee_id.in_(employee_ids))
    return stmt.group_by(UnitAssignment.employee_id).subquery("units_then")


def headcount(period: str) -> dict[int, int]:
    """People employed in the month per unit, by their unit on its first day (their unit
    history's, else their current unit): the people a full recalculation scores for the
    month. One grouped query."""
    start, end = period_bounds(period)
    then = units_then(start)
    unit = func.coalesce(then.c.unit_id, Employee.unit_id)
    stmt = (select(unit, func.count())
            .outerjoin(then, then.c.employee_id == Employee.id)
            .where(or_(Employee.start_date.is_(None), Employee.start_date <= end),
                   or_(Employee.end_date.is_(None), Employee.end_date >= start))
            .group_by(unit))
    return dict(db.session.execute(stmt).all())


def write_week_hours(period: str, employee_ids: Iterable[int] | None = None) -> None:
    """(Re)write the `week_hours` rows of a month (YYYY-MM) for everyone or for
    `employee_ids`. Each row carries the person's unit on the month's first day, as the
    month rows of period_scores do after a recalculation."""
    start, end = period_bounds(period)
    tid = current_tenant_id()
    ids = None if employee_ids is None else list(employee_ids)
    stale = delete(WeekHours).where(WeekHours.period == period)
    if ids is not None:
        if not ids:
            return
        stale = stale.where(WeekHours.employee_id.in_(ids))
    db.session.execute(stale, execution_options={"synchronize_session": False})
    week = week_start(WorkItem.work_date, db.session.get_bind().dialect.name)
    per_week = (select(WorkItem.employee_id.label("employee_id"), week.label("week_start"),
                       func.sum(CREDITED_MINUTES).label("minutes"), func.count().label("n"))
                .where(WorkItem.tenant_id == tid, WorkItem.status == "done",
                       WorkItem.work_date >= start, WorkItem.work_date <= end)
                .group_by(WorkItem.employee_id, week))
    if ids is not None:
        per_week = per_week.where(WorkItem.employee_id.in_(ids))
    weeks = per_week.subquery()
    then = units_then(start, ids)
    rows = (select(literal(tid), weeks.c.employee_id, func.coalesce(then.c.unit_id, Employee.unit_id),
                   literal(period), weeks.c.week_start, weeks.c.minutes, weeks.c.n)
            .join(Employee, and_(Employee.id == weeks.c.employee_id, Employee.tenant_id == tid))
            .outerjoin(then, then.c.employee_id == weeks.c.employee_id))
    columns = ["tenant_id", "employee_id", "unit_id", "period", "week_start", "minutes", "items"]
    db.session.execute(insert(WeekHours).from_select(columns, rows))

