"""Declaring an item for oneself or assigning one to a person one manages, one at a time
or as a batch, checked against the catalogue, the period and the position."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from core.audit.services import record
from core.auth.principal import Principal
from core.catalogue import services as catalogue
from core.catalogue.models import DEFAULT_MAX_QUANTITY, NormVersion, TaskType
from core.errors import Conflict, Forbidden, Invalid, ServiceError
from core.extensions import db
from core.org import services as org
from core.orm_rows import adopt
from core.tenancy.context import TenantContextError, current_tenant_id, is_unscoped
from core.tenancy.mixin import in_tenant
from core.txcache import transaction_cache
from core.work import building
from core.work import calendar as cal
from core.work.models import ClosedPeriod, WorkItem
from core.work.services import notices
from core.work.services.access import require_writer
from core.work.services.events import queue_event
from core.work.services.item_views import audit_view
from core.work.services.long_days import DAY_PLANS, PLANNED
from core.work.services.measure import Measure
from core.work.services.periods import period_closed, period_of
from core.work.services.settings import work_settings


def _target_employee(principal: Principal, employee_id: int | None) -> tuple[int, int | None]:
    """(employee id, who assigned it — None when declared for oneself)."""
    require_writer(principal)
    if employee_id is None or employee_id == principal.employee_id:
        if principal.employee_id is None:
            raise Invalid("You have no employee record; say whose item this is.",
                          {"employee_id": ["Required: you have no employee record."]})
        employee_id, assigned_by = principal.employee_id, None
    else:
        if not org.can_see_employee(principal, employee_id):
            raise Invalid("Unknown employee.", {"employee_id": ["No such employee."]})
        if not org.manages(principal, employee_id):
            raise Forbidden("Only a manager of this employee may assign them work.",
                            {"employee_id": ["You do not manage this employee."]})
        assigned_by = principal.employee_id
    return employee_id, assigned_by


def declare(principal: Principal, data: dict) -> tuple[WorkItem, list[str]]:
    """Declare an item for oneself, or assign one to a person one manages.
    Returns the item and warnings (e.g. a task type outside the position, when the
    tenant only warns)."""
    item, warnings, row = _build(principal, data)
    write_items([item])
    # The day's plan with this item, from the catalogue's statement: the 12-hour rule then
    # needs no read of its own. (A batch reads it once for all its items instead.)
    transaction_cache(DAY_PLANS)[(item.employee_id, item.work_date)] = float(row.day_minutes or 0) + float(
        item.norm_minutes * item.quantity * item.complexity_coefficient)
    _declared(item)
    notices.assigned([item])
    return item, warnings


def write_items(items: list[WorkItem]) -> None:
    """INSERT built items in one statement that returns their ids, then put them in the
    session as the persistent rows they now are.

    SQLAlchemy Core, not `session.add` + flush: a declaration is the morning's hot path,
    and the flush's unit-of-work bookkeeping (dependency sort, per-mapper save, post-fetch)
    cost more Python than the INSERT. Once written, each item joins the session exactly as
    if it had been loaded (core/orm_rows.py `adopt`): it is in the identity
    map, its task type is the session's own persistent row (from the catalogue read), and
    a later change in the same transaction (completing or reviewing the item just
    declared) is flushed as an UPDATE. Every column is written and set on the item, so
    none is expired (no read back). The tenant is stamped and checked as the ORM's flush
    guard does (core/tenancy/mixin.py); row-level security and the closed-month trigger
    judge the row as for any INSERT."""
    if not items:
        return
    tid, checked = current_tenant_id(), not is_unscoped()
    rows = []
    for item in items:
        if checked and item.tenant_id is None:
            if tid is None:
                raise TenantContextError("WorkItem created with no tenant in context")
            item.tenant_id = tid
        elif checked and item.tenant_id != tid:
            raise TenantContextError(f"WorkItem written for tenant {item.tenant_id} in tenant {tid}")
        state = item.__dict__
        row = {}
        for key, default in _COLUMNS:
            if key in state:
                row[key] = state[key]
            else:  # what the flush would have written; into the item's state directly, as
                # its history is reset below anyway (no attribute events to run)
                row[key] = state[key] = default()
        rows.append(row)
    session = db.session()
    conn = session.connection()
    if len(rows) == 1:
        ids = [conn.execute(_INSERT, rows[0]).scalar_one()]
    else:
        ids = conn.execute(_INSERT_MANY, rows).scalars().all()
    for item, new_id in zip(items, ids, strict=True):
        item.__dict__["id"] = new_id
        adopt(session, item)  # history reset: the item now reads as its stored row


def _default_of(column):
    """What the ORM's flush writes for a column the item was built without."""
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)
    return lambda: default.arg


