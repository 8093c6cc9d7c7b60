"""The scoring kernel: the public primitives every scoring path is built from — the
month's scheme (the variant in force and its settings), the items a variant sees and
their component rows, the sums per person (SQL GROUP BY), the people of a period and
their working days, a person's month row from their sums, and a leader's facts.

It reads; it writes nothing and imports no service. The month pipeline
(core/scoring/engine.py), the merger-aware rules (core/scoring/sides.py), the month to
date and the what-if preview are built on it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.util import find_tables

from core.catalogue.models import TaskType
from core.errors import Invalid
from core.extensions import db
from core.org.models import DeputyField, Employee, OrgUnit
from core.periods import period_bounds
from core.plugins.components import round_score
from core.plugins.manager import TaskScoreOutOfBounds
from core.scoring.models import COMPONENT_COLUMNS, MAX_COMPONENTS, GeneralScore, ItemScore
from core.tenancy import current_tenant_id
from core.tenants.choices import component_for
from core.timeutil import utcnow
from core.work import calendar as cal
from core.work.models import ClosedPeriod, WorkItem

BATCH = 5000


@dataclass
class Scheme:
    """The scoring variant in force for one month, with its settings."""

    chosen: Any  # core.plugins.manager.ChosenComponent
    period: str
    start: date
    end: date
    # The month's sums per employee (per day for per_day variants), as a full SQL scoring
    # run computed them from the rows it wrote: aggregate() then needs no second scan.
    fresh_sums: list | None = None

    @property
    def variant(self):
        return self.chosen.component

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.variant.item_components)

    @property
    def columns(self) -> list:
        return [getattr(ItemScore, f"c{i}") for i in range(len(self.names))]

    def stamp(self) -> dict[str, str]:
        return self.chosen.stamp()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def is_month(period: str) -> bool:
    """YYYY-MM; a quarter (2026-Q4) has as many characters but is not one."""
    return len(period) == 7 and period[5:].isdigit()


def parse_month(period: str) -> tuple[date, date]:
    try:
        start, end = period_bounds(period)
    except ValueError as exc:
        raise Invalid("Not a period.", {"period": ["Use YYYY-MM for a month."]}) from exc
    if not is_month(period):
        raise Invalid("Scores are stored by month.", {"period": ["Use YYYY-MM for a month."]})
    return start, end


def scheme_for(period: str) -> Scheme:
    """The variant in force on the first day of the month (ComponentMissing, 409, if none)."""
    start, end = parse_month(period)
    chosen = component_for("scoring_variant", start)
    if len(chosen.component.item_components) > MAX_COMPONENTS:
        raise Invalid(f"The scoring variant '{chosen.component.key}' has more than {MAX_COMPONENTS} components.")
    return Scheme(chosen, period, start, end)


def is_closed(period: str) -> bool:
    return db.session.scalar(select(ClosedPeriod.id).where(ClosedPeriod.period == period)) is not None


# ---------------------------------------------------------------- items


# What a variant sees of an item (ScoringVariant's docstring). Explain adds the title.
ITEM_COLUMNS = (
    WorkItem.id, WorkItem.employee_id, WorkItem.work_date, WorkItem.quantity, WorkItem.product_weight,
    WorkItem.norm_minutes, WorkItem.complexity_coefficient, WorkItem.complexity_level, WorkItem.status,
    WorkItem.planned, WorkItem.role, WorkItem.priority, WorkItem.deadline, WorkItem.declared_at,
    WorkItem.completed_at, WorkItem.reported_at, WorkItem.not_reported, WorkItem.failed_reviews,
    WorkItem.missed_deadlines, WorkItem.stars, WorkItem.satisfaction, WorkItem.exempt,
    TaskType.code.label("task_type_code"), TaskType.group.label("group"),
)
ITEM_SCORE_COLUMNS = ("tenant_id", "work_item_id", "employee_id", "work_date", "variant_key", "variant_version",
                      "settings_hash", *COMPONENT_COLUMNS)


def items_select(start: date, end: date, employee_ids: Iterable[int] | None = None, item_ids=None,
                 extra: tuple = (), columns: tuple | None = None, tid=None):
    """The month's items that count (cancelled items are left out everywhere). The tenant
    condition is written out because the full run reads through the connection, below
    the ORM's own filter. `columns` replaces what is read (the task type is joined only
    when they need it). `item_ids` and `tid` may be bound parameters (a cached statement)."""
    tid = current_tenant_id() if tid is None else tid
    wanted = (*ITEM_COLUMNS, *extra) if columns is None else columns
    stmt = select(*wanted).select_from(WorkItem)
    if any(TaskType.__table__ in find_tables(c, check_columns=True) for c in wanted):
        stmt = stmt.join(TaskType, (TaskType.id == WorkItem.task_type_id) & (TaskType.tenant_id == tid))
    stmt = (stmt
            .where(WorkItem.tenant_id == tid, WorkItem.work_date >= start, WorkItem.work_date <= end,
                   WorkItem.status != "cancelled"))
    if employee_ids is not None:
        stmt = stmt.where(WorkItem.employee_id.in_(list(employee_ids)))
    if isinstance(item_ids, BindParameter):
        stmt = stmt.where(WorkItem.id.in_(item_ids))
    elif item_ids is not None:
        stmt = stmt.where(WorkItem.id.in_(list(item_ids)))
    return stmt.order_by(WorkItem.id)


def item_facts(row, tenant, as_of: date, zone=None) -> dict[str, Any]:
    """The plain dict a variant scores (its fields are documented on ScoringVariant)."""
    item = dict(row._mapping)
    completed = item["completed_at"]
    item["completed_on"] = completed.astimezone(zone or cal.zone(tenant.timezone)).date() if completed else None
    item["as_of"] = as_of
    # A completed item whose result was entered after the reporting deadline.
    item["report_late"] = bool(item["not_reported"]) and item["status"] == "done"
    return item


def score_rows(scheme: Scheme, rows: list, tenant, as_of: date) -> Iterator[tuple]:
    zone = cal.zone(tenant.timezone)
    items = [item_facts(r, tenant, as_of, zone) for r in rows]
    scored = scheme.variant.score_items(items, scheme.chosen.settings)
    stamp = scheme.stamp()
    head = (current_tenant_id(),)
    tail = (stamp["key"], stamp["version"], stamp["settings_hash"])
    names = scheme.names
    padding = (0.0,) * (len(COMPONENT_COLUMNS) - len(names))
    for item, comps in zip(items, scored, strict=True):
        values = tuple(float(comps.get(name, 0) or 0) for name in names)
        yield (*head, item["id"], item["employee_id"], item["work_date"], *tail, *values, *padding)


def as_of_for(scheme: Scheme, tenant) -> date:
    """Unfinished items are judged as of today, or the month's end for a past month."""
    return min(cal.local_today(tenant), scheme.end)


