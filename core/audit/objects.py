"""What an audit event was done to, for people to read: `employee 208` is shown as
"Nhân sự · Nguyễn Văn A (NV208)", `work_item 5123` as the item's title, its owner and day.

The stored object_type/object_id are what the hash covers and never change; the label is
looked up when the log is shown, with one query per object type for a whole page (or an
export's chunk of rows), never one per row. Every lookup runs in the caller's tenant (the
ORM's tenant filter): an id of another tenant finds nothing and is never named. An object
deleted since keeps a label: the name its event's before/after carries, else "deleted"
and its id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.auth.models import User
from core.bonus.models import BonusRun
from core.catalogue.models import Competency, TaskType
from core.classification.models import ClassificationAppeal, DisciplineRecord, EvaluationDecision
from core.documents.models import DocumentTemplate, IssuedDecision
from core.extensions import db
from core.i18n import day_label, month_label, scope_label
from core.imports.models import LiveSource
from core.org.models import DeputyField, Employee, JobPosition, OrgUnit
from core.scoring.models import GeneralScore
from core.sso.models import SsoConfig
from core.tenancy import current_tenant_id
from core.tenants.models import Tenant
from core.webhooks.models import WebhookSubscription
from core.work.models import CalendarDay, LeaveRecord, WorkItem

# Object types as an inspector reads them. A type not listed shows as stored.
KINDS = {
    "employee": _l("Staff member"), "user": _l("Login account"), "work_item": _l("Work item"),
    "unit": _l("Unit"), "position": _l("Position"), "task_type": _l("Task type"),
    "competency": _l("Competency"), "bonus_run": _l("Bonus run"), "classification_year": _l("Classification"),
    "employee_classification": _l("A person's classification"), "classification_appeal": _l("Appeal"),
    "discipline_record": _l("Discipline"), "evaluation_step": _l("Evaluation step"),
    "agency_evaluation": _l("Agency evaluation"), "evaluation_decision": _l("Evaluation decision"),
    "issued_decision": _l("Issued decision"), "document_template": _l("Document template"),
    "period": _l("Period"), "leave": _l("Leave"), "calendar_day": _l("Calendar day"),
    "deputy_field": _l("Deputy's field"), "general_score": _l("General criteria score"),
    "tenant": _l("Province (tenant)"), "import": _l("Import"), "live_source": _l("Live source"),
    "webhook": _l("Webhook"), "webhook_delivery": _l("Webhook delivery"), "sso_config": _l("Single sign-on"),
    "work_settings": _l("Work settings"),
}

# Keys of an event's before/after that name its object, best first: a deleted object is
# read from them.
HINTS = ("full_name", "title", "name", "username", "code", "url", "issuer", "filename")


@dataclass(frozen=True)
class Named:
    """`kind` the object type as read ("Nhân sự"); `label` the object by name ("" when
    there is nothing to name); `deleted` when the object is gone since the event."""

    kind: str
    label: str
    deleted: bool = False


def _ints(ids: Iterable[str]) -> set[int]:
    # Ids are stored as text; only whole numbers can be a row's id (a bigint compared
    # with other text is an error on PostgreSQL).
    return {int(i) for i in ids if i.isdigit() and len(i) <= 18}


def _split(ids: Iterable[str], parts: int) -> dict[str, tuple[int, ...]]:
    """`2026:12[:…]` ids as their first `parts` numbers (a year, then an id)."""
    out = {}
    for raw in ids:
        pieces = raw.split(":")
        if len(pieces) >= parts and all(p.isdigit() and len(p) <= 18 for p in pieces[:parts]):
            out[raw] = tuple(int(p) for p in pieces[:parts])
    return out


def _person(name: str, code: str) -> str:
    return f"{name} ({code})"


def _employees(ids: set[str]) -> dict[str, str]:

    rows = db.session.execute(select(Employee.id, Employee.full_name, Employee.code)
                              .where(Employee.id.in_(_ints(ids))))
    return {str(r.id): _person(r.full_name, r.code) for r in rows}


def _users(ids: set[str]) -> dict[str, str]:

    rows = db.session.execute(select(User.id, User.username, Employee.full_name, Employee.code)
                              .outerjoin(Employee, Employee.user_id == User.id).where(User.id.in_(_ints(ids))))
    return {str(r.id): _("%(person)s, login %(login)s", person=_person(r.full_name, r.code), login=r.username)
            if r.full_name else _("login %(login)s", login=r.username) for r in rows}


def _work_items(ids: set[str]) -> dict[str, str]:

    rows = db.session.execute(select(WorkItem.id, WorkItem.title, WorkItem.work_date, Employee.full_name)
                              .join(Employee, Employee.id == WorkItem.employee_id)
                              .where(WorkItem.id.in_(_ints(ids))))
    return {str(r.id): _("“%(title)s” of %(person)s, %(day)s", title=r.title, person=r.full_name,
                         day=day_label(r.work_date)) for r in rows}


def _named_rows(model: Any, fmt: Callable[[Any], str]) -> Callable[[set[str]], dict[str, str]]:
    """A resolver for a model whose rows name themselves (code and name, a URL…)."""
    def resolve(ids: set[str]) -> dict[str, str]:
        return {str(row.id): fmt(row) for row in db.session.scalars(select(model).where(model.id.in_(_ints(ids))))}
    return resolve


def _year_person(model: Any) -> Callable[[set[str]], dict[str, str]]:
    """A row of one person's year (an appeal, a discipline record, a general score)."""
    def resolve(ids: set[str]) -> dict[str, str]:

        when = model.period if hasattr(model, "period") else model.year
        rows = db.session.execute(select(model.id, when.label("when"), Employee.full_name, Employee.code)
                                  .join(Employee, Employee.id == model.employee_id)
                                  .where(model.id.in_(_ints(ids))))
        return {str(r.id): f"{_person(r.full_name, r.code)}, {_when(r.when)}" for r in rows}
    return resolve


