"""Scores across a merger's date: which variant scores which item, how the month and the
year of a moved person are formed, and the unit a month's row carries (docs/mergers.md,
"Scores across the effective date").

A tenant merger's record is its `tenant_merges` row in the target (the hashed original
is the closing `tenant.merged` event of the source's audit chain): the effective date and
the ids of the people who moved, as ranges. The records that concern the current tenant
are those of every tenant merged into it, directly or through another merger (A into B,
then B into C: B's row for A moved to C with B's rows):
a person's *route* is the mergers that moved them, oldest first, and it cuts their
time into *sides* — before A's date they were in A, from it until B's date in B, from
B's date in the current tenant (a later date that comes before an earlier one moves
nothing back: the cuts are the running maximum of the dates). For a month that starts
before some merger's date the engine asks here:

- each item of a moved person is scored by the variant of the tenant they were in on
  its date (that tenant's variant in force on the month's first day);
- the moved person's month has a part per side it touches (each side's variant and
  calendar); the task score is the parts' task scores weighted by their working days
  (parts with items only), and the general criteria are added once — a month wholly on
  one earlier side is exactly what that tenant's rule gives;
- a year that a cut falls in combines, for a moved person, the mean of each side's
  months (the month of a cut by its parts), weighted by the months of employment on
  each side.

Everything is set-based: a couple of queries per month, side and route, whatever the
number of people; nothing runs for a month that starts on or after every merger's date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, or_, select

from core.extensions import db
from core.mergers.models import TenantMerge, UnitAssignment
from core.scoring import kernel
from core.tenancy import current_tenant_id, unscoped
from core.tenants.models import ComponentChoice, Tenant
from core.txcache import transaction_cache
from core.work import calendar as cal
from core.work.models import CalendarDay

CENT = Decimal("0.01")
DAY = timedelta(days=1)
MONTH_RULE = ("task score = Σ (task score of a part × its working days) ÷ Σ working days, over the parts "
              "with items; total = that + general criteria (once)")
YEAR_RULE = ("total = Σ (mean of a side's months × that side's months) ÷ all months, each mean over the "
             "months (or parts of the month of a merger's date) with items")
QUARTER_YEAR_RULE = ("total = Σ (mean of a side's quarters × that side's months) ÷ all months, a quarter's value "
                     "being the mean of its months (or parts of the month of a merger's date) with items on that side")


# ---------------------------------------------------------------- the merger records


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as [first, last] ranges: the record of who moved stays small."""
    out: list[list[int]] = []
    for i in sorted(set(ids)):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _from_ranges(ranges: Iterable[Iterable[int]]) -> frozenset[int]:
    return frozenset(i for lo, hi in ranges for i in range(int(lo), int(hi) + 1))


@dataclass
class MergerRecord:
    source_id: int
    source_slug: str
    effective: date
    ranges: list[list[int]]
    into_id: int | None = None
    depth: int = 1  # 1: merged into the current tenant; 2: into a tenant merged into it; …

    @cached_property
    def moved(self) -> frozenset[int]:
        """Built only when a month or year before the date asks (never on current months)."""
        return _from_ranges(self.ranges)


# Built once: every refresh asks (tenant-scoped at execution like any ORM statement).
_RECORDS = (select(TenantMerge.source_tenant_id, Tenant.slug, TenantMerge.effective_date,
                   TenantMerge.moved_employees, TenantMerge.into_tenant_id)
            .join(Tenant, Tenant.id == TenantMerge.source_tenant_id))


