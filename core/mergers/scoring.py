"""Scores across a merger's date: which variant scores which item, how the month and the
year of a moved person are formed, and the unit a month's row carries (docs/mergers.md,
"Scores across the effective date").

The tenant merger's record is the closing event of the source's audit chain
(`tenant.merged`, append-only and hashed): the effective date and the ids of the people
who moved, as ranges. For a month that starts before that date the engine asks here:

- items of a moved person dated before the date are scored by the source's variant
  (the one in force on the month's first day in the source), the rest by the target's;
- the moved person's month has a part before the date (source's variant, source's
  calendar) and, when the month spans the date, a part from it (target's variant); the
  task score is the parts' task scores weighted by their working days (parts with items
  only), and the general criteria are added once — a month wholly before the date is
  exactly the source's;
- a year spanning the date combines, for a moved person, the mean of the months before
  and the mean of the months after, weighted by the months of employment on each side.

Everything is set-based: a couple of queries per month and merger, whatever the number
of people; nothing runs for a month that starts on or after every merger's date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import or_, select

from core.audit.models import AuditEvent
from core.extensions import db
from core.mergers.models import UnitAssignment
from core.tenancy import current_tenant_id, unscoped
from core.tenants.models import ComponentChoice, Tenant
from core.work import calendar as cal
from core.work.models import CalendarDay

CENT = Decimal("0.01")
MONTH_RULE = ("task score = Σ (task score of a part × its working days) ÷ Σ working days, over the parts "
              "with items; total = that + general criteria (once)")
YEAR_RULE = ("total = (mean of the months before × months before + mean of the months after × months after) "
             "÷ all months, each mean over the months (or parts of the month of the date) with items")


# ---------------------------------------------------------------- the merger record


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

    @cached_property
    def moved(self) -> frozenset[int]:
        """Built only when a month or year before the date asks (never on current months)."""
        return _from_ranges(self.ranges)


def records() -> list[MergerRecord]:
    """The tenant mergers into the current tenant whose record names the people who moved
    (mergers committed before records did are left as they were scored). Two indexed
    queries: the tenants merged into this one, and each one's last audit event."""
    tid = current_tenant_id()
    if tid is None:
        return []
    # Asked twice per declaration (items, then month rows): answered once per transaction.
    # The unscoped switch costs a round trip each way besides the queries.
    transaction = db.session().get_transaction()
    cached = db.session.info.get("congvu_merger_records")
    if transaction is not None and cached is not None and cached[0] is transaction and cached[1] == tid:
        return cached[2]
    out = []
    with unscoped():
        sources = db.session.execute(select(Tenant.id, Tenant.slug).where(Tenant.merged_into_id == tid)).all()
        for source_id, slug in sources:
            after = db.session.scalar(
                select(AuditEvent.after).where(AuditEvent.tenant_id == source_id, AuditEvent.action == "tenant.merged",
                                               AuditEvent.seq.is_not(None))
                .order_by(AuditEvent.seq.desc()).limit(1))
            if not after or "moved_employees" not in after:
                continue
            out.append(MergerRecord(source_id, slug, date.fromisoformat(after["effective_date"]),
                                    after["moved_employees"]))
    db.session.info["congvu_merger_records"] = (db.session().get_transaction(), tid, out)
    return out


def record_of(person_id: int, found: list[MergerRecord]) -> MergerRecord | None:
    return next((r for r in found if person_id in r.moved), None)


# ---------------------------------------------------------------- the source's rules


