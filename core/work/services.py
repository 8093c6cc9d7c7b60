"""The daily work loop: declaring, assigning, updating, completing, extending,
reviewing, exempting and verifying work items, and the rules they are measured by.

Rules (domain.md; "our rule" where the text leaves a choice):
- planned: declared before the tenant's morning cut-off on the work date, in the
  tenant's time zone.
- missed deadlines: each deadline (original or extended) that passed while the item
  was unfinished counts one. A deadline passes at the end of its day; an item done on
  its deadline day is on time. A deadline replaced by an extension before it passed
  does not count. When a failed review reopens an item, the final completion counts.
- not reported: a result entered (marked done) after the end of the Nth working day
  (tenant setting, default 1) after the day the work was completed; an open item whose
  due day (deadline, else work date) is more than N working days past.
- a closed period (month of the work date) refuses every change with 409.

Services raise `core.errors` exceptions before writing anything. Each change writes
an audit event in the same transaction and queues `congvu_work_item_changed`, which
`core.unit_of_work.commit()` emits after the commit (hookspecs.py says "called after the
commit").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from flask import g, has_request_context
from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.orm import defaultload

from core import unit_of_work
from core.audit.services import record
from core.auth.principal import Principal
from core.catalogue import services as catalogue
from core.catalogue.models import DEFAULT_MAX_QUANTITY, TaskType
from core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.plugins.events import emit
from core.tenants.models import Tenant
from core.txcache import pending, transaction_cache
from core.webhooks import outbox as webhooks
from core.work import building
from core.work import calendar as cal
from core.work.models import (
    OPEN_STATUSES,
    CalendarDay,
    ClosedPeriod,
    DeadlineExtension,
    LeaveRecord,
    WorkItem,
    WorkReview,
    WorkSettings,
)

# Clock skew allowed between a phone and the server for "completed at".
_SKEW = timedelta(minutes=5)
TRANSITIONS = {
    "planned": {"planned", "in_progress", "done", "cancelled"},
    "in_progress": {"in_progress", "done", "cancelled"},
    "done": {"done"},
    "cancelled": {"cancelled"},
}


# ---------------------------------------------------------------- events after commit


def _queue_event(item: WorkItem, change: str) -> None:
    """For the commit (core/unit_of_work.py): the item is re-scored (or marked for the
    scorer) before it, and `congvu_work_item_changed` is emitted after it."""
    pending().setdefault("work_events", []).append((item.tenant_id, item.id, change))


def emit_events(events: list[tuple[int, int, str]]) -> None:
    """After the commit: tell plugins what changed (they may read the committed rows)."""
    for tenant_id, item_id, change in events:
        emit("congvu_work_item_changed", tenant_id=tenant_id, item_id=item_id, change=change)


# ---------------------------------------------------------------- settings, periods


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


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def closed_periods(days: list[date]) -> set[str]:
    periods = {period_of(d) for d in days if d is not None}
    if not periods:
        return set()
    return set(db.session.scalars(select(ClosedPeriod.period).where(ClosedPeriod.period.in_(periods))))


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
        db.session.add(row)
        db.session.flush()
        record("period.close", "period", period, after={"period": period})
    return row


# ---------------------------------------------------------------- measuring rules


class Measure:
    """What the rules say about items at one moment: built once per request or list.
    The calendar is loaded (one query) only when a rule needs it."""

    def __init__(self, tenant: Tenant, today: date, dates: list[date], report_within: int | None = None,
                 calendar: cal.WorkCalendar | None = None) -> None:
        self.tenant, self.today, self._report_within = tenant, today, report_within
        self._range = (min([*dates, today]) - timedelta(days=1), max([*dates, today]))
        self._calendar = calendar

    @property
    def report_within(self) -> int:
        if self._report_within is None:
            self._report_within = work_settings().report_within_working_days
        return self._report_within

    @property
    def calendar(self) -> cal.WorkCalendar:
        if self._calendar is None:
            self._calendar = cal.WorkCalendar.load(*self._range)
        return self._calendar

    @classmethod
    def for_dates(cls, dates: list[date]) -> Measure:
        tenant = cal.current_tenant()
        return cls(tenant, cal.local_today(tenant), dates)

    def local(self, moment: datetime) -> date:
        return cal.local_date(moment, self.tenant)

    def current_deadline_missed(self, item: WorkItem) -> bool:
        if item.deadline is None or item.status == "cancelled":
            return False
        if item.status == "done" and item.completed_at is not None:
            return self.local(item.completed_at) > item.deadline
        return self.today > item.deadline

    def missed_deadlines(self, item: WorkItem) -> int:
        return (item.missed_before or 0) + (1 if self.current_deadline_missed(item) else 0)

    def overdue(self, item: WorkItem) -> bool:
        return item.status in OPEN_STATUSES and item.deadline is not None and self.today > item.deadline

    def not_reported(self, item: WorkItem) -> bool:
        if item.status == "cancelled":
            return False
        if item.status == "done" and item.completed_at is not None and item.reported_at is not None:
            due = self.calendar.add_working_days(self.local(item.completed_at), self.report_within)
            return self.local(item.reported_at) > due
        due_day = item.deadline or item.work_date
        if due_day >= self.today:  # the window ends on or after the due day: nothing to look up
            return False
        return self.today > self.calendar.add_working_days(due_day, self.report_within)

    def refresh(self, item: WorkItem) -> None:
        """Bring the stored flags up to date (scoring reads the columns)."""
        item.missed_deadlines = self.missed_deadlines(item)
        item.not_reported = self.not_reported(item)


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


def _audit_view(item: WorkItem) -> dict:
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


# ---------------------------------------------------------------- who may do what


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


def _writer(principal: Principal) -> None:
    if principal.has_role("auditor") and not principal.has_role("employee", "manager", "tenant_admin"):
        raise Forbidden("Auditors read only.")


def _may_update(principal: Principal, item: WorkItem) -> None:
    """The owner updates progress and results; their managers and the assigner may too."""
    _writer(principal)
    if principal.employee_id is not None and principal.employee_id in (item.employee_id, item.assigned_by_id):
        return
    if org.manages(principal, item.employee_id):
        return
    raise Forbidden("Only the employee, the assigner or their manager may change this item.")


def _may_judge(principal: Principal, item: WorkItem, action: str, assigner_too: bool = True) -> None:
    """Extending, reviewing, exempting, verifying: the assigner or a manager, never the owner."""
    _writer(principal)
    if principal.employee_id is not None and principal.employee_id == item.employee_id:
        raise Forbidden(f"You cannot {action} your own item.")
    if assigner_too and principal.employee_id is not None and principal.employee_id == item.assigned_by_id:
        return
    if org.manages(principal, item.employee_id):
        return
    raise Forbidden(f"Only {'the assigner or ' if assigner_too else ''}a manager of this employee may {action} it.")


def _open(item: WorkItem, field: str = "status") -> None:
    if item.status not in OPEN_STATUSES:
        raise Conflict(f"The item is {item.status}.", {field: [f"The item is {item.status}."]})


# ---------------------------------------------------------------- declaring and assigning


def _target_employee(principal: Principal, employee_id: int | None) -> tuple[int, int | None]:
    """(employee id, who assigned it — None when declared for oneself)."""
    _writer(principal)
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


def declare(principal: Principal, data: dict, resolved: dict | None = None) -> tuple[WorkItem, list[str]]:
    """Declare an item for oneself, or assign one to a person one manages.
    Returns the item and warnings (e.g. a task type outside the position, when the
    tenant only warns). `resolved` (a batch's) keeps each (type, date, person) looked up
    once, so a morning plan of six items of two types asks the catalogue twice."""
    employee_id, assigned_by = _target_employee(principal, data.get("employee_id"))
    work_date: date = data["work_date"]
    key = (data["task_type_code"], work_date, employee_id)
    if resolved is not None and key in resolved:
        row = resolved[key]
    else:
        row = db.session.execute(_declaration_statement(), {
            "code": data["task_type_code"], "on": work_date, "employee_id": employee_id,
            "period": period_of(work_date)}).first()
        if resolved is not None:
            resolved[key] = row
    tt, version, applies = catalogue.declaration_of(row)
    errors: dict[str, list[str]] = {}
    if tt is None:
        errors["task_type_code"] = ["No such task type."]
    if data.get("deadline") is not None and data["deadline"] < work_date:
        errors["deadline"] = ["The deadline is before the work date."]
    if data.get("quantity") is not None and data["quantity"] <= 0:
        errors["quantity"] = ["Must be greater than 0."]
    elif tt is not None and data.get("quantity") is not None:
        errors.update(_quantity_ceiling(tt, data["quantity"]))
    if errors:
        raise Invalid("Some fields are invalid.", errors)
    if row.closed:
        raise period_closed(work_date)
    if version is None:
        raise Invalid("The task type has no norm on this date.", {"work_date": ["No norm in force on this date."]})
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
    db.session.add(item)
    db.session.flush()
    if resolved is None:
        # The day's plan with this item, from the statement above: the 12-hour rule then needs
        # no read of its own. A batch (several items, one lookup per type) reads it once instead.
        transaction_cache(_DAY_PLANS)[(employee_id, work_date)] = float(row.day_minutes or 0) + float(
            item.norm_minutes * item.quantity * item.complexity_coefficient)
    record("work_item.create", "work_item", item.id, after=_audit_view(item))
    _queue_event(item, "created")
    return item, warnings


def _quantity_ceiling(tt: TaskType, quantity: float) -> dict[str, list[str]]:
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
    audit events) and Invalid carries the field errors keyed by the item's index."""
    done: list[tuple[WorkItem, list[str]]] = []
    errors: dict[str, dict] = {}
    resolved: dict = {}
    try:
        for index, data in enumerate(items):
            try:
                done.append(declare(principal, data, resolved))
            except (Invalid, Conflict) as exc:
                errors[str(index)] = exc.errors or {"_item": [exc.message]}
    except ServiceError:  # Forbidden, say: the whole batch is refused
        db.session.rollback()
        raise
    if errors:
        db.session.rollback()
        raise Invalid("Some items are invalid; none was declared.", {"items": errors})
    return done


@lru_cache(maxsize=1)
def _declaration_statement():
    """The catalogue's task type, norm and applicability, whether the work date's month is
    closed, and what the person already planned that day (the 12-hour rule's figure), in
    one statement (parameters code, on, employee_id, period): a declaration is the morning's
    hot path, and each round trip is one more wait under load."""
    closed = select(ClosedPeriod.id).where(ClosedPeriod.period == bindparam("period")).exists()
    planned = (select(func.coalesce(func.sum(WorkItem.norm_minutes * WorkItem.quantity
                                             * WorkItem.complexity_coefficient), 0))
               .where(WorkItem.employee_id == bindparam("employee_id"), WorkItem.work_date == bindparam("on"),
                      WorkItem.status != "cancelled").scalar_subquery())
    return catalogue.declaration_statement().add_columns(closed.label("closed"), planned.label("day_minutes"))


# ---------------------------------------------------------------- progress and results


LONG_DAY_MINUTES = 12 * 60  # docs/daily-work.md: a plan above this asks its owner to confirm
# The day's planned minutes each single declaration of the transaction read with its
# catalogue lookup, by (person, day) (core/txcache.py: gone with the transaction).
_DAY_PLANS = "day_plans"


def planned_minutes(employee_id: int, day: date) -> float:
    """What a person has planned for a day: norm × quantity × complexity of every item not cancelled."""
    total = db.session.scalar(select(func.coalesce(func.sum(
        WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient), 0)).where(
        WorkItem.employee_id == employee_id, WorkItem.work_date == day, WorkItem.status != "cancelled"))
    return float(total or 0)


def check_long_days(items: list[WorkItem], confirmed: bool) -> None:
    """The 12-hour rule of a person's own plan, for the page and the API alike: once the
    items are flushed, a day of their owner planned above 12 hours is refused unless
    confirmed (nothing is written: the caller rolls back). Items a manager assigned are
    not the owner's plan, so they are not asked about. One query for every day touched."""
    own = [i for i in items if i.assigned_by_id is None and i.status != "cancelled"]
    if confirmed or not own:
        return
    days = {(i.employee_id, i.work_date) for i in own}
    known = transaction_cache(_DAY_PLANS)
    if len(own) == 1 and days <= known.keys():  # the declaration read its day already
        (employee_id, day), = days
        rows = [(employee_id, day, known[(employee_id, day)])]
    else:
        rows = db.session.execute(
            select(WorkItem.employee_id, WorkItem.work_date, func.coalesce(func.sum(
                WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient), 0))
            .where(WorkItem.employee_id.in_({e for e, _ in days}), WorkItem.work_date.in_({d for _, d in days}),
                   WorkItem.status != "cancelled")
            .group_by(WorkItem.employee_id, WorkItem.work_date)).all()
    long_days = sorted((day, float(minutes)) for employee_id, day, minutes in rows
                       if (employee_id, day) in days and float(minutes) > LONG_DAY_MINUTES)
    if long_days:
        day, minutes = long_days[0]
        text = (f"The plan of {day.isoformat()} adds up to {_hours(minutes)} hours, more than "
                f"{LONG_DAY_MINUTES // 60}: send confirm_long_day to declare it.")
        raise Invalid(text, {"confirm_long_day": [text]}, code="long_day")


def _hours(minutes: float) -> str:
    hours = round(minutes / 60, 2)
    return str(int(hours)) if hours.is_integer() else f"{hours:.2f}".rstrip("0")


def update_item(principal: Principal, item: WorkItem, data: dict) -> WorkItem:
    """Progress, status (in_progress, done, cancelled), completion time, result, quantity."""
    _may_update(principal, item)
    ensure_open(item.work_date)
    # A changed item changes its day's plan: the figure a declaration read is no longer it.
    transaction_cache(_DAY_PLANS).pop((item.employee_id, item.work_date), None)
    before = _audit_view(item)
    status = data.get("status", item.status)
    if status not in TRANSITIONS[item.status]:
        raise Conflict(f"A {item.status} item cannot become {status}.",
                       {"status": [f"A {item.status} item cannot become {status}."]})
    if item.status in ("done", "cancelled") and set(data) - {"result_note", "status"}:
        raise Conflict(f"The item is {item.status}.", {"status": [f"The item is {item.status}."]})
    now = cal.now()
    errors: dict[str, list[str]] = {}
    if "quantity" in data and (data["quantity"] is None or data["quantity"] <= 0):
        errors["quantity"] = ["Must be greater than 0."]
    elif "quantity" in data:
        errors.update(_quantity_ceiling(item.task_type, data["quantity"]))
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
        item.quantity = Decimal(str(data["quantity"]))
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
    record(f"work_item.{action}", "work_item", item.id, before=before, after=_audit_view(item))
    if change == "completed":
        webhooks.publish("work_item.completed", {"id": item.id, **_audit_view(item)})
    _queue_event(item, change)
    return item


def extend_deadline(principal: Principal, item: WorkItem, deadline: date, reason: str) -> WorkItem:
    _may_judge(principal, item, "extend")
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
    before = _audit_view(item)
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
    record("work_item.extend", "work_item", item.id, before=before, after=_audit_view(item))
    _queue_event(item, "extended")
    return item


def extensions(item: WorkItem) -> list[dict]:
    rows = db.session.scalars(select(DeadlineExtension).where(DeadlineExtension.work_item_id == item.id)
                              .order_by(DeadlineExtension.at, DeadlineExtension.id))
    return [{"old_deadline": r.old_deadline, "new_deadline": r.new_deadline, "old_missed": r.old_missed,
             "reason": r.reason, "by_id": r.by_id, "at": r.at} for r in rows]


def review(principal: Principal, item: WorkItem, data: dict) -> WorkItem:
    """Rate a finished item. A failed review counts one failed review and sends the
    item back for rework: it is open again and its result must be reported again."""
    _may_judge(principal, item, "review")
    if item.status != "done":
        raise Conflict("Only a finished item can be reviewed.", {"status": ["Only a finished item can be reviewed."]})
    ensure_open(item.work_date)
    before = _audit_view(item)
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
    record("work_item.review", "work_item", item.id, before=before, after=_audit_view(item))
    _queue_event(item, "reviewed")
    return item


def exempt(principal: Principal, item: WorkItem, reason: str) -> WorkItem:
    """An objective cause: the item counts neither failed reviews nor missed deadlines."""
    _may_judge(principal, item, "exempt", assigner_too=False)
    if item.status == "cancelled":
        raise Conflict("The item is cancelled.", {"status": ["The item is cancelled."]})
    ensure_open(item.work_date)
    if not (reason or "").strip():
        raise Invalid("Give a reason.", {"reason": ["Give a reason."]})
    before = _audit_view(item)
    item.exempt, item.exempt_reason, item.exempted_by_id = True, reason.strip(), principal.employee_id
    item.updated_at = cal.now()
    db.session.flush()
    record("work_item.exempt", "work_item", item.id, before=before, after=_audit_view(item))
    _queue_event(item, "exempted")
    return item


# ---------------------------------------------------------------- manager verification


def verify(principal: Principal, item: WorkItem, accepted: bool, reason: str | None = None) -> WorkItem:
    """Accept a declaration, or refuse it with a reason (it is then cancelled)."""
    _may_judge(principal, item, "verify", assigner_too=False)
    if item.verification != "pending" or item.status == "cancelled":
        raise Conflict("This declaration is not waiting for a check.",
                       {"verification": [f"The declaration is {item.verification}."]})
    ensure_open(item.work_date)
    if not accepted and not (reason or "").strip():
        raise Invalid("Give a reason for refusing.", {"reason": ["Give a reason for refusing."]})
    before = _audit_view(item)
    now = cal.now()
    item.verification = "verified" if accepted else "refused"
    item.verification_note = (reason or "").strip() or None
    item.verified_by_id, item.verified_at, item.updated_at = principal.employee_id, now, now
    if not accepted:
        item.status = "cancelled"
    Measure.for_dates([item.work_date]).refresh(item)
    db.session.flush()
    record("work_item.verify" if accepted else "work_item.refuse", "work_item", item.id, before=before,
           after=_audit_view(item))
    _queue_event(item, "updated" if accepted else "cancelled")
    return item


def managed_items_clause(principal: Principal):
    """Items of the people `principal` manages, themselves excluded."""
    if principal.employee_id is None or not principal.has_role("manager"):
        return WorkItem.id.is_(None)
    return and_(WorkItem.employee_id.in_(org.managed_scope(principal.employee_id)),
                WorkItem.employee_id != principal.employee_id)


def queue(principal: Principal, limit: int = 200) -> dict[str, list[WorkItem]]:
    """What waits for a manager: declarations to check and finished items to review."""
    mine = managed_items_clause(principal)
    to_check = db.session.scalars(
        select(WorkItem).where(mine, WorkItem.verification == "pending", WorkItem.status != "cancelled")
        .order_by(WorkItem.work_date.desc(), WorkItem.id).limit(limit)).all()
    to_review = db.session.scalars(
        select(WorkItem).where(mine, WorkItem.status == "done", WorkItem.reviewed_at.is_(None))
        .order_by(WorkItem.work_date.desc(), WorkItem.id).limit(limit)).all()
    return {"declarations": list(to_check), "reviews": list(to_review)}


# ---------------------------------------------------------------- lists and summaries


def items_query(principal: Principal, args: dict):
    stmt = select(WorkItem).order_by(WorkItem.work_date.desc(), WorkItem.id.desc())
    clause = visible_items_clause(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    if args.get("employee_id") is not None:
        stmt = stmt.where(WorkItem.employee_id == args["employee_id"])
    if args.get("unit_id") is not None:
        units = org.unit_subtree_ids(args["unit_id"])
        stmt = stmt.where(WorkItem.employee_id.in_(select(Employee.id).where(Employee.unit_id.in_(units))))
    if args.get("work_date") is not None:
        stmt = stmt.where(WorkItem.work_date == args["work_date"])
    if args.get("from") is not None:
        stmt = stmt.where(WorkItem.work_date >= args["from"])
    if args.get("to") is not None:
        stmt = stmt.where(WorkItem.work_date <= args["to"])
    if args.get("status"):
        stmt = stmt.where(WorkItem.status.in_(args["status"]))
    if args.get("verification"):
        stmt = stmt.where(WorkItem.verification == args["verification"])
    if args.get("overdue"):
        stmt = stmt.where(WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < cal.local_today())
    return stmt


def unit_day(principal: Principal, day: date, unit_id: int | None = None) -> list[dict]:
    """Per person a manager sees: items declared for `day`, planned minutes, open and
    overdue items. Two grouped queries, whatever the size of the unit."""
    people_stmt = select(Employee).order_by(Employee.full_name)
    if principal.has_role("tenant_admin", "auditor") and unit_id is None:
        unit_id = db.session.scalar(select(Employee.unit_id).where(Employee.id == principal.employee_id))
    if unit_id is not None:
        people_stmt = people_stmt.where(Employee.unit_id.in_(org.unit_subtree_ids(unit_id)))
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        people_stmt = people_stmt.where(clause)
    people = list(db.session.scalars(people_stmt.limit(1000)).unique())
    ids = [p.id for p in people]
    if not ids:
        return []
    minutes = WorkItem.norm_minutes * WorkItem.quantity * WorkItem.complexity_coefficient
    today_rows = {r.employee_id: r for r in db.session.execute(
        select(WorkItem.employee_id, func.count().label("n"), func.sum(minutes).label("minutes"),
               func.sum(case((WorkItem.status == "done", 1), else_=0)).label("done"),
               func.sum(case((WorkItem.planned.is_(True), 1), else_=0)).label("planned"))
        .where(WorkItem.employee_id.in_(ids), WorkItem.work_date == day, WorkItem.status != "cancelled")
        .group_by(WorkItem.employee_id))}
    overdue_rows = dict(db.session.execute(
        select(WorkItem.employee_id, func.count()).where(
            WorkItem.employee_id.in_(ids), WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < day)
        .group_by(WorkItem.employee_id)).all())
    out = []
    for p in people:
        row = today_rows.get(p.id)
        out.append({"employee_id": p.id, "full_name": p.full_name, "code": p.code, "unit_name": p.unit.name,
                    "declared": row.n if row else 0, "planned_items": int(row.planned or 0) if row else 0,
                    "done": int(row.done or 0) if row else 0,
                    "planned_minutes": float(row.minutes or 0) if row else 0.0,
                    "overdue": overdue_rows.get(p.id, 0)})
    return out


def sweep(today: date | None = None) -> int:
    """Store the day's flags on open items in bulk (for scoring, which reads columns):
    a passed deadline counts as missed, a due day long past marks "not reported".
    Two UPDATE statements for the whole tenant; returns the rows touched."""
    tenant = cal.current_tenant()
    today = today or cal.local_today(tenant)
    n = work_settings().report_within_working_days
    calendar = cal.WorkCalendar.load(today - timedelta(days=90), today)
    # The latest due day whose report window has ended before today (windows are monotone).
    last_due, day = None, today
    for _ in range(90):
        day -= timedelta(days=1)
        if calendar.add_working_days(day, n) < today:
            last_due = day
            break
    touched = db.session.execute(
        update(WorkItem).where(WorkItem.status.in_(OPEN_STATUSES), WorkItem.deadline < today)
        .values(missed_deadlines=WorkItem.missed_before + 1)
        .execution_options(synchronize_session=False)).rowcount
    if last_due is not None:
        touched += db.session.execute(
            update(WorkItem).where(WorkItem.status.in_(OPEN_STATUSES), WorkItem.not_reported.is_(False),
                                   func.coalesce(WorkItem.deadline, WorkItem.work_date) <= last_due)
            .values(not_reported=True).execution_options(synchronize_session=False)).rowcount
    return touched


# ---------------------------------------------------------------- leave and calendar days


def leave_view(r: LeaveRecord) -> dict:
    return {"id": r.id, "employee_id": r.employee_id, "start_date": r.start_date, "end_date": r.end_date,
            "kind": r.kind, "approved": r.approved, "reason": r.reason}


def _may_manage_leave(principal: Principal, employee_id: int) -> None:
    _writer(principal)
    if not org.can_see_employee(principal, employee_id):
        raise Invalid("Unknown employee.", {"employee_id": ["No such employee."]})
    if principal.has_role("tenant_admin"):
        return
    if principal.employee_id != employee_id and org.manages(principal, employee_id):
        return
    raise Forbidden("Only a manager of this employee or a tenant admin records leave.")


def create_leave(principal: Principal, data: dict) -> LeaveRecord:
    _may_manage_leave(principal, data["employee_id"])
    if data["end_date"] < data["start_date"]:
        raise Invalid("The end date is before the start date.", {"end_date": ["Before the start date."]})
    ensure_open(data["start_date"], "start_date")
    ensure_open(data["end_date"], "end_date")
    row = LeaveRecord(**data)
    db.session.add(row)
    unit_of_work.changed(row)
    db.session.flush()
    record("leave.create", "leave", row.id, after=leave_view(row))
    return row


def get_leave(principal: Principal, leave_id: int) -> LeaveRecord:
    stmt = select(LeaveRecord).where(LeaveRecord.id == leave_id)
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(LeaveRecord.employee_id.in_(select(Employee.id).where(clause)))
    row = db.session.scalar(stmt)
    if row is None:
        raise NotFound("Leave record not found.")
    return row


def delete_leave(principal: Principal, row: LeaveRecord) -> None:
    _may_manage_leave(principal, row.employee_id)
    ensure_open(row.start_date, "start_date")
    ensure_open(row.end_date, "end_date")
    record("leave.delete", "leave", row.id, before=leave_view(row))
    unit_of_work.changed(row, gone=True)
    db.session.delete(row)
    db.session.flush()


def leave_query(principal: Principal, args: dict):
    stmt = select(LeaveRecord).order_by(LeaveRecord.start_date.desc(), LeaveRecord.id)
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(LeaveRecord.employee_id.in_(select(Employee.id).where(clause)))
    if args.get("employee_id") is not None:
        stmt = stmt.where(LeaveRecord.employee_id == args["employee_id"])
    if args.get("from") is not None:
        stmt = stmt.where(LeaveRecord.end_date >= args["from"])
    if args.get("to") is not None:
        stmt = stmt.where(LeaveRecord.start_date <= args["to"])
    return stmt


def calendar_day_view(r: CalendarDay) -> dict:
    return {"id": r.id, "day": r.day, "kind": r.kind, "name": r.name}


def set_calendar_day(data: dict) -> CalendarDay:
    ensure_open(data["day"], "day")
    row = db.session.scalar(select(CalendarDay).where(CalendarDay.day == data["day"]))
    before = calendar_day_view(row) if row else None
    if row is None:
        row = CalendarDay(day=data["day"])
        db.session.add(row)
    row.kind, row.name = data["kind"], data.get("name")
    unit_of_work.changed(row)
    db.session.flush()
    record("calendar_day.set", "calendar_day", row.id, before=before, after=calendar_day_view(row))
    return row


def get_calendar_day(day_id: int) -> CalendarDay:
    row = db.session.get(CalendarDay, day_id)
    if row is None:
        raise NotFound("Calendar day not found.")
    return row


def delete_calendar_day(row: CalendarDay) -> None:
    ensure_open(row.day, "day")
    record("calendar_day.delete", "calendar_day", row.id, before=calendar_day_view(row))
    unit_of_work.changed(row, gone=True)
    db.session.delete(row)
    db.session.flush()


def working_days_view(principal: Principal, start: date, end: date, employee_id: int | None) -> dict:
    if end < start:
        raise Invalid("The end is before the start.", {"to": ["Before from."]})
    if (end - start).days > 366:
        raise Invalid("At most a year at a time.", {"to": ["At most 366 days after from."]})
    if employee_id is not None:
        if not org.can_see_employee(principal, employee_id):
            raise NotFound("Employee not found.")
        days = cal.employee_working_days(employee_id, start, end)
    else:
        days = cal.WorkCalendar.load(start, end).working_days(start, end)
    return {"from_": start, "to": end, "employee_id": employee_id, "count": len(days), "days": days}