def _when(value: Any) -> str:
    text = str(value)
    return month_label(text) if len(text) == 7 else _("year %(year)s", year=text)


def _keyed_people(ids: set[str]) -> dict[str, str]:
    """`2026:12` (a person's classification) and `2026:12:step` (an evaluation step)."""

    from core.classification.procedure import STEP_LABELS  # the procedure's words for its steps

    keys = _split(ids, 2)
    rows = db.session.execute(select(Employee.id, Employee.full_name, Employee.code)
                              .where(Employee.id.in_({k[1] for k in keys.values()})))
    people = {r.id: _person(r.full_name, r.code) for r in rows}
    out = {}
    for raw, (year, employee_id) in keys.items():
        if employee_id in people:
            step = raw.split(":")[2] if raw.count(":") >= 2 else ""
            step = _(STEP_LABELS[step]) if step in STEP_LABELS else step
            out[raw] = ", ".join(filter(None, [people[employee_id], _("year %(year)s", year=year), step]))
    return out


def _agencies_by_key(ids: set[str]) -> dict[str, str]:
    """`2026:7`: an agency's evaluation of a year."""

    keys = _split(ids, 2)
    units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name)
                                    .where(OrgUnit.id.in_({k[1] for k in keys.values()}))).tuples().all())
    return {raw: f"{units[agency]}, {_('year %(year)s', year=year)}" for raw, (year, agency) in keys.items()
            if agency in units}


def _agency_rows(model: Any) -> Callable[[set[str]], dict[str, str]]:
    """An agency's decision of a year (number first when it has one)."""
    def resolve(ids: set[str]) -> dict[str, str]:

        number = model.number if hasattr(model, "number") else None
        rows = db.session.execute(select(model.id, model.year, OrgUnit.name, *([number] if number is not None else []))
                                  .join(OrgUnit, OrgUnit.id == model.agency_id).where(model.id.in_(_ints(ids))))
        out = {}
        for r in rows:
            text = f"{r.name}, {_('year %(year)s', year=r.year)}"
            out[str(r.id)] = _("No. %(number)s, %(rest)s", number=r.number, rest=text) \
                if number is not None and r.number else text
        return out
    return resolve


def _leaves(ids: set[str]) -> dict[str, str]:

    rows = db.session.execute(select(LeaveRecord.id, LeaveRecord.start_date, LeaveRecord.end_date,
                                     Employee.full_name, Employee.code)
                              .join(Employee, Employee.id == LeaveRecord.employee_id)
                              .where(LeaveRecord.id.in_(_ints(ids))))
    return {str(r.id): f"{_person(r.full_name, r.code)}, {day_label(r.start_date)}–{day_label(r.end_date)}"
            for r in rows}


def _calendar_days(ids: set[str]) -> dict[str, str]:

    # A tenant pack records the day itself (2026-09-02); a page records the row's id.
    out = {i: day_label(i) for i in ids if _is_day(i)}
    for row in db.session.scalars(select(CalendarDay).where(CalendarDay.id.in_(_ints(ids)))):
        out[str(row.id)] = " ".join(filter(None, [day_label(row.day), row.name]))
    return out


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _deputy_fields(ids: set[str]) -> dict[str, str]:

    rows = db.session.execute(select(DeputyField.id, DeputyField.start_date, Employee.full_name, Employee.code)
                              .join(Employee, Employee.id == DeputyField.deputy_id)
                              .where(DeputyField.id.in_(_ints(ids))))
    return {str(r.id): _("%(person)s, from %(day)s", person=_person(r.full_name, r.code),
                         day=day_label(r.start_date)) for r in rows}