def records() -> list[MergerRecord]:
    """The tenant mergers whose people the current tenant scores — into it, or into a
    tenant that merged into it later (their `tenant_merges` rows moved here with that
    tenant's) — oldest first: a merger into a tenant was committed before that tenant
    merged on (it had to be active), so the order follows the chain back from here.
    Mergers committed before records named their people are left as they were scored.
    One query, in the tenant's own scope."""
    tid = current_tenant_id()
    if tid is None:
        return []
    # Asked twice per declaration (items, then month rows): answered once per transaction.
    cached = transaction_cache("merger_records")
    if tid in cached:
        return cached[tid]
    rows = db.session.execute(_RECORDS).all()
    into = {row.source_tenant_id: row.into_tenant_id for row in rows}

    def depth(source_id: int) -> int:
        steps, at = 1, into[source_id]
        while at != tid and at in into and steps <= len(into):
            steps, at = steps + 1, into[at]
        return steps

    out = [MergerRecord(row.source_tenant_id, row.slug, row.effective_date, row.moved_employees,
                        row.into_tenant_id, depth(row.source_tenant_id)) for row in rows]
    out.sort(key=lambda r: (-r.depth, r.effective, r.source_id))
    cached[tid] = out
    return out


Span = tuple["MergerRecord | None", date, date]  # the tenant a person was in (None: the current one), from, to


def spans(route: Iterable[MergerRecord], start: date, end: date) -> list[Span]:
    """[start, end] cut by a route's dates: (the merger whose source the person was in,
    or None for the current tenant, first day, last day), in order, empty ones left out."""
    out: list[Span] = []
    cut: date | None = None
    for record in route:
        lo = start if cut is None else max(start, cut)
        cut = record.effective if cut is None else max(cut, record.effective)
        hi = min(end, cut - DAY)
        if lo <= hi:
            out.append((record, lo, hi))
    lo = start if cut is None else max(start, cut)
    if lo <= end:
        out.append((None, lo, end))
    return out


class Routes:
    """Each person's route (the mergers that moved them, oldest first), looked up once."""

    def __init__(self, found: list[MergerRecord]) -> None:
        self.found = found
        self._routes: dict[int, tuple[MergerRecord, ...]] = {}

    def of(self, person_id: int) -> tuple[MergerRecord, ...]:
        route = self._routes.get(person_id)
        if route is None:
            route = self._routes[person_id] = tuple(r for r in self.found if person_id in r.moved)
        return route

    def record_on(self, person_id: int, day: date) -> MergerRecord | None:
        """The merger whose source the person was in on `day` (None: the current tenant)."""
        route = self.of(person_id)
        if not route or day >= max(r.effective for r in route):
            return None
        return next(record for record, lo, hi in spans(route, day, day))


def _any_after(found: list[MergerRecord], day: date) -> bool:
    return any(r.effective > day for r in found)


# ---------------------------------------------------------------- each side's rules


def _source_scheme(record: MergerRecord, scheme):
    """The source's variant in force on the month's first day, as a kernel Scheme."""
    from core.plugins.manager import KIND_LABEL, ComponentMissing, current_manager
    from core.tenants.models import BEGINNING

    with unscoped():
        choice = db.session.execute(
            select(ComponentChoice.key, ComponentChoice.settings, ComponentChoice.effective_from, ComponentChoice.version)
            .where(ComponentChoice.tenant_id == record.source_id, ComponentChoice.kind == "scoring_variant",
                   ComponentChoice.effective_from <= scheme.start)
            .order_by(ComponentChoice.effective_from.desc()).limit(1)).first()
    if choice is None:
        raise ComponentMissing(f"{record.source_slug} chose no {KIND_LABEL['scoring_variant']} for {scheme.start}; "
                               "its people's work before the merger cannot be scored.",
                               {"scoring_variant": {"key": ["Not chosen."]}}, code="component_not_chosen")
    effective = None if choice.effective_from == BEGINNING else choice.effective_from
    chosen = current_manager().choose("scoring_variant", choice.key, choice.settings, record.source_slug, effective,
                                     choice.version)  # the version the source tenant adopted
    return kernel.Scheme(chosen, scheme.period, scheme.start, scheme.end)


def _source_calendar(record: MergerRecord, start: date, end: date) -> cal.WorkCalendar:
    with unscoped():
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind).where(
            CalendarDay.tenant_id == record.source_id, CalendarDay.day >= start, CalendarDay.day <= end)).all()
    return cal.WorkCalendar(start, end, {row.day: row.kind for row in rows})


