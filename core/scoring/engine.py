"""The scoring engine: items → components (the tenant's variant, in Python batches) →
sums per employee (SQL GROUP BY) → period scores (the variant, once per employee).

Nothing here loads one ORM object or runs one query per item. A full recalculation
streams the month's items in batches, bulk-writes their component rows and
re-aggregates, all in the caller's transaction, so it replaces its output atomically.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Float, bindparam, cast, delete, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.util import find_tables

from core.bulk import copy_rows
from core.catalogue.models import TaskType
from core.errors import Conflict, Invalid
from core.extensions import db
from core.org.models import DeputyField, Employee, OrgUnit
from core.plugins.components import TASK_SCORE_MAX
from core.plugins.manager import TaskScoreOutOfBounds
from core.plugins.sql import SqlItem
from core.plugins.toolkit import period_bounds
from core.scoring import stamps
from core.scoring.models import COMPONENT_COLUMNS, MAX_COMPONENTS, GeneralScore, ItemScore, PeriodScore, ScoredPeriod
from core.tenancy import current_tenant_id
from core.tenants.services import component_for
from core.timeutil import utcnow
from core.work import calendar as cal
from core.work.models import ClosedPeriod, WorkItem

BATCH = 5000
KHT_BELOW = Decimal("50")  # Decree 335 bands: a total under 50 is KHT


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


def _score_rows(scheme: Scheme, rows: list, tenant, as_of: date) -> Iterator[tuple]:
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


def score_items(scheme: Scheme, progress: Callable[[int, int], None] | None = None,
                employee_ids: Iterable[int] | None = None, item_ids=None) -> int:
    """(Re)write the component rows of the month's items; returns how many were scored.
    Items stream from a server-side cursor in batches and their rows go in with COPY."""
    tenant = cal.current_tenant()
    as_of = as_of_for(scheme, tenant)
    stale = delete(ItemScore).where(ItemScore.work_date >= scheme.start, ItemScore.work_date <= scheme.end)
    if employee_ids is not None:
        stale = stale.where(of_people(employee_ids, scheme.start, scheme.end))
    if item_ids is not None:
        stale = delete(ItemScore).where(ItemScore.work_item_id.in_(list(item_ids)))
    db.session.execute(stale, execution_options={"synchronize_session": False})
    from core.mergers.scoring import item_scorer

    by_merger = item_scorer(scheme)  # a moved person's items before a tenant merger's date: the source's variant
    scored = _score_in_sql(scheme, tenant, as_of, employee_ids, item_ids) if by_merger is None else None
    if scored is not None:
        if progress is not None:
            progress(scored, scored)
        return scored
    stmt = items_select(scheme.start, scheme.end, employee_ids, item_ids)
    total = None
    if progress is not None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    conn = db.session.connection()
    result = conn.execute(stmt.execution_options(stream_results=True, max_row_buffer=BATCH))
    done = 0
    for batch in result.partitions(BATCH):
        rows = _score_rows(scheme, batch, tenant, as_of) if by_merger is None else by_merger(batch, tenant, as_of)
        # Scored before the COPY opens: a scorer that reads the database (a merger's source
        # variant, say) would otherwise wait forever on the connection the COPY holds.
        done += copy_rows(ItemScore.__table__, ITEM_SCORE_COLUMNS, list(rows))
        if progress is not None:
            progress(done, total or done)
    return done


def _score_in_sql(scheme: Scheme, tenant, as_of: date, employee_ids, item_ids) -> int | None:
    """The month in one INSERT … SELECT when the variant gives its components as SQL
    (core/plugins/sql.py) — PostgreSQL only, where months run to millions of items;
    None leaves it to the Python path (SQLite, or a variant without SQL)."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return None
    if item_ids is not None and employee_ids is None:
        # A refresh: the same statement for every write of the day, built once (building
        # the variant's expressions cost more than running them on one item).
        key = (scheme.variant, scheme.period, scheme.chosen.settings_hash, tenant.timezone, as_of)
        stmt = _REFRESH_STATEMENTS.get(key, _MISSING)
        if stmt is _MISSING:
            written = _written(scheme, tenant, as_of, None, bindparam("item_ids", expanding=True),
                               bindparam("tid", type_=BigInteger))
            stmt = None if written is None else select(func.count()).select_from(written)
            if len(_REFRESH_STATEMENTS) >= 256:
                _REFRESH_STATEMENTS.clear()
            _REFRESH_STATEMENTS[key] = stmt
        if stmt is None:
            return None
        return conn.execute(stmt, {"item_ids": list(item_ids), "tid": current_tenant_id()}).scalar_one()
    written = _written(scheme, tenant, as_of, employee_ids, item_ids, literal(current_tenant_id()))
    if written is None:
        return None
    if employee_ids is not None or item_ids is not None:
        return conn.execute(select(func.count()).select_from(written)).scalar_one()
    # A full run sums what it writes as it writes it (the driver gives no row count for
    # INSERT … SELECT here anyway), so the month is read once.
    group = [written.c.employee_id] + ([written.c.work_date] if _per_day(scheme) else [])
    sums = [func.coalesce(func.sum(written.c[col.name]), 0.0) for col in scheme.columns]
    scheme.fresh_sums = conn.execute(select(*group, func.count(), *sums).group_by(*group)).all()
    return sum(row[len(group)] for row in scheme.fresh_sums)


