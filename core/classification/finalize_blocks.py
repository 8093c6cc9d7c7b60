"""What finalising a year would refuse or end, said on the confirmation before the click:
the service's rules (pending appeals, opened agencies without a decision) and the
agencies that have not opened their evaluation — the locked year refuses their opening."""

from __future__ import annotations

from sqlalchemy import func, select

from core.classification.models import AgencyEvaluation, ClassificationAppeal, EvaluationDecision
from core.classification.procedure import deadline, undecided_agencies
from core.classification.services import AGENCY_KINDS
from core.extensions import db
from core.org.models import OrgUnit
from core.work import calendar as cal


def finalize_blocks(year: int) -> dict:
    opened = set(db.session.scalars(select(AgencyEvaluation.agency_id).where(AgencyEvaluation.year == year)))
    agencies = db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind.in_(AGENCY_KINDS)))
    return {"appeals": db.session.scalar(select(func.count()).select_from(ClassificationAppeal).where(
                ClassificationAppeal.year == year, ClassificationAppeal.status == "pending")),
            "undecided": undecided_agencies(year), "not_opened": max(agencies - len(opened), 0),
            "deadline": deadline(year), **_appeal_window(year)}


def _appeal_window(year: int) -> dict:
    """The people whose decision's appeal window is still open: locking the year ends their
    right to appeal before the days the decision gave them (docs/procedure.md, "Timing")."""
    rows = db.session.execute(select(EvaluationDecision.levels, EvaluationDecision.appeal_until).where(
        EvaluationDecision.year == year, EvaluationDecision.status == "decided",
        EvaluationDecision.appeal_until > cal.now())).all()
    people = sum(sum(1 for level in (levels or {}).values() if level) for levels, _until in rows)
    last = max((until for _levels, until in rows), default=None)
    return {"appeal_open": people, "appeal_open_until": None if last is None else cal.local_date(last, cal.current_tenant())}