def per_day(scheme: Scheme) -> bool:
    return bool(getattr(scheme.variant, "per_day", False))


# ---------------------------------------------------------------- sums and period scores


def of_people(employee_ids: Iterable[int], start: date, end: date):
    """The condition selecting these people's item score rows in [start, end]. item_scores
    has no per-person index (it would cost each of a month's millions of rows a write):
    the rows are reached through work_items' (employee_id, work_date) index and the
    (tenant_id, work_item_id) key."""
    ids = list(employee_ids)
    theirs = select(WorkItem.id).where(WorkItem.employee_id.in_(ids), WorkItem.work_date >= start,
                                       WorkItem.work_date <= end)
    return ItemScore.work_item_id.in_(theirs) & ItemScore.employee_id.in_(ids)


def component_sums(scheme: Scheme, employee_ids: Iterable[int] | None = None,
                   start: date | None = None, end: date | None = None) -> dict[int, dict[str, float]]:
    """Σ of each component per employee over [start, end] (the month by default), in SQL.
    A variant with `per_day` sees each day's sums first (`adjust_day`: caps, flags)."""
    whole_month = start in (None, scheme.start) and end in (None, scheme.end)
    start, end = start or scheme.start, end or scheme.end
    sums_cols = [func.coalesce(func.sum(col), 0.0) for col in scheme.columns]
    daily = per_day(scheme)
    group = [ItemScore.employee_id] + ([ItemScore.work_date] if daily else [])
    stmt = (select(*group, func.count(), *sums_cols)
            .where(ItemScore.work_date >= start, ItemScore.work_date <= end).group_by(*group))
    if employee_ids is not None:
        stmt = stmt.where(of_people(employee_ids, start, end))
    rows = scheme.fresh_sums if employee_ids is None and whole_month and scheme.fresh_sums is not None \
        else db.session.execute(stmt)
    return add_up(scheme, rows, daily)


