"""The year's agencies as the evaluation page lists them: each agency unit by code, its
evaluation's state and the decisions already made in it."""

from __future__ import annotations

from sqlalchemy import select

from core.classification.models import AgencyEvaluation, EvaluationDecision
from core.classification.services import AGENCY_KINDS
from core.extensions import db
from core.org.models import OrgUnit


def agency_units() -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(AGENCY_KINDS)).order_by(OrgUnit.code)))


def agency_states(year: int) -> dict[int, AgencyEvaluation]:
    """{agency id: its evaluation of `year`} for the agencies that opened one."""
    return {a.agency_id: a for a in db.session.scalars(select(AgencyEvaluation).where(AgencyEvaluation.year == year))}


def decided(year: int) -> list[EvaluationDecision]:
    """The decisions in force of `year`, by scope."""
    return list(db.session.scalars(select(EvaluationDecision).where(
        EvaluationDecision.year == year, EvaluationDecision.status == "decided").order_by(EvaluationDecision.scope)))