_REFRESH_STATEMENTS: dict[tuple, Any] = {}
_MISSING = object()


def _written(scheme: Scheme, tenant, as_of: date, employee_ids, item_ids, tid):
    """INSERT … SELECT of the items' component rows, RETURNING what the sums need, as a
    CTE; None when the variant gives no SQL."""
    columns = {c.name: c for c in WorkItem.__table__.c} | {"task_type_code": TaskType.code, "group": TaskType.group}
    exprs = scheme.variant.item_components_sql(SqlItem(columns, tenant.timezone, as_of), scheme.chosen.settings)
    if exprs is None:
        return None
    stamp = scheme.stamp()
    values = [cast(exprs[name], Float) for name in scheme.names]
    values += [literal(0.0, Float)] * (MAX_COMPONENTS - len(values))
    source = items_select(scheme.start, scheme.end, employee_ids, item_ids, tid=tid, columns=(
        tid, WorkItem.id, WorkItem.employee_id, WorkItem.work_date,
        literal(stamp["key"]), literal(stamp["version"]), literal(stamp["settings_hash"]), *values)).order_by(None)
    returned = [ItemScore.employee_id, ItemScore.work_date, *scheme.columns]
    return (insert(ItemScore.__table__).from_select(list(ITEM_SCORE_COLUMNS), source)
            .returning(*returned).cte("written"))


def _per_day(scheme: Scheme) -> bool:
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
    names = scheme.names
    sums_cols = [func.coalesce(func.sum(col), 0.0) for col in scheme.columns]
    per_day = _per_day(scheme)
    group = [ItemScore.employee_id] + ([ItemScore.work_date] if per_day else [])
    stmt = (select(*group, func.count(), *sums_cols)
            .where(ItemScore.work_date >= start, ItemScore.work_date <= end).group_by(*group))
    if employee_ids is not None:
        stmt = stmt.where(of_people(employee_ids, start, end))
    rows = scheme.fresh_sums if employee_ids is None and whole_month and scheme.fresh_sums is not None \
        else db.session.execute(stmt)
    out: dict[int, dict[str, float]] = defaultdict(lambda: {n: 0.0 for n in names} | {"_items": 0})
    for row in rows:
        values = dict(zip(names, (float(v) for v in row[len(group) + 1:]), strict=True))
        if per_day:
            values = scheme.variant.adjust_day(values, scheme.chosen.settings)
        acc = out[row[0]]
        for name in names:
            acc[name] += float(values.get(name, 0))
        acc["_items"] += row[len(group)]
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


def _round2(value: float) -> Decimal:
    from plugins._scoring import round_score

    return Decimal(str(round_score(value)))


