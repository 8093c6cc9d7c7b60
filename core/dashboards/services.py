"""What the dashboards show, computed from the stored aggregates.

Month scores come from `period_scores` (one row per person and month), days and weeks
from the summable item components in `item_scores` grouped in SQL, and the day's
declarations and queues from the work services. Every function issues a fixed number
of queries whatever the number of people: never one query per person or per unit.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, func, or_, select

from core.auth.principal import Principal
from core.dashboards import aggregates, counting, to_date
from core.dashboards.models import UnitWeekHours
from core.errors import Invalid
from core.extensions import db
from core.org import services as org
from core.org.models import Employee, OrgUnit
from core.plugins.components import LEVELS, ScoringVariant
from core.plugins.manager import ComponentMissing
from core.scoring import kernel
from core.scoring import services as scoring
from core.scoring.models import GeneralScore, ItemScore, PeriodScore
from core.work import calendar as cal
from core.work.models import OPEN_STATUSES, WorkItem
from core.work.services.queues import managed_items_clause

# Histogram bins of the month total (0–100), 10 points wide: finer than the four bands,
# so a manager sees whether the unit clusters just under a band edge.
BIN_WIDTH = 10
TREND_MONTHS = 12
TREND_WEEKS = 12
COMMUNE_KINDS = ("commune", "ward", "special_zone")
KIND_FILTERS = {"agency": ("agency", "department"), "commune": COMMUNE_KINDS}


def rule_of(period: str) -> ScoringVariant:
    """The scoring variant whose bands a month's stored totals are shown in: the one in
    force on the month's first day. A tenant with none usable (the pages say why) sees
    its stored totals in the bands of ScoringVariant's defaults. A quarter is shown in the
    bands of its first month's variant."""
    try:
        return kernel.scheme_for(period_months(period)[0]).variant
    except ComponentMissing:
        return ScoringVariant()


def check_month(period: str | None, today: date) -> str:
    """A YYYY-MM from a query string, or this month; a bad one is a 400, never a 500."""
    if not period:
        return kernel.month_of(today)
    try:
        kernel.parse_month(period)
    except Invalid:
        raise
    year = int(period[:4])
    if not 2000 <= year <= 2100:
        raise Invalid("Not a period.", {"period": ["Use YYYY-MM for a month."]})
    return period


def is_quarter(period: str) -> bool:
    """2026-Q4: a quarter (the dashboards of a tenant or agency evaluating by quarters)."""
    return len(period) == 7 and period[4:6] == "-Q" and period[6] in "1234" and period[:4].isdigit()


def quarterly_by_default(unit_id: int | None = None) -> bool:
    """Whether the dashboards open on the quarter: the tenant evaluates by quarters, or the
    unit's agency chose so (docs/procedure.md "Monthly or quarterly periods")."""
    try:
        from core.classification.procedure import period_kinds
        from core.classification.services import agency_of
    except ImportError:  # the classification package is optional to the dashboards
        return False
    default, own = period_kinds()
    if unit_id is None or not own:
        return default == "quarter"
    units = {u.id: (u.parent_id, u.kind) for u in db.session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}
    return own.get(agency_of(unit_id, units), default) == "quarter"


def check_period(period: str | None, today: date, quarterly: bool = False) -> str:
    """A month (YYYY-MM) or a quarter (YYYY-Qn); with none given, this month, or this
    quarter for a quarterly tenant or agency. A bad one is a 400/422, never a 500."""
    if period and is_quarter(period):
        if not 2000 <= int(period[:4]) <= 2100:
            raise Invalid("Not a period.", {"period": ["Use YYYY-MM for a month or YYYY-Qn for a quarter."]})
        return period
    if not period and quarterly:
        return scoring.quarter_of(kernel.month_of(today))
    return check_month(period, today)


