"""Why a person's suggested level is what it is, as the evaluation page shows it.

The annual total a level rests on is the mean of the totals of the months that count
(docs/procedure.md, "Timing"). A month whose general criteria (tiêu chí chung, up to 30
points) the manager has not set yet carries only its task score, so the year looks up to
30 points lower than it will be: the person and the manager proposing a level must see
which months those are, and the rules (scoring variant and classification bands, with
their versions) the figures came from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from core.classification.models import AgencyEvaluation, EmployeeClassification
from core.extensions import db
from core.plugins.components import round_score
from core.scoring.models import PeriodScore
from core.work.models import ClosedPeriod

# The classification bands a score-based scheme carries in its settings, highest first.
BANDS = (("HTXS", "htxs_from"), ("HTT", "htt_from"), ("HT", "ht_from"))


def basis(year: int, people: dict[int, int]) -> dict[int, dict[str, Any]]:
    """For each person (``{employee_id: agency_id}``), the months their agency's evaluation
    counts, each month's scores, the months still missing their general criteria and the
    rules. One query for the agencies, one for the months, whatever the number of people."""
    from core.classification.procedure import regimes_on, scheme_for_regime

    if not people:
        return {}
    months_of = {a.agency_id: list(a.months) for a in db.session.scalars(select(AgencyEvaluation).where(
        AgencyEvaluation.year == year, AgencyEvaluation.agency_id.in_(set(people.values()))))}
    wanted = sorted({m for ms in months_of.values() for m in ms})
    rows: dict[int, list[PeriodScore]] = {}
    if wanted:
        for row in db.session.scalars(select(PeriodScore).where(
                PeriodScore.employee_id.in_(list(people)), PeriodScore.period.in_(wanted),
                PeriodScore.item_count > 0).order_by(PeriodScore.period)):
            rows.setdefault(row.employee_id, []).append(row)
    # A closed month refuses general criteria (409 period_closed): the person must be told
    # that the month has to be reopened first, not that the manager will set them.
    closed = set(db.session.scalars(select(ClosedPeriod.period).where(ClosedPeriod.period.in_(wanted)))) \
        if wanted else set()
    levels = {r.employee_id: r for r in db.session.execute(select(
        EmployeeClassification.employee_id, EmployeeClassification.computed_level,
        EmployeeClassification.demoted_by_quota).where(EmployeeClassification.year == year,
                                                       EmployeeClassification.employee_id.in_(list(people))))}
    regimes = regimes_on(list(people), date(year, 12, 31))
    schemes: dict[str, dict[str, Any]] = {}
    out: dict[int, dict[str, Any]] = {}
    for employee_id, agency_id in people.items():
        counted = months_of.get(agency_id)
        if counted is None:
            continue
        regime = regimes[employee_id]
        if regime not in schemes:
            chosen = scheme_for_regime(regime, year)
            bands = [{"level": level, "from": float(chosen.settings[key])} for level, key in BANDS
                     if key in chosen.settings]
            ratio = chosen.settings.get("quota_ratio")
            schemes[regime] = {"key": chosen.component.key, "version": chosen.component.version, "bands": bands,
                               "quota_percent": None if ratio is None else float(ratio) * 100}
        own = [r for r in rows.get(employee_id, []) if r.period in counted]
        months = [{"period": r.period, "task_score": float(r.task_score),
                   "general_score": None if r.general_score is None else float(r.general_score),
                   "total": float(r.total), "provisional": bool(r.provisional)} for r in own]
        row = levels.get(employee_id)
        out[employee_id] = {
            "counted": counted, "months": months,
            "level": row.computed_level if row else None, "demoted_by_quota": bool(row and row.demoted_by_quota),
            "mean": round_score(sum(m["total"] for m in months) / len(months)) if months else None,
            "no_general": [m["period"] for m in months if m["general_score"] is None],
            "no_general_closed": [m["period"] for m in months if m["general_score"] is None and m["period"] in closed],
            "no_general_open": [m["period"] for m in months if m["general_score"] is None and m["period"] not in closed],
            "variant": None if not own else {"key": own[-1].variant_key, "version": own[-1].variant_version},
            "scheme": schemes[regime],
        }
    return out


def months_evaluated(year: int, employee_id: int, agency_id: int) -> int:
    """How many months the person's annual total averages, as the annual form prints it
    ("Số tháng công tác được đánh giá"): `basis`'s months — those their agency's evaluation
    counts in which they had items. An agency not under the procedure was classified by the
    province's draft run, which counted the months finished when it ran (months_counted)."""
    from core.classification.models import ClassificationYear
    from core.classification.procedure import months_counted, procedure_settings
    from core.work import calendar as cal

    found = basis(year, {employee_id: agency_id}).get(employee_id)
    if found is not None:
        return len(found["months"])
    run_at = db.session.scalar(select(ClassificationYear.run_at).where(ClassificationYear.year == year))
    on = cal.local_date(run_at, cal.current_tenant()) if run_at is not None else date(year + 1, 1, 1)
    counted, _ = months_counted(year, on, bool(procedure_settings()["count_month_in_progress"]))
    return len(set(db.session.scalars(select(PeriodScore.period).where(
        PeriodScore.employee_id == employee_id, PeriodScore.period.in_(counted), PeriodScore.item_count > 0))))