def checked_task_score(chosen: Any, result: Any, period: str) -> float:
    """The task score a variant's period_score returned, if it is a number from 0 to 70.
    Every path that scores a period (month, week, day, quarter, what-if, explain) goes
    through here: a value outside is a bug of the plugin, refused (TaskScoreOutOfBounds,
    409) with the component and the value named, never clamped into range, which would
    hide the bug behind a plausible 70 or 0."""
    value = result.get("task_score") if isinstance(result, dict) else result
    number = not isinstance(value, bool) and isinstance(value, (int, float, Decimal))
    if not number or not math.isfinite(float(value)) or not 0.0 <= float(value) <= TASK_SCORE_MAX:
        raise TaskScoreOutOfBounds(chosen.stamp(), value, period)
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


def _period_row(scheme: Scheme, person: Person, sums: dict[str, float], days: int, facts: dict,
                general: GeneralScore | None) -> dict:
    clean = {n: sums.get(n, 0.0) for n in scheme.names}
    result = scheme.variant.period_score(clean, scheme.chosen.settings, {"working_days": days,
                                                                         "period": scheme.period, **facts})
    task = _round2(checked_task_score(scheme.chosen, result, scheme.period))
    general_total = general.total if general is not None else None
    total = task + (general_total or Decimal(0))
    stamp = scheme.stamp()
    return {"tenant_id": current_tenant_id(), "employee_id": person.id, "unit_id": person.unit_id,
            "period": scheme.period, "item_count": int(sums.get("_items", 0)), "working_days": days,
            "task_score": task, "general_score": general_total, "total": total,
            "components": result.get("components", {}), "sums": {n: round(v, 6) for n, v in clean.items()},
            "variant_key": stamp["key"], "variant_version": stamp["version"], "settings_hash": stamp["settings_hash"],
            "provisional": bool(result.get("provisional")) or general_total is None, "computed_at": utcnow()}


def aggregate(scheme: Scheme, employee_ids: Iterable[int] | None = None, scope: Scope | None = None) -> int:
    """(Re)write the period scores of the month for everyone (or `employee_ids` and the
    leaders above them, whose `scope` lock_people returned). Leaders are scored after the
    people they lead (Art. 15)."""
    ids = None if employee_ids is None else set(employee_ids)
    if ids is None:
        children = unit_tree()
        people = people_in(scheme.start, scheme.end)
        fields = deputy_fields(scheme.start, scheme.end)
        leaders = [p for p in people if p.is_leader or p.id in fields]
        # A leader's unit results need everyone they lead.
        led_units = {p.id: subtree(children, p.unit_id) for p in leaders if p.id not in fields}
        everyone = {p.id: p for p in people}
        led_people = people
    else:
        scope = scope or read_scope(ids)
        fields = scope.fields_in(scheme.start, scheme.end)
        ids, people, led_units, led_people = _month_scope(scope, scheme, fields)
        fields = {d: f for d, f in fields.items() if d in {p.id for p in people}}
        leaders = [p for p in people if p.is_leader or p.id in fields]
        everyone = {p.id: p for p in people} | {p.id: p for p in led_people}
    # On a refresh, the leaders' members it did not change already have their month row:
    # its total and sums are what the leaders' facts need. Re-summing every member's items
    # was most of a refresh's time (4,500 item rows for a department of 25).
    # A deputy's stored row is their field's, not their own work's: computed afresh, as leaders'.
    kept, kept_sums = ({}, {}) if ids is None else _stored_own_rows(
        scheme, [p for p in led_people if not p.is_leader and p.id not in ids],
        set(scope.fields_in(scheme.start, scheme.end, (p.id for p in led_people))))
    fresh = {pid: p for pid, p in everyone.items() if pid not in kept}
    sums = component_sums(scheme, None if ids is None else list(fresh))
    days = working_days(list(fresh.values()), scheme.start, scheme.end)
    generals = general_scores(scheme.period, None if ids is None else list(fresh))
    empty = {n: 0.0 for n in scheme.names} | {"_items": 0}
    from core.mergers.scoring import month_rules

    rules = month_rules(scheme, fresh, sums)  # tenant mergers (parts of a month) and unit history
    own = {pid: rules.period_row(scheme, p, sums.get(pid, empty), days[pid], {"is_leader": False},
                                 generals.get(pid)) for pid, p in fresh.items()} | kept
    sums |= kept_sums
    rows = [own[p.id] for p in people if not p.is_leader and p.id not in fields]
    by_unit: dict[int, list[Person]] = defaultdict(list)
    for person in everyone.values():
        by_unit[person.unit_id].append(person)
    for leader in leaders:
        # Through the units they lead, not a pass over everyone per leader (2,000 leaders
        # × 50,000 people was 9 s of a province's month).
        if leader.id in fields:
            members = field_members(fields[leader.id], by_unit, everyone, leader.id)
        else:
            members = [m for uid in led_units[leader.id] for m in by_unit.get(uid, ()) if m.id != leader.id]
        facts = _leader_facts(members, own, sums) | leadership_fact(generals.get(leader.id))
        if leader.id in fields:
            facts["deputy"] = True
        rows.append(rules.period_row(scheme, leader, sums.get(leader.id, empty), days[leader.id],
                                     facts, generals.get(leader.id)))
    rules.settle(rows)  # each row's unit as of the month's first day (unit merges)
    if rows:
        # The words of this version, for explaining the month later (a whole month always writes them).
        stamps.record(scheme.chosen, cached=ids is not None)
    if ids is None:
        db.session.execute(delete(PeriodScore).where(PeriodScore.period == scheme.period),
                           execution_options={"synchronize_session": False})
        if rows:
            db.session.execute(insert(PeriodScore), rows)
        return len(rows)
    _upsert_period_rows(scheme, rows, ids)
    return len(rows)