def period_months(period: str) -> list[str]:
    return scoring.quarter_months(period) if is_quarter(period) else [period]


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a month or a quarter."""
    months = period_months(period)
    return kernel.parse_month(months[0])[0], kernel.parse_month(months[-1])[1]


def shift_period(period: str, steps: int) -> str:
    """The month or quarter ``steps`` away."""
    if not is_quarter(period):
        return shift_month(period, steps)
    index = int(period[:4]) * 4 + int(period[6]) - 1 + steps
    return f"{index // 4:04d}-Q{index % 4 + 1}"


def shift_month(period: str, months: int) -> str:
    index = int(period[:4]) * 12 + int(period[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def histogram(totals: list[float]) -> list[dict]:
    """People per 10 points. Counted by bisecting the sorted totals: the province page
    bins 50,000 of them per request."""
    ordered = sorted(totals)
    edges = [bisect_left(ordered, lo) for lo in range(0, 100, BIN_WIDTH)] + [len(ordered)]
    return [{"from": lo, "to": lo + BIN_WIDTH, "count": edges[i + 1] - edges[i]}
            for i, lo in enumerate(range(0, 100, BIN_WIDTH))]


def bands(totals: list[float], rule: ScoringVariant, ordered: bool = False) -> dict[str, int]:
    """People per band of the rule's total_bands (highest first), by bisecting the sorted totals."""
    values = totals if ordered else sorted(totals)
    out, above = {}, len(values)
    for i, (name, edge) in enumerate(rule.total_bands):
        lowest = 0 if i == len(rule.total_bands) - 1 else bisect_left(values, edge)
        out[name], above = above - lowest, lowest
    return out


# ---------------------------------------------------------------- the employee


def my_month(principal: Principal, employee_id: int, period: str) -> dict:
    """The month explained item by item (scoring.explain), with the period's state so
    the page can say when the numbers are stale or provisional."""
    explained = scoring.explain(principal, employee_id, period)
    state = scoring.period_state(period)
    general = explained["formula"].get("general")
    today = cal.local_today(cal.current_tenant())
    # A month in progress is shown scored to date (core/dashboards/to_date.py); the stored
    # row, which measures the whole month, is what it becomes once the month has ended.
    # Only by the rule the month was scored with: a month still stored under an older
    # version (stale, or its plugin gone) is shown as stored until it is recalculated.
    current = to_date.month_to_date(employee_id, period, today) if explained["formula"]["current"] else None
    if current is not None:
        explained["formula"] = {**explained["formula"], **{key: current[key] for key in (
            "working_days", "sums", "components", "task_score", "general_score", "total", "provisional")}}
    total = explained["formula"].get("total")
    start, end = kernel.parse_month(period)
    variant = explained["formula"].get("variant") or {}
    counts = counting.month_counting(employee_id, start, end, current["as_of"] if current else None,
                                     variant.get("key"))
    return {"explain": explained, "state": state, "general": general, "counting": counts,
            "band": None if total is None else rule_of(period).band(total),
            "provisional": bool(explained["formula"].get("provisional")),
            "stale": bool(state["stale"]), "closed": bool(state["closed"]),
            "to_date": current["as_of"] if current else None,
            "ended": kernel.parse_month(period)[1] < today}



def page_employee(employee_id: int) -> Employee | None:
    """The person a month page is about (None for an id of no one in this tenant)."""
    return db.session.get(Employee, employee_id)


def month_general(month: dict | None, employee_id: int, period: str) -> tuple[dict | None, str, bool]:
    """The month with the general criteria its page shows, the period they are set for and
    whether that period is closed: a person evaluated by quarters has the criteria of the
    month's quarter, which stays open until all its months are closed."""
    general_period, general_closed = period, bool(month and month["closed"])
    if month is not None and scoring.by_quarters([employee_id]):
        general_period = scoring.quarter_of(period)
        row = db.session.scalar(select(GeneralScore).where(GeneralScore.employee_id == employee_id,
                                                           GeneralScore.period == general_period))
        month = {**month, "general": scoring.general_view(row) if row is not None else None}
        general_closed = all(kernel.is_closed(m) for m in scoring.quarter_months(general_period))
    return month, general_period, general_closed


TREND_QUARTERS = 4