# Every stored column but the id, always all of them: one statement shape, so SQLAlchemy's
# compiled cache and psycopg's prepared statement hold.
_COLUMNS = tuple((c.key, _default_of(c)) for c in WorkItem.__table__.columns if c.key != "id")
_INSERT = insert(WorkItem.__table__).returning(WorkItem.__table__.c.id)
# Several rows: SQLAlchemy's "insertmanyvalues" sends them as one multi-row INSERT on
# PostgreSQL; the ids come back in the rows' order.
_INSERT_MANY = insert(WorkItem.__table__).returning(WorkItem.__table__.c.id, sort_by_parameter_order=True)


def _declared(item: WorkItem) -> None:
    """What a declared (written) item leaves for the commit: its audit event and work event."""
    record("work_item.create", "work_item", item.id, after=audit_view(item))
    queue_event(item, "created")


def _build(principal: Principal, data: dict, resolved: dict | None = None) -> tuple[WorkItem, list[str], Any]:
    """The item `data` declares, checked (Invalid/Conflict/Forbidden when it may not be),
    not yet in the session; its warnings; and the catalogue's row it was built from.
    `resolved` (a batch's) keeps each (type, date, person) looked up once, so a morning
    plan of six items of two types asks the catalogue twice."""
    employee_id, assigned_by = _target_employee(principal, data.get("employee_id"))
    work_date: date = data["work_date"]
    key = (data["task_type_code"], work_date, employee_id)
    if resolved is not None and key in resolved:
        row = resolved[key]
    else:
        params = {"code": data["task_type_code"], "on": work_date, "employee_id": employee_id,
                  "period": period_of(work_date)}
        tid = current_tenant_id()
        if tid is not None and not is_unscoped():
            row = db.session.execute(_declaration_statement(True), {**params, "tid": tid}).first()
        else:  # no tenant, or an operator's work across tenants: the session's filter decides
            row = db.session.execute(_declaration_statement(), params).first()
        if resolved is not None:
            resolved[key] = row
    tt, version, applies = catalogue.declaration_of(row)
    errors: dict[str, list[str]] = {}
    if tt is None:
        errors["task_type_code"] = ["No such task type."]
    if data.get("deadline") is not None and data["deadline"] < work_date:
        errors["deadline"] = ["The deadline is before the work date."]
    # Compared as stored, in hundredths (building.quantity_of): 0.004 would be kept as 0.00.
    if data.get("quantity") is not None and building.quantity_of(data["quantity"]) <= 0:
        errors["quantity"] = ["Must be greater than 0."]
    elif tt is not None and data.get("quantity") is not None:
        errors.update(quantity_ceiling(tt, data["quantity"]))
    if tt is not None and version is None and not row.closed:
        errors["work_date"] = [_no_norm(tt, work_date)]  # with the other fields' errors, in one answer
    if errors:
        raise Invalid("Some fields are invalid.", errors)
    if row.closed:
        raise period_closed(work_date)
    level, coefficient = catalogue.coefficient_for(version, data.get("complexity_level"))
    warnings: list[str] = []
    outside = not applies
    if outside:
        if work_settings().position_check == "refuse":
            raise Invalid("The task type is not in the catalogue of this position.",
                          {"task_type_code": ["Not in the catalogue of the employee's position."]})
        warnings.append("The task type is not in the catalogue of the employee's position.")
    tenant = cal.current_tenant()
    declared_at = cal.now()
    norm = building.Norm(tt.id, tt.name, version.id, version.norm_minutes, version.product_weight, level, coefficient)
    given = {key: data.get(key) for key in ("title", "quantity", "role", "priority", "deadline")}
    item = WorkItem(
        **building.item_fields({**given, "work_date": work_date}, employee_id, norm,
                               cal.cutoff_moment(work_date, tenant), declared_at,
                               Measure(tenant, cal.local_date(declared_at, tenant), [work_date])),
        task_type=tt, assigned_by_id=assigned_by, outside_position=outside, missed_before=0,
        # The manager made the assignment, so there is no declaration left for them to check.
        verification="verified" if assigned_by else "pending",
        verified_by_id=assigned_by, verified_at=declared_at if assigned_by else None,
        external_id=data.get("external_id"), updated_at=declared_at,
    )
    return item, warnings, row


