"""The yearly classification and its workflow (domain.md "Classification"; api.md "Scores
and decisions").

draft (the run, repeatable) → managers review their units and may override a level with a
reason → the tenant admin finalises, and the year is locked. Employees may appeal within
the tenant's window after the run (the classification scheme's ``appeal_days``); an appeal
is resolved with a reason, and an upheld one may set the level. Finalising waits for every
pending appeal. Everything is audited and the people concerned are notified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, delete, func, select

from core import unit_of_work
from core.audit.services import record
from core.auth.principal import Principal
from core.classification import reasons
from core.classification.models import (
    DECREE_172_IN_FORCE,
    DISCIPLINE_KINDS,
    FORMS_BEFORE_DECREE_172,
    AgencyEvaluation,
    ClassificationAppeal,
    ClassificationYear,
    DisciplineRecord,
    EmployeeClassification,
)
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.jobs.runner import task
from core.notifications.services import notify
from core.org.models import Employee, JobPosition, OrgUnit
from core.org.services import manages, visible_employees_filter
from core.pagination import paginate
from core.plugins.components import LEVELS
from core.scoring.services import year_scores
from core.tenants.choices import component_for
from core.timeutil import utcnow
from core.webhooks import outbox as webhooks
from core.work.models import LeaveRecord, WorkItem

FIRST_YEAR, LAST_YEAR = 2000, 2100
DEFAULT_APPEAL_DAYS = 15
# The top-most unit of one of these kinds above a person's unit is their agency: the HTXS
# quota is counted per agency (or commune) and group of positions.
AGENCY_KINDS = ("agency", "commune", "ward", "special_zone")
LEAVE_MONTH_DAYS = 30  # "leave of a month or more" (our rule: 30 calendar days make a month)


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for pybabel; notify() translates it
    return message


RESOLVED = {"upheld": N_("Your appeal against the classification of %(year)s was upheld: %(reason)s"),
            "rejected": N_("Your appeal against the classification of %(year)s was rejected: %(reason)s")}


def now() -> datetime:
    """The services' clock (tests move it)."""
    return utcnow()