def quarter_trend(employee_id: int, anchor: str) -> list[dict]:
    """The four quarters up to the one holding the month ``anchor``, each rolled up from its
    months with items as a tenant evaluating by quarters scores it (one query)."""
    last = int(anchor[:4]) * 4 + (int(anchor[5:7]) - 1) // 3
    quarters = [f"{q // 4}-Q{q % 4 + 1}" for q in range(last - TREND_QUARTERS + 1, last + 1)]
    months = [m for q in quarters for m in scoring.quarter_months(q)]
    by_quarter: dict[str, list[PeriodScore]] = {}
    for r in db.session.scalars(select(PeriodScore).where(
            PeriodScore.employee_id == employee_id, PeriodScore.period.in_(months), PeriodScore.item_count > 0)):
        by_quarter.setdefault(scoring.quarter_of(r.period), []).append(r)
    out = []
    for q in quarters:
        part = scoring.rollup(by_quarter[q]) if q in by_quarter else None
        out.append({"label": q, "task_score": part["task_score"] if part else None,
                    "general_score": part["general_score"] if part else None,
                    "total": part["total"] if part else None, "items": part["item_count"] if part else 0,
                    "provisional": part["provisional"] if part else None})
    return out


def default_trend(employee_id: int) -> str:
    """The trend page opens by quarter for a person whose agency evaluates by quarters."""
    from core.classification.procedure import quarterly_people

    unit_id = db.session.scalar(select(Employee.unit_id).where(Employee.id == employee_id))
    return "quarter" if quarterly_people({employee_id: unit_id}) else "day"


def trend(employee_id: int, by: str, anchor: str) -> list[dict]:
    """Score points ending at the month `anchor`: months from the stored month rows,
    days and weeks scored by the month's variant from the day sums of item_scores
    (one grouped query). Days and weeks carry the task score only: general criteria
    belong to months."""
    if by == "quarter":
        return quarter_trend(employee_id, anchor)
    if by == "month":
        first = shift_month(anchor, -(TREND_MONTHS - 1))
        rows = {r.period: r for r in db.session.scalars(select(PeriodScore).where(
            PeriodScore.employee_id == employee_id, PeriodScore.period >= first, PeriodScore.period <= anchor))}
        out = []
        for i in range(TREND_MONTHS):
            p = shift_month(first, i)
            r = rows.get(p)
            out.append({"label": p, "task_score": _round(r.task_score) if r else None,
                        "general_score": _round(r.general_score) if r else None,
                        "total": _round(r.total) if r else None, "items": r.item_count if r else 0,
                        "provisional": r.provisional if r else None})
        return out
    scheme = kernel.scheme_for(anchor)
    start, end = kernel.parse_month(anchor)
    if by == "week":
        # The weeks that end in the anchor month and the eleven before them.
        last_monday = end - timedelta(days=end.weekday())
        start = last_monday - timedelta(weeks=TREND_WEEKS - 1)
    from core.scoring.sides import sides_of

    # A person a tenant merger moved: the days before its date by the rule of the tenant
    # they were in (its components are what item_scores holds for those days), a day or
    # week on both sides of the date weighted by working days, as their months are.
    sides = sides_of(scheme, employee_id, start, end)
    groups: dict[str, list[dict[str, Any]]] = {}  # label -> one group per side
    for index, (side, lo, hi) in enumerate(sides):
        days = _day_sums(side.scheme, employee_id, lo, hi)
        calendar = side.calendar(lo, hi) or cal.WorkCalendar.load(lo, hi)
        working = set(calendar.working_days(lo, hi))
        day = lo
        while day <= hi:
            if by == "day":
                label = day.isoformat()
            else:
                iso = day.isocalendar()
                label = f"{iso.year}-W{iso.week:02d}"
            parts = groups.setdefault(label, [])
            if not parts or parts[-1]["side"] != index:
                parts.append({"side": index, "sums": defaultdict(float), "items": 0, "working_days": 0})
            group = parts[-1]
            if day in working:
                group["working_days"] += 1
            for name, value in days.get(day, {}).items():
                if name == "_items":
                    group["items"] += int(value)
                else:
                    group["sums"][name] += value
            day += timedelta(days=1)
    out = []
    for label, parts in groups.items():
        items, working_days = sum(p["items"] for p in parts), sum(p["working_days"] for p in parts)
        if by == "day" and not working_days and not items:
            continue  # weekends and holidays without work would only flatten the line
        out.append({"label": label, "task_score": _task_of(parts, sides, label) if items else None,
                    "general_score": None, "total": None, "items": items, "provisional": True})
        out[-1]["total"] = out[-1]["task_score"]
    return out


