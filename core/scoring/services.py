"""Scores as people see them: lists, roll-ups, explanations, general criteria, period
close and reopen, what-if previews, and the recalculation job."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import unit_of_work
from core.audit.services import record
from core.auth.principal import Principal
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.jobs.runner import task
from core.org import directory
from core.org import services as org
from core.org.models import Employee
from core.periods import period_bounds
from core.plugins.manager import ComponentMissing, current_manager, current_tenant_slug
from core.scoring import engine, kernel, scorer, stamps
from core.scoring.models import (
    GENERAL_FIELDS,
    GeneralScore,
    ItemScore,
    PeriodScore,
    ScoredPeriod,
    ScoringStamp,
)
from core.scoring.scope import lock_people
from core.scoring.stale import mark_stale
from core.tenancy import current_tenant_id, tenant_context
from core.tenants import config_cache
from core.timeutil import utcnow
from core.txcache import pending
from core.webhooks import outbox as webhooks
from core.work import calendar as cal
from core.work.models import ClosedPeriod, WorkItem

# ---------------------------------------------------------------- incremental updates


def _months_of(facts: dict) -> dict:
    """The months a tenant's noted changes (core/unit_of_work.py `changed`) touch: (person,
    month) pairs of leave and deputies' fields, months of calendar days, people changed."""
    leave: set[tuple[int, str]] = set()
    for people, starts, ends in facts["spans"]:
        # An open field (no end) runs to this month, the tenant's: so does one that was open
        # before this change closed it (its months up to today change too).
        today = cal.local_today()
        known = [max(starts[0], today) if ends[0] is None else ends[0],
                 *(today if e is None else e for e in ends[1:])]
        for month in kernel.month_range(min(starts), max(known)):
            leave.update((pid, month) for pid in people)
    return {"leave": leave, "days": {kernel.month_of(d) for d in facts["days"]}, "people": facts["people"]}


def settle_facts(session: Session, noted: dict[int, dict]) -> None:
    """Step 1 of the commit (core/unit_of_work.py). Months whose facts changed in this
    transaction: a person's leave re-scores their month (and their leaders') now; a
    calendar day or a change of people marks the scored months stale, to be recalculated
    (they move everyone's numbers)."""
    for tid, facts in noted.items():
        if not (facts["spans"] or facts["days"] or facts["people"]):
            continue
        session.flush()
        # Per tenant: the commit may come after the block that set the tenant has ended.
        if tid == current_tenant_id():
            _settle_tenant_facts(_months_of(facts))
        else:
            with tenant_context(tid):
                _settle_tenant_facts(_months_of(facts))


def settle_changed_facts() -> None:
    """Settle now what this transaction changed among people, leave and calendar days
    (the commit would): for a writer that adds people, then scores every month itself
    (the demo), so its fresh scores are not marked stale by its own earlier writes."""
    settle_facts(db.session(), pending().pop("facts", None) or {})


def people_changed() -> None:
    """The tenant's people changed outside the ORM (a staff import writes in bulk): the
    months with scores go stale, as a noted change of people would (core/unit_of_work.py)."""
    _settle_tenant_facts({"leave": set(), "days": set(), "people": True})


def _settle_tenant_facts(facts: dict) -> None:
    closed = set(db.session.scalars(select(ClosedPeriod.period)))
    candidates = set(facts["days"])
    if facts["people"]:
        today = cal.local_today(cal.current_tenant())
        candidates |= set(db.session.scalars(select(ScoredPeriod.period)))
        candidates |= {kernel.month_of(today), kernel.month_of(today.replace(day=1) - timedelta(days=1))}
    # Only months that have scores to go stale (a refresh writes rows before any full run).
    stale = set(db.session.scalars(select(PeriodScore.period).where(
        PeriodScore.period.in_(sorted(candidates - closed))).distinct())) if candidates - closed else set()
    if stale:
        mark_stale(stale, "The tenant's calendar or its people (leaders, units, employment) changed; "
                          "recalculate the month.")
    by_month: dict[str, set[int]] = {}
    for pid, month in facts["leave"]:
        if month not in closed and month not in stale:
            by_month.setdefault(month, set()).add(pid)
    for month, people in sorted(by_month.items()):
        try:
            scheme = kernel.scheme_for(month)
        except ComponentMissing as exc:
            mark_stale([month], exc.message)
            continue
        moved = engine.moved_version(scheme, people)
        if moved is not None:
            mark_stale([month], moved)
            continue
        engine.aggregate(scheme, people, lock_people(people))