def _source_scheme(record: MergerRecord, scheme):
    """The source's variant in force on the month's first day, as an engine Scheme."""
    from core.plugins.manager import KIND_LABEL, ComponentMissing, current_manager
    from core.scoring import engine
    from core.tenants.models import BEGINNING

    with unscoped():
        choice = db.session.execute(
            select(ComponentChoice.key, ComponentChoice.settings, ComponentChoice.effective_from)
            .where(ComponentChoice.tenant_id == record.source_id, ComponentChoice.kind == "scoring_variant",
                   ComponentChoice.effective_from <= scheme.start)
            .order_by(ComponentChoice.effective_from.desc()).limit(1)).first()
    if choice is None:
        raise ComponentMissing(f"{record.source_slug} chose no {KIND_LABEL['scoring_variant']} for {scheme.start}; "
                               "its people's work before the merger cannot be scored.",
                               {"scoring_variant": {"key": ["Not chosen."]}}, code="component_not_chosen")
    effective = None if choice.effective_from == BEGINNING else choice.effective_from
    chosen = current_manager().choose("scoring_variant", choice.key, choice.settings, record.source_slug, effective)
    return engine.Scheme(chosen, scheme.period, scheme.start, scheme.end)


def _source_calendar(record: MergerRecord, start: date, end: date) -> cal.WorkCalendar:
    with unscoped():
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind).where(
            CalendarDay.tenant_id == record.source_id, CalendarDay.day >= start, CalendarDay.day <= end)).all()
    return cal.WorkCalendar(start, end, {row.day: row.kind for row in rows})


@dataclass
class Before:
    """The part of a month before a merger's date, for the people that merger moved."""

    record: MergerRecord
    month: Any  # the engine.Scheme of the target's month (or range)
    tenant: Tenant
    end: date  # the day before the date, or the month's end

    @cached_property
    def scheme(self):
        """The source's variant, looked up only when one of its people is scored."""
        return _source_scheme(self.record, self.month)


def _parts_before(scheme) -> list[Before]:
    out = []
    for record in records():
        if scheme.start < record.effective:
            with unscoped():
                tenant = db.session.get(Tenant, record.source_id)
            out.append(Before(record, scheme, tenant, min(scheme.end, record.effective - timedelta(days=1))))
    return out


# ---------------------------------------------------------------- items (engine.score_items)


def item_scorer(scheme) -> Callable[[list, Any, date], list[tuple]] | None:
    """None for a month no merger's date comes after the start of (the usual case); else
    a function that scores a batch of item rows as engine._score_rows does, each item by
    the variant in force for it: the source's for a moved person's item before the date."""
    parts = _parts_before(scheme)
    if not parts:
        return None
    from core.scoring import engine

    def score(batch: list, tenant, as_of: date) -> list[tuple]:
        # A list, not a generator: the source's variant is looked up here (a query), and
        # the caller's COPY must not be open on the connection while it is.
        rest, theirs = [], {id(p): (p, []) for p in parts}
        for row in batch:
            part = next((p for p in parts if row.employee_id in p.record.moved and row.work_date <= p.end), None)
            (theirs[id(part)][1] if part is not None else rest).append(row)
        out = list(engine._score_rows(scheme, rest, tenant, as_of)) if rest else []
        for part, rows in theirs.values():
            if rows:
                out += engine._score_rows(part.scheme, rows, part.tenant, as_of)
        return out

    return score


# ---------------------------------------------------------------- the month (engine.aggregate)


@dataclass
class _Split:
    part: Before
    before: dict[str, float]
    days_before: int
    after: dict[str, float] | None = None  # None: the month ends before the date
    days_after: int = 0


@dataclass
class MonthRules:
    """What aggregate asks per month: the row of each person, and the units of the rows."""

    scheme: Any
    splits: dict[int, _Split] = field(default_factory=dict)

    def period_row(self, scheme, person, sums: dict, days: int, facts: dict, general) -> dict:
        from core.scoring import engine

        split = self.splits.get(person.id)
        if split is None:
            return engine._period_row(scheme, person, sums, days, facts, general)
        before = engine._period_row(split.part.scheme, person, split.before, split.days_before, facts, general)
        if split.after is None:
            return before  # a month wholly before the date: the source's rule, as the source scored it
        after = engine._period_row(scheme, person, split.after, split.days_after, facts, general)
        return _combine(split, before, after)

    def settle(self, rows: list[dict]) -> None:
        """Each row's unit is the person's unit on the month's first day (unit merges keep
        history), whoever wrote the row: a recalculation, a per-item refresh, general criteria."""
        start = self.scheme.start
        history = dict(db.session.execute(select(UnitAssignment.employee_id, UnitAssignment.unit_id).where(
            or_(UnitAssignment.valid_from.is_(None), UnitAssignment.valid_from <= start),
            or_(UnitAssignment.valid_to.is_(None), UnitAssignment.valid_to >= start))).all())
        if history:
            for row in rows:
                row["unit_id"] = history.get(row["employee_id"], row["unit_id"])