def _upsert_period_rows(scheme: Scheme, rows: list[dict], ids: set[int]) -> None:
    """Replace some people's month rows while other transactions may replace some of the
    same (two declarations in one unit both rewrite its leader's row): an upsert waits
    for the other's row and then updates it, where delete-then-insert would fail on
    the unique key. Rows go in ascending employee order, so two writers never deadlock."""
    gone = ids - {r["employee_id"] for r in rows}  # no longer employed in the month
    if gone:
        db.session.execute(delete(PeriodScore).where(PeriodScore.period == scheme.period,
                                                     PeriodScore.employee_id.in_(list(gone))),
                           execution_options={"synchronize_session": False})
    if not rows:
        return
    stmt = _period_upsert(db.session.get_bind().dialect.name, tuple(rows[0]))
    db.session.execute(stmt, sorted(rows, key=lambda r: r["employee_id"]))


@lru_cache(maxsize=8)
def _period_upsert(dialect: str, columns: tuple[str, ...]):
    """The month rows' upsert, built once per database kind (building it on every write
    cost more than sending it)."""
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(PeriodScore.__table__)
    updated = {c: upsert.excluded[c] for c in columns if c not in ("tenant_id", "employee_id", "period")}
    return upsert.on_conflict_do_update(index_elements=["tenant_id", "employee_id", "period"], set_=updated)


def _stored_own_rows(scheme: Scheme, members: list[Person], deputies: set[int] | None = None,
                     ) -> tuple[dict[int, dict], dict[int, dict]]:
    """The stored month rows of these members that the month's rule produced (same variant,
    version and settings) — as (own rows, sums). People a tenant merger moved are left to
    be computed: their row combines two variants' parts; so are ``deputies``, whose
    stored row is their field's."""
    if not members:
        return {}, {}
    from core.mergers.scoring import moved_in_month

    moved = moved_in_month(scheme, [p.id for p in members])
    if deputies:
        moved = set(moved) | deputies
    ids = [p.id for p in members if p.id not in moved]
    stamp = scheme.stamp()
    rows = db.session.execute(select(PeriodScore.employee_id, PeriodScore.total, PeriodScore.sums,
                                     PeriodScore.item_count).where(
        PeriodScore.period == scheme.period, PeriodScore.employee_id.in_(ids),
        PeriodScore.variant_key == stamp["key"], PeriodScore.variant_version == stamp["version"],
        PeriodScore.settings_hash == stamp["settings_hash"])) if ids else []
    own, sums = {}, {}
    for pid, total, stored, count in rows:
        own[pid] = {"total": total}
        sums[pid] = {n: float((stored or {}).get(n, 0.0)) for n in scheme.names} | {"_items": count}
    return own, sums


