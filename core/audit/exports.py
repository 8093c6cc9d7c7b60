"""The audit log for inspectors: every matching event as xlsx or csv, with the fields
each hash covers, so the chain can be re-checked offline.

Rows come in chain order (seq). Each row's previous hash is the hash of the row before
(seq - 1), or 64 zeros for seq 1. A row's content hash (column 13) is SHA-256 of
the JSON object {"tenant_id", "at", "actor", "action", "object_type", "object_id",
"before", "after"} written with sorted keys, no ASCII escaping and ", "/": " separators
(Python's json.dumps defaults), where "before"/"after" are the cells' JSON and an empty
cell is null, plus each of "via", "client_ip" and "request_id" whose cell (columns 16 to
18) is not empty; its hash is SHA-256 of the text "<prev_hash>:<seq>:<content hash>". A
row without a content hash (an event written before content hashes existed) hashes
instead the JSON object of those fields plus "seq" and "prev_hash", written the same way.
Text that a spreadsheet would take for a formula carries a leading apostrophe
(core.imports.exports.escape): drop it before hashing. Three columns are for reading
only, no hash covers them: the actor's full name and login as they are today (column
12), then, after the content hash, the object's kind and its name today (columns 14 and
15, "Nhân sự", "Nguyễn Văn A (NV208)"; a deleted object reads "đã xóa"). Columns 16 to
18 say how and from where the event was made: the channel ("page", "api" or
"api:token:<id>", "cli", "job", "system"), the client's address, the request's id (the
one its log lines carry); they are empty for events written before they were kept.
Columns are only ever added at the end, so a column's position never changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import ColumnElement, Select, func, or_, select

from core.audit import names, objects
from core.audit.models import AuditEvent
from core.extensions import db
from core.imports.exports import Export
from core.work.calendar import local_today

HEADERS = ["Số thứ tự (seq)", "Thời điểm (at, UTC)", "Người thực hiện (actor)", "Hành động (action)",
           "Loại đối tượng (object_type)", "Mã đối tượng (object_id)", "Trước khi đổi (before, JSON)",
           "Sau khi đổi (after, JSON)", "Mã băm sự kiện trước (prev_hash)", "Mã băm (hash)",
           "Mã tổ chức (tenant_id)", "Họ tên người thực hiện", "Mã băm nội dung (content_hash)",
           "Loại đối tượng", "Đối tượng", "Kênh thực hiện (via)", "Địa chỉ IP (client_ip)",
           "Mã yêu cầu (request_id)"]


def events_query(args: dict) -> Select:
    """The tenant's events in chain order, filtered by dates (`to` inclusive), actor, action.
    Dates are days of `args["tz"]` (the audit page passes the tenant's zone: an inspector's
    "15/10" is the local day), else UTC days (the API's contract)."""
    zone = ZoneInfo(args.get("tz") or "UTC")
    stmt = select(AuditEvent).order_by(AuditEvent.seq)
    if args.get("from_"):
        stmt = stmt.where(AuditEvent.at >= datetime.combine(args["from_"], time.min, zone).astimezone(UTC))
    if args.get("to"):
        stmt = stmt.where(AuditEvent.at < datetime.combine(args["to"] + timedelta(days=1), time.min, zone)
                          .astimezone(UTC))
    if args.get("actor"):
        stmt = stmt.where(actor_clause(args["actor"]))
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action == args["action"])
    if args.get("employee"):
        people = args["people"] if "people" in args else employees(args["employee"])
        stmt = stmt.where(person_clause(people))
    if args.get("via"):
        stmt = stmt.where(via_clause(args["via"]))
    if args.get("client_ip"):
        stmt = stmt.where(AuditEvent.client_ip == args["client_ip"])
    return stmt