def month_rules(scheme, everyone: dict[int, Any], sums: dict[int, dict[str, float]]) -> MonthRules:
    """The month's rules for aggregate. For the moved people among `everyone`: their sums
    before the date (the source's components) and after it (the target's), and working
    days of each part; `sums` (read by leaders' facts, in the target's component names)
    keeps only the target's part of a moved person when the source's variant names other
    components."""
    from core.scoring import engine

    rules = MonthRules(scheme)
    parts = _parts_before(scheme)
    for part in parts:
        people = [p for pid, p in everyone.items() if pid in part.record.moved]
        if not people:
            continue
        ids = [p.id for p in people]
        before = engine.component_sums(part.scheme, ids, scheme.start, part.end)
        days_before = engine.working_days(people, scheme.start, part.end,
                                          _source_calendar(part.record, scheme.start, part.end))
        spans = part.end < scheme.end
        if spans:
            after = engine.component_sums(scheme, ids, part.end + timedelta(days=1), scheme.end)
            days_after = engine.working_days(people, part.end + timedelta(days=1), scheme.end)
        empty_before = {n: 0.0 for n in part.scheme.names} | {"_items": 0}
        empty_after = {n: 0.0 for n in scheme.names} | {"_items": 0}
        for pid in ids:
            split = _Split(part, before.get(pid, empty_before), days_before[pid])
            if spans:
                split.after, split.days_after = after.get(pid, empty_after), days_after[pid]
            rules.splits[pid] = split
            if part.scheme.names != scheme.names:
                sums[pid] = split.after if split.after is not None else empty_after
    return rules


def _combine(split: _Split, before: dict, after: dict) -> dict:
    general = before["general_score"]
    counted = [r for r in (before, after) if r["item_count"] > 0] or [after]
    weights = [r["working_days"] for r in counted]
    if sum(weights) == 0:
        weights = [1] * len(counted)
    task = (sum((r["task_score"] * w for r, w in zip(counted, weights, strict=True)), Decimal(0))
            / sum(weights)).quantize(CENT, rounding=ROUND_HALF_UP)

    def part(r: dict, first: date, last: date) -> dict:
        return {"from": first.isoformat(), "to": last.isoformat(),
                "variant": {"key": r["variant_key"], "version": r["variant_version"],
                            "settings_hash": r["settings_hash"]},
                "working_days": r["working_days"], "item_count": r["item_count"], "task_score": float(r["task_score"]),
                "counted": any(r is c for c in counted), "components": r["components"], "sums": r["sums"]}

    scheme_start, scheme_end = split.part.scheme.start, split.part.scheme.end
    merger = {"source": split.part.record.source_slug, "effective_date": split.part.record.effective.isoformat(),
              "rule": MONTH_RULE, "parts": [part(before, scheme_start, split.part.end),
                                           part(after, split.part.end + timedelta(days=1), scheme_end)]}
    return {**after, "task_score": task, "total": task + (general or Decimal(0)),
            "item_count": before["item_count"] + after["item_count"],
            "working_days": before["working_days"] + after["working_days"],
            "components": {**after["components"], "merger": merger},
            "provisional": before["provisional"] or after["provisional"]}


