"""The per-person, per-week hours aggregate (`week_hours`) behind the workload heat map.

Written by the scoring engine in the same transaction as the month scores: once per
month in a full recalculation, and for the people whose items changed in the per-item
refresh. One INSERT … SELECT each time: the month's completed items grouped by person
and ISO week in SQL, never a row per item through Python.

Beside them, their sum per unit (`unit_week_hours`, what the heat map reads): rebuilt
from the month's rows in a full recalculation, moved by the changed people's new rows
minus their old ones in the per-item refresh (an upsert of a few cells). The refresh
runs on every change of an item, so its statements are built once per database kind,
with bind parameters, not on every call.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    delete,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from core.dashboards.models import UnitWeekHours, WeekHours
from core.extensions import db
from core.mergers.models import UnitAssignment
from core.org.models import Employee
from core.periods import period_bounds
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


def units_then(day, employee_ids=None, tenant_id=None):
    """Who had a unit history row for `day` (core/mergers/units.py), with that unit: a
    subquery of one row per person, to LEFT JOIN (a join, not a lookup per row). The
    day, the people (a list or an expanding bind parameter) and the tenant (else the
    current one) may be bind parameters."""
    stmt = (select(UnitAssignment.employee_id, func.max(UnitAssignment.unit_id).label("unit_id"))
            .where(UnitAssignment.tenant_id == (current_tenant_id() if tenant_id is None else tenant_id),
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


COLUMNS = ["tenant_id", "employee_id", "unit_id", "period", "week_start", "minutes", "items"]


def write_week_hours(period: str, employee_ids: Iterable[int] | None = None) -> None:
    """(Re)write the `week_hours` rows of a month (YYYY-MM) for everyone or for
    `employee_ids`, and their sums per unit. Each row carries the person's unit on the
    month's first day, as the month rows of period_scores do after a recalculation."""
    start, end = period_bounds(period)
    tid = current_tenant_id()
    dialect = db.session.get_bind().dialect.name
    options = {"synchronize_session": False}
    if employee_ids is None:
        db.session.execute(delete(WeekHours).where(WeekHours.tenant_id == tid, WeekHours.period == period),
                           execution_options=options)
        db.session.execute(insert(WeekHours).from_select(
            COLUMNS, _week_rows(literal(tid), literal(period), start, end, None, dialect)))
        rebuild_unit_week_hours(tid, period)
        return
    ids = list(employee_ids)
    if not ids:
        return
    params = {"tid": tid, "period": period, "start": start, "end": end, "ids": ids}
    # Through the session, which flushes pending changes first.
    if dialect == "postgresql":
        stale, fresh = _person_statements(dialect)
        gone = db.session.execute(stale, params).all()
        db.session.execute(fresh, params | {name: [row[n] for row in gone] for n, name in enumerate(GONE)})
    else:
        for stmt in _person_statements(dialect):
            db.session.execute(stmt, params)


def _week_rows(tid: ColumnElement, period: ColumnElement, start, end, ids, dialect: str):
    """The SELECT of the week_hours rows of a month (of everyone, or of `ids`): the
    completed items grouped by person and ISO week, with each person's unit on the
    month's first day."""
    week = week_start(WorkItem.work_date, dialect)
    per_week = (select(WorkItem.employee_id.label("employee_id"), week.label("week_start"),
                       func.sum(CREDITED_MINUTES).label("minutes"), func.count().label("n"))
                .where(WorkItem.tenant_id == tid, WorkItem.status == "done",
                       WorkItem.work_date >= start, WorkItem.work_date <= end)
                .group_by(WorkItem.employee_id, week))
    if ids is not None:
        per_week = per_week.where(WorkItem.employee_id.in_(ids))
    weeks = per_week.subquery()
    then = units_then(start, ids, tid)
    return (select(tid, weeks.c.employee_id, func.coalesce(then.c.unit_id, Employee.unit_id),
                   period, weeks.c.week_start, weeks.c.minutes, weeks.c.n)
            .join(Employee, and_(Employee.id == weeks.c.employee_id, Employee.tenant_id == tid))
            .outerjoin(then, then.c.employee_id == weeks.c.employee_id))