@lru_cache(maxsize=1)
def _scope_statements():
    """The two statements of read_scope, built once: constructing them (recursive CTEs,
    aliases) cost more than running them. Parameters: tid, ids; tid, ids, units."""
    tid, ids = bindparam("tid"), bindparam("ids", expanding=True)
    up = (select(OrgUnit.id, OrgUnit.parent_id)
          .where(OrgUnit.tenant_id == tid, OrgUnit.id.in_(
              select(Employee.unit_id).where(Employee.tenant_id == tid, Employee.id.in_(ids))))
          .cte("up", recursive=True))
    parent = aliased(OrgUnit)
    up = up.union(select(parent.id, parent.parent_id).where(parent.tenant_id == tid, parent.id == up.c.parent_id))
    # A unit of the chain with a leader is the root of the subtree that leader leads.
    led = select(Employee.id).where(Employee.tenant_id == tid, Employee.unit_id == up.c.id,
                                    Employee.is_leader.is_(True))
    down = select(up.c.id.label("root"), up.c.id.label("unit")).where(led.exists()).cte("down", recursive=True)
    child = aliased(OrgUnit)
    down = down.union(select(down.c.root, child.id).where(child.tenant_id == tid, child.parent_id == down.c.unit))
    units = select(down.c.root, down.c.unit)
    people = (select(Employee.id, Employee.unit_id, Employee.is_leader, Employee.start_date, Employee.end_date)
              .where(Employee.tenant_id == tid,
                     Employee.id.in_(ids) | Employee.unit_id.in_(bindparam("units", expanding=True))))
    return units, people


@dataclass
class Scope:
    """Whom a refresh of some people's months touches: the leaders of their units and of
    the units above (each heads the subtree of their unit), and everyone in those
    subtrees. Read before the refresh's locks are taken, so the leaders can be locked too."""

    changed: set[int]
    units_of_root: dict[int, set[int]]  # a leader's unit → the units of its subtree
    rows: list  # employees: the changed people, everyone in those subtrees and in the deputies' fields
    # Deputies whose field (at some date) holds a changed person or their unit, or who
    # changed themselves; and every field row (deputy, unit, member, start, end) of those
    # deputies and of the deputies among ``rows`` — a refresh needs no other read of them.
    touching: set[int] = field(default_factory=set)
    field_rows: list = field(default_factory=list)

    def fields_in(self, start: date, end: date, deputies: Iterable[int] | None = None) -> dict[int, Field]:
        """The fields over [start, end] of these deputies (default: the touching ones)."""
        wanted = self.touching if deputies is None else set(deputies)
        out: dict[int, Field] = {}
        for deputy, unit, member, lo, hi in self.field_rows:
            if deputy in wanted and lo <= end and (hi is None or hi >= start):
                charge = out.setdefault(deputy, Field(set(), set()))
                if unit is not None:
                    charge.units.add(unit)
                if member is not None:
                    charge.people.add(member)
        return out

    @property
    def leaders(self) -> set[int]:
        """Every leader above (employed in the month or not: one who left loses the row),
        and every deputy in charge of a changed person."""
        return {r.id for r in self.rows if r.is_leader and r.unit_id in self.units_of_root} | self.touching


