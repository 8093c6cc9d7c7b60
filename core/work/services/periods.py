"""Closed periods: a month once closed refuses every change of its items, leave and
calendar days with 409."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.audit.services import record
from core.errors import Conflict
from core.extensions import db
from core.tenants import config_cache
from core.work.models import ClosedPeriod


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def closed_periods(days: list[date]) -> set[str]:
    periods = frozenset(period_of(d) for d in days if d is not None)
    if not periods:
        return set()
    return set(config_cache.kept("closed_periods", periods, lambda: frozenset(
        db.session.scalars(select(ClosedPeriod.period).where(ClosedPeriod.period.in_(periods))))))


def ensure_open(day: date, field: str = "work_date") -> None:
    if closed_periods([day]):
        raise period_closed(day, field)


def period_closed(day: date, field: str = "work_date") -> Conflict:
    return Conflict(f"The period {period_of(day)} is closed.", {field: [f"The period {period_of(day)} is closed."]},
                    code="period_closed")


def close_period(period: str) -> ClosedPeriod:
    """Close a month (the scoring issue adds the endpoints and the reopen)."""
    row = db.session.scalar(select(ClosedPeriod).where(ClosedPeriod.period == period))
    if row is None:
        row = ClosedPeriod(period=period)
        config_cache.changed()
        db.session.add(row)
        db.session.flush()
        record("period.close", "period", period, after={"period": period})
    return row
