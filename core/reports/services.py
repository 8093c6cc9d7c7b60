"""Reports behind people decisions (domain.md "Money and people decisions"; api.md).

- Streamlining candidates (Decree 154/2025): everyone rated KHT in the year, and the people
  of a job position whose need measured from the hours ledger is a whole post or more below
  its headcount, each with the ground; people the decree protects are listed apart. A
  ranking of totals is only an analysis (no "bottom N %": the decree gives it no basis).
- Workload and staffing per unit and position for a period: average credited hours per
  working day (norm minutes × quantity × complexity of completed items — the pilot
  measured 5.5–6.1 h/day), headcount, and the staffing need = Σ norm hours of the
  period's items ÷ the hours one full-time person works in it (1,900 h a year, our rule,
  prorated by working days).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.auth.principal import Principal
from core.classification.models import DisciplineRecord, EmployeeClassification
from core.classification.reasons import shown as shown_reason
from core.classification.services import check_year, year_state
from core.errors import Invalid
from core.extensions import db
from core.org.models import Employee, JobPosition, OrgUnit
from core.org.services import visible_employees_filter
from core.periods import period_bounds
from core.scoring import kernel
from core.work.calendar import WorkCalendar
from core.work.models import LeaveRecord, WorkItem

FULL_TIME_HOURS_A_YEAR = Decimal(1900)  # 8 h × (≈250 − 12) days (our rule)


def _round(value: Decimal | float, places: int = 2) -> float:
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-places)))


def _bounds(period: str):
    try:
        start, end = period_bounds(period)
    except ValueError as exc:
        raise Invalid("Not a period.", {"period": [str(exc)]}) from exc
    check_year(start.year)  # the calendar of year 9999 is nobody's workload
    return start, end


# ---------------------------------------------------------------- streamlining

# The note every ranking carries: Decree 154/2025 names the grounds for streamlining, and
# a place in a ranking of totals is not one of them.
RANKING_NOTE = "Analysis only: a place in this ranking is not a ground for streamlining (Decree 154/2025)."


def _third_birthday(born: date) -> date:
    """The day a child born on ``born`` is 36 months old (29 February: 1 March)."""
    try:
        return born.replace(year=born.year + 3)
    except ValueError:
        return date(born.year + 3, 3, 1)


def _holds(start: date | None, end: date | None, day: date) -> bool:
    return start is not None and start <= day and (end is None or day <= end)


def protections(e: Employee, day: date, maternity_leave: date | None = None) -> list[dict]:
    """What keeps ``e`` out of streamlining on ``day`` (Decree 154/2025): pregnant, on
    maternity leave, raising a child under 36 months, under a discipline review not closed.
    Maternity leave is read from the employee's dates and from an approved leave record
    of kind maternity holding ``day`` (``maternity_leave``: its first day)."""
    out = []
    if _holds(e.pregnant_from, e.pregnant_to, day):
        out.append({"kind": "pregnant", "from": e.pregnant_from.isoformat()})
    if _holds(e.maternity_leave_from, e.maternity_leave_to, day):
        out.append({"kind": "maternity_leave", "from": e.maternity_leave_from.isoformat()})
    elif maternity_leave is not None:
        out.append({"kind": "maternity_leave", "from": maternity_leave.isoformat()})
    born = e.youngest_child_born_on
    if born is not None and born <= day < _third_birthday(born):
        out.append({"kind": "child_under_36_months", "until": _third_birthday(born).isoformat()})
    if _holds(e.discipline_review_from, e.discipline_review_to, day):
        out.append({"kind": "discipline_review", "from": e.discipline_review_from.isoformat()})
    return out


def _surplus_groups(principal: Principal, year: int) -> tuple[dict[int, dict], list[dict]]:
    """Each person of a (unit, position) whose measured need for the year is at least one
    whole post below its headcount, with the group's figures; and every group's figures.
    A group with no recorded work is not judged: no hours is no measure, not no need."""
    rows, members = _workload(principal, date(year, 1, 1), date(year, 12, 31))
    surplus_of: dict[int, dict] = {}
    for row in rows:
        need = row["staffing_need"]
        if need is None or not row["norm_hours"]:
            continue
        surplus = math.floor(Decimal(row["headcount"]) - Decimal(str(need)))
        if surplus < 1:
            continue
        ground = {"kind": "surplus", "year": year, "unit_id": row["unit_id"], "position_id": row["position_id"],
                  "position_code": row["position_code"], "headcount": row["headcount"],
                  "staffing_need": need, "surplus": surplus}
        for employee_id in members[(row["unit_id"], row["position_id"])]:
            surplus_of[employee_id] = ground
    return surplus_of, rows


def streamlining(principal: Principal, year: int, as_of: date | None = None, ranking: bool = False) -> dict:
    """Candidates for streamlining in ``year``, each with its grounds (Decree 154/2025): rated
    KHT in the year, or in a job position whose measured need is below its headcount. People
    protected on ``as_of`` (default today) are listed apart under ``excluded``, with why. A
    ranking of totals is given only on request, and only as an analysis."""
    check_year(year)
    if as_of is None:
        from core.work.calendar import local_today

        as_of = local_today()  # the tenant's day, not the server's
    state = year_state(year)
    rows = []
    if state is not None:
        stmt = (select(EmployeeClassification, Employee).join(Employee, Employee.id == EmployeeClassification.employee_id)
                .where(EmployeeClassification.year == year))
        clause = visible_employees_filter(principal)
        if clause is not None:
            stmt = stmt.where(clause)
        rows = db.session.execute(stmt.order_by(EmployeeClassification.employee_id)).all()
    surplus_of, _ = _surplus_groups(principal, year)
    classified = {c.employee_id: (c, e) for c, e in rows}
    grounds: dict[int, list[dict]] = {}
    for c, _e in rows:
        if c.level == "KHT":
            grounds.setdefault(c.employee_id, []).append({"kind": "kht", "year": year})
    for employee_id, ground in surplus_of.items():
        grounds.setdefault(employee_id, []).append(ground)
    ids = sorted(grounds)
    people = {e.id: e for e in db.session.scalars(select(Employee).where(Employee.id.in_(ids)))} if ids else {}
    discipline: dict[int, list[dict]] = {}
    for d in db.session.scalars(select(DisciplineRecord).where(DisciplineRecord.year == year,
                                                               DisciplineRecord.employee_id.in_(ids))):
        discipline.setdefault(d.employee_id, []).append({"kind": d.kind, "decided_on": d.decided_on.isoformat(),
                                                         "reason": d.reason})
    on_leave = dict(db.session.execute(
        select(LeaveRecord.employee_id, func.min(LeaveRecord.start_date))
        .where(LeaveRecord.employee_id.in_(ids), LeaveRecord.kind == "maternity", LeaveRecord.approved.is_(True),
               LeaveRecord.start_date <= as_of, LeaveRecord.end_date >= as_of)
        .group_by(LeaveRecord.employee_id)).all()) if ids else {}
    candidates, excluded = [], []
    for employee_id in ids:
        e = people[employee_id]
        c = classified.get(employee_id, (None, None))[0]
        entry = {
            "employee_id": employee_id, "code": e.code, "full_name": e.full_name,
            "unit_id": c.unit_id if c is not None else e.unit_id, "level": c.level if c is not None else None,
            "grounds": grounds[employee_id], "reasons": [_reason(g) for g in grounds[employee_id]],
            "evidence": {"total": None if c is None or c.total is None else float(c.total),
                         "computed_level": c.computed_level if c is not None else None,
                         "override": ({"level": c.override_level, "reason": shown_reason(c.override_reason), "by": c.override_by}
                                      if c is not None and c.override_level else None),
                         "forced_kht": bool(c is not None and c.forced_kht),
                         "discipline": discipline.get(employee_id, []),
                         "months_worked": c.months_worked if c is not None else None,
                         "criteria": (c.criteria or {}) if c is not None else {}},
        }
        protected = protections(e, as_of, on_leave.get(employee_id))
        if protected:
            excluded.append({**entry, "protections": protected})
        else:
            candidates.append(entry)
    answer = {"year": year, "classified": state is not None, "final": state is not None and state.status == "final",
              "as_of": as_of, "candidates": candidates, "excluded": excluded}
    if ranking:
        answer["ranking"] = _ranking(rows)
    return answer


def _reason(ground: dict) -> str:
    if ground["kind"] == "kht":
        return f"Rated KHT in {ground['year']} (Decree 154/2025)."
    return (f"Surplus in position {ground['position_code'] or '—'} of unit {ground['unit_id']}: "
            f"{ground['headcount']} people for a measured need of {ground['staffing_need']} in {ground['year']} "
            f"(Decree 154/2025).")


def _ranking(rows) -> dict:
    """Classified totals from the highest, ties by id; labelled an analysis, never a ground."""
    scored = sorted(((c, e) for c, e in rows if c.total is not None), key=lambda ce: (-ce[0].total, ce[0].employee_id))
    return {"analysis_only": True, "note": RANKING_NOTE,
            "rows": [{"rank": i, "employee_id": c.employee_id, "code": e.code, "full_name": e.full_name,
                      "total": float(c.total), "level": c.level} for i, (c, e) in enumerate(scored, start=1)]}


# ---------------------------------------------------------------- workload and staffing


def workload(principal: Principal, period: str) -> dict:
    start, end = _bounds(period)
    rows, _ = _workload(principal, start, end)
    return {"period": period, "full_time_hours": _round(_fte_hours(start, end)), "rows": rows}


def _fte_hours(start: date, end: date) -> Decimal:
    """One full-time person's hours in [start, end]: 1,900 h a year in proportion of its
    working days, counted on the tenant's calendar (its days off and make-up days), as the
    people's own working days are."""
    year_start, year_end = date(start.year, 1, 1), date(start.year, 12, 31)
    calendar = WorkCalendar.load(year_start, max(end, year_end))
    year_days = len(calendar.working_days(year_start, year_end))
    return FULL_TIME_HOURS_A_YEAR * len(calendar.working_days(start, end)) / year_days if year_days else Decimal(0)