def via_clause(via: str):
    """The events made through `via` (core.audit.schemas.VIA_FILTERS): "api" is every API
    write, "api:token:<id>" each token's; "unrecorded" those written before the channel
    was kept (NULL), which no channel may claim."""
    if via == "unrecorded":
        return AuditEvent.via.is_(None)
    if via == "api":
        return (AuditEvent.via == "api") | AuditEvent.via.like("api:%")
    return AuditEvent.via == via


def events_page(args: dict, page: int, size: int) -> tuple[int, list[AuditEvent]]:
    """How many events the filters keep, and the `page`th `size` of them, newest first
    (the page shows the latest; the export keeps chain order)."""
    stmt = events_query(args)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    events = db.session.scalars(stmt.order_by(None).order_by(AuditEvent.seq.desc())
                                .limit(size).offset((page - 1) * size)).all()
    return total, list(events)


PEOPLE_PER_FILTER = 50  # a name shared by more people than this lists the first 50 (by id)


def person_ids(value: str) -> list[int]:
    """The logins of this tenant an inspector may mean by `value`: `user:<id>[:login]`, a
    login (any case), or part of a person's full name (any case where the database folds
    it). Diacritics count: "Nguyễn" is not "Nguyen"."""
    from core.auth.models import User
    from core.org.models import Employee

    match = re.fullmatch(r"user:(\d{1,18})(?::.*)?", value)
    if match:
        return [int(match.group(1))]
    if ":" in value or "@" in value:  # operator:…, anonymous@…, … via job …: not a person's name
        return []
    like = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(db.session.scalars(
        select(User.id).outerjoin(Employee, Employee.user_id == User.id)
        .where(or_(func.lower(User.username) == value.lower(), Employee.full_name.ilike(like, escape="\\")))
        .order_by(User.id).limit(PEOPLE_PER_FILTER)))


def employees(value: str) -> list[tuple[int, int | None]]:
    """The people of this tenant an inspector may mean by `value` (their employee id and
    login id): `employee:<id>`, an employee code (any case), or part of a full name (as
    person_ids reads it). Empty when nobody matches."""
    from core.auth.normalize import nfc
    from core.org.models import Employee

    value = nfc(value.strip()) or ""
    match = re.fullmatch(r"employee:(\d{1,18})", value)
    if match:
        where = Employee.id == int(match.group(1))
    else:
        like = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = or_(func.lower(Employee.code) == value.lower(), Employee.full_name.ilike(like, escape="\\"))
    return [(r.id, r.user_id) for r in db.session.execute(
        select(Employee.id, Employee.user_id).where(where).order_by(Employee.id).limit(PEOPLE_PER_FILTER))]


def person_clause(people: list[tuple[int, int | None]]) -> ColumnElement[bool]:
    """Everything done to or by these people: what their logins did (their jobs too), the
    events on them and on their login, and on what is theirs — their work items, leave,
    general criteria scores, appeals, discipline records, fields in charge. A deleted
    work item's events are no longer traced to its owner (only its id is left)."""
    from sqlalchemy import String, and_, cast

    from core.classification.models import ClassificationAppeal, DisciplineRecord
    from core.org.models import DeputyField
    from core.scoring.models import GeneralScore
    from core.work.models import LeaveRecord, WorkItem

    ids = [e for e, _ in people]
    logins = [u for _, u in people if u is not None]
    if not ids:
        return AuditEvent.id.is_(None)  # nobody: nothing (the page refuses it first)
    clauses = [and_(AuditEvent.object_type == "employee", AuditEvent.object_id.in_([str(i) for i in ids]))]
    if logins:
        clauses.append(and_(AuditEvent.object_type == "user", AuditEvent.object_id.in_([str(u) for u in logins])))
        clauses += [AuditEvent.actor.startswith(f"user:{u}:", autoescape=True) for u in logins]
    owned = [("work_item", WorkItem, WorkItem.employee_id), ("leave", LeaveRecord, LeaveRecord.employee_id),
             ("general_score", GeneralScore, GeneralScore.employee_id),
             ("classification_appeal", ClassificationAppeal, ClassificationAppeal.employee_id),
             ("discipline_record", DisciplineRecord, DisciplineRecord.employee_id)]
    for object_type, model, owner in owned:
        clauses.append(and_(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(
            select(cast(model.id, String)).where(owner.in_(ids)).scalar_subquery())))
    clauses.append(and_(AuditEvent.object_type == "deputy_field", AuditEvent.object_id.in_(
        select(cast(DeputyField.id, String)).where(or_(DeputyField.deputy_id.in_(ids),
                                                       DeputyField.member_id.in_(ids))).scalar_subquery())))
    # A person's year is keyed "<year>:<employee id>" (a manager's change of their level)
    # and a step of their evaluation "<year>:<employee id>:<step>": the events an inspector
    # asking "who changed this person's classification" needs first.
    clauses.append(and_(AuditEvent.object_type == "employee_classification",
                        or_(*(AuditEvent.object_id.like(f"%:{i}") for i in ids))))
    clauses.append(and_(AuditEvent.object_type == "evaluation_step",
                        or_(*(AuditEvent.object_id.like(f"%:{i}:%") for i in ids))))
    return or_(*clauses)