def _task_of(parts: list[dict], sides: list, label: str) -> float | None:
    """A day's or week's task score: its side's rule, or (a week a merger's date cuts)
    each side's by its rule, weighted by working days over the parts with items."""
    from core.scoring.sides import weighted_task

    scored = []
    for part in parts:
        scheme = sides[part["side"]][0].scheme
        result = scheme.variant.period_score(dict(part["sums"]), scheme.chosen.settings,
                                             {"working_days": max(1, part["working_days"]), "period": label,
                                              "is_leader": False})
        scored.append((kernel.checked_task_score(scheme.chosen, result, label), part["working_days"], part["items"]))
    if len(scored) == 1:
        return _round(scored[0][0])
    task, _ = weighted_task([(Decimal(str(round(float(t), 2))), d, n) for t, d, n in scored])
    return float(task)


def _day_sums(scheme: kernel.Scheme, employee_id: int, start: date, end: date) -> dict[date, dict[str, float]]:
    cols = [func.coalesce(func.sum(col), 0.0) for col in scheme.columns]
    stmt = (select(ItemScore.work_date, func.count(), *cols)
            .where(kernel.of_people([employee_id], start, end), ItemScore.work_date >= start,
                   ItemScore.work_date <= end)
            .group_by(ItemScore.work_date))
    out = {}
    for row in db.session.execute(stmt):
        values = dict(zip(scheme.names, (float(v) for v in row[2:]), strict=True))
        if getattr(scheme.variant, "per_day", False):
            values = dict(scheme.variant.adjust_day(values, scheme.chosen.settings))
        values["_items"] = row[1]
        out[row[0]] = values
    return out


# ---------------------------------------------------------------- the unit


def managed_units(principal: Principal) -> list[OrgUnit]:
    """Units a dashboard may be asked for: every unit for the tenant admin and auditor,
    the units a manager leads (and their sub-units) otherwise."""
    if principal.has_role("tenant_admin", "auditor"):
        return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.kind, OrgUnit.name)))
    if principal.employee_id is None:
        return []
    led = db.session.scalar(select(Employee.unit_id).where(Employee.id == principal.employee_id,
                                                            Employee.is_leader.is_(True)))
    own = db.session.scalar(select(Employee.unit_id).where(Employee.id == principal.employee_id))
    root = led or own
    ids = org.unit_subtree_ids(root) if root else set()
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.name)))



def own_unit_id(principal: Principal) -> int | None:
    """The unit the caller works in (None without an employee record)."""
    if principal.employee_id is None:
        return None
    return db.session.scalar(select(Employee.unit_id).where(Employee.id == principal.employee_id))


def subtree_employee_ids(unit_id: int) -> list[int]:
    """Everyone of the unit and the units under it, whoever is asking (freshness is about
    the unit's scores, not about whom the caller may see)."""
    return list(db.session.scalars(select(Employee.id).where(Employee.unit_id.in_(org.unit_subtree_ids(unit_id)))))


def employee_names(ids: list[int]) -> dict[int, str]:
    """Full names by employee id (one query)."""
    if not ids:
        return {}
    return dict(db.session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(ids))).all())