def _tenants(ids: set[str]) -> dict[str, str]:

    # Tenants are not tenant-scoped rows: name only the tenant whose log this is (a
    # merger's source tenant keeps its id).
    tid = current_tenant_id()
    if str(tid) not in ids:
        return {}
    return {str(tid): db.session.scalar(select(Tenant.name).where(Tenant.id == tid)) or ""}


def _bonus_runs(ids: set[str]) -> dict[str, str]:

    rows = db.session.execute(select(BonusRun.id, BonusRun.year).where(BonusRun.id.in_(_ints(ids))))
    return {str(r.id): _("Bonus of %(year)s #%(id)s", year=r.year, id=r.id) for r in rows}


def _pure(fmt: Callable[[str], str]) -> Callable[[set[str]], dict[str, str]]:
    """A label from the id alone (a month, a year): no query."""
    return lambda ids: {i: fmt(i) for i in ids}


# How each object type is named: a function from a page's ids of that type to their
# labels, one query for all of them. A type without a resolver shows its kind and id.
RESOLVERS: dict[str, Callable[[set[str]], dict[str, str]]] = {
    "employee": _employees,
    "user": _users,
    "work_item": _work_items,
    "unit": _named_rows(OrgUnit, lambda r: f"{r.name} ({r.code})"),
    "position": _named_rows(JobPosition, lambda r: f"{r.name} ({r.code})"),
    "task_type": _named_rows(TaskType, lambda r: f"{r.code} — {r.name}"),
    "competency": _named_rows(Competency, lambda r: f"{r.code} — {r.name}"),
    "bonus_run": _bonus_runs,
    "classification_year": _pure(lambda i: _("Classification of %(year)s", year=i)),
    "period": _pure(month_label),
    "import": _pure(scope_label),
    "employee_classification": _keyed_people,
    "evaluation_step": _keyed_people,
    "agency_evaluation": _agencies_by_key,
    "classification_appeal": _year_person(ClassificationAppeal),
    "discipline_record": _year_person(DisciplineRecord),
    "general_score": _year_person(GeneralScore),
    "evaluation_decision": _agency_rows(EvaluationDecision),
    "issued_decision": _agency_rows(IssuedDecision),
    "leave": _leaves,
    "calendar_day": _calendar_days,
    "deputy_field": _deputy_fields,
    "tenant": _tenants,
    "live_source": _named_rows(LiveSource, lambda r: r.name),
    "webhook": _named_rows(WebhookSubscription, lambda r: r.url),
    "sso_config": _named_rows(SsoConfig, lambda r: r.issuer),
    "document_template": _named_rows(DocumentTemplate, lambda r: r.filename),
}


def _hint(before: Any, after: Any) -> str | None:
    """The name a deleted object's event carried (a deletion keeps it in `before`)."""
    for side in (before, after):
        if isinstance(side, dict):
            for key in HINTS:
                if isinstance(side.get(key), str) and side[key].strip():
                    if key == "full_name" and isinstance(side.get("code"), str):
                        return _person(side[key], side["code"])
                    return side[key]
    return None


class Objects:
    """The objects of a page of events (or a chunk of an export), named with one query per
    object type among them: `Objects(pairs).of(type, id, before, after)`."""

    def __init__(self, pairs: Iterable[tuple[str | None, str | None]]) -> None:
        wanted: dict[str, set[str]] = {}
        for object_type, object_id in pairs:
            if object_type in RESOLVERS and object_id:
                wanted.setdefault(object_type, set()).add(object_id)
        self.found: dict[tuple[str, str], str] = {}
        for object_type, ids in wanted.items():
            for object_id, text in RESOLVERS[object_type](ids).items():
                self.found[(object_type, object_id)] = text

    def of(self, object_type: str | None, object_id: str | None, before: Any = None, after: Any = None) -> Named:
        if not object_type:
            return Named("", "")
        kind = str(KINDS.get(object_type, object_type))
        if object_id and (object_type, object_id) in self.found:
            return Named(kind, self.found[(object_type, object_id)])
        hint = _hint(before, after)
        # A failed sign-in names the login it tried and no account; a tenant other than
        # this one (a merger's source) is not this tenant's to name.
        if object_id is None or object_type == "tenant" or object_type not in RESOLVERS:
            return Named(kind, hint or "")
        # Looked up in this tenant and not there: deleted since.
        return Named(kind, _("%(name)s (deleted)", name=hint) if hint else _("deleted, #%(id)s", id=object_id),
                     deleted=True)