def read_scope(ids: Iterable[int]) -> Scope:
    """Two indexed statements (built once), rather than a read of the whole unit tree, and
    one on the deputies' fields (more only when a deputy is in charge of a changed person)."""
    units_stmt, people_stmt = _scope_statements()
    tid, changed = current_tenant_id(), sorted(set(ids))
    units_of_root: dict[int, set[int]] = defaultdict(set)
    for root, unit in db.session.execute(units_stmt, {"tid": tid, "ids": changed}):
        units_of_root[root].add(unit)
    wanted = sorted(set().union(*units_of_root.values())) if units_of_root else []
    rows = db.session.execute(people_stmt, {"tid": tid, "ids": changed, "units": wanted}).all()
    changed_set = set(changed)
    known = {r.id for r in rows}
    changed_units = {r.unit_id for r in rows if r.id in changed_set}
    field_rows = _field_rows(sorted(known), changed, sorted(changed_units))
    touching = {d for d, unit, member, _, _ in field_rows
                if d in changed_set or member in changed_set or unit in changed_units}
    missing = touching - known
    if missing:  # a deputy from elsewhere in charge of a changed person: their whole field
        field_rows += _field_rows(sorted(missing), [], [])
    if touching:
        # The deputies themselves and the people of their fields, for their rows' facts.
        spans = Scope(set(), {}, [], touching, field_rows).fields_in(date.min, date.max)
        extra_units = set().union(*(f.units for f in spans.values())) - set(wanted)
        extra_ids = (touching | set().union(*(f.people for f in spans.values()))) - known
        if extra_units or extra_ids:
            rows += db.session.execute(people_stmt, {"tid": tid, "ids": sorted(extra_ids),
                                                     "units": sorted(extra_units)}).all()
            rows = list({r.id: r for r in rows}.values())
            added = sorted({r.id for r in rows} - known - missing)
            if added:  # whether the people just added are deputies too (their stored row is their field's)
                field_rows += _field_rows(added, [], [])
    return Scope(changed_set, dict(units_of_root), rows, touching, field_rows)


def _field_rows(deputies: list[int], members: list[int], units: list[int]) -> list:
    """Field rows (deputy, unit, member, start, end) of these deputies, and of whoever is in
    charge of these people or units: one indexed statement on a small table."""
    if not (deputies or members or units):
        return []
    clause = DeputyField.deputy_id.in_(deputies)
    if members:
        clause = clause | DeputyField.member_id.in_(members)
    if units:
        clause = clause | DeputyField.unit_id.in_(units)
    stmt = select(DeputyField.deputy_id, DeputyField.unit_id, DeputyField.member_id, DeputyField.start_date,
                  DeputyField.end_date).where(clause)
    # A deputy outside ``deputies`` matched by a member or unit has only those rows here:
    # read_scope reads the rest of their field with a second call.
    return [tuple(r) for r in db.session.execute(stmt)]


def lock_people(ids: Iterable[int]) -> Scope:
    """Lock these people and every leader above them (lock_for_refresh), and return the
    scope of their refresh. The leaders are locked because a leader's row is computed
    from the stored rows of the people they lead: two refreshes under one leader must not
    overlap, or the second would read the first's member as it was before and write the
    leader's row over the first's (READ COMMITTED). Once the locks are held, the other's
    rows are committed and visible."""
    scope = read_scope(ids)
    lock_for_refresh(scope.changed | scope.leaders)
    return scope


def _month_scope(scope: Scope, scheme: Scheme, fields: dict[int, Field],
                 ) -> tuple[set[int], list[Person], dict[int, set[int]], list[Person]]:
    """(ids with the leaders above, the people of the month among them, each leader's
    units, the people of the month in those units)."""
    ids = scope.changed | scope.leaders
    start, end = scheme.start, scheme.end
    employed = {r.id: Person(r.id, r.unit_id, r.is_leader, r.start_date, r.end_date) for r in scope.rows
                if (r.start_date is None or r.start_date <= end) and (r.end_date is None or r.end_date >= start)}
    people = [p for pid, p in employed.items() if pid in ids]
    led_units = {p.id: scope.units_of_root.get(p.unit_id, {p.unit_id}) for p in people
                 if p.is_leader and p.id not in fields}
    members = set().union(*led_units.values()) if led_units else set()
    in_fields: set[int] = set()
    for f in fields.values():
        members |= f.units
        in_fields |= f.people
    return ids, people, led_units, [p for p in employed.values() if p.unit_id in members or p.id in in_fields]