@dataclass
class Side:
    """A tenant a person was in, for one month (or range): its variant and calendar.
    `record` None is the current tenant (the month's own scheme)."""

    record: MergerRecord | None
    month: Any  # the kernel.Scheme of the current tenant's month (or range)

    @cached_property
    def scheme(self):
        """A source's variant, looked up only when one of its people is scored."""
        return self.month if self.record is None else _source_scheme(self.record, self.month)

    @cached_property
    def tenant(self) -> Tenant:
        if self.record is None:
            return cal.current_tenant()
        with unscoped():
            return db.session.get(Tenant, self.record.source_id)

    @property
    def slug(self) -> str:
        return self.tenant.slug

    def calendar(self, start: date, end: date) -> cal.WorkCalendar | None:
        return None if self.record is None else _source_calendar(self.record, start, end)


class Sides:
    """The sides of one month (or range), made once each."""

    def __init__(self, month) -> None:
        self.month = month
        self._made: dict[int | None, Side] = {}

    def __call__(self, record: MergerRecord | None) -> Side:
        key = None if record is None else record.source_id
        side = self._made.get(key)
        if side is None:
            side = self._made[key] = Side(record, self.month)
        return side


def sides_of(scheme, person_id: int, start: date | None = None, end: date | None = None) -> list[tuple[Side, date, date]]:
    """The sides of one person's [start, end] (the scheme's range by default), for the
    pages that show one person (explain, the trend): one Side per tenant they were in."""
    start, end = start or scheme.start, end or scheme.end
    found = records()
    if not _any_after(found, start):
        return [(Side(None, scheme), start, end)]
    make = Sides(scheme)
    return [(make(record), lo, hi) for record, lo, hi in spans(Routes(found).of(person_id), start, end)]


# ---------------------------------------------------------------- items (engine.score_items)


def item_scorer(scheme) -> Callable[[list, Any, date], list[tuple]] | None:
    """None for a month no merger's date comes after the start of (the usual case); else
    a function that scores a batch of item rows as kernel.score_rows does, each item by
    the variant of the tenant its person was in on its date."""
    found = records()
    if not _any_after(found, scheme.start):
        return None
    routes, make = Routes(found), Sides(scheme)

    def score(batch: list, tenant, as_of: date) -> list[tuple]:
        # A list, not a generator: a source's variant is looked up here (a query), and
        # the caller's COPY must not be open on the connection while it is.
        rest: list = []
        theirs: dict[int, tuple[Side, list]] = {}
        for row in batch:
            record = routes.record_on(row.employee_id, row.work_date) if routes.of(row.employee_id) else None
            if record is None:
                rest.append(row)
            else:
                theirs.setdefault(record.source_id, (make(record), []))[1].append(row)
        out = list(kernel.score_rows(scheme, rest, tenant, as_of)) if rest else []
        for side, rows in theirs.values():
            out += kernel.score_rows(side.scheme, rows, side.tenant, as_of)
        return out

    return score


# ---------------------------------------------------------------- the month (engine.aggregate)


@dataclass
class Piece:
    """One side's part of a person's month: its sums and working days."""

    side: Side
    start: date
    end: date
    sums: dict[str, float]
    days: int


@dataclass
class _Split:
    pieces: list[Piece]


@dataclass
class MonthRules:
    """What aggregate asks per month: the row of each person, and the units of the rows."""

    scheme: Any
    splits: dict[int, _Split] = field(default_factory=dict)

    def period_row(self, scheme, person, sums: dict, days: int, facts: dict, general) -> dict:
        split = self.splits.get(person.id)
        if split is None:
            return kernel.period_row(scheme, person, sums, days, facts, general)
        rows = [kernel.period_row(p.side.scheme, person, p.sums, p.days, facts, general) for p in split.pieces]
        if len(rows) == 1:
            return rows[0]  # a month wholly on an earlier side: that tenant's rule, as it scored it
        return _combine(split, rows)

    def settle(self, rows: list[dict]) -> None:
        """Each row's unit is the person's unit on the month's first day (unit merges keep
        history), whoever wrote the row: a recalculation, a per-item refresh, general criteria."""
        start = self.scheme.start
        people = sorted({row["employee_id"] for row in rows})
        if len(people) <= _FEW:
            # A refresh's few people: their own history, not every unit move of the tenant.
            stmt, params = _HISTORY_OF, {"start": start, "ids": people}
        else:
            stmt, params = _HISTORY, {"start": start}
        history = dict(db.session.execute(stmt, params).all())
        if history:
            for row in rows:
                row["unit_id"] = history.get(row["employee_id"], row["unit_id"])


