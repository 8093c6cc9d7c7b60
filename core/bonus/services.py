"""Bonus runs (domain.md "Money and people decisions"): a final year's levels shared by the
bonus scheme in force at the year's end, in whole đồng summing exactly to the fund."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import delete, func, select

from core import unit_of_work
from core.audit.services import record
from core.auth.normalize import search_term
from core.auth.principal import Principal
from core.bonus.models import BonusAllocation, BonusRun
from core.classification.models import EmployeeClassification
from core.classification.services import check_year, months_worked_set, year_state
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.jobs.runner import submit, task
from core.org.models import Employee, OrgUnit
from core.plugins.components import LEVELS
from core.tenants.choices import component_for
from core.timeutil import utcnow
from core.webhooks import outbox as webhooks
from core.work.models import LeaveRecord

DEFAULT_BASE_SALARY = 2_340_000  # đồng a month (Decree 73/2024), for schemes without the setting
MAX_FUND = 10**15


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for pybabel; pages show it through the catalogue
    return message


def start_run(principal: Principal, year: int, fund: int | None, paying_unit_id: int | None = None,
              adhoc_percent: Decimal | None = None) -> BonusRun:
    """Record a run and start its job; money follows final levels only, so the year must be final.

    ``paying_unit_id``: share the fund of that paying unit among its people (Decree 73/2024);
    None shares one fund over the whole tenant, as runs always did. ``adhoc_percent``: the
    share set aside for ad-hoc bonuses (default: the scheme's ``adhoc_percent``, else 0)."""
    check_year(year)
    if fund is not None and not 0 <= fund <= MAX_FUND:
        raise Invalid(N_("The fund is out of range."), {"fund": [N_("Whole đồng from 0 to %(max)s.") % {"max": MAX_FUND}]})
    if adhoc_percent is not None and not 0 <= adhoc_percent <= 100:
        raise Invalid(N_("The ad-hoc share is out of range."), {"adhoc_percent": [
            N_("A per cent from %(min)s to %(max)s.") % {"min": 0, "max": 100}]})
    if paying_unit_id is not None:
        unit = db.session.get(OrgUnit, paying_unit_id)
        if unit is None or not unit.is_paying_unit:
            raise Invalid(N_("Not a paying unit."), {"paying_unit_id": [
                N_("No unit of this tenant with this id is marked as a paying unit (đơn vị dự toán).")]})
    state = year_state(year)
    if state is None or state.status != "final":
        raise Conflict(N_("The classification of %(year)s is not final; finalise it before sharing a bonus.") % {"year": year},
                       code="year_not_final")
    component_for("bonus_scheme", date(year, 12, 31))  # a missing scheme is a 409 now, not a failed job later
    run = BonusRun(year=year, fund_requested=fund, requested_by=principal.actor, paying_unit_id=paying_unit_id,
                   adhoc_percent=adhoc_percent)
    db.session.add(run)
    db.session.flush()
    record("bonus.request", "bonus_run", run.id, after={
        "year": year, "fund": fund, "paying_unit_id": paying_unit_id,
        "adhoc_percent": None if adhoc_percent is None else str(adhoc_percent)})
    unit_of_work.commit()
    job = submit("bonus", f"{year}:{run.id}", {"bonus_run_id": run.id}, principal.actor)
    run = db.session.get(BonusRun, run.id)
    run.job_id = job.id
    unit_of_work.commit()
    return run


def paying_unit_of(units: dict[int, tuple[int | None, bool]]) -> dict[int, int | None]:
    """Each unit's paying unit: itself when flagged, else the nearest flagged unit above it."""
    out: dict[int, int | None] = {}
    for unit_id in units:
        current, seen, found = unit_id, set(), None
        while current is not None and current not in seen:
            seen.add(current)
            parent, paying = units.get(current, (None, False))
            if paying:
                found = current
                break
            current = parent
        out[unit_id] = found
    return out


def people_of(year: int, base_salary: int, paying_unit_id: int | None = None) -> list[dict]:
    """The year's classified people (of one paying unit, when given) with what a scheme needs,
    including ``months``: the months worked ("YYYY-MM"), for the base salary in force in each."""
    rows = db.session.execute(
        select(EmployeeClassification, Employee.salary_coefficient, Employee.start_date, Employee.end_date)
        .join(Employee, Employee.id == EmployeeClassification.employee_id)
        .where(EmployeeClassification.year == year).order_by(EmployeeClassification.employee_id)).all()
    if paying_unit_id is not None:
        units = {i: (parent, paying) for i, parent, paying in db.session.execute(
            select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.is_paying_unit))}
        paying_of = paying_unit_of(units)
        rows = [r for r in rows if paying_of.get(r[0].unit_id) == paying_unit_id]
    ids = [r[0].employee_id for r in rows]
    leave: dict[int, list[tuple[date, date]]] = {}
    if ids:
        for employee_id, start, end in db.session.execute(
                select(LeaveRecord.employee_id, LeaveRecord.start_date, LeaveRecord.end_date).where(
                    LeaveRecord.approved.is_(True), LeaveRecord.employee_id.in_(ids),
                    LeaveRecord.start_date <= date(year, 12, 31), LeaveRecord.end_date >= date(year, 1, 1))):
            leave.setdefault(employee_id, []).append((start, end))
    people = []
    for c, coefficient, start, end in rows:
        months = sorted(months_worked_set(start, end, year, leave.get(c.employee_id, [])))
        people.append({"employee_id": c.employee_id, "level": c.level, "months_worked": c.months_worked,
                       "salary_coefficient": coefficient, "base_salary": base_salary,
                       "months": [f"{year}-{m:02d}" for m in months]})
    return people


