"""Months whose stored scores no longer match the tenant's rule: flagged stale with the
reason, to be recalculated whole (closed months stay frozen). A scoring settings change
reaches here as the tenants' settings signal (core/tenants/signals.py), so the tenants'
settings know nothing of scoring."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select

from core.extensions import db
from core.scoring.kernel import month_of
from core.scoring.models import ScoredPeriod
from core.tenants.signals import component_scheduled
from core.work.models import ClosedPeriod


def mark_stale(periods: Iterable[str], reason: str) -> int:
    """Flag months whose scores no longer match the tenant's settings (closed ones stay frozen)."""
    closed = set(db.session.scalars(select(ClosedPeriod.period)))
    count = 0
    for period in set(periods) - closed:
        row = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == period))
        if row is None:
            row = ScoredPeriod(period=period)
            db.session.add(row)
        row.stale, row.stale_reason = True, reason[:500]
        count += 1
    db.session.flush()
    return count


def mark_stale_from(day: date, reason: str) -> int:
    """After a settings change effective from `day`: every scored month from then on."""
    scored = db.session.scalars(select(ScoredPeriod.period).where(ScoredPeriod.period >= month_of(day)))
    return mark_stale(scored, reason)


@component_scheduled.connect
def scoring_settings_changed(_sender: Any, kind: str, key: str, effective_from: date,
                             version: str | None = None, **_: Any) -> None:
    """A scoring variant chosen (or its settings changed, or a version adopted) from
    `effective_from`: every scored month from then on is stale."""
    if kind == "scoring_variant":
        adopted = f" {version}" if version else ""
        mark_stale_from(effective_from, f"Scoring settings changed ({key}{adopted}); recalculate to apply them.")