# Unit history in force on a day (bind parameter start), built once; for up to _FEW people
# read by their ids, else whole (a recalculation writes every row of the month).
_FEW = 500
_HISTORY = select(UnitAssignment.employee_id, UnitAssignment.unit_id).where(
    or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= bindparam("start")),
    or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= bindparam("start")))
_HISTORY_OF = _HISTORY.where(UnitAssignment.employee_id.in_(bindparam("ids", expanding=True)))


def month_rules(scheme, everyone: dict[int, Any], sums: dict[int, dict[str, float]]) -> MonthRules:
    """The month's rules for aggregate. For the moved people among `everyone`, grouped by
    route: their sums on each side (that side's components) and working days (that
    side's calendar); `sums` (read by leaders' facts, in the current tenant's component
    names) keeps only the current tenant's part of a moved person when another side's
    variant names other components."""
    rules = MonthRules(scheme)
    found = records()
    if not _any_after(found, scheme.start):
        return rules
    routes, make = Routes(found), Sides(scheme)
    by_route: dict[tuple[int, ...], list] = {}
    for pid, person in everyone.items():
        if _cut(routes, pid, scheme) is not None:
            by_route.setdefault(tuple(r.source_id for r in routes.of(pid)), []).append(person)
    for people in by_route.values():
        cut = _cut(routes, people[0].id, scheme)
        ids = [p.id for p in people]
        measured = []
        for record, lo, hi in cut:
            side = make(record)
            measured.append((side, lo, hi, kernel.component_sums(side.scheme, ids, lo, hi),
                             kernel.working_days(people, lo, hi, side.calendar(lo, hi))))
        renamed = any(side.scheme.names != scheme.names for side, *_ in measured)
        for pid in ids:
            pieces = [Piece(side, lo, hi, found_sums.get(pid, _empty(side.scheme)), days[pid])
                      for side, lo, hi, found_sums, days in measured]
            rules.splits[pid] = _Split(pieces)
            if renamed:
                here = next((p.sums for p in pieces if p.side.record is None), None)
                sums[pid] = here if here is not None else _empty(scheme)
    return rules


def _cut(routes: Routes, person_id: int, scheme) -> list[Span] | None:
    """The sides a person's route cuts the month into, or None when the month is wholly
    the current tenant's (no merger of theirs on or after its first day)."""
    route = routes.of(person_id)
    if not route or not _any_after(list(route), scheme.start):
        return None
    cut = spans(route, scheme.start, scheme.end)
    return None if len(cut) == 1 and cut[0][0] is None else cut


def moved_in_month(scheme, person_ids: Iterable[int]) -> set[int]:
    """Of these people, those whose month a merger cuts (month_rules scores them by parts)."""
    found = records()
    if not _any_after(found, scheme.start):
        return set()
    routes = Routes(found)
    return {pid for pid in person_ids if _cut(routes, pid, scheme) is not None}


def _empty(scheme) -> dict[str, float]:
    return {n: 0.0 for n in scheme.names} | {"_items": 0}


def weighted_task(parts: list[tuple[Decimal, int, int]]) -> tuple[Decimal, list[int]]:
    """The month rule on (task score, working days, items) of each part: the mean of the
    parts with items (all of them, if none has any, the last) weighted by working days
    (equally, if they have none). Returns the task score and the indexes counted."""
    counted = [i for i, (_, _, items) in enumerate(parts) if items > 0] or [len(parts) - 1]
    weights = [parts[i][1] for i in counted]
    if sum(weights) == 0:
        weights = [1] * len(counted)
    task = (sum((Decimal(str(parts[i][0])) * w for i, w in zip(counted, weights, strict=True)), Decimal(0))
            / sum(weights)).quantize(CENT, rounding=ROUND_HALF_UP)
    return task, counted


