"""The per-person, per-week hours aggregate (`week_hours`) behind the workload heat map.

Written by the scoring engine in the same transaction as the month scores: once per
month in a full recalculation, and for the people whose items changed in the per-item
refresh. One INSERT … SELECT each time: the month's completed items grouped by person
and ISO week in SQL, never a row per item through Python.

Beside them, their sum per unit (`unit_week_hours`, what the heat map reads): rebuilt
from the month's rows in a full recalculation, moved by the changed people's old and
new rows in the per-item refresh (two upserts of a few cells).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import CTE, Integer, and_, cast, delete, extract, func, insert, literal, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite

from core.dashboards.models import UnitWeekHours, WeekHours
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
    `employee_ids`, and their sums per unit. Each row carries the person's unit on the
    month's first day, as the month rows of period_scores do after a recalculation."""
    start, end = period_bounds(period)
    tid = current_tenant_id()
    ids = None if employee_ids is None else list(employee_ids)
    if ids is not None and not ids:
        return
    dialect = db.session.get_bind().dialect.name
    stale = delete(WeekHours).where(WeekHours.tenant_id == tid, WeekHours.period == period)
    if ids is not None:
        stale = stale.where(WeekHours.employee_id.in_(ids))
    week = week_start(WorkItem.work_date, dialect)
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
    fresh = insert(WeekHours).from_select(columns, rows)
    options = {"synchronize_session": False}
    if ids is None:
        db.session.execute(stale, execution_options=options)
        db.session.execute(fresh)
        rebuild_unit_week_hours(tid, period)
    elif dialect == "postgresql":
        # The per-item refresh runs on every change of an item: the rows it deletes and
        # those it inserts go into the unit sums in the same statement (RETURNING in a
        # WITH), two round trips as before the sums existed.
        cells = (WeekHours.unit_id, WeekHours.week_start, WeekHours.minutes, WeekHours.items)
        db.session.execute(_into_units(tid, period, stale.returning(*cells).cte("gone"), -1),
                           execution_options=options)
        db.session.execute(_into_units(tid, period, fresh.returning(*cells).cte("came"), 1))
    else:
        _add_to_units(tid, period, ids, -1)  # their old rows leave the unit sums
        db.session.execute(stale, execution_options=options)
        db.session.execute(fresh)
        _add_to_units(tid, period, ids, 1)


UNIT_COLUMNS = ["tenant_id", "period", "unit_id", "week_start", "minutes", "items"]


def rebuild_unit_week_hours(tenant_id: int, period: str | None = None) -> None:
    """(Re)write a tenant's `unit_week_hours` of a month (or of every month) from its
    week_hours rows: one DELETE and one INSERT … SELECT … GROUP BY. The tenant is explicit
    because a tenant merger calls it outside any tenant's context."""
    stale = delete(UnitWeekHours).where(UnitWeekHours.tenant_id == tenant_id)
    sums = (select(WeekHours.tenant_id, WeekHours.period, WeekHours.unit_id, WeekHours.week_start,
                   func.sum(WeekHours.minutes), func.sum(WeekHours.items))
            .where(WeekHours.tenant_id == tenant_id)
            .group_by(WeekHours.tenant_id, WeekHours.period, WeekHours.unit_id, WeekHours.week_start))
    if period is not None:
        stale = stale.where(UnitWeekHours.period == period)
        sums = sums.where(WeekHours.period == period)
    db.session.execute(stale, execution_options={"synchronize_session": False})
    db.session.execute(insert(UnitWeekHours).from_select(UNIT_COLUMNS, sums))


def _add_to_units(tenant_id: int, period: str, employee_ids: list[int], sign: int) -> None:
    """Add (sign 1) or take away (sign -1) these people's week rows of the month to or
    from their units' cells (SQLite; PostgreSQL does it in the statements that delete and
    insert the rows)."""
    rows = (select(WeekHours.unit_id, WeekHours.week_start, WeekHours.minutes, WeekHours.items)
            .where(WeekHours.tenant_id == tenant_id, WeekHours.period == period,
                   WeekHours.employee_id.in_(employee_ids)).subquery())
    db.session.execute(_into_units(tenant_id, period, rows, sign))


def _into_units(tenant_id: int, period: str, rows, sign: int):
    """INSERT … SELECT … ON CONFLICT DO UPDATE adding `sign` × the sums of `rows` (unit_id,
    week_start, minutes, items: a subquery, or a CTE of a DELETE or INSERT … RETURNING) to
    the cells of their units: a cell no one had yet is created, and a concurrent refresh
    of the same unit waits for the row and then adds to its committed value. Cells are
    written in one order (unit, week) so two refreshes lock them in the same order."""
    c = rows.c  # c.items would be the collection's method
    cells = (select(literal(tenant_id), literal(period), c.unit_id, c.week_start,
                    sign * func.sum(c.minutes), sign * func.sum(c["items"]))
             .where(true())  # SQLite: an upsert's SELECT needs a WHERE, or ON reads as a join's
             .group_by(c.unit_id, c.week_start).order_by(c.unit_id, c.week_start))
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(UnitWeekHours).from_select(UNIT_COLUMNS, cells)
    if isinstance(rows, CTE):
        stmt = stmt.add_cte(rows)  # a data-modifying WITH must head the statement
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "period", "unit_id", "week_start"],
        set_={"minutes": UnitWeekHours.minutes + stmt.excluded["minutes"],
              "items": UnitWeekHours.items + stmt.excluded["items"]})