def score_items(session: Session, events: list[tuple[int, int, str]]) -> set[int]:
    """Step 2 of the commit (core/unit_of_work.py): the work items this transaction
    changed (tenant, item id, change). Deferred: a mark per (person, month) commits with
    the items, and a scorer re-scores them and their leaders after the commit
    (core/scoring/scorer.py); returns the tenants to wake. Embedded: the items and their
    employees' months are re-scored now, so scores are never behind the work they measure."""
    if scorer.deferred():
        return scorer.mark_items(session, events)
    try:
        # Locks: engine.refresh_items takes the person-level ones (see locks.SCORING_LOCK),
        # so declarations of different people do not wait for each other here.
        engine.refresh_items(sorted({item_id for _, item_id, _ in events}))
    except ComponentMissing as exc:
        # Work goes on; the month is marked stale so admins see why it has no scores.
        months = {kernel.month_of(d) for d in db.session.scalars(
            select(ItemScore.work_date).where(ItemScore.work_item_id.in_([i for _, i, _ in events])))}
        mark_stale(months or {kernel.month_of(cal.local_today())}, exc.message)
    return set()


# ---------------------------------------------------------------- reading scores


def period_view(row: PeriodScore, pending: bool = False) -> dict:
    """A stored month row; `pending`: the person's month has changes a scorer has not
    taken yet (core/scoring/scorer.py), so the numbers are the last refresh's."""
    return {"employee_id": row.employee_id, "period": row.period, "task_score": float(row.task_score),
            "general_score": None if row.general_score is None else float(row.general_score),
            "total": float(row.total), "components": row.components,
            "variant": {"key": row.variant_key, "version": row.variant_version, "settings_hash": row.settings_hash},
            "provisional": row.provisional, "item_count": row.item_count, "working_days": row.working_days,
            "pending": pending, "refreshed_at": row.computed_at}


def _visible_ids_clause(principal: Principal, employee_id: int | None, unit_id: int | None,
                        on: date | None = None):
    clauses = []
    visible = org.visible_employees_filter(principal)
    if visible is not None:
        clauses.append(visible)
    if employee_id is not None:
        clauses.append(Employee.id == employee_id)
    if unit_id is not None and on is not None:
        from core.mergers.units import in_units_on

        # The unit as it was on the period's first day (unit merges move people).
        clauses.append(in_units_on(org.unit_subtree_ids(unit_id), on))
    elif unit_id is not None:
        clauses.append(Employee.unit_id.in_(org.unit_subtree_ids(unit_id)))
    return clauses