# The rows the per-item refresh deleted, passed back as arrays (PostgreSQL).
GONE = ("gone_unit", "gone_week", "gone_minutes", "gone_items")


@cache
def _person_statements(dialect: str) -> tuple:
    """The per-item refresh's statements for some people's month, built once per kind of
    database (parameters: tid, period, start, end, ids).

    PostgreSQL: the DELETE returns the people's old rows; the INSERT of their new rows
    then moves the unit sums by new − old in the same statement (RETURNING in a WITH, the
    old rows as arrays): two statements, as before the sums existed, and each refresh
    writes all its cells in one statement in (unit, week) order, so two refreshes of one
    unit queue on the first cell they share instead of each holding a cell the other
    needs (a deadlock when one moved its hours from week A to B and the other from B to
    A). SQLite, one writer at a time: take the old rows out of the sums, delete, insert,
    add the new ones. Core statements on the tables, so the ORM does not read the
    parameters as rows to insert; each names its tenant."""
    tid, period = bindparam("tid", type_=BigInteger), bindparam("period", type_=String)
    start, end = bindparam("start", type_=Date), bindparam("end", type_=Date)
    ids = bindparam("ids", expanding=True)
    rows = WeekHours.__table__
    theirs = and_(rows.c.tenant_id == tid, rows.c.period == period, rows.c.employee_id.in_(ids))
    stale = delete(rows).where(theirs)
    fresh = insert(rows).from_select(COLUMNS, _week_rows(tid, period, start, end, ids, dialect))
    cells = (rows.c.unit_id, rows.c.week_start, rows.c.minutes, rows.c["items"])
    if dialect == "postgresql":
        came = fresh.returning(*cells).cte("came")
        types = (BigInteger, Date, Float, Integer)
        gone = (func.unnest(*[bindparam(name, type_=ARRAY(t)) for name, t in zip(GONE, types, strict=True)])
                .table_valued(*[column(c.name, t) for c, t in zip(cells, types, strict=True)])
                .render_derived(name="gone"))
        moved = union_all(select(came.c.unit_id, came.c.week_start, came.c.minutes, came.c["items"]),
                          select(gone.c.unit_id, gone.c.week_start, -gone.c.minutes, -gone.c["items"])).subquery()
        return stale.returning(*cells), _into_units(tid, period, moved, 1, dialect).add_cte(came)
    old = select(*cells).where(theirs).subquery()
    return (_into_units(tid, period, old, -1, dialect), stale, fresh, _into_units(tid, period, old, 1, dialect))


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


def _into_units(tenant_id, period, rows, sign: int, dialect: str):
    """INSERT … SELECT … ON CONFLICT DO UPDATE adding `sign` × the sums of `rows` (a
    subquery of unit_id, week_start, minutes, items) to the cells of their units: a cell
    no one had yet is created, and a concurrent refresh of the same unit waits for the
    row and then adds to its committed value. Cells are written in (unit, week) order."""
    c = rows.c  # c.items would be the collection's method
    cells = (select(tenant_id, period, c.unit_id, c.week_start,
                    sign * func.sum(c.minutes), sign * func.sum(c["items"]))
             .where(true())  # SQLite: an upsert's SELECT needs a WHERE, or ON reads as a join's
             .group_by(c.unit_id, c.week_start).order_by(c.unit_id, c.week_start))
    sums = UnitWeekHours.__table__
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(sums).from_select(UNIT_COLUMNS, cells)
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "period", "unit_id", "week_start"],
        set_={"minutes": sums.c.minutes + stmt.excluded["minutes"], "items": sums.c["items"] + stmt.excluded["items"]})