def _no_norm(tt: TaskType, work_date: date) -> str:
    """Why nothing of this type can be declared that day. A day before the type's first norm
    is outside what may be declared at all, so the message names the first day; otherwise
    (a type with no norm at all) the norm is what is missing."""
    first = db.session.scalar(select(func.min(NormVersion.effective_from)).where(NormVersion.task_type_id == tt.id))
    if first is not None and work_date < first:
        return f"Nothing of this task type can be declared before {first.isoformat()}."
    return "No norm in force on this date."


def quantity_ceiling(tt: TaskType, quantity: float) -> dict[str, list[str]]:
    """The catalogue's ceiling on one item's quantity (a typo of 99999 is refused)."""
    ceiling = tt.max_quantity if tt.max_quantity is not None else DEFAULT_MAX_QUANTITY
    if Decimal(str(quantity)) > ceiling:
        limit = f"{float(ceiling):g}"
        return {"quantity": [f"At most {limit} per item for this task type."]}
    return {}


def declare_batch(principal: Principal, items: list[dict]) -> list[tuple[WorkItem, list[str]]]:
    """Declare several items in one transaction, all or nothing: every item is checked
    (each by `declare`, so one rule for one item and many); when any fails, the
    transaction is rolled back (the items before the bad one were flushed, with their
    audit events) and Invalid carries the field errors keyed by the item's index.
    The items are written together once all are checked: one INSERT (one round trip on
    PostgreSQL), not one per item."""
    done: list[tuple[WorkItem, list[str]]] = []
    errors: dict[str, dict] = {}
    resolved: dict = {}
    try:
        for index, data in enumerate(items):
            try:
                item, warnings, _row = _build(principal, data, resolved)
            except (Invalid, Conflict) as exc:
                errors[str(index)] = exc.errors or {"_item": [exc.message]}
                continue
            done.append((item, warnings))
    except ServiceError:  # Forbidden, say: the whole batch is refused
        db.session.rollback()
        raise
    if errors:
        db.session.rollback()
        raise Invalid("Some items are invalid; none was declared.", {"items": errors})
    write_items([item for item, _ in done])
    for item, _warnings in done:
        _declared(item)
    notices.assigned([item for item, _warnings in done])
    return done


@lru_cache(maxsize=2)
def _declaration_statement(explicit_tenant: bool = False):
    """The catalogue's task type, norm and applicability, whether the work date's month is
    closed, and what the person already planned that day (the 12-hour rule's figure), in
    one statement (parameters code, on, employee_id, period): a declaration is the morning's
    hot path, and each round trip is one more wait under load. With `explicit_tenant` (the
    usual case, a tenant in context), the statement restricts each of its seven tenant
    tables to the tenant `tid` itself and runs unscoped: the session's filter costs
    more Python than the rest of the statement's execution (core/tenancy/mixin.py
    `in_tenant`)."""
    def own(model) -> tuple:
        return (in_tenant(model),) if explicit_tenant else ()

    closed = select(ClosedPeriod.id).where(ClosedPeriod.period == bindparam("period"), *own(ClosedPeriod)).exists()
    planned = (select(func.coalesce(func.sum(PLANNED), 0))
               .where(WorkItem.employee_id == bindparam("employee_id"), WorkItem.work_date == bindparam("on"),
                      WorkItem.status != "cancelled", *own(WorkItem)).scalar_subquery())
    statement = catalogue.declaration_statement(explicit_tenant).add_columns(
        closed.label("closed"), planned.label("day_minutes"))
    return statement.execution_options(congvu_unscoped=True) if explicit_tenant else statement