def local_day(moment: datetime) -> str:
    """A moment as people of the tenant read its day: 12/12/2026, in the tenant's zone."""
    from core.work import calendar as cal

    return cal.local_date(moment, cal.current_tenant()).strftime("%d/%m/%Y")


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(N_("Not a year to classify."), {"year": [
            N_("Must be from %(first)s to %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}]})
    return year


# ---------------------------------------------------------------- inputs of the run


def months_worked(start: date | None, end: date | None, year: int, leave: Iterable[tuple[date, date]]) -> int:
    """How many months of ``year`` were worked (``months_worked_set``)."""
    return len(months_worked_set(start, end, year, leave))


def months_worked_set(start: date | None, end: date | None, year: int, leave: Iterable[tuple[date, date]]) -> set[int]:
    """The months (1–12) of ``year`` covered by the employment dates (start to end, or to the
    year's end), less approved leave of a month or more.

    Our rules: a month counts when employment covers any day of it; a leave of 30 days or
    more (within the year and the employment) takes out each calendar month of which it
    covers at least half — so 1 January to 28 February is two months, not ⌊59 ÷ 30⌋ = 1.
    """
    first, last = max(start or date(year, 1, 1), date(year, 1, 1)), min(end or date(year, 12, 31), date(year, 12, 31))
    if last < first:
        return set()
    covered = set(range(first.month, last.month + 1))
    away: set[int] = set()
    for leave_start, leave_end in leave:
        lo, hi = max(leave_start, first), min(leave_end, last)
        if (hi - lo).days + 1 < LEAVE_MONTH_DAYS:
            continue
        for month in range(lo.month, hi.month + 1):
            month_first = date(year, month, 1)
            month_last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            days = (min(hi, month_last) - max(lo, month_first)).days + 1
            if 2 * days >= (month_last - month_first).days + 1:
                away.add(month)
    return covered - away


# Leave that does not take a person out of classification: Decree 90/2020 Art. 2 (as
# amended by Decree 48/2023) classifies people on maternity leave on the time they actually
# worked; sick leave is leave under the law too (issue 20, item 3). Annual, unpaid, study
# and other leave of a month or more still count as months not worked.
KEPT_LEAVE_KINDS = ("sick", "maternity")


def months_on_kept_leave(start: date | None, end: date | None, year: int,
                         leave: Iterable[tuple[date, date, str]]) -> int:
    """The months that sick and maternity leave alone take out of ``months_worked``: the
    months worked counting only the other kinds, less the months worked counting all."""
    every = [(lo, hi) for lo, hi, _ in leave]
    others = [(lo, hi) for lo, hi, kind in leave if kind not in KEPT_LEAVE_KINDS]
    return months_worked(start, end, year, others) - months_worked(start, end, year, every)


def agency_of(unit_id: int, units: dict[int, tuple[int | None, str]]) -> int:
    """The top-most unit of an agency kind above (or at) ``unit_id``; the unit itself when none."""
    found, current, seen = None, unit_id, set()
    while current is not None and current not in seen:
        seen.add(current)
        parent, kind = units[current]
        if kind in AGENCY_KINDS:
            found = current
        current = parent
    return found if found is not None else unit_id


def employed_in(year: int):
    return (func.coalesce(Employee.start_date, date(year, 1, 1)) <= date(year, 12, 31)) & (
        func.coalesce(Employee.end_date, date(year, 12, 31)) >= date(year, 1, 1))


def _criteria(year: int, ids: list[int]) -> dict[int, dict[str, int]]:
    """Counts of the year's items per person for criteria-based schemes (decree90): one GROUP BY."""
    done = WorkItem.status == "done"
    on_time = WorkItem.exempt.is_(True) | ((WorkItem.missed_deadlines == 0) & (WorkItem.failed_reviews == 0))
    good = done & on_time
    stmt = (select(WorkItem.employee_id, func.count(),
                   func.sum(case((done, 1), else_=0)), func.sum(case((good, 1), else_=0)),
                   func.sum(case((good & (WorkItem.stars == 5), 1), else_=0)))
            .where(WorkItem.status != "cancelled", WorkItem.employee_id.in_(ids),
                   WorkItem.work_date.between(date(year, 1, 1), date(year, 12, 31)))
            .group_by(WorkItem.employee_id))
    return {row[0]: {"assigned": int(row[1]), "completed": int(row[2] or 0), "good": int(row[3] or 0),
                     "exceeding": int(row[4] or 0)} for row in db.session.execute(stmt)}


@dataclass
class YearInput:
    people: list[dict[str, Any]]
    employees: dict[int, Any]  # id → row of the columns the run needs


def gather(year: int, periods: list[str] | None = None, agency_id: int | None = None) -> YearInput:
    """The plain data a classification scheme needs, for everyone employed in the year
    (columns, not ORM objects: a province has tens of thousands of people); with
    ``agency_id`` only that agency's people, with ``periods`` only those months' scores."""
    from core.classification.procedure import quarterly_people, regimes_on

    employees = {e.id: e for e in db.session.execute(
        select(Employee.id, Employee.unit_id, Employee.position_id, Employee.start_date, Employee.end_date,
               Employee.is_leader).where(employed_in(year)).order_by(Employee.id))}
    units = {u.id: (u.parent_id, u.kind) for u in db.session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}
    if agency_id is not None:
        employees = {i: e for i, e in employees.items() if agency_of(e.unit_id, units) == agency_id}
    ids = list(employees)
    groups = dict(db.session.execute(select(JobPosition.id, JobPosition.group)).all())
    quarterly = quarterly_people({i: e.unit_id for i, e in employees.items()}, units)
    scores = {s["employee_id"]: s for s in year_scores(str(year), ids, periods, quarterly)} if ids else {}
    regimes = regimes_on(ids, date(year, 12, 31))
    leave: dict[int, list[tuple[date, date, str]]] = {}
    for row in db.session.execute(select(LeaveRecord.employee_id, LeaveRecord.start_date, LeaveRecord.end_date,
                                         LeaveRecord.kind).where(
            LeaveRecord.approved.is_(True), LeaveRecord.employee_id.in_(ids),
            LeaveRecord.start_date <= date(year, 12, 31), LeaveRecord.end_date >= date(year, 1, 1))):
        leave.setdefault(row[0], []).append((row[1], row[2], row[3] or "annual"))
    disciplined = set(db.session.scalars(select(DisciplineRecord.employee_id).where(
        DisciplineRecord.year == year, DisciplineRecord.kind.in_(DISCIPLINE_KINDS))))
    criteria = _criteria(year, ids) if ids else {}
    led_totals = _led_totals(employees, units, scores)
    people = []
    for e in employees.values():
        score = scores.get(e.id)
        group = groups.get(e.position_id, "none") if e.position_id else "none"
        people.append({
            "employee_id": e.id, "total": score["total"] if score else None,
            "task_score": score["task_score"] if score else None,
            "quota_group": f"{agency_of(e.unit_id, units)}:{group}", "agency_id": agency_of(e.unit_id, units),
            "months_worked": months_worked(e.start_date, e.end_date, year,
                                           [(lo, hi) for lo, hi, _ in leave.get(e.id, [])]),
            "months_on_kept_leave": months_on_kept_leave(e.start_date, e.end_date, year, leave.get(e.id, [])),
            "forced_kht": e.id in disciplined, "criteria": criteria.get(e.id, {}),
            "is_leader": e.is_leader, "unit_id": e.unit_id, "regime": regimes[e.id],
        })
        if e.is_leader:
            # The unit's result a head's level may not exceed (the scheme's head_capped_by_unit).
            count, summed = led_totals.get(e.unit_id, (0, Decimal(0)))
            own = scores.get(e.id)
            if own is not None and own["total"] is not None:
                count, summed = count - 1, summed - Decimal(str(own["total"]))
            people[-1]["unit_total"] = str((summed / count).quantize(Decimal("0.01"))) if count > 0 else None
    return YearInput(people, employees)


def _led_totals(employees: dict[int, Any], units: dict[int, tuple[int | None, str]],
                scores: dict[int, dict]) -> dict[int, tuple[int, Decimal]]:
    """(count, sum) of the year's totals of the people in each unit and the units below it:
    the unit's result, as the mean of its people's totals (our rule: the platform has no
    separate rating of units). A walk up each person's chain of units, no query."""
    out: dict[int, tuple[int, Decimal]] = {}
    for e in employees.values():
        score = scores.get(e.id)
        if score is None or score["total"] is None:
            continue
        total, current, seen = Decimal(str(score["total"])), e.unit_id, set()
        while current is not None and current not in seen and current in units:
            seen.add(current)
            count, summed = out.get(current, (0, Decimal(0)))
            out[current] = (count + 1, summed + total)
            current = units[current][0]
    return out


# ---------------------------------------------------------------- the run


def classify_by_regime(people: list[dict[str, Any]], year: int) -> list[dict]:
    """Each regime's people by the scheme the tenant chose for that regime, the HTXS quota
    counted within a regime (a viên chức does not take a công chức's place); answers in the
    order of ``people``. Công chức keep the quota group "<agency>:<group>", the others get
    ":<regime>" after it."""
    from core.classification.procedure import scheme_for_regime

    answers: list[dict | None] = [None] * len(people)
    by_regime: dict[str, list[int]] = {}
    for i, person in enumerate(people):
        by_regime.setdefault(person.get("regime") or "cong_chuc", []).append(i)
        if person.get("regime", "cong_chuc") != "cong_chuc":
            person["quota_group"] = f"{person['quota_group']}:{person['regime']}"
    for regime, indexes in by_regime.items():
        chosen = scheme_for_regime(regime, year)
        for i, answer in zip(indexes, chosen.component.classify([people[i] for i in indexes], chosen.settings),
                             strict=True):
            answers[i] = answer
    return answers  # type: ignore[return-value]


def year_state(year: int) -> ClassificationYear | None:
    return db.session.scalar(select(ClassificationYear).where(ClassificationYear.year == year))


def refuse_if_final(year: int) -> ClassificationYear | None:
    state = year_state(year)
    if state is not None and state.status == "final":
        raise Conflict(N_("The classification of %(year)s is final and cannot change.") % {"year": year},
                       code="year_final")
    return state


def check_runnable(year: int) -> None:
    """What a run would refuse, answered before a job is queued: a bad year (422), a final
    year (409), no usable classification scheme for the year (409)."""
    check_year(year)
    refuse_if_final(year)
    component_for("classification_scheme", date(year, 12, 31))


def run_year(year: int, progress: Callable[..., None] | None = None) -> dict:
    """Classify everyone employed in ``year`` with the scheme in force at its end, replacing
    the draft (idempotent); managers' overrides are kept, since they are reasoned decisions."""
    check_year(year)
    state = refuse_if_final(year)
    chosen = component_for("classification_scheme", date(year, 12, 31))
    from core.classification.procedure import months_counted, procedure_settings
    from core.work import calendar as cal

    # A year in progress counts its finished months only (or the month in progress to
    # date, when the tenant chooses): December's first days must not weigh as a month.
    periods, _ = months_counted(year, cal.local_today(), bool(procedure_settings()["count_month_in_progress"]))
    data = gather(year, periods)
    if progress:
        progress(0, len(data.people), "classifying")
    # An agency whose evaluation is open under the procedure is classified by its own
    # opening (its months, its steps, its decision): the province-wide run leaves it alone.
    held = set(db.session.scalars(select(AgencyEvaluation.agency_id).where(AgencyEvaluation.year == year)))
    held_ids = {p["employee_id"] for p in data.people if p["agency_id"] in held}
    data.people = [p for p in data.people if p["employee_id"] not in held_ids]
    answers = classify_by_regime(data.people, year)
    existing = {r.employee_id: r for r in db.session.scalars(
        select(EmployeeClassification).where(EmployeeClassification.year == year))}
    gone = [i for i in existing if i not in data.employees]
    if gone:
        db.session.execute(delete(EmployeeClassification).where(EmployeeClassification.year == year,
                                                                EmployeeClassification.employee_id.in_(gone)))
    counts = dict.fromkeys((*LEVELS, "none"), 0)
    for person, answer in zip(data.people, answers, strict=True):
        row = existing.get(person["employee_id"]) or EmployeeClassification(year=year, employee_id=person["employee_id"])
        row.unit_id, row.quota_group = person["unit_id"], person["quota_group"]
        row.total = None if person["total"] is None else Decimal(str(person["total"]))
        row.task_score = None if person["task_score"] is None else Decimal(str(person["task_score"]))
        row.months_worked, row.forced_kht, row.criteria = person["months_worked"], person["forced_kht"], person["criteria"]
        row.computed_level, row.demoted_by_quota = answer["level"], bool(answer["demoted_by_quota"])
        db.session.add(row)
        counts[row.level or "none"] += 1
    stamp = chosen.stamp()
    appeal_days = int(chosen.settings.get("appeal_days", DEFAULT_APPEAL_DAYS))
    if state is None:
        state = ClassificationYear(year=year)
        db.session.add(state)
    state.status, state.run_at = "draft", now()
    state.appeal_until = state.run_at + timedelta(days=appeal_days)
    state.scheme_key, state.scheme_version, state.settings_hash = stamp["key"], stamp["version"], stamp["settings_hash"]
    db.session.flush()
    result = {"year": year, "people": len(data.people), "levels": counts, "months": periods,
              "demoted_by_quota": sum(1 for a in answers if a["demoted_by_quota"]),
              "scheme": {"key": stamp["key"], "version": stamp["version"]},
              "appeal_until": state.appeal_until.isoformat()}
    record("classification.run", "classification_year", year, after=result)
    notify([p["employee_id"] for p in data.people], "classification.draft",
           N_("The draft classification of %(year)s is published; you may appeal until %(until)s."),
           {"year": year, "until": local_day(state.appeal_until)}, link=f"/classifications/{year}")
    if progress:
        progress(len(data.people), len(data.people), "done")
    return result


@task("classification", queue="default", timeout=1800)
def classification_task(progress, year: int) -> dict:
    """Idempotent: replaces the year's draft in one transaction."""
    from core.scoring import scorer

    if scorer.deferred():
        scorer.drain_year(str(year))  # months with changes not scored yet are scored first
    result = run_year(int(year), progress)
    unit_of_work.commit()
    return result


# ---------------------------------------------------------------- reading


def view(row: EmployeeClassification, state: ClassificationYear | None, appeal: ClassificationAppeal | None = None,
         decided: bool = False) -> dict:
    return {
        "employee_id": row.employee_id, "year": row.year, "unit_id": row.unit_id,
        "total": None if row.total is None else float(row.total),
        "task_score": None if row.task_score is None else float(row.task_score),
        "level": row.level, "computed_level": row.computed_level, "demoted_by_quota": row.demoted_by_quota,
        "override": ({"level": row.override_level, "reason": reasons.shown(row.override_reason), "by": row.override_by,
                      "at": row.override_at} if row.override_level else None),
        "final": decided or (state is not None and state.status == "final"),
        "months_worked": row.months_worked, "forced_kht": row.forced_kht, "quota_group": row.quota_group,
        "criteria": row.criteria or {},
        "appeal": None if appeal is None else appeal_view(appeal),
    }


def classifications(principal: Principal, year: int, unit_id: int | None, page_args: dict) -> tuple[list[dict], dict]:
    check_year(year)
    stmt = (select(EmployeeClassification).join(Employee, Employee.id == EmployeeClassification.employee_id)
            .where(EmployeeClassification.year == year).order_by(EmployeeClassification.employee_id))
    clause = visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    if unit_id is not None:
        stmt = stmt.where(EmployeeClassification.unit_id == unit_id)
    rows, headers = paginate(stmt, page_args)
    state = year_state(year)
    ids = [r.employee_id for r in rows]
    appeals = latest_appeals(year, ids)
    from core.classification.models import EvaluationStep

    decided = set(db.session.scalars(select(EvaluationStep.employee_id).where(
        EvaluationStep.year == year, EvaluationStep.step == "decision", EvaluationStep.employee_id.in_(ids)))) \
        if ids else set()
    return [view(r, state, appeals.get(r.employee_id), r.employee_id in decided) for r in rows], headers


def latest_appeals(year: int, ids: list[int]) -> dict[int, ClassificationAppeal]:
    latest: dict[int, ClassificationAppeal] = {}
    if ids:
        for a in db.session.scalars(select(ClassificationAppeal).where(
                ClassificationAppeal.year == year, ClassificationAppeal.employee_id.in_(ids))
                .order_by(ClassificationAppeal.id)):
            latest[a.employee_id] = a
    return latest


def year_view(year: int) -> dict:
    state = year_state(check_year(year))
    if state is None:
        raise NotFound(N_("%(year)s has not been classified.") % {"year": year})
    level = func.coalesce(EmployeeClassification.override_level, EmployeeClassification.computed_level)
    counts = dict(db.session.execute(
        select(level, func.count()).where(EmployeeClassification.year == year).group_by(level)).all())
    pending = db.session.scalar(select(func.count()).select_from(ClassificationAppeal).where(
        ClassificationAppeal.year == year, ClassificationAppeal.status == "pending"))
    return {"year": year, "status": state.status, "scheme": {"key": state.scheme_key, "version": state.scheme_version},
            "run_at": state.run_at, "appeal_until": state.appeal_until, "finalized_at": state.finalized_at,
            "finalized_by": state.finalized_by, "levels": {k or "none": v for k, v in counts.items()},
            "pending_appeals": pending or 0}


def _row(year: int, employee_id: int) -> EmployeeClassification:
    row = db.session.scalar(select(EmployeeClassification).where(
        EmployeeClassification.year == year, EmployeeClassification.employee_id == employee_id))
    if row is None:
        raise NotFound(N_("No classification of %(year)s for this employee; run the year first.") % {"year": year})
    return row


# ---------------------------------------------------------------- the manager's review


def _may_decide(principal: Principal, employee_id: int) -> None:
    """The tenant admin, or a manager of the person — never about oneself."""
    if principal.employee_id == employee_id:
        raise Forbidden(N_("Nobody decides their own classification."))
    if not (principal.has_role("tenant_admin") or manages(principal, employee_id)):
        raise Forbidden(N_("Only the person's manager or the tenant admin may change a classification."))


def override(principal: Principal, year: int, employee_id: int, level: str, reason: str) -> EmployeeClassification:
    check_year(year)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(N_("An override needs a reason."), {"reason": [N_("A reason is required.")]})
    if level not in LEVELS:
        raise Invalid(N_("Unknown level."), {"level": [N_("Must be one of: %(choices)s.") % {"choices": ", ".join(LEVELS)}]})
    _may_decide(principal, employee_id)
    refuse_if_final(year)
    from core.classification.procedure import decision_for

    if decision_for(year, employee_id) is not None:
        raise Conflict(N_("This classification is decided; it changes only by an appeal or a reopening."),
                       code="decided")
    row = _row(year, employee_id)
    before = {"level": row.level, "override": row.override_level, "reason": row.override_reason}
    row.override_level, row.override_reason = level, reason
    row.override_by, row.override_at = principal.actor, now()
    db.session.flush()
    record("classification.override", "employee_classification", f"{year}:{employee_id}", before=before,
           after={"level": level, "computed_level": row.computed_level, "reason": reason})
    notify([employee_id], "classification.override",
           N_("Your classification of %(year)s was changed to %(level)s: %(reason)s"),
           {"year": year, "level": level, "reason": reason}, link=f"/classifications/{year}")
    return row


def finalize(principal: Principal, year: int) -> ClassificationYear:
    check_year(year)
    state = refuse_if_final(year)
    if state is None:
        raise NotFound(N_("%(year)s has not been classified.") % {"year": year})
    pending = db.session.scalar(select(func.count()).select_from(ClassificationAppeal).where(
        ClassificationAppeal.year == year, ClassificationAppeal.status == "pending"))
    if pending:
        raise Conflict(N_("%(count)s appeal(s) of %(year)s are not resolved yet.") % {"count": pending, "year": year},
                       code="appeals_pending")
    from core.classification.procedure import undecided_agencies

    waiting = undecided_agencies(year)
    if waiting:
        raise Conflict(N_("%(count)s agencies whose evaluation is open have not decided yet: %(names)s.")
                       % {"count": len(waiting), "names": ", ".join(waiting)}, code="agencies_undecided")
    state.status, state.finalized_at, state.finalized_by = "final", now(), principal.actor
    ids = list(db.session.scalars(select(EmployeeClassification.employee_id).where(EmployeeClassification.year == year)))
    db.session.flush()
    record("classification.finalize", "classification_year", year, after=year_view(year))
    webhooks.publish("classification.decided", {"year": year, "scope": "tenant", "decided_by": principal.actor})
    notify(ids, "classification.final", N_("The classification of %(year)s is final."), {"year": year},
           link=f"/classifications/{year}")
    return state


# ---------------------------------------------------------------- appeals


def appeal_view(a: ClassificationAppeal) -> dict:
    return {"id": a.id, "year": a.year, "employee_id": a.employee_id, "level_appealed": a.level_appealed,
            "reason": a.reason, "status": a.status, "filed_at": a.filed_at, "resolution": a.resolution,
            "new_level": a.new_level, "resolved_by": a.resolved_by, "resolved_at": a.resolved_at}


def file_appeal(principal: Principal, year: int, employee_id: int, reason: str) -> ClassificationAppeal:
    check_year(year)
    from core.classification import procedure

    if procedure.under_procedure(year, employee_id):  # appeals come after the agency's decision
        return procedure.file_appeal(principal, year, employee_id, reason)
    if principal.employee_id != employee_id:
        raise Forbidden(N_("Only the person classified may appeal."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(N_("An appeal needs a reason."), {"reason": [N_("A reason is required.")]})
    state = refuse_if_final(year)
    row = _row(year, employee_id)
    if state is None or now() > state.appeal_until:
        raise Conflict(N_("The time to appeal the classification of %(year)s is over.") % {"year": year},
                       code="appeal_window_closed")
    if db.session.scalar(select(ClassificationAppeal.id).where(
            ClassificationAppeal.year == year, ClassificationAppeal.employee_id == employee_id,
            ClassificationAppeal.status == "pending")) is not None:
        raise Conflict(N_("An appeal of this classification is already pending."), code="appeal_pending")
    appeal = ClassificationAppeal(year=year, employee_id=employee_id, level_appealed=row.level, reason=reason,
                                  filed_at=now())
    db.session.add(appeal)
    db.session.flush()
    record("classification.appeal", "classification_appeal", appeal.id, after=appeal_view(appeal))
    manager = db.session.get(Employee, employee_id).manager_id
    notify([manager] if manager else [], "classification.appeal",
           N_("An appeal against the classification of %(year)s awaits your decision."), {"year": year},
           link=f"/classifications/{year}")
    return appeal


def resolve_appeal(principal: Principal, appeal_id: int, decision: str, reason: str,
                   level: str | None = None) -> ClassificationAppeal:
    appeal = db.session.get(ClassificationAppeal, appeal_id)
    if appeal is None:
        raise NotFound(N_("Appeal not found."))
    from core.classification import procedure

    if procedure.under_procedure(appeal.year, appeal.employee_id):  # the decider's competence resolves it
        return procedure.resolve_appeal(principal, appeal_id, decision, reason, level)
    _may_decide(principal, appeal.employee_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(N_("A decision on an appeal needs a reason."), {"reason": [N_("A reason is required.")]})
    if decision not in ("upheld", "rejected"):
        raise Invalid(N_("Unknown decision."), {"decision": [N_("Must be upheld or rejected.")]})
    if level is not None and (decision != "upheld" or level not in LEVELS):
        raise Invalid(N_("A new level goes with an upheld appeal."), {"level": [
            N_("One of %(list)s, when upheld.") % {"list": ", ".join(LEVELS)}]})
    refuse_if_final(appeal.year)
    if appeal.status != "pending":
        raise Conflict(N_("This appeal is already resolved."), code="appeal_resolved")
    appeal.status, appeal.resolution, appeal.new_level = decision, reason, level
    appeal.resolved_by, appeal.resolved_at = principal.actor, now()
    if level is not None:
        row = _row(appeal.year, appeal.employee_id)
        row.override_level, row.override_reason = level, reasons.appeal_reason(appeal.id, reason)
        row.override_by, row.override_at = principal.actor, now()
    db.session.flush()
    record("classification.appeal_resolve", "classification_appeal", appeal.id, after=appeal_view(appeal))
    notify([appeal.employee_id], "classification.appeal_resolved", RESOLVED[decision],
           {"year": appeal.year, "reason": reason}, link=f"/classifications/{appeal.year}")
    return appeal


def appeals(principal: Principal, year: int, status: str | None = None) -> list[dict]:
    check_year(year)
    stmt = (select(ClassificationAppeal).join(Employee, Employee.id == ClassificationAppeal.employee_id)
            .where(ClassificationAppeal.year == year).order_by(ClassificationAppeal.id))
    clause = visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    if status:
        stmt = stmt.where(ClassificationAppeal.status == status)
    return [appeal_view(a) for a in db.session.scalars(stmt)]


# ---------------------------------------------------------------- discipline


def discipline_view(d: DisciplineRecord) -> dict:
    return {"id": d.id, "employee_id": d.employee_id, "year": d.year, "kind": d.kind, "decided_on": d.decided_on,
            "reason": d.reason, "created_by": d.created_by, "created_at": d.created_at}


def _check_discipline_kind(employee_id: int, kind: str, decided_on: date) -> None:
    """The form must exist on the day it was decided, for the person's regime (Decree 172/2025)."""
    from core.classification.procedure import regimes_on

    if kind in FORMS_BEFORE_DECREE_172 and decided_on >= DECREE_172_IN_FORCE:
        raise Invalid(N_("This form of discipline no longer exists."), {"kind": [N_(
            "Decree 172/2025 abolished hạ bậc lương and giáng chức from 1 July 2025; "
            "use reprimand, warning, removal, dismissal or recall.")]})
    if kind in ("recall", "dismissal"):
        regime = regimes_on([employee_id], decided_on)[employee_id]
        if kind == "recall" and regime != "can_bo":
            raise Invalid(N_("Recall applies to cán bộ only."), {"kind": [
                N_("Bãi nhiệm is a form for cán bộ (elected office); this person is not one on that day.")]})
        if kind == "dismissal" and regime == "can_bo":
            raise Invalid(N_("Dismissal is not a form for cán bộ."), {"kind": [
                N_("Buộc thôi việc applies to công chức and viên chức; a cán bộ is recalled (bãi nhiệm).")]})


def add_discipline(principal: Principal, data: dict) -> DisciplineRecord:
    # A decision early in a year may concern the year before: the year is given or the decision's.
    year = check_year(data.get("year") or data["decided_on"].year)
    if db.session.get(Employee, data["employee_id"]) is None:
        raise Invalid(N_("Unknown employee."), {"employee_id": [N_("No such employee.")]})
    _check_discipline_kind(data["employee_id"], data["kind"], data["decided_on"])
    refuse_if_final(year)
    d = DisciplineRecord(employee_id=data["employee_id"], year=year, kind=data["kind"], decided_on=data["decided_on"],
                         reason=data["reason"].strip(), created_by=principal.actor)
    db.session.add(d)
    db.session.flush()
    record("discipline.create", "discipline_record", d.id, after=discipline_view(d))
    return d


def delete_discipline(principal: Principal, record_id: int) -> None:
    d = db.session.get(DisciplineRecord, record_id)
    if d is None:
        raise NotFound(N_("Discipline record not found."))
    refuse_if_final(d.year)
    before = discipline_view(d)
    db.session.delete(d)
    db.session.flush()
    record("discipline.delete", "discipline_record", record_id, before=before)


def disciplines(principal: Principal, year: int | None, employee_id: int | None) -> list[dict]:
    stmt = select(DisciplineRecord).join(Employee, Employee.id == DisciplineRecord.employee_id).order_by(DisciplineRecord.id)
    clause = visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    if year is not None:
        stmt = stmt.where(DisciplineRecord.year == year)
    if employee_id is not None:
        stmt = stmt.where(DisciplineRecord.employee_id == employee_id)
    return [discipline_view(d) for d in db.session.scalars(stmt)]
