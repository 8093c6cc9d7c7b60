"""Every refusal the catalogue services would answer for a task type or a competency,
found at once and without writing, so the form shows them beside its fields with its own
errors in one round. Only the fields given are looked at; the services check again when
they write. The messages are the services' own (English), translated by the forms as
theirs are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from core.catalogue.models import Competency, TaskType
from core.extensions import db
from core.org.models import JobPosition

Errors = dict[str, list[str]]


def task_type_errors(tt: TaskType | None, data: Mapping[str, Any]) -> Errors:
    """A new task type (`tt` None) or a change of `tt`: a code in use, unknown positions, a level twice."""
    errors: Errors = {}
    code = data.get("code")
    if code:
        found = db.session.scalar(select(TaskType.id).where(TaskType.code == code))
        if found is not None and (tt is None or found != tt.id):
            errors["code"] = ["A task type with this code exists."]
    codes = list(dict.fromkeys(data.get("position_codes") or []))
    if codes:
        known = set(db.session.scalars(select(JobPosition.code).where(JobPosition.code.in_(codes))))
        unknown = [c for c in codes if c not in known]
        if unknown:
            errors["position_codes"] = [f"No such position: {', '.join(unknown)}."]
    levels = [int(row["level"]) for row in data.get("complexity_levels") or [] if "level" in row]
    twice = sorted({level for level in levels if levels.count(level) > 1})
    if twice:
        errors["complexity_levels"] = [f"Level {level} is given twice." for level in twice]
    return errors


def competency_errors(competency: Competency | None, data: Mapping[str, Any]) -> Errors:
    code = data.get("code")
    if code:
        found = db.session.scalar(select(Competency.id).where(Competency.code == code))
        if found is not None and (competency is None or found != competency.id):
            return {"code": ["A competency with this code exists."]}
    return {}