def _leader_facts(members: list[Person], own: dict[int, dict], sums: dict[int, dict]) -> dict:
    """Unit results (anyone KHT?) and organising (share of the unit's items done on time),
    judged on the members' own-work totals (our rule; domain.md, Art. 15)."""
    if not members:
        return {"is_leader": True, "unit_people": 0}
    any_kht = any(own[m.id]["total"] < KHT_BELOW for m in members)
    # Each member's sums as their month row stores them (6 decimals), whether they were
    # just computed or read back from the row: a refresh and a full run then agree.
    items = sum(round(sums.get(m.id, {}).get("items", 0.0), 6) for m in members)
    on_time = sum(round(sums.get(m.id, {}).get("on_time_items", 0.0), 6) for m in members)
    return {"is_leader": True, "unit_people": len(members), "unit_any_kht": any_kht,
            "organising_pct": 100.0 * on_time / items if items else 100.0}


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


def mark_scored(scheme: Scheme) -> None:
    row = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == scheme.period))
    if row is None:
        row = ScoredPeriod(period=scheme.period)
        db.session.add(row)
    stamp = scheme.stamp()
    row.variant_key, row.variant_version, row.settings_hash = stamp["key"], stamp["version"], stamp["settings_hash"]
    row.stale, row.stale_reason, row.scored_at = False, None, utcnow()
    db.session.flush()


# Advisory locks (PostgreSQL), always taken in this order so writers never deadlock:
# the tenant's scoring lock (shared by per-item refreshes, exclusive for whole-month
# rewrites), then each person's lock (ascending ids, in one statement: the changed people
# and every leader above them, lock_people), then month rows (ascending employee ids),
# and last the audit chain's lock (7350) at commit. Declarations of people with no leader
# in common so run side by side; under one leader they take turns (the leader's row is
# computed from the others' stored rows); only a recalculation waits for them all.
SCORING_LOCK, PERSON_LOCK = 7352, 7351


def lock_scoring() -> None:
    """The tenant's scoring lock, exclusively: a whole-month rewrite waits for every
    refresh under way (they hold it shared, lock_for_refresh) and holds new ones off."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite writes one transaction at a time anyway
    db.session.execute(text(f"SELECT pg_advisory_xact_lock({SCORING_LOCK}, CAST(:t AS integer))"),
                       {"t": current_tenant_id()})


def lock_tenants_scoring(tenant_ids: Iterable[int]) -> None:
    """Several tenants' scoring locks, exclusively, in ascending order, in one statement: a
    tenant merger rewrites both tenants' scored rows and the target's heat-map sums, so
    the refreshes under way in either finish first and new ones wait for its commit."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted(set(tenant_ids))
    calls = [f"pg_advisory_xact_lock({SCORING_LOCK}, CAST(:t{n} AS integer))" for n in range(len(ids))]
    db.session.execute(text("SELECT " + ", ".join(calls)), {f"t{n}": tid for n, tid in enumerate(ids)})


# A select list holds at most 1,664 entries (PostgreSQL): locks go 1,000 to a statement.
LOCKS_PER_STATEMENT = 1000