def actor_clause(value: str) -> ColumnElement[bool]:
    """Everything one actor did. A person (see person_ids) matches every event naming their
    login id, including the jobs they asked for ("user:12:a via job …") and events made
    before a rename of the login; anything else matches exactly, with its jobs
    ("scheduler via job …"). The stored actor is what the hash covers; this only reads it."""
    from core.auth.normalize import nfc

    value = nfc(value.strip()) or ""
    clauses = [AuditEvent.actor == value, AuditEvent.actor.startswith(value + " via job ", autoescape=True)]
    clauses += [AuditEvent.actor.startswith(f"user:{i}:", autoescape=True) for i in person_ids(value)]
    return or_(*clauses)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


CHUNK = 1000


def _rows(stmt: Select) -> Iterator[list[Any]]:
    # Plain columns, a thousand at a time: memory stays flat whatever the log's length.
    # Names are looked up once per chunk for the actors not seen before (one query).
    columns = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.object_type,
               AuditEvent.object_id, AuditEvent.before, AuditEvent.after, AuditEvent.prev_hash, AuditEvent.hash,
               AuditEvent.tenant_id, AuditEvent.content_hash, AuditEvent.via, AuditEvent.client_ip,
               AuditEvent.request_id)
    known: dict[str, str] = {}
    chunk: list = []
    for r in db.session.execute(stmt.with_only_columns(*columns).execution_options(yield_per=CHUNK)):
        chunk.append(r)
        if len(chunk) == CHUNK:
            yield from _named(chunk, known)
            chunk = []
    yield from _named(chunk, known)


def _named(chunk: list, known: dict[str, str]) -> Iterator[list[Any]]:
    unseen = {r[2] for r in chunk} - known.keys()
    if unseen:
        known.update({actor: names.label(who) for actor, who in names.resolve(unseen).items()})
    # The file is Vietnamese whatever the page's language, as its headers are.
    with force_locale("vi"):
        found = objects.Objects((r[4], r[5]) for r in chunk)  # one query per object type in the chunk
        named = [found.of(r[4], r[5], r[6], r[7]) for r in chunk]
    for r, obj in zip(chunk, named, strict=True):
        yield [r[0], r[1].isoformat(), r[2], r[3], r[4], r[5], _json(r[6]), _json(r[7]), r[8], r[9], r[10],
               known[r[2]], r[11], obj.kind, obj.label, r[12], r[13], r[14]]


def build(args: dict, slug: str) -> Export:
    name = f"nhat-ky-kiem-tra-{slug}-{local_today().isoformat()}"  # the tenant's day, as the rows' times are
    return Export(name, HEADERS, _rows(events_query(args)))
