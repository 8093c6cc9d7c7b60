"""The tenant's work settings: the position check and the reporting window."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import select

from core.audit.services import record
from core.extensions import db
from core.tenants import config_cache
from core.work.models import WorkSettings


@dataclass(frozen=True)
class Settings:
    """What the tenant's work settings say (a plain value: shared between requests)."""

    position_check: str = "refuse"
    report_within_working_days: int = 1


def work_settings() -> Settings:
    """The tenant's work settings, read once per request (they are asked for on every
    declaration), and kept in the process while the tenant's config stamp holds."""
    cached = g.get("congvu_work_settings") if has_request_context() else None
    if cached is not None:
        return cached
    found = config_cache.kept("work_settings", None, _read)
    if has_request_context():
        g.congvu_work_settings = found
    return found


def _read() -> Settings:
    row = db.session.scalar(select(WorkSettings))
    return Settings() if row is None else Settings(row.position_check, row.report_within_working_days)


def settings_view(s: Settings | WorkSettings) -> dict:
    return {"position_check": s.position_check, "report_within_working_days": s.report_within_working_days}


def update_work_settings(data: dict) -> dict:
    row = db.session.scalar(select(WorkSettings))
    before = settings_view(row) if row else settings_view(work_settings())
    if row is None:
        row = WorkSettings(position_check="refuse", report_within_working_days=1)
        db.session.add(row)
    config_cache.changed()
    for key, value in data.items():
        setattr(row, key, value)
    db.session.flush()
    if has_request_context():
        g.congvu_work_settings = Settings(row.position_check, row.report_within_working_days)
    record("work_settings.update", "work_settings", row.id, before=before, after=settings_view(row))
    return settings_view(row)