def compute(run_id: int, progress: Callable[..., None] | None = None) -> dict:
    """Idempotent: replaces the run's allocations."""
    run = db.session.get(BonusRun, run_id)
    if run is None:
        raise NotFound(N_("Bonus run not found."))
    chosen = component_for("bonus_scheme", date(run.year, 12, 31))
    people = people_of(run.year, int(chosen.settings.get("base_salary", DEFAULT_BASE_SALARY)), run.paying_unit_id)
    if progress:
        progress(0, len(people), "allocating")
    fund = run.fund_requested if run.fund_requested is not None else chosen.component.default_fund(people, chosen.settings)
    percent = run.adhoc_percent if run.adhoc_percent is not None else Decimal(
        str(chosen.settings.get("adhoc_percent", 0) or 0))
    # Set aside first, in whole đồng rounded down, so that what is shared and what is kept
    # add up to the fund exactly.
    reserve = int(Fraction(fund) * Fraction(percent) / 100)
    shared = fund - reserve
    try:
        allocations = chosen.component.allocate(shared, people, chosen.settings)
    except ValueError as exc:
        raise Invalid(N_("The fund cannot be shared: %(reason)s.") % {"reason": exc}) from exc
    if sum(a["amount"] for a in allocations) != shared:  # a vendor's scheme must not lose a đồng
        raise Invalid(N_("The bonus scheme %(key)s did not share the fund exactly.") % {"key": chosen.component.key})
    db.session.execute(delete(BonusAllocation).where(BonusAllocation.bonus_run_id == run.id))
    db.session.add_all(BonusAllocation(bonus_run_id=run.id, employee_id=p["employee_id"], level=p["level"],
                                       months_worked=p["months_worked"], amount=int(a["amount"]),
                                       explain=dict(a.get("explain") or {}))  # type: ignore[typeddict-item]
                       for p, a in zip(people, allocations, strict=True))
    stamp = chosen.stamp()
    run.fund, run.status, run.error, run.finished_at = fund, "finished", None, utcnow()
    run.adhoc_reserve = reserve
    run.scheme_key, run.scheme_version, run.settings_hash = stamp["key"], stamp["version"], stamp["settings_hash"]
    db.session.flush()
    result = {"id": run.id, "year": run.year, "fund": fund, "adhoc_reserve": reserve, "shared": shared,
              "paying_unit_id": run.paying_unit_id, "people": len(people),
              "scheme": {"key": stamp["key"], "version": stamp["version"]}}
    record("bonus.run", "bonus_run", run.id, after=result)
    webhooks.publish("bonus_run.done", result)
    if progress:
        progress(len(people), len(people), "done")
    return result


@task("bonus", queue="default", timeout=1800)
def bonus_task(progress, bonus_run_id: int) -> dict:
    from core.scoring import scorer

    try:
        run = db.session.get(BonusRun, int(bonus_run_id))
        if run is not None and scorer.deferred():
            scorer.drain_year(str(run.year))  # the year's months with changes not scored yet, first
        result = compute(int(bonus_run_id), progress)
    except Exception as exc:
        # The run records why it failed, in its own transaction, so GET …/bonus-runs/{id} says it.
        db.session.rollback()
        run = db.session.get(BonusRun, int(bonus_run_id))
        if run is not None:
            run.status, run.error, run.finished_at = "failed", str(exc)[:500], utcnow()
            unit_of_work.commit()
        raise
    unit_of_work.commit()
    return result


