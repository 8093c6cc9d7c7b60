"""A manager's judgements on an item: reviewing a finished one, exempting one for an
objective cause, verifying (accepting or refusing) a declaration."""

from __future__ import annotations

from core.audit.services import record
from core.auth.principal import Principal
from core.errors import Conflict, Invalid
from core.extensions import db
from core.work import calendar as cal
from core.work.models import WorkItem, WorkReview
from core.work.services import notices
from core.work.services.access import may_judge
from core.work.services.events import queue_event
from core.work.services.item_views import audit_view
from core.work.services.measure import Measure
from core.work.services.periods import ensure_open


def review(principal: Principal, item: WorkItem, data: dict) -> WorkItem:
    """Rate a finished item. A failed review counts one failed review and sends the
    item back for rework: it is open again and its result must be reported again."""
    may_judge(principal, item, "review")
    if item.status != "done":
        raise Conflict("Only a finished item can be reviewed.", {"status": ["Only a finished item can be reviewed."]})
    ensure_open(item.work_date)
    if not data["passed"] and not (data.get("comment") or "").strip():
        # A return costs the owner a failed review: they are owed the reason, as for a refusal.
        raise Invalid("Give a reason for sending it back.", {"comment": ["Give a reason for sending it back."]})
    before = audit_view(item)
    now = cal.now()
    db.session.add(WorkReview(work_item_id=item.id, passed=data["passed"], stars=data.get("stars"),
                              satisfaction=data.get("satisfaction"), comment=data.get("comment"),
                              by_id=principal.employee_id, at=now))
    item.reviewed_at, item.reviewed_by_id, item.review_comment = now, principal.employee_id, data.get("comment")
    if data["passed"]:
        item.stars = data.get("stars")
        item.satisfaction = data.get("satisfaction")
    else:
        item.failed_reviews = (item.failed_reviews or 0) + 1
        item.status = "in_progress"
        item.completed_at = None
        item.reported_at = None
        item.stars = None
    item.updated_at = now
    Measure.for_dates([item.work_date]).refresh(item)
    db.session.flush()
    record("work_item.review", "work_item", item.id, before=before, after=audit_view(item))
    queue_event(item, "reviewed")
    if not data["passed"]:
        notices.returned(item)
    return item


def exempt(principal: Principal, item: WorkItem, reason: str) -> WorkItem:
    """An objective cause: the item counts neither failed reviews nor missed deadlines."""
    may_judge(principal, item, "exempt", assigner_too=False)
    if item.status == "cancelled":
        raise Conflict("The item is cancelled.", {"status": ["The item is cancelled."]})
    ensure_open(item.work_date)
    if not (reason or "").strip():
        raise Invalid("Give a reason.", {"reason": ["Give a reason."]})
    before = audit_view(item)
    item.exempt, item.exempt_reason, item.exempted_by_id = True, reason.strip(), principal.employee_id
    item.updated_at = cal.now()
    db.session.flush()
    record("work_item.exempt", "work_item", item.id, before=before, after=audit_view(item))
    queue_event(item, "exempted")
    return item


# ---------------------------------------------------------------- manager verification


def verify(principal: Principal, item: WorkItem, accepted: bool, reason: str | None = None) -> WorkItem:
    """Accept a declaration, or refuse it with a reason (it is then cancelled)."""
    may_judge(principal, item, "verify", assigner_too=False)
    if item.verification != "pending" or item.status == "cancelled":
        raise Conflict("This declaration is not waiting for a check.",
                       {"verification": [f"The declaration is {item.verification}."]})
    ensure_open(item.work_date)
    if not accepted and not (reason or "").strip():
        raise Invalid("Give a reason for refusing.", {"reason": ["Give a reason for refusing."]})
    before = audit_view(item)
    now = cal.now()
    item.verification = "verified" if accepted else "refused"
    item.verification_note = (reason or "").strip() or None
    item.verified_by_id, item.verified_at, item.updated_at = principal.employee_id, now, now
    if not accepted:
        item.status = "cancelled"
    Measure.for_dates([item.work_date]).refresh(item)
    db.session.flush()
    record("work_item.verify" if accepted else "work_item.refuse", "work_item", item.id, before=before,
           after=audit_view(item))
    queue_event(item, "updated" if accepted else "cancelled")
    if not accepted:
        notices.refused(item)  # the owner is owed the reason: nothing else tells them
    return item