def add_up(scheme: Scheme, rows: Iterable, daily: bool) -> dict[int, dict[str, float]]:
    """Each person's component sums (and `_items`) from grouped rows `(employee_id[, work_date],
    count, Σ component…)`; with `daily`, each day's sums pass the variant's `adjust_day` first."""
    names = scheme.names
    width = 2 if daily else 1
    out: dict[int, dict[str, float]] = defaultdict(lambda: {n: 0.0 for n in names} | {"_items": 0})
    for row in rows:
        values = dict(zip(names, (float(v) for v in row[width + 1:]), strict=True))
        if daily:
            values = scheme.variant.adjust_day(values, scheme.chosen.settings)
        acc = out[row[0]]
        for name in names:
            acc[name] += float(values.get(name, 0))
        acc["_items"] += row[width]
    return dict(out)


@dataclass
class Person:
    id: int
    unit_id: int
    is_leader: bool
    start_date: date | None
    end_date: date | None


def people_in(start: date, end: date, employee_ids: Iterable[int] | None = None,
              unit_ids: Iterable[int] | None = None) -> list[Person]:
    """Employees whose employment overlaps [start, end] (of these ids, or these units)."""
    stmt = select(Employee.id, Employee.unit_id, Employee.is_leader, Employee.start_date, Employee.end_date).where(
        (Employee.start_date.is_(None)) | (Employee.start_date <= end),
        (Employee.end_date.is_(None)) | (Employee.end_date >= start))
    if employee_ids is not None:
        stmt = stmt.where(Employee.id.in_(list(employee_ids)))
    if unit_ids is not None:
        stmt = stmt.where(Employee.unit_id.in_(list(unit_ids)))
    return [Person(*row) for row in db.session.execute(stmt)]


def working_days(people: list[Person], start: date, end: date,
                 calendar: cal.WorkCalendar | None = None) -> dict[int, int]:
    """Each person's working days in [start, end]: the tenant calendar (or ``calendar``:
    a merger's source's, for the days before the date) within their employment, less
    approved leave (two queries for everyone)."""
    if calendar is None:
        calendar = cal.WorkCalendar.load(start, end)
    base = calendar.working_days(start, end)
    leave = cal.approved_leave([p.id for p in people], start, end)
    out = {}
    for p in people:
        lo, hi = p.start_date or start, p.end_date or end
        off = leave.get(p.id, set())
        out[p.id] = sum(1 for d in base if lo <= d <= hi and d not in off)
    return out


def general_scores(period: str, employee_ids: Iterable[int] | None = None) -> dict[int, GeneralScore]:
    stmt = select(GeneralScore).where(GeneralScore.period == period)
    if employee_ids is not None:
        stmt = stmt.where(GeneralScore.employee_id.in_(list(employee_ids)))
    return {g.employee_id: g for g in db.session.scalars(stmt)}


def unit_parents() -> dict[int, int | None]:
    return dict(db.session.execute(select(OrgUnit.id, OrgUnit.parent_id)).all())


def unit_tree(parents: dict[int, int | None] | None = None) -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for uid, parent in (unit_parents() if parents is None else parents).items():
        if parent is not None:
            children[parent].append(uid)
    return children


def subtree(children: dict[int, list[int]], root: int) -> set[int]:
    seen, stack = set(), [root]
    while stack:
        uid = stack.pop()
        if uid not in seen:
            seen.add(uid)
            stack.extend(children.get(uid, ()))
    return seen


def round2(value: float) -> Decimal:
    """A task score as stored: rounded half up to 2 places."""
    return Decimal(str(round_score(value)))


def checked_task_score(chosen: Any, result: Any, period: str) -> float:
    """The task score a variant's period_score returned, if it is a number from 0 to the
    variant's ``task_score_max``.
    Every path that scores a period (month, week, day, quarter, what-if, explain) goes
    through here: a value outside is a bug of the plugin, refused (TaskScoreOutOfBounds,
    409) with the component and the value named, never clamped into range, which would
    hide the bug behind a plausible 70 or 0."""
    value = result.get("task_score") if isinstance(result, dict) else result
    number = not isinstance(value, bool) and isinstance(value, (int, float, Decimal))
    ceiling = chosen.component.task_score_max
    if not number or not math.isfinite(float(value)) or not 0.0 <= float(value) <= ceiling:
        raise TaskScoreOutOfBounds(chosen.stamp(), value, period, ceiling)
    return float(value)