def _workload(principal: Principal, start: date, end: date) -> tuple[list[dict], dict[tuple[int, int | None], list[int]]]:
    """The rows of the workload report and the people of each (unit, position)."""
    people = kernel.people_in(start, end)
    clause = visible_employees_filter(principal)
    if clause is not None:
        visible = set(db.session.scalars(select(Employee.id).where(clause)))
        people = [p for p in people if p.id in visible]
    days = kernel.working_days(people, start, end)
    positions = dict(db.session.execute(select(Employee.id, Employee.position_id).where(
        Employee.id.in_([p.id for p in people]))).all()) if people else {}
    hours = func.sum(WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient) / 60
    base = (select(WorkItem.employee_id, hours).where(WorkItem.work_date.between(start, end),
                                                       WorkItem.employee_id.in_([p.id for p in people]))
            .group_by(WorkItem.employee_id))
    credited = dict(db.session.execute(base.where(WorkItem.status == "done")).all()) if people else {}
    demanded = dict(db.session.execute(base.where(WorkItem.status != "cancelled")).all()) if people else {}
    fte_hours = _fte_hours(start, end)
    groups: dict[tuple[int, int | None], dict] = {}
    members: dict[tuple[int, int | None], list[int]] = {}
    for p in people:
        key = (p.unit_id, positions.get(p.id))
        g = groups.setdefault(key, {"headcount": 0, "days": 0, "credited": Decimal(0), "norm": Decimal(0)})
        members.setdefault(key, []).append(p.id)
        g["headcount"] += 1
        g["days"] += days.get(p.id, 0)
        g["credited"] += Decimal(credited.get(p.id) or 0)
        g["norm"] += Decimal(demanded.get(p.id) or 0)
    units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name)).all())
    position_rows = {i: (c, n) for i, c, n in db.session.execute(select(JobPosition.id, JobPosition.code, JobPosition.name))}
    rows = []
    for (unit_id, position_id), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        code, name = position_rows.get(position_id, (None, None))
        need = g["norm"] / fte_hours if fte_hours else None
        rows.append({
            "unit_id": unit_id, "unit_name": units.get(unit_id), "position_id": position_id,
            "position_code": code, "position_name": name, "headcount": g["headcount"], "working_days": g["days"],
            "credited_hours": _round(g["credited"]),
            "hours_per_working_day": _round(g["credited"] / g["days"]) if g["days"] else None,
            "norm_hours": _round(g["norm"]),
            "staffing_need": None if need is None else _round(need),
            "staffing_gap": None if need is None else _round(need - g["headcount"]),
        })
    return rows, members