def unit_dashboard(principal: Principal, period: str, unit_id: int | None, day: date) -> dict:
    """A unit's month at a glance. `unit_day` gives the people the caller may see in the
    unit with today's declarations; the month rows are one query. The hours per day, the
    queues and who has overdue items (`unit_work`, a scan of the unit's items) are loaded
    by the page after it is shown, so the first screen costs no scan of items."""
    people = unit_people(principal, day, unit_id)
    ids = [p["employee_id"] for p in people]
    rule = rule_of(period)
    if is_quarter(period):
        # A quarter is rolled up from each person's months with items (scoring.quarter_scores,
        # one read): the mean of their task, general and total scores, as the procedure does.
        rows: dict[int, Any] = {r["employee_id"]: r for r in scoring.quarter_scores(period, ids)}
    else:
        cols = (PeriodScore.employee_id, PeriodScore.task_score, PeriodScore.general_score, PeriodScore.total,
                PeriodScore.item_count, PeriodScore.provisional)
        rows = {r.employee_id: r._asdict() for r in db.session.execute(
            select(*cols).where(PeriodScore.period == period, PeriodScore.employee_id.in_(ids)))} if ids else {}
    for p in people:
        r = rows.get(p["employee_id"])
        p["score"] = None if r is None else {
            "task_score": _round(r["task_score"]), "general_score": _round(r["general_score"]),
            "total": _round(r["total"]), "items": r["item_count"], "provisional": r["provisional"],
            "band": rule.band(float(r["total"]))}
    totals = [float(r["total"]) for r in rows.values() if r["item_count"]]
    return {"people": people, "ids": ids, "totals": totals,
            "histogram": histogram(totals), "bands": bands(totals, rule),
            "median": _round(statistics.median(totals)) if totals else None,
            "mean": _round(statistics.fmean(totals)) if totals else None,
            "declared": sum(1 for p in people if p["declared"])}


def unit_people(principal: Principal, day: date, unit_id: int | None) -> list[dict]:
    """The people of the unit the caller may see with their declarations of `day`: what
    core.work.services.queues.unit_day gives minus its per-person overdue count, which scans every open item
    of the unit and so moves to `unit_work`, loaded after the page."""
    stmt = select(Employee.id, Employee.full_name, Employee.code).order_by(Employee.full_name)
    if unit_id is not None:
        stmt = stmt.where(Employee.unit_id.in_(org.unit_subtree_ids(unit_id)))
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    people = db.session.execute(stmt.limit(1000)).all()
    ids = [p.id for p in people]
    if not ids:
        return []
    declared = dict(db.session.execute(
        select(WorkItem.employee_id, func.count())
        .where(WorkItem.employee_id.in_(ids), WorkItem.work_date == day, WorkItem.status != "cancelled")
        .group_by(WorkItem.employee_id)).all())
    return [{"employee_id": p.id, "full_name": p.full_name, "code": p.code, "declared": declared.get(p.id, 0)}
            for p in people]


def unit_ids(principal: Principal, unit_id: int) -> list[int]:
    """Who of the unit (and its sub-units) the caller may see, as `unit_day` lists them."""
    stmt = select(Employee.id).where(Employee.unit_id.in_(org.unit_subtree_ids(unit_id)))
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    return list(db.session.scalars(stmt.order_by(Employee.full_name).limit(1000)))


def unit_work(principal: Principal, ids: list[int], start: date, end: date,
              day: date) -> tuple[list[dict], dict[str, int], dict[int, int]]:
    """In one scan of the unit's items (they dominate the page's cost):

    - average credited hours per person on each working day of [start, end]: norm
      minutes × quantity × complexity of the completed items (the workload report's
      measure);
    - what waits: overdue open items, declarations to check and finished items to review
      (the last two only where the caller judges: the people they manage, not themself);
    - overdue open items per person.
    """
    empty = {"overdue": 0, "declarations": 0, "reviews": 0}
    calendar = cal.WorkCalendar.load(start, end)
    if not ids:
        return [], empty, {}
    if principal.has_role("tenant_admin", "auditor"):
        judged = managed_items_clause(principal)  # sees everyone, judges only their own people
    else:
        # `ids` are already who this manager sees: themself and the people they manage.
        judged = WorkItem.employee_id != (principal.employee_id or 0)
    minutes = WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient
    credited = and_(WorkItem.status == "done", WorkItem.work_date >= start, WorkItem.work_date <= end)
    open_late = and_(WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < day)
    to_check = and_(judged, WorkItem.verification == "pending", WorkItem.status != "cancelled")
    to_review = and_(judged, WorkItem.status == "done", WorkItem.reviewed_at.is_(None))
    counts = {"overdue": open_late, "declarations": to_check, "reviews": to_review}
    stmt = (select(WorkItem.work_date, WorkItem.employee_id, func.sum(case((credited, minutes), else_=0)),
                   *(func.sum(case((c, 1), else_=0)) for c in counts.values()))
            .where(WorkItem.employee_id.in_(ids), or_(credited, open_late, to_check, to_review))
            .group_by(WorkItem.work_date, WorkItem.employee_id))
    per_day: dict[date, float] = defaultdict(float)
    overdue: dict[int, int] = defaultdict(int)
    queues = dict(empty)
    for row in db.session.execute(stmt):
        per_day[row[0]] += float(row[2] or 0)
        overdue[row[1]] += int(row[3] or 0)
        for name, value in zip(counts, row[3:], strict=True):
            queues[name] += int(value or 0)
    hours = [{"day": d.isoformat(), "hours": round(per_day.get(d, 0.0) / 60 / len(ids), 2)}
             for d in calendar.working_days(start, end)]
    return hours, queues, {k: v for k, v in overdue.items() if v}


