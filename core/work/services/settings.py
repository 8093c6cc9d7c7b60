"""The tenant's work settings: the position check and the reporting window."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select

from core.audit.services import record
from core.extensions import db
from core.work.models import WorkSettings


def work_settings() -> WorkSettings:
    """The tenant's work settings, read once per request (they are asked for on every declaration)."""
    cached = g.get("congvu_work_settings") if has_request_context() else None
    if cached is not None:
        return cached
    row = db.session.scalar(select(WorkSettings))
    row = row if row is not None else WorkSettings(position_check="refuse", report_within_working_days=1)
    if has_request_context():
        g.congvu_work_settings = row
    return row


def settings_view(s: WorkSettings) -> dict:
    return {"position_check": s.position_check, "report_within_working_days": s.report_within_working_days}


def update_work_settings(data: dict) -> dict:
    row = db.session.scalar(select(WorkSettings))
    before = settings_view(row) if row else settings_view(work_settings())
    if row is None:
        row = WorkSettings(position_check="refuse", report_within_working_days=1)
        db.session.add(row)
    for key, value in data.items():
        setattr(row, key, value)
    db.session.flush()
    if has_request_context():
        g.congvu_work_settings = row
    record("work_settings.update", "work_settings", row.id, before=before, after=settings_view(row))
    return settings_view(row)