def scores(principal: Principal, period: str, employee_id: int | None = None, unit_id: int | None = None,
           page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """Scores of the people the caller may see: months from the stored aggregates, a
    year as the mean of its months with items, any other period computed from items."""
    try:
        start, end = period_bounds(period)
    except ValueError as exc:
        raise Invalid("Not a period.", {"period": ["Use 2026-10, 2026-Q4, 2026, 2026-W43 or 2026-10-27."]}) from exc
    ids_stmt = (select(Employee.id).where(*_visible_ids_clause(principal, employee_id, unit_id, start))
                .order_by(Employee.id))
    ids = list(db.session.scalars(ids_stmt))
    total = len(ids)
    ids = ids[(page - 1) * per_page: page * per_page]
    if not ids:
        return [], total
    if kernel.is_month(period):
        rows = db.session.scalars(select(PeriodScore).where(PeriodScore.period == period,
                                                            PeriodScore.employee_id.in_(ids))
                                  .order_by(PeriodScore.employee_id))
        pending = scorer.pending_people(period, ids)  # one read for the page of people
        return [period_view(r, r.employee_id in pending) for r in rows], total
    if len(period) == 4:
        return year_scores(period, ids, quarterly=_quarterly(ids)), total
    if len(period) == 7 and period[5] == "Q":
        # People whose agency evaluates by quarters: the quarter rolled up from its months
        # (general criteria included); the others as before, scored from the quarter's items.
        quarterly = _quarterly(ids)
        if quarterly:
            rolled = quarter_scores(period, [i for i in ids if i in quarterly])
            rest = range_scores(period, start, end, [i for i in ids if i not in quarterly]) \
                if len(quarterly) < len(ids) else []
            return sorted(rolled + rest, key=lambda r: r["employee_id"]), total
    return range_scores(period, start, end, ids), total


def by_quarters(ids: list[int]) -> set[int]:
    """Of ``ids``, the people whose agency evaluates by quarters (none by default, no query)."""
    return _quarterly(ids)


def _quarterly(ids: list[int]) -> set[int]:
    from core.classification.procedure import period_kinds, quarterly_people

    default, own = period_kinds()
    if default == "month" and "quarter" not in own.values():
        return set()  # the default: no query
    return quarterly_people(dict(db.session.execute(select(Employee.id, Employee.unit_id).where(
        Employee.id.in_(ids))).all())) if ids else set()


def is_quarter(period: str) -> bool:
    """2026-Q2 (a quarter), as opposed to a month or a year."""
    return len(period) == 7 and period[4:6] == "-Q" and period[6] in "1234" and period[:4].isdigit() \
        and 2000 <= int(period[:4]) <= 2100


def quarter_generals(quarters: list[str], ids: Iterable[int]) -> dict[tuple[int, str], Decimal]:
    """The general criteria a manager set for whole quarters: {(person, quarter): total}, one read."""
    ids = list(ids)
    if not ids or not quarters:
        return {}
    return {(g.employee_id, g.period): g.total for g in db.session.scalars(select(GeneralScore).where(
        GeneralScore.period.in_(quarters), GeneralScore.employee_id.in_(ids), GeneralScore.set_at.is_not(None)))
        if g.total is not None}


def quarter_of(month: str) -> str:
    """2026-11 → 2026-Q4."""
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def quarter_months(quarter: str) -> list[str]:
    """2026-Q4 → 2026-10, 2026-11, 2026-12."""
    n = int(quarter[6])
    return [f"{quarter[:4]}-{m:02d}" for m in range(3 * n - 2, 3 * n + 1)]


def _mean2(values: list) -> float:
    return float(kernel.round2(sum(float(x) for x in values) / len(values)))


def rollup(rows: list[Any], general: Decimal | None = None) -> dict[str, Any]:
    """A period made of months (a quarter, or a year): the mean of the months' task, general
    and total scores over the months with items (our rule, as the year's); provisional when
    any of them is. With ``general`` — the criteria a manager set for the whole quarter — the
    quarter's general score is that, its total the task mean plus it, and a month is no
    longer provisional for lacking criteria of its own."""
    if general is not None:
        task = _mean2([m.task_score for m in rows])
        return {"task_score": task, "general_score": float(general),
                "total": float((Decimal(str(task)) + general).quantize(Decimal("0.01"))),  # exact: 2 decimals each
                "provisional": any(m.provisional and m.general_score is not None for m in rows),
                "item_count": sum(m.item_count for m in rows), "working_days": sum(m.working_days for m in rows)}
    return {"task_score": _mean2([m.task_score for m in rows]),
            "general_score": _mean2([m.general_score or 0 for m in rows]), "total": _mean2([m.total for m in rows]),
            "provisional": any(m.provisional for m in rows), "item_count": sum(m.item_count for m in rows),
            "working_days": sum(m.working_days for m in rows)}


def quarter_scores(quarter: str, ids: list[int], periods: list[str] | None = None) -> list[dict]:
    """A quarter of a person evaluated by quarters, rolled up from its months with items
    (stored month rows, one query); ``periods`` limits the months (the procedure's counted
    months: a quarter in progress counts to date)."""
    months = [m for m in quarter_months(quarter) if periods is None or m in periods]
    by_person: dict[int, list[PeriodScore]] = {}
    if ids and months:
        for row in db.session.scalars(select(PeriodScore).where(
                PeriodScore.period.in_(months), PeriodScore.employee_id.in_(ids), PeriodScore.item_count > 0)
                .order_by(PeriodScore.employee_id, PeriodScore.period)):
            by_person.setdefault(row.employee_id, []).append(row)
    generals = quarter_generals([quarter], by_person)
    out = []
    for pid in ids:
        rows = by_person.get(pid)
        if not rows:
            continue
        out.append({"employee_id": pid, "period": quarter, **rollup(rows, generals.get((pid, quarter))),
                    "components": {"months": {m.period: float(m.total) for m in rows}},
                    "variant": {"key": rows[-1].variant_key, "version": rows[-1].variant_version,
                                "settings_hash": rows[-1].settings_hash},
                    "pending": False, "refreshed_at": max((m.computed_at for m in rows if m.computed_at), default=None)})
    return out


def year_scores(year: str, ids: list[int], periods: list[str] | None = None,
                quarterly: set[int] | frozenset[int] = frozenset()) -> list[dict]:
    """Annual total = mean of the totals of the months in which the person had items (our
    rule); with ``periods``, only those months count (the evaluation procedure's months).
    For the people in ``quarterly`` (their agency evaluates by quarters) it is the mean of
    the quarters with items, each the mean of its months with items."""
    stmt = select(PeriodScore).where(PeriodScore.period.like(f"{year}-%"),
                                     PeriodScore.employee_id.in_(ids), PeriodScore.item_count > 0)
    if periods is not None:
        stmt = stmt.where(PeriodScore.period.in_(periods))
    rows = db.session.scalars(stmt)
    by_person: dict[int, list[PeriodScore]] = {}
    pending = scorer.pending_people(year, ids)
    for row in rows:
        by_person.setdefault(row.employee_id, []).append(row)
    generals = quarter_generals([f"{year}-Q{n}" for n in range(1, 5)], [i for i in by_person if i in quarterly])
    out = []
    for pid in ids:
        months = sorted(by_person.get(pid, []), key=lambda r: r.period)
        if not months:
            continue
        mean = lambda xs: float(kernel.round2(sum(float(x) for x in xs) / len(xs)))  # noqa: E731
        components: dict[str, Any] = {"months": {m.period: float(m.total) for m in months}}
        if pid in quarterly:
            quarters: dict[str, list[PeriodScore]] = {}
            for m in months:
                quarters.setdefault(quarter_of(m.period), []).append(m)
            parts = {q: rollup(rows, generals.get((pid, q))) for q, rows in quarters.items()}
            components["quarters"] = {q: part["total"] for q, part in parts.items()}
            task = mean([p["task_score"] for p in parts.values()])
            general = mean([p["general_score"] for p in parts.values()])
            total = mean([p["total"] for p in parts.values()])
            provisional = any(p["provisional"] for p in parts.values())
        else:
            task, general = mean([m.task_score for m in months]), mean([m.general_score or 0 for m in months])
            total = mean([m.total for m in months])
            provisional = any(m.provisional for m in months)
        out.append({"employee_id": pid, "period": year, "task_score": task, "general_score": general, "total": total,
                    "components": components,
                    "variant": {"key": months[-1].variant_key, "version": months[-1].variant_version,
                                "settings_hash": months[-1].settings_hash},
                    "provisional": provisional, "item_count": sum(m.item_count for m in months),
                    "working_days": sum(m.working_days for m in months),
                    "pending": pid in pending,
                    "refreshed_at": max((m.computed_at for m in months if m.computed_at), default=None)})
    from core.scoring.sides import combine_years

    # People a tenant merger moved: both sides weighted by months (by quarters within a side
    # for a quarterly person).
    return combine_years(year, out, by_person, quarterly)


def range_scores(period: str, start: date, end: date, ids: list[int]) -> list[dict]:
    """A day, ISO week or quarter, from the stored item components (SQL sums), scored by
    the variant in force at its start; general criteria belong to months, so none here."""
    scheme = kernel.scheme_for(kernel.month_of(start))
    sums = kernel.component_sums(scheme, ids, start, end)
    people = kernel.people_in(start, end, ids)
    days = kernel.working_days(people, start, end)
    out = []
    empty = {n: 0.0 for n in scheme.names} | {"_items": 0}
    for p in people:
        s = sums.get(p.id, empty)
        result = scheme.variant.period_score({n: s.get(n, 0.0) for n in scheme.names}, scheme.chosen.settings,
                                             {"working_days": days[p.id], "period": period, "is_leader": False})
        task = float(kernel.round2(kernel.checked_task_score(scheme.chosen, result, period)))
        out.append({"employee_id": p.id, "period": period, "task_score": task, "general_score": None,
                    "total": task, "components": result.get("components", {}),
                    "variant": {"key": scheme.stamp()["key"], "version": scheme.stamp()["version"],
                                "settings_hash": scheme.stamp()["settings_hash"]},
                    "provisional": True, "item_count": int(s.get("_items", 0)), "working_days": days[p.id]})
    from core.scoring.sides import combine_range

    out = combine_range(period, start, end, scheme, people, out)  # a tenant merger's date inside the range
    return sorted(out, key=lambda r: r["employee_id"])


def unit_summary(principal: Principal, period: str, unit_id: int | None) -> dict:
    """Mean, median and count per band of the month's totals (a unit or the tenant)."""
    rows, _ = scores(principal, period, unit_id=unit_id, per_page=10**7)
    totals = [r["total"] for r in rows if r["item_count"]]
    variant = kernel.scheme_for(period).variant  # the bands are the rule's (its total_bands)
    bands = {name: 0 for name, _ in variant.total_bands}
    for t in totals:
        bands[variant.band(t)] += 1
    return {"period": period, "unit_id": unit_id, "people": len(totals),
            "mean": round(statistics.fmean(totals), 2) if totals else None,
            "median": round(statistics.median(totals), 2) if totals else None, "bands": bands}


# ---------------------------------------------------------------- explain


def explain(principal: Principal, employee_id: int, period: str) -> dict:
    """Every item of the month with each factor that produced its score, and the period
    formula with its numbers, so the employee can check the score by hand. A person a
    tenant merger moved is explained by the rule of the tenant they were in: each item
    by its date, the month by its parts and their weighting (core/mergers/explain.py).

    A scored month is explained from its own stamp: the words kept with it when it was
    scored (core/scoring/stamps.py) name its rule, settings and numbers, so a closed month
    reads as it was decided after an upgrade, and still reads when the plugin is gone."""
    if not org.can_see_employee(principal, employee_id):
        raise NotFound("Employee not found.")
    from core.mergers.explain import merger_formula
    from core.scoring.sides import sides_of

    start, end = kernel.parse_month(period)
    stored = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == employee_id,
                                                         PeriodScore.period == period))
    try:
        current = kernel.scheme_for(period)
    except ComponentMissing:
        if stored is None:
            raise  # nothing scored to explain, and no rule to explain it by
        current = None  # the plugin is gone: the stored month speaks for itself
    sides = sides_of(current, employee_id) if current is not None else []
    scheme = sides[-1][0].scheme if sides else None  # the last side's rule: the month's, unless all before a merger
    if len(sides) == 1 and not kernel.is_closed(period):
        # An open month is explained by the rule in force: one that gives this person's
        # sums a task score out of bounds is refused here too, not shown beside old numbers.
        kernel.person_task_score(scheme, employee_id)
    rows = db.session.execute(kernel.items_select(start, end, [employee_id], extra=(WorkItem.title,))).all()
    item_scores = {s.work_item_id: s for s in db.session.scalars(
        select(ItemScore).where(ItemScore.work_item_id.in_([r.id for r in rows])))}
    kept = _kept_stamps({(s.variant_key, s.variant_version, s.settings_hash) for s in item_scores.values()}
                        | ({(stored.variant_key, stored.variant_version, stored.settings_hash)} if stored else set()))
    month_words = _words(kept, stored, scheme)
    tenant = cal.current_tenant()
    as_of = min(cal.local_today(tenant), end)
    items = []
    for row in rows:
        side = next((side for side, lo, hi in sides if lo <= row.work_date <= hi), None)
        by = side.scheme if side is not None else None  # the item's rule: the tenant its person was in on its date
        facts = kernel.item_facts(row, side.tenant if side is not None else tenant, as_of)
        stored_item = item_scores.get(row.id)
        if stored_item is not None:
            stamp = (stored_item.variant_key, stored_item.variant_version, stored_item.settings_hash)
            names = _item_names(kept.get(stamp), by, stamp, month_words)
            score = {name: getattr(stored_item, f"c{i}") for i, name in enumerate(names)}
            rule = dict(zip(("key", "version", "settings_hash"), stamp, strict=True))
        elif by is not None:
            score, rule = by.variant.score_items([facts], by.chosen.settings)[0], by.stamp()
        else:
            score, rule = {}, None  # an item added after the month was scored, its rule gone
        items.append({"id": row.id, "title": row.title, "work_date": row.work_date,
                      "factors": {k: _plain(v) for k, v in facts.items() if k not in ("id", "title")},
                      "score": score, "rule": rule})
    general = db.session.scalar(select(GeneralScore).where(GeneralScore.employee_id == employee_id,
                                                           GeneralScore.period == period))
    merger = merger_formula(sides, stored) if len(sides) > 1 else None
    components = stored.components if stored else None
    formula = {
        "variant": month_words["variant"], "title": month_words["title_vi"],
        "title_en": month_words["title_en"], "settings": month_words["settings"],
        "description": _fill(month_words["description_vi"], month_words["settings"], "vi"),
        "description_en": _fill(month_words["description_en"], month_words["settings"], "en"),
        "labels": month_words["labels"],
        # Whether the month was scored by the version in force today (its settings may differ).
        "current": current is not None and all(current.stamp()[k] == month_words["variant"][k]
                                               for k in ("key", "version")),
        # A month cut by a merger has sums and components per part (merger.parts), not for the whole.
        "sums": stored.sums if stored and merger is None else None,
        "working_days": stored.working_days if stored else None,
        "components": components if merger is None else None,
        "task_score": float(stored.task_score) if stored else None,
        "general": general_view(general) if general else None,
        "general_score": float(stored.general_score) if stored and stored.general_score is not None else None,
        "total": float(stored.total) if stored else None,
        # The bounds come from the rule in force; a month whose plugin is gone states the sum alone.
        "task_score_max": scheme.variant.task_score_max if scheme is not None else None,
        "total_rule": (f"total = general criteria (≤ {100 - scheme.variant.task_score_max:g}) + task score "
                       f"(≤ {scheme.variant.task_score_max:g})") if scheme is not None
                      else "total = general criteria + task score",
        "provisional": stored.provisional if stored else True,
        "merger": merger,
    }
    if len(sides) == 1 and sides[0][0].record is not None:
        formula["tenant"] = sides[0][0].slug  # a month wholly before the merger: the source's rule
    return {"employee_id": employee_id, "period": period, "items": items, "formula": formula}