def run_view(run: BonusRun, with_allocations: bool = True) -> dict:
    view = {"id": run.id, "year": run.year, "fund": run.fund, "fund_requested": run.fund_requested,
            "paying_unit_id": run.paying_unit_id, "adhoc_percent": run.adhoc_percent, "adhoc_reserve": run.adhoc_reserve,
            "shared": None if run.fund is None else run.fund - (run.adhoc_reserve or 0),
            "status": run.status, "error": run.error, "job_id": run.job_id,
            "scheme": {"key": run.scheme_key, "version": run.scheme_version} if run.scheme_key else None,
            "requested_by": run.requested_by, "created_at": run.created_at, "finished_at": run.finished_at}
    if with_allocations:
        view["allocations"] = [
            {"employee_id": a.employee_id, "level": a.level, "months_worked": a.months_worked, "amount": a.amount,
             "explain": a.explain}
            for a in db.session.scalars(select(BonusAllocation).where(BonusAllocation.bonus_run_id == run.id)
                                        .order_by(BonusAllocation.employee_id))]
    return view


ALLOCATIONS_PAGE = 50  # people a page of a run; the export has them all


def allocation_levels(run_id: int) -> list[dict]:
    """A run's people and amount by level, best level first (one GROUP BY): what the
    Department of Home Affairs checks before reading names."""
    rows = db.session.execute(
        select(BonusAllocation.level, func.count(), func.coalesce(func.sum(BonusAllocation.amount), 0))
        .where(BonusAllocation.bonus_run_id == run_id).group_by(BonusAllocation.level)).all()
    rank = {level: i for i, level in enumerate(LEVELS)}
    return [{"level": level, "people": people, "amount": int(amount)}
            for level, people, amount in sorted(rows, key=lambda r: (rank.get(r[0], len(LEVELS)), r[0] or ""))]


def allocations_page(run_id: int, q: str | None, page: int, per_page: int) -> tuple[list[dict], int]:
    """One page of a run's allocations by name, with the person's name and code, and how
    many match: `q` a name or a code, marks or not (the people's stored search key)."""
    stmt = (select(BonusAllocation, Employee.full_name, Employee.code)
            .join(Employee, Employee.id == BonusAllocation.employee_id)
            .where(BonusAllocation.bonus_run_id == run_id)
            .order_by(Employee.full_name, Employee.code, Employee.id))
    if q and search_term(q):
        stmt = stmt.where(Employee.search_key.contains(search_term(q), autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return [{"employee_id": a.employee_id, "name": name, "code": code, "level": a.level,
             "months_worked": a.months_worked, "amount": a.amount} for a, name, code in rows], total


def get_run(run_id: int) -> BonusRun:
    run = db.session.get(BonusRun, run_id)
    if run is None:
        raise NotFound(N_("Bonus run not found."))
    return run


def runs(year: int | None = None, paying_unit_id: int | None = None) -> list[dict]:
    stmt = select(BonusRun).order_by(BonusRun.id.desc())
    if year is not None:
        stmt = stmt.where(BonusRun.year == year)
    if paying_unit_id is not None:
        stmt = stmt.where(BonusRun.paying_unit_id == paying_unit_id)
    return [run_view(r, with_allocations=False) for r in db.session.scalars(stmt)]


def xlsx(run: BonusRun) -> bytes:
    """The run as a spreadsheet: one row per person with the basis of the amount."""
    import io

    from openpyxl import Workbook

    people = select(BonusAllocation.employee_id).where(BonusAllocation.bonus_run_id == run.id)
    rows = db.session.execute(select(Employee.id, Employee.full_name, Employee.code).where(Employee.id.in_(people)))
    names, codes = {}, {}
    for employee_id, full_name, code in rows:
        names[employee_id], codes[employee_id] = full_name, code
    book = Workbook()
    sheet = book.active
    sheet.title = f"Thưởng {run.year}"
    sheet.append(["employee_code", "full_name", "level", "months_worked", "amount", "explain"])
    for a in run_view(run)["allocations"]:
        sheet.append([codes.get(a["employee_id"]), names.get(a["employee_id"]), a["level"], a["months_worked"],
                      a["amount"], "; ".join(f"{k}={v}" for k, v in sorted(a["explain"].items()))])
    if run.adhoc_reserve:
        sheet.append([None, None, None, None, run.adhoc_reserve, "adhoc_reserve"])
    sheet.append([None, None, None, None, run.fund, "fund"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
