"""Whether the levels a decision is about to freeze keep the HTXS quota (docs/domain.md:
HTXS at most 20 % of HTT within one agency and group of positions, per regime).

The scheme applies the quota to the levels the scores suggest; the decision freezes the
levels the steps proposed, which the meeting may have raised back to HTXS. The decider must
see a breach before freezing it, with the figures (our rule: a warning, not a refusal — the
competent head answers for the decision, and a reasoned exception stays possible).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from core.classification.models import DEFAULT_REGIME, EmployeeClassification
from core.extensions import db


def quota_breaches(year: int, agency_id: int, frozen: dict[int, str | None]) -> list[dict[str, Any]]:
    """The agency's quota groups whose HTXS would exceed the quota: the levels in ``frozen``
    for the people of the decision, the level in force for the agency's others. One query."""
    from core.classification.procedure import scheme_for_regime

    rows = db.session.execute(select(EmployeeClassification.employee_id, EmployeeClassification.quota_group,
                                     EmployeeClassification.override_level, EmployeeClassification.computed_level)
                              .where(EmployeeClassification.year == year,
                                     EmployeeClassification.quota_group.like(f"{agency_id}:%")))
    counts: dict[str, list[int]] = {}
    for employee_id, group, override, computed in rows:
        level = frozen[employee_id] if employee_id in frozen else (override or computed)
        pair = counts.setdefault(group, [0, 0])
        pair[0] += level == "HTXS"
        pair[1] += level == "HTT"
    ratios: dict[str, Fraction | None] = {}
    out = []
    for group, (htxs, htt) in sorted(counts.items()):
        parts = group.split(":")
        regime = parts[2] if len(parts) > 2 else DEFAULT_REGIME
        if regime not in ratios:
            ratio = scheme_for_regime(regime, year).settings.get("quota_ratio")
            ratios[regime] = None if ratio is None else Fraction(Decimal(str(ratio)))
        ratio = ratios[regime]
        if ratio is None or htxs == 0:
            continue
        allowed = int(ratio * htt)  # the largest x with x ≤ ratio × HTT
        if htxs > allowed:
            out.append({"group": parts[1] if len(parts) > 1 else "", "regime": regime, "htxs": htxs, "htt": htt,
                        "allowed": allowed, "percent": float(ratio * 100)})
    return out
