"""What an item looks like to a reader (its stored facts and today's derived flags) and
to the audit chain (its stored facts only)."""

from __future__ import annotations

from decimal import Decimal

from core.work.models import WorkItem
from core.work.services.measure import Measure


def _f(value) -> float | None:
    return None if value is None else float(value)


def item_view(item: WorkItem, m: Measure) -> dict:
    return {
        "id": item.id, "employee_id": item.employee_id, "task_type_id": item.task_type_id,
        "task_type_code": item.task_type.code, "task_type_name": item.task_type.name,
        "group": item.task_type.group, "unit_of_measure": item.task_type.unit_of_measure,
        "title": item.title, "work_date": item.work_date, "quantity": _f(item.quantity),
        "complexity_level": item.complexity_level, "complexity_coefficient": _f(item.complexity_coefficient),
        "norm_version_id": item.norm_version_id, "norm_minutes": _f(item.norm_minutes),
        "product_weight": _f(item.product_weight),
        "planned_minutes": float(item.norm_minutes * item.quantity * item.complexity_coefficient),
        "status": item.status, "progress": item.progress, "planned": item.planned, "role": item.role,
        "priority": item.priority, "assigned_by_id": item.assigned_by_id, "outside_position": item.outside_position,
        "deadline": item.deadline, "original_deadline": item.original_deadline,
        "missed_deadlines": m.missed_deadlines(item), "overdue": m.overdue(item),
        "declared_at": item.declared_at, "completed_at": item.completed_at, "reported_at": item.reported_at,
        "not_reported": m.not_reported(item), "result_note": item.result_note,
        "failed_reviews": item.failed_reviews, "stars": item.stars, "satisfaction": item.satisfaction,
        "review_comment": item.review_comment, "reviewed_at": item.reviewed_at, "reviewed_by_id": item.reviewed_by_id,
        "exempt": item.exempt, "exempt_reason": item.exempt_reason, "exempted_by_id": item.exempted_by_id,
        "verification": item.verification, "verification_note": item.verification_note,
        "verified_by_id": item.verified_by_id, "external_id": item.external_id,
    }


def views(items: list[WorkItem]) -> list[dict]:
    m = Measure.for_dates([i.work_date for i in items] + [i.deadline for i in items if i.deadline])
    return [item_view(i, m) for i in items]


def view(item: WorkItem) -> dict:
    return views([item])[0]


def audit_view(item: WorkItem) -> dict:
    # The audit keeps the stored facts, not today's derived flags, so a replay is stable.
    keys = ("employee_id", "task_type_id", "norm_version_id", "title", "work_date", "quantity", "complexity_level",
            "complexity_coefficient", "norm_minutes", "product_weight", "status", "progress", "planned", "role",
            "priority", "assigned_by_id", "outside_position", "deadline", "missed_before", "missed_deadlines",
            "declared_at", "completed_at", "reported_at", "not_reported", "result_note", "failed_reviews", "stars",
            "satisfaction", "review_comment", "exempt", "exempt_reason", "verification", "verification_note")
    out = {}
    for key in keys:
        value = getattr(item, key)
        out[key] = float(value) if isinstance(value, Decimal) else value
    return out