def lock_for_refresh(employee_ids: Iterable[int]) -> None:
    """The shared scoring lock, then each person's in ascending order, in one round trip
    per 1,000 people (a select list is evaluated left to right, and the statements run
    in order, so the order above holds)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({eid % 2_147_483_647 for eid in employee_ids})
    first = True
    for start in range(0, max(len(ids), 1), LOCKS_PER_STATEMENT):
        chunk = ids[start:start + LOCKS_PER_STATEMENT]
        calls = [f"pg_advisory_xact_lock_shared({SCORING_LOCK}, CAST(:t AS integer))"] if first else []
        calls += [f"pg_advisory_xact_lock({PERSON_LOCK}, CAST(:e{n} AS integer))" for n in range(len(chunk))]
        params = {"t": current_tenant_id()} if first else {}
        db.session.execute(text("SELECT " + ", ".join(calls)), params | {f"e{n}": eid for n, eid in enumerate(chunk)})
        first = False


def recalculate(period: str, progress: Callable[..., None] | None = None) -> dict:
    """Re-score every item of the month and re-aggregate, in the caller's transaction."""
    lock_scoring()
    if db.session.get_bind().dialect.name == "postgresql":
        # The month's GROUP BYs (per person and day, per person and week) hold a row per
        # group: 4 MB spilled them to disk at 5,000 people. For this transaction only.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    if is_closed(period):
        raise Conflict(f"The period {period} is closed; reopen it to recalculate.", {"period": ["Closed."]},
                       code="period_closed")
    scheme = scheme_for(period)
    items = score_items(scheme, (lambda d, t: progress(d, t, "scoring")) if progress else None)
    people = aggregate(scheme)
    from core.mergers.units import restore_period_units

    restore_period_units(period, scheme.start)  # a month before a unit merge keeps its old units
    from core.dashboards.aggregates import write_week_hours

    write_week_hours(period)  # the heat map's hours per person and week, units as just restored
    mark_scored(scheme)
    if progress:
        progress(items, items, "done")
    return {"period": period, "items": items, "employees": people, "variant": scheme.stamp()}


def moved_version(scheme: Scheme, employee_ids: Iterable[int]) -> str | None:
    """Why these people's month may not be refreshed piece by piece, or None: the month
    was scored by another component or version than the one in force now (a plugin
    upgraded, or another component chosen). Re-scoring only the changed items would leave
    the month half one version and half the other and stamp it with the new one, so
    the month is marked stale instead and recalculated whole (the nightly job). The
    month's own stamp decides; a month never fully recalculated, these people's rows."""
    stamp = scheme.stamp()
    now = (stamp["key"], stamp["version"])
    row = db.session.execute(select(ScoredPeriod.variant_key, ScoredPeriod.variant_version)
                             .where(ScoredPeriod.period == scheme.period)).first()
    if row is None or row.variant_key is None:
        from core.mergers.scoring import moved_in_month

        # A person a tenant merger moved has a row by the other tenant's rule, rightly.
        ids = list(employee_ids)
        moved = moved_in_month(scheme, ids)
        ids = [i for i in ids if i not in moved]
        row = db.session.execute(select(PeriodScore.variant_key, PeriodScore.variant_version).where(
            PeriodScore.period == scheme.period, PeriodScore.employee_id.in_(ids),
            (PeriodScore.variant_key != now[0]) | (PeriodScore.variant_version != now[1])).limit(1)).first() \
            if ids else None
    if row is None or (row.variant_key, row.variant_version) == now:
        return None
    return (f"The month was scored with '{row.variant_key}' version {row.variant_version}; the scoring variant "
            f"in force is '{now[0]}' version {now[1]}: the month is recalculated whole, never item by item.")


def refresh_items(item_ids: list[int]) -> None:
    """Incremental update after items changed: their rows and their employees' (and
    leaders') month aggregates, in the same transaction."""
    rows = db.session.execute(select(WorkItem.id, WorkItem.employee_id, WorkItem.work_date)
                              .where(WorkItem.id.in_(item_ids))).all()
    by_month: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        by_month[month_of(row.work_date)].add(row.employee_id)
    scope = lock_people(set().union(*by_month.values()) if by_month else set())
    gone = set(item_ids) - {r.id for r in rows}
    if gone:
        db.session.execute(delete(ItemScore).where(ItemScore.work_item_id.in_(list(gone))),
                           execution_options={"synchronize_session": False})
    for period, employees in by_month.items():
        if is_closed(period):
            continue
        scheme = scheme_for(period)
        moved = moved_version(scheme, employees)
        if moved is not None:
            from core.scoring.services import mark_stale

            mark_stale([period], moved)
            continue
        ids = [r.id for r in rows if month_of(r.work_date) == period]
        score_items(scheme, item_ids=ids)
        aggregate(scheme, employees, scope)
        from core.dashboards.aggregates import write_week_hours

        write_week_hours(period, employees)  # the heat map's hours of these people's month


def month_range(first: date, last: date) -> list[str]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(month_of(day))
        day = (day + timedelta(days=32)).replace(day=1)
    return out