def combine_range(period: str, start: date, end: date, scheme, people: list, rows: list[dict]) -> list[dict]:
    """Rows of a day, week or quarter (scoring.services.range_scores) for moved people
    when the range starts before a merger's date: the same parts as a month — before the
    date by the source's variant, from it by the target's, weighted by working days —
    and no general criteria (they belong to months)."""
    from core.scoring import engine

    window = engine.Scheme(scheme.chosen, period, start, end)
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


def combine_years(year: str, rows: list[dict], months: dict[int, list]) -> list[dict]:
    """Year rows of moved people whose merger's date falls inside `year` (after 1 January),
    recombined: (mean before × months before + mean after × months after) ÷ all months.
    `months` holds each person's month rows (PeriodScore) with items."""
    first, last = date(int(year), 1, 1), date(int(year), 12, 31)
    found = [r for r in records() if first < r.effective <= last]
    moved = {row["employee_id"]: rec for row in rows if (rec := record_of(row["employee_id"], found)) is not None}
    if not moved:
        return rows
    from core.org.models import Employee

    employment = {e.id: (e.start_date, e.end_date) for e in db.session.execute(
        select(Employee.id, Employee.start_date, Employee.end_date).where(Employee.id.in_(list(moved))))}
    for row in rows:
        record = moved.get(row["employee_id"])
        if record is not None:
            _recombine(row, record, months.get(row["employee_id"], []), employment[row["employee_id"]], first, last)
    return rows


def _recombine(row: dict, record: MergerRecord, months: list, employment: tuple, first: date, last: date) -> None:
    split_month = f"{record.effective.year:04d}-{record.effective.month:02d}"
    sides: dict[str, list[tuple[str, Decimal, Decimal]]] = {"before": [], "after": []}  # (period, task, general)
    for m in months:
        general = m.general_score or Decimal(0)
        parts = (m.components or {}).get("merger", {}).get("parts") if m.period == split_month else None
        if m.period < split_month:
            sides["before"].append((m.period, m.task_score, general))
        elif m.period > split_month or record.effective.day == 1 or not parts:
            sides["after"].append((m.period, m.task_score, general))
        else:  # the month of the date: each of its parts with items on its own side
            for side, part in zip(("before", "after"), parts, strict=True):
                if part["item_count"] > 0:
                    sides[side].append((f"{m.period} ({part['from']}–{part['to']})",
                                        Decimal(str(part["task_score"])), general))
    start, end = max(employment[0] or first, first), min(employment[1] or last, last)
    weights = {"before": _months_between(start, min(end, record.effective - timedelta(days=1))),
               "after": _months_between(max(start, record.effective), end)}
    counted = [s for s in ("before", "after") if sides[s] and weights[s] > 0]
    if not counted:
        return
    whole = sum(weights[s] for s in counted)

    def mean(side: str, index: int) -> Decimal:
        values = [x[index] for x in sides[side]]
        return sum(values, Decimal(0)) / len(values)

    def weighted(index: int) -> float:
        value = sum((mean(s, index) * weights[s] for s in counted), Decimal(0)) / whole
        return float(value.quantize(CENT, rounding=ROUND_HALF_UP))

    task, general = weighted(1), weighted(2)
    total = float((sum(((mean(s, 1) + mean(s, 2)) * weights[s] for s in counted), Decimal(0)) / whole)
                  .quantize(CENT, rounding=ROUND_HALF_UP))
    row.update(task_score=task, general_score=general, total=total)
    row["components"] = {**row["components"], "merger": {
        "source": record.source_slug, "effective_date": record.effective.isoformat(), "rule": YEAR_RULE,
        "sides": {s: {"months": float(round(weights[s], 4)), "periods": [p for p, _, _ in sides[s]],
                      "mean_total": float((mean(s, 1) + mean(s, 2)).quantize(CENT, rounding=ROUND_HALF_UP))
                      if sides[s] else None, "counted": s in counted} for s in ("before", "after")}}}
