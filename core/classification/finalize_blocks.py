"""What finalising a year would refuse or end, said on the confirmation before the click:
the service's rules (pending appeals, opened agencies without a decision) and the
agencies that have not opened their evaluation — the locked year refuses their opening."""

from __future__ import annotations

from sqlalchemy import func, select

from core.classification.models import AgencyEvaluation, ClassificationAppeal
from core.classification.procedure import deadline, undecided_agencies
from core.classification.services import AGENCY_KINDS
from core.extensions import db
from core.org.models import OrgUnit


def finalize_blocks(year: int) -> dict:
    opened = set(db.session.scalars(select(AgencyEvaluation.agency_id).where(AgencyEvaluation.year == year)))
    agencies = db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind.in_(AGENCY_KINDS)))
    return {"appeals": db.session.scalar(select(func.count()).select_from(ClassificationAppeal).where(
                ClassificationAppeal.year == year, ClassificationAppeal.status == "pending")),
            "undecided": undecided_agencies(year), "not_opened": max(agencies - len(opened), 0),
            "deadline": deadline(year)}