# ---------------------------------------------------------------- the province


def _units() -> list:
    """Every unit as a plain row: the province pages walk thousands of them per request,
    and ORM objects cost more to build and read than the queries do."""
    return db.session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind, OrgUnit.name, OrgUnit.code)).all()


def _roots(units: list) -> dict:
    """Each unit's top-level ancestor (the agency or commune it belongs to)."""
    by_id = {u.id: u for u in units}
    roots: dict[int, OrgUnit] = {}
    for u in units:
        seen, cur = set(), u
        while cur.parent_id is not None and cur.parent_id in by_id and cur.id not in seen:
            seen.add(cur.id)
            cur = by_id[cur.parent_id]
        roots[u.id] = cur
    return roots


def province_dashboard(period: str, kind: str | None) -> dict:
    """Units (agencies and communes) ranked by the median month total of their people,
    with bands and the year's classification per unit, from `period_scores` and
    `employee_classifications` only: two grouped reads, no scan of work items."""
    units = _units()
    roots = _roots(units)
    wanted = KIND_FILTERS.get(kind or "")
    rule = rule_of(period)
    totals: dict[int, list[float]] = defaultdict(list)
    provisional: dict[int, int] = defaultdict(int)
    # A row per unit with its people's totals joined as text, not a row per person: at
    # 50,000 people the row objects (and the garbage collections they set off) cost
    # about 100 ms, the text 15 ms. Medians need every total, so no sum would do.
    for unit_id, joined, prov in db.session.execute(_unit_totals(period)):
        root = roots.get(unit_id)
        if root is None:
            continue
        totals[root.id].extend(map(float, joined.split(",")))
        provisional[root.id] += int(prov)
    classes = _classification_by_root(int(period[:4]), roots)
    headcount: dict[int, int] = defaultdict(int)
    for unit_id, n in db.session.execute(select(Employee.unit_id, func.count()).group_by(Employee.unit_id)):
        if unit_id in roots:
            headcount[roots[unit_id].id] += n
    ranked = []
    for root in {r.id: r for r in roots.values()}.values():
        if wanted and root.kind not in wanted:
            continue
        values = sorted(totals.get(root.id, []))
        ranked.append({"unit_id": root.id, "code": root.code, "name": root.name, "kind": root.kind,
                       "headcount": headcount.get(root.id, 0), "scored": len(values),
                       "median": _round(statistics.median(values)) if values else None,
                       "mean": _round(statistics.fmean(values)) if values else None,
                       "provisional": provisional.get(root.id, 0), "bands": bands(values, rule, ordered=True),
                       "classification": classes.get(root.id)})
    ranked.sort(key=lambda u: (u["median"] is None, -(u["median"] or 0), u["name"]))
    every = [t for u in ranked for t in totals.get(u["unit_id"], [])]
    return {"period": period, "kind": kind, "units": ranked, "people": len(every),
            "median": _round(statistics.median(every)) if every else None,
            "bands": bands(every, rule), "histogram": histogram(every),
            "classified": any(u["classification"] for u in ranked)}