def _combine(split: _Split, rows: list[dict]) -> dict:
    general = rows[0]["general_score"]
    task, counted = weighted_task([(r["task_score"], r["working_days"], r["item_count"]) for r in rows])

    def part(i: int, r: dict, piece: Piece) -> dict:
        return {"from": piece.start.isoformat(), "to": piece.end.isoformat(), "tenant": piece.side.slug,
                "variant": {"key": r["variant_key"], "version": r["variant_version"],
                            "settings_hash": r["settings_hash"]},
                "working_days": r["working_days"], "item_count": r["item_count"], "task_score": float(r["task_score"]),
                "counted": i in counted, "components": r["components"], "sums": r["sums"]}

    cuts = [p.side.record for p in split.pieces[:-1] if p.side.record is not None]
    first = cuts[0]
    merger = {"source": first.source_slug, "effective_date": split.pieces[1].start.isoformat(),
              "mergers": [{"source": r.source_slug, "effective_date": r.effective.isoformat()} for r in cuts],
              "rule": MONTH_RULE,
              "parts": [part(i, r, p) for i, (r, p) in enumerate(zip(rows, split.pieces, strict=True))]}
    last = rows[-1]
    return {**last, "task_score": task, "total": task + (general or Decimal(0)),
            "item_count": sum(r["item_count"] for r in rows), "working_days": sum(r["working_days"] for r in rows),
            "components": {**last["components"], "merger": merger},
            "provisional": any(r["provisional"] for r in rows)}


def combine_range(period: str, start: date, end: date, scheme, people: list, rows: list[dict]) -> list[dict]:
    """Rows of a day, week or quarter (scoring.services.range_scores) for moved people
    when the range starts before a merger's date: the same parts as a month — each side
    by its variant, weighted by working days — and no general criteria (they belong to
    months)."""
    window = kernel.Scheme(scheme.chosen, period, start, end)
    rules = month_rules(window, {p.id: p for p in people}, {})
    if not rules.splits:
        return rows
    by_id = {p.id: p for p in people}
    for row in rows:
        if row["employee_id"] in rules.splits:
            r = rules.period_row(window, by_id[row["employee_id"]], {}, 0, {"is_leader": False}, None)
            row.update(task_score=float(r["task_score"]), total=float(r["task_score"]), components=r["components"],
                       item_count=r["item_count"], working_days=r["working_days"],
                       variant={"key": r["variant_key"], "version": r["variant_version"],
                                "settings_hash": r["settings_hash"]})
    return rows


# ---------------------------------------------------------------- the year (scoring.services.year_scores)


def _months_between(first: date, last: date) -> Decimal:
    """Months from `first` to `last` inclusive, a partly covered month counting by its days."""
    total, day = Decimal(0), first
    while day <= last:
        month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        upto = min(month_end, last)
        total += Decimal((upto - day).days + 1) / Decimal(month_end.day)
        day = upto + timedelta(days=1)
    return total


def combine_years(year: str, rows: list[dict], months: dict[int, list],
                  quarterly: frozenset[int] | set[int] = frozenset()) -> list[dict]:
    """Year rows of moved people whose route cuts `year` (a merger's date after 1 January),
    recombined: Σ (mean of a side × its months) ÷ all months. `months` holds each
    person's month rows (PeriodScore) with items. For the people in `quarterly` (their
    agency evaluates by quarters) a side's mean is the mean of its quarters, each the mean
    of its months (or parts of a month) on that side."""
    first, last = date(int(year), 1, 1), date(int(year), 12, 31)
    found = records()
    if not any(first < r.effective <= last for r in found):
        return rows
    routes = Routes(found)
    cut = {row["employee_id"]: s for row in rows if len(s := spans(routes.of(row["employee_id"]), first, last)) > 1}
    if not cut:
        return rows
    from core.org.models import Employee

    employment = {e.id: (e.start_date, e.end_date) for e in db.session.execute(
        select(Employee.id, Employee.start_date, Employee.end_date).where(Employee.id.in_(list(cut))))}
    current = cal.current_tenant().slug
    for row in rows:
        if row["employee_id"] in cut:
            _recombine(row, cut[row["employee_id"]], months.get(row["employee_id"], []),
                       employment[row["employee_id"]], first, last, current, row["employee_id"] in quarterly)
    return rows