def person_task_score(scheme: Scheme, employee_id: int) -> float | None:
    """One person's task score of the month for their own work, from the stored item
    components, checked (checked_task_score); None when they were not employed in it."""
    people = people_in(scheme.start, scheme.end, [employee_id])
    if not people:
        return None
    sums = component_sums(scheme, [employee_id]).get(employee_id, {})
    days = working_days(people, scheme.start, scheme.end)[employee_id]
    result = scheme.variant.period_score({n: sums.get(n, 0.0) for n in scheme.names}, scheme.chosen.settings,
                                         {"working_days": days, "period": scheme.period, "is_leader": False})
    return checked_task_score(scheme.chosen, result, scheme.period)


def period_row(scheme: Scheme, person: Person, sums: dict[str, float], days: int, facts: dict,
                general: GeneralScore | None) -> dict:
    clean = {n: sums.get(n, 0.0) for n in scheme.names}
    result = scheme.variant.period_score(clean, scheme.chosen.settings, {"working_days": days,
                                                                         "period": scheme.period, **facts})
    task = round2(checked_task_score(scheme.chosen, result, scheme.period))
    general_total = general.total if general is not None else None
    total = task + (general_total or Decimal(0))
    stamp = scheme.stamp()
    return {"tenant_id": current_tenant_id(), "employee_id": person.id, "unit_id": person.unit_id,
            "period": scheme.period, "item_count": int(sums.get("_items", 0)), "working_days": days,
            "task_score": task, "general_score": general_total, "total": total,
            "components": result.get("components", {}), "sums": {n: round(v, 6) for n, v in clean.items()},
            "variant_key": stamp["key"], "variant_version": stamp["version"], "settings_hash": stamp["settings_hash"],
            "provisional": bool(result.get("provisional")) or general_total is None, "computed_at": utcnow()}


def leader_facts(scheme: Scheme, members: list[Person], own: dict[int, dict], sums: dict[int, dict]) -> dict:
    """A leader's facts from the people they lead, judged on the members' own-work rows
    (our rule; domain.md, Art. 15): how many, and what the variant's leader_facts reads
    of their totals and sums."""
    if not members:
        return {"is_leader": True, "unit_people": 0}
    # Each member's sums as their month row stores them (6 decimals), whether they were
    # just computed or read back from the row: a refresh and a full run then agree.
    led = [{"total": own[m.id]["total"], "sums": sums.get(m.id, {})} for m in members]
    return {"is_leader": True, "unit_people": len(members),
            **scheme.variant.leader_facts(led, scheme.chosen.settings)}


def leadership_fact(general: GeneralScore | None) -> dict:
    """The evaluator's leadership and organisation score of a head or deputy, when set."""
    if general is None or general.leadership is None:
        return {}
    return {"leadership_pct": float(general.leadership)}


@dataclass
class Field:
    """A deputy's field in charge in a month: whole units (their own people) and people."""

    units: set[int]
    people: set[int]


def deputy_fields(start: date, end: date, deputy_ids: Iterable[int] | None = None) -> dict[int, Field]:
    """Each deputy's field over [start, end]: every assignment whose dates overlap it
    (one indexed query; a month in which the field changed counts both, our rule)."""
    stmt = select(DeputyField.deputy_id, DeputyField.unit_id, DeputyField.member_id).where(
        DeputyField.start_date <= end, (DeputyField.end_date.is_(None)) | (DeputyField.end_date >= start))
    if deputy_ids is not None:
        stmt = stmt.where(DeputyField.deputy_id.in_(list(deputy_ids)))
    out: dict[int, Field] = {}
    for deputy, unit, member in db.session.execute(stmt):
        charge = out.setdefault(deputy, Field(set(), set()))
        if unit is not None:
            charge.units.add(unit)
        if member is not None:
            charge.people.add(member)
    return out


def field_members(field: Field, by_unit: dict[int, list[Person]], everyone: dict[int, Person],
                  deputy_id: int) -> list[Person]:
    """The people of a deputy's field employed in the month, each once, not the deputy."""
    found = {m.id: m for uid in field.units for m in by_unit.get(uid, ())}
    found |= {pid: everyone[pid] for pid in field.people if pid in everyone}
    found.pop(deputy_id, None)
    return [found[pid] for pid in sorted(found)]


def month_range(first: date, last: date) -> list[str]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(month_of(day))
        day = (day + timedelta(days=32)).replace(day=1)
    return out