def _unit_totals(period: str):
    """Per unit: its people's totals joined as text, and how many are provisional. A quarter
    gives each person the mean of their months with items in it, counted in the unit of
    those months (a person who changed unit within the quarter counts in each, with the
    months spent there): still one grouped read."""
    provisional = case((PeriodScore.provisional, 1), else_=0)
    if not is_quarter(period):
        return (select(PeriodScore.unit_id, func.aggregate_strings(cast(PeriodScore.total, String), ","),
                       func.sum(provisional))
                .where(PeriodScore.period == period, PeriodScore.item_count > 0).group_by(PeriodScore.unit_id))
    person = (select(PeriodScore.unit_id, func.avg(PeriodScore.total).label("total"),
                     func.max(provisional).label("provisional"))
              .where(PeriodScore.period.in_(period_months(period)), PeriodScore.item_count > 0)
              .group_by(PeriodScore.employee_id, PeriodScore.unit_id).subquery())
    return (select(person.c.unit_id, func.aggregate_strings(cast(person.c.total, String), ","),
                   func.sum(person.c.provisional)).group_by(person.c.unit_id))


TREND_QUARTERS = 8


def _quarter_of_column(column):
    """2026-11 → 2026-Q4 in SQL, on both databases."""
    month = cast(func.substr(column, 6, 2), Integer)
    return func.substr(column, 1, 4).concat("-Q").concat(cast((month + 2) // 3, String))


def province_trend_quarters(period: str, kind: str | None) -> list[dict]:
    """Mean quarter total and people scored for the eight quarters up to ``period``: each
    person's quarter is the mean of their months with items; one grouped read."""
    first = shift_period(period, -(TREND_QUARTERS - 1))
    quarter = _quarter_of_column(PeriodScore.period).label("quarter")
    inner = (select(PeriodScore.employee_id, quarter, func.avg(PeriodScore.total).label("total"))
             .where(PeriodScore.period >= period_months(first)[0], PeriodScore.period <= period_months(period)[-1],
                    func.substr(PeriodScore.period, 6, 1) != "Q", PeriodScore.item_count > 0))
    wanted = KIND_FILTERS.get(kind or "")
    if wanted:
        units = _units()
        roots = _roots(units)
        inner = inner.where(PeriodScore.unit_id.in_([u.id for u in units if roots[u.id].kind in wanted]))
    person = inner.group_by(PeriodScore.employee_id, quarter).subquery()
    found = {q: (float(mean), n) for q, mean, n in db.session.execute(
        select(person.c.quarter, func.avg(person.c.total), func.count()).group_by(person.c.quarter))}
    out = []
    for i in range(TREND_QUARTERS):
        q = shift_period(first, i)
        mean, n = found.get(q, (None, 0))
        out.append({"period": q, "mean": _round(mean), "people": n})
    return out


def province_trend(period: str, kind: str | None) -> list[dict]:
    """Mean month total and people scored for the twelve months up to `period`: one
    GROUP BY over period_scores (a mean, since SQLite has no percentile function)."""
    first = shift_month(period, -(TREND_MONTHS - 1))
    stmt = (select(PeriodScore.period, func.avg(PeriodScore.total), func.count())
            .where(PeriodScore.period >= first, PeriodScore.period <= period, PeriodScore.item_count > 0)
            .group_by(PeriodScore.period))
    wanted = KIND_FILTERS.get(kind or "")
    if wanted:
        units = _units()
        roots = _roots(units)
        ids = [u.id for u in units if roots[u.id].kind in wanted]
        stmt = stmt.where(PeriodScore.unit_id.in_(ids))
    found = {p: (float(mean), n) for p, mean, n in db.session.execute(stmt)}
    out = []
    for i in range(TREND_MONTHS):
        p = shift_month(first, i)
        mean, n = found.get(p, (None, 0))
        out.append({"period": p, "mean": _round(mean), "people": n})
    return out


def may_see_province(principal: Principal) -> bool:
    """The tenant admin and the auditor, and the head of a top-level unit (an agency or a
    commune): leaders compare units, and the page shows aggregates, never a person."""
    if principal.has_role("tenant_admin", "auditor"):
        return True
    if not principal.has_role("manager") or principal.employee_id is None:
        return False
    return db.session.scalar(
        select(OrgUnit.id).join(Employee, Employee.unit_id == OrgUnit.id)
        .where(Employee.id == principal.employee_id, Employee.is_leader.is_(True), OrgUnit.parent_id.is_(None))
    ) is not None


def _classification_by_root(year: int, roots: dict[int, OrgUnit]) -> dict[int, dict[str, int]]:
    try:
        from core.classification.models import EmployeeClassification
    except ImportError:  # the classification package is optional to the dashboards
        return {}
    level = func.coalesce(EmployeeClassification.override_level, EmployeeClassification.computed_level)
    out: dict[int, dict[str, int]] = {}
    for unit_id, lvl, n in db.session.execute(
            select(EmployeeClassification.unit_id, level, func.count())
            .where(EmployeeClassification.year == year).group_by(EmployeeClassification.unit_id, level)):
        root = roots.get(unit_id)
        if root is None:
            continue
        counts = out.setdefault(root.id, {**dict.fromkeys(LEVELS, 0), "none": 0})
        counts[lvl if lvl in LEVELS else "none"] += n
    return out


def workload_heatmap(period: str, kind: str | None) -> dict:
    """Unit × ISO week: credited hours per person per working day, from the stored
    `week_hours` rows summed per unit (`unit_week_hours`, kept by the engine with the
    month scores): a read of a row per unit and week and one grouped read, no scan of
    work items. Hours are norm minutes × quantity × complexity coefficient of
    the completed items, whatever the scoring variant. People are counted (those
    employed in the month), and their hours placed, by their unit on the month's first
    day, as the month scores the ranking reads are: a month before a unit merge keeps
    its old units. The working days are the tenant calendar's in the part of the week
    inside the month."""
    start, end = kernel.parse_month(period)
    units = _units()
    roots = _roots(units)
    wanted = KIND_FILTERS.get(kind or "")
    # A cell whose people's hours all went keeps its row with no items, and minutes of
    # 0 give or take the float rounding of what was added and taken away: not a cell.
    per_unit_week = db.session.execute(
        select(UnitWeekHours.unit_id, UnitWeekHours.week_start, UnitWeekHours.minutes)
        .where(UnitWeekHours.period == period, UnitWeekHours.items > 0)).all()
    headcount: dict[int, int] = defaultdict(int)
    for unit_id, n in aggregates.headcount(period).items():
        if unit_id in roots:
            headcount[roots[unit_id].id] += n
    calendar = cal.WorkCalendar.load(start, end)
    week_days: dict[str, int] = defaultdict(int)
    for d in calendar.working_days(start, end):
        week_days[_week(d)] += 1
    weeks = sorted(week_days)
    grid: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    labels: dict[date, str] = {}  # a label per week, not per row (10,000 rows, five weeks)
    for unit_id, monday, total in per_unit_week:
        root = roots.get(unit_id)
        if root is not None:
            label = labels.get(monday) or labels.setdefault(monday, _week(monday))
            grid[root.id][label] += float(total or 0)
    rows = []
    for root in sorted({r.id: r for r in roots.values()}.values(), key=lambda r: r.name):
        if wanted and root.kind not in wanted:
            continue
        if not headcount.get(root.id):
            continue
        cells = []
        for w in weeks:
            hours = grid[root.id][w] / 60 / headcount[root.id] / week_days[w] if week_days[w] else 0.0
            cells.append({"week": w, "hours": round(hours, 1), "level": min(5, int(hours // 2) + (hours > 0))})
        rows.append({"unit_id": root.id, "name": root.name, "people": headcount[root.id], "cells": cells})
    return {"period": period, "weeks": weeks, "rows": rows}


def _week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def scheme_missing(period: str) -> str | None:
    """The reason a month cannot be scored, to show instead of a trend."""
    try:
        kernel.scheme_for(period)
    except ComponentMissing as exc:
        return exc.message
    return None
