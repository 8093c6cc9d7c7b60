"""Progress and results: updating an item (status, progress, completion, quantity) and
extending its deadline."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from core.audit.services import record
from core.auth.principal import Principal
from core.errors import Conflict, Invalid
from core.extensions import db
from core.txcache import transaction_cache
from core.webhooks import outbox as webhooks
from core.work import calendar as cal
from core.work.building import quantity_of
from core.work.models import OPEN_STATUSES, DeadlineExtension, WorkItem
from core.work.services.access import may_judge, may_update
from core.work.services.declaring import quantity_ceiling
from core.work.services.events import queue_event
from core.work.services.item_views import audit_view
from core.work.services.long_days import DAY_PLANS
from core.work.services.measure import Measure
from core.work.services.periods import ensure_open

# Clock skew allowed between a phone and the server for "completed at".
_SKEW = timedelta(minutes=5)
TRANSITIONS = {
    "planned": {"planned", "in_progress", "done", "cancelled"},
    "in_progress": {"in_progress", "done", "cancelled"},
    "done": {"done"},
    "cancelled": {"cancelled"},
}


def _open(item: WorkItem, field: str = "status") -> None:
    if item.status not in OPEN_STATUSES:
        raise Conflict(f"The item is {item.status}.", {field: [f"The item is {item.status}."]})


def update_item(principal: Principal, item: WorkItem, data: dict) -> WorkItem:
    """Progress, status (in_progress, done, cancelled), completion time, result, quantity."""
    may_update(principal, item)
    ensure_open(item.work_date)
    # A changed item changes its day's plan: the figure a declaration read is no longer it.
    transaction_cache(DAY_PLANS).pop((item.employee_id, item.work_date), None)
    before = audit_view(item)
    status = data.get("status", item.status)
    if status not in TRANSITIONS[item.status]:
        raise Conflict(f"A {item.status} item cannot become {status}.",
                       {"status": [f"A {item.status} item cannot become {status}."]})
    if item.status in ("done", "cancelled") and set(data) - {"result_note", "status"}:
        raise Conflict(f"The item is {item.status}.", {"status": [f"The item is {item.status}."]})
    now = cal.now()
    errors: dict[str, list[str]] = {}
    # In hundredths, as a declaration's (building.quantity_of): the column keeps no more, and
    # SQLite would otherwise keep 0.0001 where PostgreSQL rounds it.
    if "quantity" in data and (data["quantity"] is None or quantity_of(data["quantity"]) <= 0):
        errors["quantity"] = ["Must be greater than 0."]
    elif "quantity" in data:
        errors.update(quantity_ceiling(item.task_type, data["quantity"]))
    completed_at = data.get("completed_at")
    if completed_at is not None:
        if status != "done":
            errors["completed_at"] = ["Only with status done."]
        elif completed_at.tzinfo is None:
            errors["completed_at"] = ["Give a time zone offset."]
        elif completed_at > now + _SKEW:
            errors["completed_at"] = ["In the future."]
        elif completed_at < item.declared_at - timedelta(days=366):
            errors["completed_at"] = ["Too far in the past."]
    if errors:
        raise Invalid("Some fields are invalid.", errors)
    if "quantity" in data:
        item.quantity = quantity_of(data["quantity"])
    for key in ("title", "result_note"):
        if key in data:
            setattr(item, key, data[key])
    change = "updated"
    if "progress" in data:
        item.progress = data["progress"]
        if status == "planned" and data["progress"] > 0:
            status = "in_progress"
    if status == "done" and item.status != "done":
        item.completed_at = completed_at or now
        item.reported_at = now
        item.progress = 100
        change = "completed"
    elif status == "cancelled" and item.status != "cancelled":
        change = "cancelled"
    item.status = status
    item.updated_at = now
    Measure.for_dates([item.work_date]).refresh(item)
    db.session.flush()
    action = {"updated": "update", "completed": "complete", "cancelled": "cancel"}[change]
    record(f"work_item.{action}", "work_item", item.id, before=before, after=audit_view(item))
    if change == "completed":
        webhooks.publish("work_item.completed", {"id": item.id, **audit_view(item)})
    queue_event(item, change)
    return item


def extend_deadline(principal: Principal, item: WorkItem, deadline: date, reason: str) -> WorkItem:
    may_judge(principal, item, "extend")
    _open(item)
    ensure_open(item.work_date)
    errors: dict[str, list[str]] = {}
    if deadline < item.work_date:
        errors["deadline"] = ["The deadline is before the work date."]
    elif item.deadline is not None and deadline <= item.deadline:
        errors["deadline"] = ["An extension moves the deadline later."]
    if not (reason or "").strip():
        errors["reason"] = ["Give a reason."]
    if errors:
        raise Invalid("Some fields are invalid.", errors)
    before = audit_view(item)
    m = Measure.for_dates([item.work_date, deadline])
    old_missed = m.current_deadline_missed(item)
    db.session.add(DeadlineExtension(work_item_id=item.id, old_deadline=item.deadline, new_deadline=deadline,
                                     old_missed=old_missed, reason=reason.strip(), by_id=principal.employee_id,
                                     at=cal.now()))
    item.missed_before = (item.missed_before or 0) + (1 if old_missed else 0)
    if item.original_deadline is None:
        item.original_deadline = deadline
    item.deadline = deadline
    item.updated_at = cal.now()
    m.refresh(item)
    db.session.flush()
    record("work_item.extend", "work_item", item.id, before=before, after=audit_view(item))
    queue_event(item, "extended")
    return item


def extensions(item: WorkItem) -> list[dict]:
    rows = db.session.scalars(select(DeadlineExtension).where(DeadlineExtension.work_item_id == item.id)
                              .order_by(DeadlineExtension.at, DeadlineExtension.id))
    return [{"old_deadline": r.old_deadline, "new_deadline": r.new_deadline, "old_missed": r.old_missed,
             "reason": r.reason, "by_id": r.by_id, "at": r.at} for r in rows]