def _kept_stamps(wanted: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict]:
    """The words kept for these stamps (one query), by (key, version, settings hash)."""
    if not wanted:
        return {}
    rows = db.session.scalars(select(ScoringStamp).where(
        ScoringStamp.variant_key.in_({w[0] for w in wanted}),
        ScoringStamp.variant_version.in_({w[1] for w in wanted}),
        ScoringStamp.settings_hash.in_({w[2] for w in wanted})))
    return {(r.variant_key, r.variant_version, r.settings_hash): stamps.view(r) for r in rows
            if (r.variant_key, r.variant_version, r.settings_hash) in wanted}


def _words(kept: dict, stored: PeriodScore | None, scheme: engine.Scheme | None) -> dict:
    """The words of the month's rule: its stored stamp's when it has one, else the rule in
    force (a month not scored yet). A month scored before words were kept, by a version
    no longer installed, is named by its stamp alone."""
    if stored is not None:
        stamp = (stored.variant_key, stored.variant_version, stored.settings_hash)
        if stamp in kept:
            return kept[stamp]
        if scheme is not None and tuple(scheme.stamp().values()) == stamp:
            return stamps.live_view(scheme.chosen)
        if scheme is not None and tuple(scheme.stamp().values())[:2] == stamp[:2]:
            # The same code with other settings: its words, not today's settings.
            return {**stamps.live_view(scheme.chosen), "variant": dict(zip(("key", "version", "settings_hash"), stamp,
                                                                           strict=True)),
                    "settings": {}, "description_vi": "", "description_en": ""}
        return {"variant": dict(zip(("key", "version", "settings_hash"), stamp, strict=True)), "settings": {},
                "item_components": [], "title_vi": stored.variant_key, "title_en": stored.variant_key,
                "description_vi": "", "description_en": "", "labels": {"results": {}, "settings": {}}}
    assert scheme is not None  # scheme_for raised when neither exists
    return stamps.live_view(scheme.chosen)