def _recombine(row: dict, cut: list[Span], months: list, employment: tuple, first: date, last: date,
               current: str, by_quarter: bool = False) -> None:
    def side_of(day: date) -> int:
        return next((i for i, (_, lo, hi) in enumerate(cut) if lo <= day <= hi), len(cut) - 1)

    sides: list[list[tuple[str, Decimal, Decimal]]] = [[] for _ in cut]  # (period, task, general)
    for m in months:
        general = m.general_score or Decimal(0)
        parts = (m.components or {}).get("merger", {}).get("parts")
        if not parts:  # a month on one side (one of its own days decides which)
            month_end = (date(int(m.period[:4]), int(m.period[5:7]), 28) + timedelta(days=4)).replace(day=1) - DAY
            sides[side_of(month_end)].append((m.period, m.task_score, general))
            continue
        for part in parts:  # a month a cut falls in: each of its parts with items on its own side
            if part["item_count"] > 0:
                sides[side_of(date.fromisoformat(part["from"]))].append(
                    (f"{m.period} ({part['from']}–{part['to']})", Decimal(str(part["task_score"])), general))
    start, end = max(employment[0] or first, first), min(employment[1] or last, last)
    weights = [_months_between(max(start, lo), min(end, hi)) for _, lo, hi in cut]
    counted = [i for i in range(len(cut)) if sides[i] and weights[i] > 0]
    if not counted:
        return
    whole = sum(weights[i] for i in counted)

    def plain(values: list[Decimal]) -> Decimal:
        return sum(values, Decimal(0)) / len(values)

    def mean(i: int, index: int) -> Decimal:
        if not by_quarter:
            return plain([x[index] for x in sides[i]])
        quarters: dict[str, list[Decimal]] = {}
        for x in sides[i]:  # "2025-07" or "2025-07 (2025-07-16–2025-07-31)": the quarter of its month
            quarters.setdefault(f"{x[0][:4]}-Q{(int(x[0][5:7]) - 1) // 3 + 1}", []).append(x[index])
        return plain([plain(values) for values in quarters.values()])

    def weighted(index: int) -> float:
        value = sum((mean(i, index) * weights[i] for i in counted), Decimal(0)) / whole
        return float(value.quantize(CENT, rounding=ROUND_HALF_UP))

    task, general = weighted(1), weighted(2)
    total = float((sum(((mean(i, 1) + mean(i, 2)) * weights[i] for i in counted), Decimal(0)) / whole)
                  .quantize(CENT, rounding=ROUND_HALF_UP))
    row.update(task_score=task, general_score=general, total=total)
    records_cut = [record for record, _, _ in cut if record is not None]
    row["components"] = {**row["components"], "merger": {
        "source": records_cut[0].source_slug, "effective_date": cut[1][1].isoformat(),
        "mergers": [{"source": r.source_slug, "effective_date": r.effective.isoformat()} for r in records_cut],
        "rule": QUARTER_YEAR_RULE if by_quarter else YEAR_RULE,
        "sides": [{"tenant": current if record is None else record.source_slug, "from": lo.isoformat(),
                   "to": hi.isoformat(), "months": float(round(weights[i], 4)), "periods": [p for p, _, _ in sides[i]],
                   "mean_total": float((mean(i, 1) + mean(i, 2)).quantize(CENT, rounding=ROUND_HALF_UP))
                   if sides[i] else None, "counted": i in counted}
                  for i, (record, lo, hi) in enumerate(cut)]}}