# ---------------------------------------------------------------- calibration for inspectors


def _median(values: list[float]) -> float | None:
    import statistics

    return statistics.median(values) if values else None


def calibration(principal: Principal, period: str, long_days: int = 5, hours_a_day: float = 8.0) -> dict:
    """Where scores look out of line, for an inspector to look at (not a verdict):

    - units whose median total departs from the tenant's median by more than 2 MAD (median
      absolute deviation of everyone's totals);
    - people who declared more than ``hours_a_day`` norm hours on more than ``long_days``
      days of the period — "good at reporting" next to their actual total.

    ``period`` is a month (monthly totals) or a year (annual totals, domain.md's mean of months).
    """
    from core.scoring.models import PeriodScore
    from core.scoring.services import year_scores

    start, end = _bounds(period)
    stmt = select(Employee.id, Employee.unit_id)
    clause = visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    unit_of = dict(db.session.execute(stmt).all())
    if len(period) == 4:
        totals = {s["employee_id"]: s["total"] for s in year_scores(period, list(unit_of))} if unit_of else {}
    elif len(period) == 7:
        totals = {e: float(t) for e, t in db.session.execute(select(PeriodScore.employee_id, PeriodScore.total).where(
            PeriodScore.period == period, PeriodScore.item_count > 0, PeriodScore.employee_id.in_(list(unit_of))))}
    else:
        raise Invalid("Calibration is by month or year.", {"period": ["Use 2026-10 or 2026."]})
    values = list(totals.values())
    median = _median(values)
    mad = _median([abs(v - median) for v in values]) if median is not None else None
    by_unit: dict[int, list[float]] = {}
    for employee_id, total in totals.items():
        by_unit.setdefault(unit_of[employee_id], []).append(total)
    names = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name)).all())
    units = []
    for unit_id, unit_totals in sorted(by_unit.items()):
        unit_median = _median(unit_totals)
        departure = unit_median - median
        units.append({"unit_id": unit_id, "unit_name": names.get(unit_id), "people": len(unit_totals),
                      "median": _round(unit_median), "departure": _round(departure),
                      "flagged": bool(mad is not None and abs(departure) > 2 * mad)})
    daily = (select(WorkItem.employee_id, WorkItem.work_date,
                    func.sum(WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient))
             .where(WorkItem.work_date.between(start, end), WorkItem.status != "cancelled",
                    WorkItem.employee_id.in_(list(unit_of)))
             .group_by(WorkItem.employee_id, WorkItem.work_date))
    long: dict[int, int] = {}
    for employee_id, _day, minutes in db.session.execute(daily) if unit_of else []:
        if Decimal(str(minutes or 0)) > Decimal(str(hours_a_day)) * 60:
            long[employee_id] = long.get(employee_id, 0) + 1
    people_names = dict(db.session.execute(select(Employee.id, Employee.full_name).where(
        Employee.id.in_([e for e, n in long.items() if n > long_days]))).all()) if long else {}
    declarers = [{"employee_id": e, "full_name": people_names.get(e), "unit_id": unit_of[e], "long_days": n,
                  "total": None if totals.get(e) is None else _round(totals[e])}
                 for e, n in sorted(long.items()) if n > long_days]
    return {"period": period, "median": None if median is None else _round(median),
            "mad": None if mad is None else _round(mad), "units": units, "long_day_declarers": declarers,
            "hours_a_day": hours_a_day, "long_days": long_days}