def _item_names(words: dict | None, by: engine.Scheme | None, stamp: tuple, month: dict) -> list[str]:
    """The names of a stored item's c0, c1 …: from its stamp's words, else from the rule in
    force when that is the same version, else the month's."""
    if words is not None and words["item_components"]:
        return list(words["item_components"])
    if by is not None and (by.stamp()["key"], by.stamp()["version"]) == stamp[:2]:
        return list(by.names)
    return list(month["item_components"])


def _fill(text: str, settings: dict, locale: str) -> str:
    from core.plugins.forms import fill_description

    yes, no = ("có", "không") if locale == "vi" else ("yes", "no")
    return fill_description(text, settings, locale, yes, no)


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- general criteria


def general_view(g: GeneralScore) -> dict:
    def num(v):
        return None if v is None else float(v)

    return {"employee_id": g.employee_id, "period": g.period,
            **{f: num(getattr(g, f)) for f in GENERAL_FIELDS}, "comment": g.comment,
            "total": num(g.total), "leadership": num(g.leadership), "set_at": g.set_at,
            "proposal": {**{f: num(getattr(g, f"self_{f}")) for f in GENERAL_FIELDS}, "comment": g.self_comment,
                         "at": g.self_at}}


def _general_row(employee_id: int, period: str) -> GeneralScore:
    row = db.session.scalar(select(GeneralScore).where(GeneralScore.employee_id == employee_id,
                                                       GeneralScore.period == period))
    if row is None:
        row = GeneralScore(employee_id=employee_id, period=period)
        db.session.add(row)
    return row


