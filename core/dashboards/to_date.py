"""A month in progress scored to date (docs/scoring.md, "Tháng đang diễn ra").

The stored month row (period_scores) measures the whole month: every item of the month
against all its working days. Read on the 6th, that is most of the month's work not yet
due and most of its days not yet lived, so the number reads as a failure. Until the
month ends, the pages show instead the same variant's formula over the month *so far*,
computed here at read time and never stored (so the month row, the classification and
the bonus runs are untouched):

- working days: the person's working days from the 1st to today, inclusive (the tenant
  calendar within their employment, less approved leave — as for the whole month);
- items: those of the month with a work date up to today that are done, or whose due
  day (deadline, else work date) is before today. Work due today or later counts once
  it is done, never against the person before its day is over.

A leader's unit part (Art. 15) is judged on their members scored the same way, to date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select

from core.extensions import db
from core.scoring import kernel
from core.scoring.models import ItemScore
from core.work.models import WorkItem


def in_progress(period: str, today: date) -> bool:
    start, end = kernel.parse_month(period)
    return start <= today <= end


def counted_to_date(today: date):
    """The rule above as one SQL condition on an item: worked by today, and done or past its
    due day. The month page's list of what counts (core/dashboards/counting.py) reads it too."""
    due = func.coalesce(WorkItem.deadline, WorkItem.work_date)
    return and_(WorkItem.work_date <= today, or_(WorkItem.status == "done", due < today))


def _sums(scheme: kernel.Scheme, ids: list[int], start: date, today: date) -> dict[int, dict[str, float]]:
    """Σ of each component per person over the items counted to date (one grouped query)."""
    per_day = kernel.per_day(scheme)
    group = [ItemScore.employee_id] + ([ItemScore.work_date] if per_day else [])
    stmt = (select(*group, func.count(), *[func.coalesce(func.sum(c), 0.0) for c in scheme.columns])
            .join(WorkItem, WorkItem.id == ItemScore.work_item_id)
            .where(ItemScore.employee_id.in_(ids), ItemScore.work_date >= start, ItemScore.work_date <= today,
                   WorkItem.employee_id.in_(ids), WorkItem.work_date >= start, counted_to_date(today))
            .group_by(*group))
    return kernel.add_up(scheme, db.session.execute(stmt), per_day)


def _row(scheme: kernel.Scheme, sums: dict[str, float], days: int, facts: dict, general) -> dict[str, Any]:
    clean = {n: sums.get(n, 0.0) for n in scheme.names}
    result = scheme.variant.period_score(clean, scheme.chosen.settings,
                                         {"working_days": days, "period": scheme.period, **facts})
    task = round(min(scheme.variant.task_score_max, max(0.0, float(result["task_score"]))), 2)
    general_total = float(general.total) if general is not None and general.total is not None else None
    return {"task_score": task, "general_score": general_total,
            "total": round(task + (general_total or 0.0), 2), "components": result.get("components", {}),
            "sums": {n: round(v, 6) for n, v in clean.items()}, "working_days": days,
            "item_count": int(sums.get("_items", 0)),
            "provisional": bool(result.get("provisional")) or general_total is None}


def _leader_facts(scheme: kernel.Scheme, members: list[kernel.Person], own: dict[int, dict],
                  sums: dict[int, dict]) -> dict:
    """As the month row judges a leader's unit (kernel.leader_facts), on the members'
    rows to date (their totals as the stored rows' decimals)."""
    rows = {m.id: {"total": Decimal(str(own[m.id]["total"]))} for m in members}
    return kernel.leader_facts(scheme, members, rows, sums)


def month_to_date(employee_id: int, period: str, today: date) -> dict[str, Any] | None:
    """The person's month scored to `today` (see the module's rule), or None when the month
    is not in progress, the person is not employed in it, or a tenant merger cuts it
    (its parts are weighted by the stored row's own rules)."""
    if not in_progress(period, today):
        return None
    from core.scoring.sides import sides_of

    scheme = kernel.scheme_for(period)
    if len(sides_of(scheme, employee_id)) > 1:
        return None
    start = scheme.start
    person = next(iter(kernel.people_in(start, today, [employee_id])), None)
    if person is None:
        return None
    members: list[kernel.Person] = []
    field = kernel.deputy_fields(start, today, [person.id]).get(person.id)
    if field is not None:
        # A deputy: the people of their field, as the month row takes them.
        found = {p.id: p for p in kernel.people_in(start, today, unit_ids=field.units)}
        found |= {p.id: p for p in kernel.people_in(start, today, field.people)} if field.people else {}
        found.pop(person.id, None)
        members = [found[pid] for pid in sorted(found)]
    elif person.is_leader:
        units = kernel.subtree(kernel.unit_tree(), person.unit_id)
        members = [p for p in kernel.people_in(start, today, unit_ids=units) if p.id != person.id]
    everyone = [person, *members]
    ids = [p.id for p in everyone]
    sums = _sums(scheme, ids, start, today)
    days = kernel.working_days(everyone, start, today)
    generals = kernel.general_scores(period, ids)
    empty = {n: 0.0 for n in scheme.names} | {"_items": 0}
    own = {m.id: _row(scheme, sums.get(m.id, empty), days[m.id], {"is_leader": False}, generals.get(m.id))
           for m in members if not m.is_leader}
    # A leader among the members is judged, for the unit's KHT test, on their own work.
    own |= {m.id: _row(scheme, sums.get(m.id, empty), days[m.id], {"is_leader": False}, generals.get(m.id))
            for m in members if m.is_leader}
    leads = person.is_leader or field is not None
    facts = (_leader_facts(scheme, members, own, sums) | kernel.leadership_fact(generals.get(person.id))
             if leads else {"is_leader": False})
    row = _row(scheme, sums.get(person.id, empty), days[person.id], facts, generals.get(person.id))
    return {**row, "as_of": today}
