"""Unit merges within a tenant: source units into one unit from a date.

People of the source units move to the target unit; their unit history (unit_assignments)
records the old unit up to the day before, so a report of an earlier day — and a
recalculation of an earlier month — still shows the old units. Set-based: a handful of
statements whatever the number of people. Sub-units are re-parented; the source units
stay (with their history) and a second identical request is a no-op.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, exists, func, insert, literal, or_, select, update

from core.audit.services import record
from core.errors import Conflict, Invalid
from core.extensions import db
from core.mergers.models import UnitAssignment, UnitMerge
from core.org.models import Employee, OrgUnit
from core.tenancy import current_tenant_id
from core.work import calendar as cal


def merge_units(source_codes: list[str], into_code: str, effective: date, actor: str) -> dict:
    codes = list(dict.fromkeys(source_codes))
    units = {u.code: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_([*codes, into_code])))}
    errors: dict[str, list[str]] = {}
    unknown = [c for c in codes if c not in units]
    if unknown:
        errors["sources"] = [f"No such unit: {', '.join(unknown)}."]
    if into_code not in units:
        errors["into"] = [f"No such unit: {into_code}."]
    if into_code in codes:
        errors["into"] = ["A unit cannot merge into itself."]
    if effective > cal.local_today():
        errors["effective_date"] = ["A unit merge takes effect today or earlier; submit it on its day."]
    if errors:
        raise Invalid("The unit merge is invalid.", errors)
    into = units[into_code]
    sources = [units[c] for c in codes]
    done = {m.source_unit_id: m for m in db.session.scalars(
        select(UnitMerge).where(UnitMerge.source_unit_id.in_([u.id for u in sources])))}
    if done:
        if all(u.id in done and done[u.id].into_unit_id == into.id and done[u.id].effective_date == effective
               for u in sources):
            return _view(codes, into_code, effective, 0, 0)  # already done: nothing changes
        raise Conflict("Some of these units were already merged.",
                       {"sources": [f"{u.code} was merged on {done[u.id].effective_date}." for u in sources
                                    if u.id in done]})
    if _is_ancestor_of(into.id, [u.id for u in sources]):
        raise Invalid("The unit merge is invalid.", {"into": ["The target is inside one of the source units."]})
    ids = [u.id for u in sources]
    people, sub_units = _move(ids, into.id, effective)
    db.session.add_all(UnitMerge(source_unit_id=u.id, into_unit_id=into.id, effective_date=effective,
                                 people_moved=people, actor=actor) for u in sources)
    db.session.flush()
    record("unit.merge", "unit", into.id, after={"sources": codes, "into": into_code,
                                                   "effective_date": effective, "people_moved": people,
                                                   "sub_units_moved": sub_units})
    return _view(codes, into_code, effective, people, sub_units)


def _view(codes, into_code, effective, people, sub_units) -> dict:
    return {"sources": codes, "into": into_code, "effective_date": effective, "people_moved": people,
            "sub_units_moved": sub_units}


def _is_ancestor_of(unit_id: int, candidates: list[int]) -> bool:
    parents = dict(db.session.execute(select(OrgUnit.id, OrgUnit.parent_id)).all())
    seen, current = set(), parents.get(unit_id)
    while current is not None and current not in seen:
        if current in candidates:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _move(source_ids: list[int], into_id: int, effective: date) -> tuple[int, int]:
    tid = current_tenant_id()
    before = effective - timedelta(days=1)
    moving = select(Employee.id).where(Employee.unit_id.in_(source_ids))
    options = {"synchronize_session": False}
    # People with no history yet get their old unit as history, ending the day before.
    has_history = exists().where(UnitAssignment.employee_id == Employee.id)
    db.session.execute(insert(UnitAssignment).from_select(
        ["tenant_id", "employee_id", "unit_id", "valid_from", "valid_to"],
        select(literal(tid), Employee.id, Employee.unit_id, literal(None), literal(before))
        .where(Employee.unit_id.in_(source_ids), ~has_history)))
    # People with history: their open row ends the day before.
    db.session.execute(update(UnitAssignment).where(
        UnitAssignment.employee_id.in_(moving.scalar_subquery()), UnitAssignment.valid_to.is_(None))
        .values(valid_to=before), execution_options=options)
    db.session.execute(insert(UnitAssignment).from_select(
        ["tenant_id", "employee_id", "unit_id", "valid_from", "valid_to"],
        select(literal(tid), Employee.id, literal(into_id), literal(effective), literal(None))
        .where(Employee.unit_id.in_(source_ids))))
    people = db.session.execute(update(Employee).where(Employee.unit_id.in_(source_ids))
                                .values(unit_id=into_id), execution_options=options).rowcount
    sub_units = db.session.execute(update(OrgUnit).where(OrgUnit.parent_id.in_(source_ids))
                                   .values(parent_id=into_id), execution_options=options).rowcount
    return people, sub_units


def merge_of(unit_id: int) -> UnitMerge | None:
    """The merge that folded this unit into another, if any (a unit merges once)."""
    return db.session.scalar(select(UnitMerge).where(UnitMerge.source_unit_id == unit_id))


def units_on(day: date, employee_ids: list[int] | None = None) -> dict[int, int]:
    """Each employee's unit on `day` (by their history, else their current unit)."""
    history = (select(UnitAssignment.employee_id, UnitAssignment.unit_id)
               .where(or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= day),
                      or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= day)))
    current = select(Employee.id, Employee.unit_id)
    if employee_ids is not None:
        history = history.where(UnitAssignment.employee_id.in_(employee_ids))
        current = current.where(Employee.id.in_(employee_ids))
    out = dict(db.session.execute(current).all())
    out.update(dict(db.session.execute(history).all()))
    return out


def restore_period_units(period: str, start: date) -> int:
    """After a month is (re)scored: its period scores show each person's unit of the
    month's first day, so a month before a merge keeps its old units. One statement."""
    from core.scoring.models import PeriodScore

    unit_then = (select(UnitAssignment.unit_id)
                 .where(UnitAssignment.employee_id == PeriodScore.employee_id,
                        or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= start),
                        or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= start))
                 .limit(1).scalar_subquery())
    has_then = exists().where(and_(UnitAssignment.employee_id == PeriodScore.employee_id,
                                   or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= start),
                                   or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= start)))
    return db.session.execute(update(PeriodScore).where(PeriodScore.period == period, has_then)
                              .values(unit_id=func.coalesce(unit_then, PeriodScore.unit_id)),
                              execution_options={"synchronize_session": False}).rowcount


def in_units_on(unit_ids: set[int] | list[int], day: date):
    """A WHERE clause on Employee: in one of `unit_ids` on `day` — by their unit history
    when they have a row for that day, else by their current unit — so a report of a
    month before a unit merge still finds people under their old unit."""
    valid = and_(UnitAssignment.employee_id == Employee.id,
                 or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= day),
                 or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= day))
    units = list(unit_ids)
    return or_(and_(~exists().where(valid), Employee.unit_id.in_(units)),
               exists().where(valid, UnitAssignment.unit_id.in_(units)))