def set_general(principal: Principal, employee_id: int, period: str, data: dict, own_proposal: bool) -> GeneralScore:
    """The manager sets the general criteria (or the employee proposes them for themself);
    the month's total is provisional until the manager has set them. For a person whose
    agency evaluates by quarters, ``period`` may be a quarter (2026-Q2): its criteria then
    make the quarter's general score (``rollup``), whatever its months hold."""
    quarter = is_quarter(period)
    if not quarter:
        kernel.parse_month(period)
    if not org.can_see_employee(principal, employee_id):
        raise NotFound("Employee not found.")
    if own_proposal:
        if principal.employee_id != employee_id:
            raise Forbidden("Only the employee proposes their own general criteria.")
    elif principal.employee_id is not None and principal.employee_id == employee_id:
        # Like self-review and self-classification: a leader "manages" their own unit, and
        # a tenant admin may be an employee too, but nobody scores themselves (the level
        # above sets a leader's criteria); one's own view is a proposal (…/self).
        raise Forbidden("Nobody sets their own general criteria; propose them instead.", code="self_review")
    elif not org.manages(principal, employee_id) and not principal.has_role("tenant_admin"):
        raise Forbidden("Only the employee's manager sets the general criteria.")
    if quarter:
        if employee_id not in _quarterly([employee_id]):
            raise Invalid("This person is evaluated by months: set the general criteria of each month.",
                          {"period": ["Use YYYY-MM: the person's agency evaluates by months."]})
        if all(kernel.is_closed(m) for m in quarter_months(period)):
            raise Conflict(f"The period {period} is closed.", {"period": ["Closed."]}, code="period_closed")
    elif kernel.is_closed(period):
        raise Conflict(f"The period {period} is closed.", {"period": ["Closed."]}, code="period_closed")
    row = _general_row(employee_id, period)
    before = general_view(row) if row.id else None
    prefix = "self_" if own_proposal else ""
    for field in GENERAL_FIELDS:
        setattr(row, prefix + field, Decimal(str(data[field])))
    setattr(row, prefix + "comment", data.get("comment"))
    if not own_proposal:
        # Only the evaluator scores a leader's leadership; a proposal leaves it alone.
        leadership = data.get("leadership")
        row.leadership = None if leadership is None else Decimal(str(leadership))
    if own_proposal:
        row.self_at = utcnow()
    else:
        row.set_at, row.set_by_id = utcnow(), principal.employee_id
    db.session.flush()
    record("general_score.propose" if own_proposal else "general_score.set", "general_score", row.id,
           before=before, after=general_view(row))
    if not own_proposal and not quarter:  # a quarter's criteria change no month row
        # The person's lock and their leaders', as a refresh takes them: a refresh of their
        # items under way would otherwise be overwritten by this month, summed from before
        # its items (and a leader's row by one that read this person's old row).
        scope = lock_people([employee_id])
        try:
            scheme = kernel.scheme_for(period)
            moved = engine.moved_version(scheme, [employee_id])
            if moved is not None:
                mark_stale([period], moved)
            else:
                engine.aggregate(scheme, [employee_id], scope)
        except ComponentMissing as exc:
            mark_stale([period], exc.message)
    return row


