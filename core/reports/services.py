"""Reports behind people decisions (domain.md "Money and people decisions"; api.md).

- Streamlining candidates (Decree 154/2025): everyone rated KHT in the year, with the
  evidence; optionally the lowest N % of totals (the classification scheme's
  ``streamlining_bottom_percent``, 0 = off).
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
from core.classification.services import check_year, year_state
from core.errors import Invalid
from core.extensions import db
from core.org.models import Employee, JobPosition, OrgUnit
from core.org.services import visible_employees_filter
from core.plugins.toolkit import period_bounds, working_days
from core.scoring import engine
from core.tenants.services import component_for
from core.work.models import WorkItem

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


def streamlining(principal: Principal, year: int) -> dict:
    check_year(year)
    state = year_state(year)
    if state is None:  # nothing classified yet: no candidates, and the answer says why
        return {"year": year, "classified": False, "final": False, "bottom_percent": 0, "candidates": []}
    stmt = (select(EmployeeClassification, Employee).join(Employee, Employee.id == EmployeeClassification.employee_id)
            .where(EmployeeClassification.year == year))
    clause = visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    rows = db.session.execute(stmt.order_by(EmployeeClassification.employee_id)).all()
    bottom = _bottom_percent(year)
    lowest = _lowest(rows, bottom)
    ids = [c.employee_id for c, _ in rows if c.level == "KHT" or c.employee_id in lowest]
    discipline: dict[int, list[dict]] = {}
    for d in db.session.scalars(select(DisciplineRecord).where(DisciplineRecord.year == year,
                                                               DisciplineRecord.employee_id.in_(ids))):
        discipline.setdefault(d.employee_id, []).append({"kind": d.kind, "decided_on": d.decided_on.isoformat(),
                                                         "reason": d.reason})
    candidates = []
    for c, e in rows:
        reasons = []
        if c.level == "KHT":
            reasons.append(f"Rated KHT in {year} (Decree 154/2025).")
        if c.employee_id in lowest:
            reasons.append(f"Among the lowest {bottom}% of totals in {year}.")
        if not reasons:
            continue
        candidates.append({
            "employee_id": c.employee_id, "code": e.code, "full_name": e.full_name, "unit_id": c.unit_id,
            "level": c.level, "reasons": reasons,
            "evidence": {"total": None if c.total is None else float(c.total), "computed_level": c.computed_level,
                         "override": ({"level": c.override_level, "reason": c.override_reason, "by": c.override_by}
                                      if c.override_level else None),
                         "forced_kht": c.forced_kht, "discipline": discipline.get(c.employee_id, []),
                         "months_worked": c.months_worked, "criteria": c.criteria or {}},
        })
    return {"year": year, "classified": True, "final": state.status == "final", "bottom_percent": bottom,
            "candidates": candidates}


def _bottom_percent(year: int) -> int:
    chosen = component_for("classification_scheme", date(year, 12, 31))
    return int(chosen.settings.get("streamlining_bottom_percent", 0) or 0)


def _lowest(rows, percent: int) -> set[int]:
    """The lowest ``percent`` % of the classified totals, at least one person when on (ties by id)."""
    scored = sorted(((c.total, c.employee_id) for c, _ in rows if c.total is not None and c.level is not None))
    if not percent or not scored:
        return set()
    count = max(1, math.floor(len(scored) * percent / 100))
    return {employee_id for _, employee_id in scored[:count]}


# ---------------------------------------------------------------- workload and staffing


def workload(principal: Principal, period: str) -> dict:
    start, end = _bounds(period)
    people = engine.people_in(start, end)
    clause = visible_employees_filter(principal)
    if clause is not None:
        visible = set(db.session.scalars(select(Employee.id).where(clause)))
        people = [p for p in people if p.id in visible]
    days = engine.working_days(people, start, end)
    positions = dict(db.session.execute(select(Employee.id, Employee.position_id).where(
        Employee.id.in_([p.id for p in people]))).all()) if people else {}
    hours = func.sum(WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient) / 60
    base = (select(WorkItem.employee_id, hours).where(WorkItem.work_date.between(start, end),
                                                       WorkItem.employee_id.in_([p.id for p in people]))
            .group_by(WorkItem.employee_id))
    credited = dict(db.session.execute(base.where(WorkItem.status == "done")).all()) if people else {}
    demanded = dict(db.session.execute(base.where(WorkItem.status != "cancelled")).all()) if people else {}
    # One full-time person's hours in the period: 1,900 h a year in proportion of its working days.
    year_days = working_days(date(start.year, 1, 1), date(start.year, 12, 31))
    period_days = working_days(start, end)
    fte_hours = FULL_TIME_HOURS_A_YEAR * period_days / year_days if year_days else Decimal(0)
    groups: dict[tuple[int, int | None], dict] = {}
    for p in people:
        g = groups.setdefault((p.unit_id, positions.get(p.id)), {"headcount": 0, "days": 0, "credited": Decimal(0),
                                                                  "norm": Decimal(0)})
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
    return {"period": period, "full_time_hours": _round(fte_hours), "rows": rows}


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
