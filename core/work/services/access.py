"""Who may do what with an item: whose items a principal sees, and who may update,
extend, review, exempt or verify one. Each check raises before anything is written."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import defaultload

from core.auth.principal import Principal
from core.catalogue.models import TaskType
from core.errors import Forbidden, NotFound
from core.extensions import db
from core.org import services as org
from core.work.models import WorkItem


def visible_employee_ids(principal: Principal) -> set[int] | None:
    """Whose items `principal` may see: None for everyone (tenant admins, auditors)."""
    if principal.has_role("tenant_admin", "auditor"):
        return None
    if principal.employee_id is None:
        return set()
    if not principal.has_role("manager"):
        return {principal.employee_id}
    return {principal.employee_id} | set(db.session.scalars(org.managed_scope(principal.employee_id)))


def visible_items_clause(principal: Principal):
    """A WHERE clause on WorkItem, or None for everything. The ids are resolved first
    (one indexed query, managers only): under an OR of recursive CTEs PostgreSQL would
    re-check every item of the day against the management tree instead of using the
    (tenant, employee, work date) index."""
    ids = visible_employee_ids(principal)
    if ids is None:
        return None
    return WorkItem.employee_id.in_(sorted(ids)) if ids else WorkItem.id.is_(None)


def get_item(principal: Principal, item_id: int) -> WorkItem:
    """The item if `principal` may see it; another's item is answered as missing (404)."""
    # The task type comes joined (the answer names it); its positions are not wanted here.
    stmt = select(WorkItem).where(WorkItem.id == item_id).options(
        defaultload(WorkItem.task_type).lazyload(TaskType.positions))
    clause = visible_items_clause(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    item = db.session.scalar(stmt)
    if item is None:
        raise NotFound("Work item not found.")
    return item


def require_writer(principal: Principal) -> None:
    """Every change starts here: an auditor (without another role) reads only."""
    if principal.has_role("auditor") and not principal.has_role("employee", "manager", "tenant_admin"):
        raise Forbidden("Auditors read only.")


def may_update(principal: Principal, item: WorkItem) -> None:
    """The owner updates progress and results; their managers and the assigner may too."""
    require_writer(principal)
    if principal.employee_id is not None and principal.employee_id in (item.employee_id, item.assigned_by_id):
        return
    if org.manages(principal, item.employee_id):
        return
    raise Forbidden("Only the employee, the assigner or their manager may change this item.")


def may_judge(principal: Principal, item: WorkItem, action: str, assigner_too: bool = True) -> None:
    """Extending, reviewing, exempting, verifying: the assigner or a manager, never the owner."""
    require_writer(principal)
    if principal.employee_id is not None and principal.employee_id == item.employee_id:
        raise Forbidden(f"You cannot {action} your own item.")
    if assigner_too and principal.employee_id is not None and principal.employee_id == item.assigned_by_id:
        return
    if org.manages(principal, item.employee_id):
        return
    raise Forbidden(f"Only {'the assigner or ' if assigner_too else ''}a manager of this employee may {action} it.")