# ---------------------------------------------------------------- periods


def close_period(period: str, actor: str | None = None, why: dict | None = None) -> dict:
    """Close a month: its items refuse changes and its scores are frozen. `actor` is who
    the audit event names (default: the request's user, else "system"); `why` adds to
    the event what made a non-person close it (the scheduler: its job and rule)."""
    kernel.parse_month(period)
    if kernel.is_closed(period):
        raise Conflict(f"The period {period} is already closed.", {"period": ["Already closed."]})
    config_cache.changed()
    db.session.add(ClosedPeriod(period=period))
    db.session.flush()
    frozen = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == period))
    missing = general_missing([period])[period]["count"]
    # Who closed a month with provisional totals, and how many, is what an inspector asks
    # when a person's year comes out 30 points short: the event says it.
    record("period.close", "period", period, actor=actor,
           after={"period": period, "stale": bool(frozen and frozen.stale), **(why or {}),
                  **({"general_missing": missing} if missing else {})})
    from core.plugins.events import emit
    from core.tenancy import current_tenant_id

    emit("congvu_period_closed", tenant_id=current_tenant_id(), period=period)
    return period_state(period)


def reopen_period(period: str, reason: str) -> dict:
    kernel.parse_month(period)
    row = db.session.scalar(select(ClosedPeriod).where(ClosedPeriod.period == period))
    if row is None:
        raise Conflict(f"The period {period} is not closed.", {"period": ["Not closed."]})
    config_cache.changed()
    db.session.delete(row)
    db.session.flush()
    record("period.reopen", "period", period, before={"closed": True}, after={"closed": False, "reason": reason})
    return period_state(period)


UNITS_NAMED = 5  # how many units a month's missing general criteria name before "and N more"


def general_missing(periods: list[str]) -> dict[str, dict]:
    """Per month, the people who worked in it (a month row with items) and have no general
    criteria yet (Art. 12: up to 30 of the 100 points), and their units, most first. Rows
    without items are left out: an inspector's or an admin's account that declares nothing
    would otherwise hold every month open. Closing such a month freezes their
    total at the task score alone, so the close page says so and the scheduler waits (our
    rule, docs/scoring.md). Two reads for any number of months."""
    counts = db.session.execute(
        select(PeriodScore.period, PeriodScore.unit_id, func.count())
        .where(PeriodScore.period.in_(periods), PeriodScore.general_score.is_(None), PeriodScore.item_count > 0)
        .group_by(PeriodScore.period, PeriodScore.unit_id)).all()
    out: dict[str, dict] = {p: {"count": 0, "units": []} for p in periods}
    names = directory.unit_names({unit_id for _p, unit_id, _n in counts}) if counts else {}
    for period, unit_id, n in counts:
        out[period]["count"] += n
        out[period]["units"].append({"unit_id": unit_id, "name": names.get(unit_id, f"#{unit_id}"), "count": n})
    for entry in out.values():
        entry["units"].sort(key=lambda u: (-u["count"], u["name"]))
    return out


def period_state(period: str) -> dict:
    return period_states([period])[period]


def period_states(periods: list[str]) -> dict[str, dict]:
    """Each month's state (closed, stale, when and by which variant it was scored): two
    reads for any number of months, so a page listing a year asks twice, not per month."""
    scored = {s.period: s for s in db.session.scalars(select(ScoredPeriod).where(ScoredPeriod.period.in_(periods)))}
    closed = set(db.session.scalars(select(ClosedPeriod.period).where(ClosedPeriod.period.in_(periods))))
    return {period: _state(period, period in closed, scored.get(period)) for period in periods}


def _state(period: str, closed: bool, scored: ScoredPeriod | None) -> dict:
    return {"period": period, "closed": closed,
            "stale": bool(scored and scored.stale), "stale_reason": scored.stale_reason if scored else None,
            "scored_at": scored.scored_at if scored else None,
            "variant": {"key": scored.variant_key, "version": scored.variant_version} if scored and scored.variant_key
            else None}


# ---------------------------------------------------------------- what-if


