"""The month pipeline: items → components (the tenant's variant, in Python batches or one
SQL statement) → sums per employee (SQL GROUP BY) → period scores (the variant, once per
employee), for a whole month (recalculate) or the people whose items changed
(refresh_items), built on the kernel (core/scoring/kernel.py), the merger-aware rules
(core/scoring/sides.py), the refresh's scope and the scoring locks.

Nothing here loads one ORM object or runs one query per item. A full recalculation
streams the month's items in batches, bulk-writes their component rows and
re-aggregates, all in the caller's transaction, so it replaces its output atomically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Float, bindparam, cast, delete, func, insert, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.bulk import copy_rows
from core.catalogue.models import TaskType
from core.dashboards.aggregates import write_week_hours
from core.errors import Conflict
from core.extensions import db
from core.mergers.units import restore_period_units
from core.plugins.sql import SqlItem
from core.scoring import stamps
from core.scoring.kernel import (
    BATCH,
    ITEM_SCORE_COLUMNS,
    Person,
    Scheme,
    as_of_for,
    component_sums,
    deputy_fields,
    field_members,
    general_scores,
    is_closed,
    items_select,
    leader_facts,
    leadership_fact,
    month_of,
    of_people,
    people_in,
    per_day,
    scheme_for,
    score_rows,
    subtree,
    unit_tree,
    working_days,
)
from core.scoring.locks import lock_scoring
from core.scoring.models import MAX_COMPONENTS, ItemScore, PeriodScore, ScoredPeriod
from core.scoring.scope import Scope, lock_people, month_scope, read_scope
from core.scoring.sides import item_scorer, month_rules, moved_in_month
from core.scoring.stale import mark_stale
from core.tenancy import current_tenant_id
from core.timeutil import utcnow
from core.work import calendar as cal
from core.work.models import WorkItem


def score_items(scheme: Scheme, progress: Callable[[int, int], None] | None = None,
                employee_ids: Iterable[int] | None = None, item_ids=None) -> int:
    """(Re)write the component rows of the month's items; returns how many were scored.
    Items stream from a server-side cursor in batches and their rows go in with COPY."""
    tenant = cal.current_tenant()
    as_of = as_of_for(scheme, tenant)
    if employee_ids is not None and item_ids is None and progress is None and item_scorer(scheme) is None:
        rewritten = _rescore_people_in_sql(scheme, tenant, as_of, list(employee_ids))
        if rewritten is not None:
            return rewritten
    stale = delete(ItemScore).where(ItemScore.work_date >= scheme.start, ItemScore.work_date <= scheme.end)
    if employee_ids is not None:
        stale = stale.where(of_people(employee_ids, scheme.start, scheme.end))
    if item_ids is not None:
        stale = delete(ItemScore).where(ItemScore.work_item_id.in_(list(item_ids)))
    db.session.execute(stale, execution_options={"synchronize_session": False})
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
        rows = score_rows(scheme, batch, tenant, as_of) if by_merger is None else by_merger(batch, tenant, as_of)
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
    group = [written.c.employee_id] + ([written.c.work_date] if per_day(scheme) else [])
    sums = [func.coalesce(func.sum(written.c[col.name]), 0.0) for col in scheme.columns]
    scheme.fresh_sums = conn.execute(select(*group, func.count(), *sums).group_by(*group)).all()
    return sum(row[len(group)] for row in scheme.fresh_sums)


def _rescore_people_in_sql(scheme: Scheme, tenant, as_of: date, employee_ids: list[int]) -> int | None:
    """Re-score these people's month in one statement that writes only what changed: new
    items' rows inserted, rows whose components (or variant, settings) differ updated,
    rows of items gone or cancelled deleted. The scorer re-scores a person's whole month
    for every batch that names them (an unfinished item's timeliness moves with the day),
    so rewriting every row made each declaration cost its person's month of rows — a
    hundred and more by the month's end — in heap, index and WAL writes. PostgreSQL with
    the variant's SQL only (None: the caller's delete-and-insert path)."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return None
    columns = {c.name: c for c in WorkItem.__table__.c} | {"task_type_code": TaskType.code, "group": TaskType.group}
    exprs = scheme.variant.item_components_sql(SqlItem(columns, tenant.timezone, as_of), scheme.chosen.settings)
    if exprs is None:
        return None
    tid = current_tenant_id()
    stamp = scheme.stamp()
    values = [cast(exprs[name], Float) for name in scheme.names]
    values += [literal(0.0, Float)] * (MAX_COMPONENTS - len(values))
    made = (literal(tid, BigInteger), WorkItem.id, WorkItem.employee_id, WorkItem.work_date, literal(stamp["key"]),
            literal(stamp["version"]), literal(stamp["settings_hash"]), *values)
    fresh = items_select(scheme.start, scheme.end, employee_ids, tid=literal(tid, BigInteger), columns=tuple(
        expr.label(name) for expr, name in zip(made, ITEM_SCORE_COLUMNS, strict=True))).order_by(None).cte("fresh")
    table = ItemScore.__table__
    kept = [name for name in ITEM_SCORE_COLUMNS if name not in ("tenant_id", "work_item_id")]
    added = (pg_insert(table).from_select(list(ITEM_SCORE_COLUMNS), select(*[fresh.c[n] for n in ITEM_SCORE_COLUMNS]))
             .on_conflict_do_nothing(index_elements=["tenant_id", "work_item_id"]).returning(table.c.work_item_id)
             .cte("added"))
    changed = (table.update()
               .where(table.c.tenant_id == fresh.c.tenant_id, table.c.work_item_id == fresh.c.work_item_id,
                      tuple_(*[table.c[n] for n in kept]).is_distinct_from(tuple_(*[fresh.c[n] for n in kept])))
               .values({n: fresh.c[n] for n in kept}).returning(table.c.work_item_id).cte("changed"))
    gone = (table.delete()
            .where(table.c.tenant_id == tid, table.c.work_date >= scheme.start, table.c.work_date <= scheme.end,
                   of_people(employee_ids, scheme.start, scheme.end),
                   ~select(fresh.c.work_item_id).where(fresh.c.work_item_id == table.c.work_item_id).exists())
            .returning(table.c.work_item_id).cte("gone"))
    counted = select(select(func.count()).select_from(fresh).scalar_subquery(),
                     select(func.count()).select_from(added).scalar_subquery(),
                     select(func.count()).select_from(changed).scalar_subquery(),
                     select(func.count()).select_from(gone).scalar_subquery())
    return conn.execute(counted).first()[0]


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
        ids, people, led_units, led_people = month_scope(scope, scheme, fields)
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
        facts = leader_facts(scheme, members, own, sums) | leadership_fact(generals.get(leader.id))
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


def mark_scored(scheme: Scheme) -> None:
    row = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == scheme.period))
    if row is None:
        row = ScoredPeriod(period=scheme.period)
        db.session.add(row)
    stamp = scheme.stamp()
    row.variant_key, row.variant_version, row.settings_hash = stamp["key"], stamp["version"], stamp["settings_hash"]
    row.stale, row.stale_reason, row.scored_at = False, None, utcnow()
    db.session.flush()


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
    restore_period_units(period, scheme.start)  # a month before a unit merge keeps its old units
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
            mark_stale([period], moved)
            continue
        ids = [r.id for r in rows if month_of(r.work_date) == period]
        score_items(scheme, item_ids=ids)
        aggregate(scheme, employees, scope)
        write_week_hours(period, employees)  # the heat map's hours of these people's month