def what_if(principal: Principal, period: str, key: str, settings: dict, unit_id: int | None = None) -> dict:
    """Score the month under another variant or settings without writing anything, side
    by side with the stored scores: per person and as a distribution."""
    manager = current_manager()
    chosen = manager.choose("scoring_variant", key, manager.validate_component("scoring_variant", key, settings),
                            current_tenant_slug())
    start, end = kernel.parse_month(period)
    scheme = kernel.Scheme(chosen, period, start, end)
    tenant = cal.current_tenant()
    as_of = kernel.as_of_for(scheme, tenant)
    visible = _visible_ids_clause(principal, None, unit_id)
    ids = list(db.session.scalars(select(Employee.id).where(*visible)))
    people = {p.id: p for p in kernel.people_in(start, end, ids)}
    sums: dict[int, dict[str, float]] = {}
    per_day = bool(getattr(scheme.variant, "per_day", False))
    daily: dict[tuple[int, date], dict[str, float]] = {}
    result = db.session.execute(kernel.items_select(start, end, list(people)).execution_options(yield_per=kernel.BATCH))
    for batch in result.partitions(kernel.BATCH):
        batch = list(batch)
        scored = scheme.variant.score_items([kernel.item_facts(r, tenant, as_of) for r in batch], chosen.settings)
        for row, comps in zip(batch, scored, strict=True):
            target = daily.setdefault((row.employee_id, row.work_date), {}) if per_day else \
                sums.setdefault(row.employee_id, {"_items": 0})
            for name in scheme.names:
                target[name] = target.get(name, 0.0) + float(comps.get(name, 0) or 0)
            target["_items"] = target.get("_items", 0) + 1
    for (pid, _), day_sums in daily.items():
        adjusted = scheme.variant.adjust_day(day_sums, chosen.settings)
        acc = sums.setdefault(pid, {"_items": 0})
        for name in scheme.names:
            acc[name] = acc.get(name, 0.0) + float(adjusted.get(name, 0))
        acc["_items"] += day_sums["_items"]
    days = kernel.working_days(list(people.values()), start, end)
    current = {r.employee_id: r for r in db.session.scalars(
        select(PeriodScore).where(PeriodScore.period == period, PeriodScore.employee_id.in_(list(people))))}
    rows = []
    for pid in sorted(people):
        s = sums.get(pid, {"_items": 0})
        preview = scheme.variant.period_score({n: s.get(n, 0.0) for n in scheme.names}, chosen.settings,
                                              {"working_days": days[pid], "period": period, "is_leader": False})
        now = current.get(pid)
        rows.append({"employee_id": pid, "item_count": int(s.get("_items", 0)),
                     "current_task_score": float(now.task_score) if now else None,
                     "preview_task_score": float(kernel.round2(kernel.checked_task_score(chosen, preview, period))),
                     "preview_components": preview.get("components", {})})
    note = "Task scores only (general criteria unchanged); nothing was saved."
    if _mark_moved(rows, current, start, end):
        note += (" For people a tenant merger moved (see 'merger'), the current score is the stored one, by each "
                 "tenant's rule on its side of the date; the preview applies the previewed variant to the whole month.")
    return {"period": period, "variant": chosen.stamp(), "people": rows,
            # Both sides binned by the previewed rule's edges, so they compare bin by bin.
            "distribution": {"current": _bands(chosen.component, [r["current_task_score"] for r in rows
                                                                  if r["item_count"]]),
                             "preview": _bands(chosen.component, [r["preview_task_score"] for r in rows
                                                                  if r["item_count"]])},
            "note": note}


def _mark_moved(rows: list[dict], current: dict[int, PeriodScore], start: date, end: date) -> bool:
    """Rows of people a tenant merger moved whose month (some of it, or all) was in
    another tenant: `merger` says whose rule scored which days of the current score."""
    from core.scoring.sides import Routes, records, spans

    found = records()
    if not any(r.effective > start for r in found):
        return False
    routes, slug, marked = Routes(found), current_tenant_slug(), False
    for row in rows:
        cut = spans(routes.of(row["employee_id"]), start, end)
        if len(cut) == 1 and cut[0][0] is None:
            continue
        stored = current.get(row["employee_id"])
        parts = (stored.components or {}).get("merger", {}).get("parts") if stored is not None else None
        row["merger"] = {
            "current": [{"from": lo.isoformat(), "to": hi.isoformat(),
                         "tenant": slug if record is None else record.source_slug} for record, lo, hi in cut],
            "current_parts": [{k: p.get(k) for k in ("from", "to", "tenant", "variant", "working_days", "task_score")}
                              for p in parts] if parts else None,
            "preview": "the previewed variant on every item of the month, whichever tenant the person was in"}
        marked = True
    return marked


def _bands(variant: Any, task_scores: list) -> dict:
    """Mean, median and the histogram of task scores, binned by the variant's
    task_histogram_edges (each bin [edge, next edge), the last one closed)."""
    values = [v for v in task_scores if v is not None]
    edges = variant.task_histogram_edges
    last = len(edges) - 2
    return {"count": len(values), "mean": round(statistics.fmean(values), 2) if values else None,
            "median": round(statistics.median(values), 2) if values else None,
            "histogram": [{"from": lo, "to": hi,
                           "count": sum(1 for v in values if lo <= v < hi or (i == last and v == hi))}
                          for i, (lo, hi) in enumerate(pairwise(edges))]}


# ---------------------------------------------------------------- the job


@task("recalculation", queue="scoring", timeout=1800)
def recalculation_task(progress, period: str) -> dict:
    """Idempotent: replaces the month's item and period scores in one transaction."""
    result = engine.recalculate(period, progress)
    summary = {k: v for k, v in result.items() if k != "variant"}
    record("scores.recalculate", "period", period, after=summary)
    webhooks.publish("month.scored", {"period": period, **summary})
    unit_of_work.commit()
    return result


