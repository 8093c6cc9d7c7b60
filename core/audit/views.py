""""Nhật ký kiểm tra": the audit log page for tenant admins and auditors, with filters and
the inspector's export (the same query and files as the API)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError

from core.admin.forms import field_errors
from core.audit import actions, fields, names, objects, verifying
from core.audit import exports as audit_exports
from core.audit import tasks as audit_tasks
from core.audit.api import export_response
from core.audit.schemas import AuditExportQuery
from core.i18n import iso_day
from core.jobs.runner import get_run, submit

audit_pages = Blueprint("audit_pages", __name__, template_folder="templates")
PAGE_SIZE = 30  # a page of events is a few screens on a phone; the export has them all
# The filters' labels, for the fields and for the summary of the invalid ones.
LABELS = {"from": _l("From (date)"), "to": _l("To (date, inclusive)"), "actor": _l("Actor"), "action": _l("Action"),
          "employee": _l("Person (done to or by)"), "via": _l("Made through"), "client_ip": _l("IP address"),
          "format": _l("Format")}
FILTERS = ("from", "to", "actor", "action", "employee", "via", "client_ip", "format")


# How an event was made, in words beside its actor (core.audit.services.current_channel).
# "system" (no request, job or command: the scheduler, a daemon) is not worded: beside a
# person's name it would read as if the system had acted for them, and it adds nothing
# to "System".
CHANNELS = {"page": _l("via the web page"), "api": _l("via the API"), "cli": _l("via the command line"),
            "job": _l("via a background job")}
# The filter's choices, as the inspector reads them (core.audit.schemas.VIA_FILTERS).
VIA_CHOICES = (("page", _l("the web pages")), ("api", _l("the API")), ("cli", _l("the command line")),
               ("job", _l("background jobs")), ("system", _l("the system itself")),
               ("unrecorded", _l("not recorded (events before channels were kept)")))
# An event written before the channel was kept (via NULL): said so, never guessed.
UNRECORDED = _l("channel not recorded")
UNRECORDED_WHY = _l("This event was recorded before the channel it was made through was kept.")


def channel_label(via: str | None, actor: str = "") -> str:
    """The channel in words; "" for the system's, and where the actor already says it
    ("Command line", "… through job …"); "channel not recorded" for an event written
    before channels were kept (its channel is unknown, not the system's). An API token's
    id is named so the inspector can find the token."""
    if not via:
        return str(UNRECORDED)
    kind, _sep, rest = via.partition(":")
    if actor == kind or (kind == "job" and " via job " in actor):
        return ""
    if kind == "api" and rest.startswith("token:"):
        return _("via the API (token %(id)s)", id=rest[len("token:"):])
    return str(CHANNELS.get(kind, ""))


# A moment as the services store it: `str(datetime)` ("2026-12-03 02:00:00+00:00", the
# audit's JSON default) or a view's isoformat ("2026-12-03T02:00:00+00:00").
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def local_moment(text: str, zone: ZoneInfo) -> str | None:
    """A stored moment in the tenant's time, as the other pages write one (09/12/2026 14:05);
    None when ``text`` is not a moment. Stored moments are UTC (UTCDateTime): one without
    an offset is read as UTC. What is stored, and hashed, stays as it was."""
    if not MOMENT.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def field_value(text: str | None, key: str = "", found: objects.Objects | None = None,
                zone: ZoneInfo | None = None) -> str:
    """A changed value as read: a channel ("page", "api:token:3") as the log's actor column
    words it, another row's id (`unit_id`) by that row's name with the id kept ("Phòng Kinh
    tế (KT) · #42"; the id alone when the row is gone or another tenant's), a moment in the
    tenant's time (``zone``), JSON's null/true/false in words, anything else as is."""
    if key == "via" and text:
        return channel_label(text) or text
    worded = fields.keyed_value(key, text)
    if worded is not None:
        return worded
    if key == "levels" and text and found is not None:
        return _levels(text, found)
    if key == "changed_levels" and text:
        return _changed_levels(text)
    if zone is not None and text:
        moment = local_moment(text, zone)
        if moment is not None:
            return moment
    if found is not None and text and key in fields.ID_FIELDS:
        name = found.found.get((fields.ID_FIELDS[key], text))
        if name:
            return f"{name} · #{text}"
    return fields.value(text)


def _levels(text: str, found: objects.Objects) -> str:
    """A decision's levels ({"7": "HTT", …}, as stored) person by person: "Đỗ Ngọc Hiền
    (SNV-P1-CV-02) · #7: HTT; …" — an inspector reads who got which level, not ids."""
    try:
        levels = json.loads(text)
    except ValueError:
        return text
    if not isinstance(levels, dict):
        return text
    named = sorted(((found.found.get(("employee", str(k))) or "", str(k), v) for k, v in levels.items()),
                   key=lambda row: (row[0] == "", row[0], int(row[1]) if row[1].isdigit() else 0))
    return "; ".join(f"{name + ' · ' if name else ''}#{k}: {v or '—'}" for name, k, v in named)


def _changed_levels(text: str) -> str:
    """A recalculation's changed levels ([{"employee_id", "full_name", "before", "after"}, …],
    as stored) person by person: "Người A · #7: HTT → HT; …"."""
    try:
        rows = json.loads(text)
    except ValueError:
        return text
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return text
    return "; ".join(f"{r.get('full_name') + ' · ' if r.get('full_name') else ''}#{r.get('employee_id')}: "
                     f"{r.get('before') or '—'} → {r.get('after') or '—'}" for r in rows)


def _text(value: Any) -> str:
    """A stored value as an inspector reads it: text as is, anything else as JSON with its
    Vietnamese letters kept (`tojson` would write "B\\u00e1o c\\u00e1o")."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(before: Any, after: Any) -> list[tuple[str, str | None, str | None]]:
    """What an event changed, field by field: (field, before, after), None for a side that
    has no such field. An update lists only the fields that differ; a creation or a
    deletion every field it carried with a value. Empty when either side is not an object (the
    raw JSON below says it all)."""
    if not isinstance(before or {}, dict) or not isinstance(after or {}, dict):
        return []
    old, new = before or {}, after or {}
    update = before is not None and after is not None
    rows = []
    for key in sorted(old.keys() | new.keys()):
        # An update's unchanged field; a creation's or a deletion's empty one.
        skip = old.get(key) == new.get(key) if update else (old | new)[key] is None
        if skip:
            continue
        rows.append((key, _text(old[key]) if key in old else None, _text(new[key]) if key in new else None))
    return rows


def _person_of(object_type: str | None, object_id: str | None) -> int | None:
    """The employee an event's object is keyed by: a person, their year's level
    ("2026:<id>") or a step of their evaluation ("2026:<id>:<step>"); None otherwise."""
    if not object_id:
        return None
    if object_type == "employee":
        key = object_id
    elif object_type in ("employee_classification", "evaluation_step"):
        parts = object_id.split(":")
        key = parts[1] if len(parts) >= 2 else ""
    else:
        return None
    return int(key) if key.isdigit() and len(key) <= 18 else None


def links(event: Any, named: objects.Named) -> dict[str, str]:
    """Where an inspector follows an event: `thing` the page of what it changed (a person's
    month, a year's classification, a bonus run; catalogue pages for the tenant admin, who
    alone may open them), `history` everything done to or by the person it concerns. An
    object deleted since has no page."""
    t, out = g.tenant.slug, {}
    person = _person_of(event.object_type, event.object_id)
    if person is not None:
        out["history"] = url_for("audit_pages.audit_log", t=t, employee=f"employee:{person}")
    if named.deleted or not event.object_id:
        return out
    oid = event.object_id
    if person is not None:
        out["thing"] = url_for("dashboard_pages.person", t=t, employee_id=person)
    elif event.object_type == "classification_year" and oid.isdigit():
        out["thing"] = url_for("classification_pages.province", t=t, year=oid)
    elif event.object_type == "bonus_run" and oid.isdigit():
        out["thing"] = url_for("classification_pages.bonus_run", t=t, run_id=int(oid))
    elif current_user.has_role("tenant_admin") and oid.isdigit():
        admin_pages = {"task_type": ("admin_pages.task_type_edit", "task_type_id"),
                       "unit": ("admin_pages.unit_edit", "unit_id"),
                       "position": ("admin_pages.position_edit", "position_id"),
                       "competency": ("admin_pages.competency_edit", "competency_id")}
        if event.object_type in admin_pages:
            endpoint, arg = admin_pages[event.object_type]
            out["thing"] = url_for(endpoint, t=t, **{arg: int(oid)})
    return out


def _inspector() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    if not current_user.has_role("tenant_admin", "auditor"):
        abort(403)


def _filters() -> tuple[dict, dict, dict[str, list[str]]]:
    """The query's filters (blank fields ignored), the raw values, and field errors
    (translated, shown beside their fields)."""
    raw = {k: request.args.get(k, "").strip() for k in FILTERS}
    try:
        # Days are typed dd/mm/yyyy; the schema (the API's) reads YYYY-MM-DD.
        args = AuditExportQuery().load({k: iso_day(v) if k in ("from", "to") else v
                                        for k, v in raw.items() if v})
    except ValidationError as exc:
        return {"format": "xlsx"}, raw, field_errors(exc.messages if isinstance(exc.messages, dict)
                                                     else {"_": exc.messages})
    if args.get("employee"):
        # Looked up once here: a name nobody has is said beside the field, not shown as
        # an empty log the inspector would read as "nothing was done to them".
        args["people"] = audit_exports.employees(args["employee"])
        if not args["people"]:
            return {"format": "xlsx"}, raw, {"employee": [_("No person of this province matches “%(value)s”.",
                                                            value=args["employee"])]}
    # The page and its export read dates as the tenant's days, as it shows times.
    return {**args, "tz": g.tenant.timezone}, raw, {}


def _shown(key: str, value: str) -> str:
    """A filter's value in the summary as its field showed it (a channel, an action in
    words; a person a link named by key, "employee:5", by their name and code)."""
    if key == "employee" and value.startswith("employee:"):
        named = objects.Objects([("employee", value[len("employee:"):])]).of("employee", value[len("employee:"):])
        return value if named.deleted or not named.label else named.label
    if key == "via":
        return str(dict(VIA_CHOICES).get(value, value))
    if key == "action":
        return actions.label(value) or value
    return value


@audit_pages.get("/t/<t>/admin/audit")
@login_required
def audit_log(t):
    _inspector()
    args, raw, errors = _filters()
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 1_000_000))
    total, events = 0, []
    # A refused filter lists nothing (and offers no export): the whole log under a filter
    # the inspector believes applied would be read as the filter's result.
    if not errors:
        total, events = audit_exports.events_page(args, page, PAGE_SIZE)
    export_args = {k: v for k, v in raw.items() if v and k != "format"}
    # One query for the page's people, the inspector among them: the filters' examples
    # name a person as the reader knows one, not by an actor key.
    who = names.resolve([*(e.actor for e in events), current_user.actor])
    example = who[current_user.actor].name
    # One query per object type, for the events' objects and the rows their fields name.
    found = objects.Objects([*((e.object_type, e.object_id) for e in events),
                             *fields.referenced(side for e in events for side in (e.before, e.after))])
    what = {e.id: found.of(e.object_type, e.object_id, e.before, e.after) for e in events}
    pages = max(1, -(-total // PAGE_SIZE))
    zone = ZoneInfo(g.tenant.timezone)
    return render_template("audit/log.html", tenant=g.tenant, events=events, who=who, what=what,
                           action_label=actions.label, channel=channel_label, changes=changes, as_text=_text,
                           total=total, page=page, pages=pages, page_size=PAGE_SIZE, raw=raw, errors=errors,
                           export_args=export_args, labels=LABELS, invalid=", ".join(str(LABELS.get(k, k)) for k in errors),
                           zone=zone, example=example,
                           via_choices=VIA_CHOICES, action_choices=actions.choices(raw["action"]),
                           field_label=fields.label, field_value=lambda text, key="": field_value(text, key, found, zone),
                           links=links,
                           unrecorded_why=UNRECORDED_WHY,
                           active=[(LABELS[k], _shown(k, raw[k])) for k in FILTERS[:-1] if raw[k]]), \
        422 if errors else 200


@audit_pages.get("/t/<t>/admin/audit/export")
@login_required
def audit_export(t):
    _inspector()
    args, _, errors = _filters()
    if errors:
        abort(422)
    return export_response(args, g.tenant.slug)


@audit_pages.post("/t/<t>/admin/audit/verify")
@login_required
def audit_verify(t):
    """"Kiểm tra tính toàn vẹn": the chain check of `congvu audit verify`, for an inspector
    who has no command line. A POST (with the form's token), and a job: it reads the whole
    log — millions of events in a province's year — so a worker walks it while the page
    shows its bar (inline, embedded mode: done before the answer). Two inspectors pressing
    at once share one run."""
    _inspector()
    run = submit(audit_tasks.KIND, "chain", {}, current_user.actor)
    return redirect(url_for("audit_pages.audit_verify_result", t=t, job_id=run.id))


@audit_pages.get("/t/<t>/admin/audit/verify/<job_id>")
@login_required
def audit_verify_result(t, job_id):
    """A check's bar while it runs, its verdict once done; another tenant's or another
    kind of run is no check of this log (404)."""
    _inspector()
    run = get_run(job_id) if len(job_id) <= 36 else None
    if run is None or run.kind != audit_tasks.KIND:
        abort(404)
    verdict = verifying.from_result(run.result) if run.status == "finished" and run.result else None
    anchor_at = datetime.fromisoformat(verdict.anchor_at) if verdict and verdict.anchor_at else None
    return render_template("audit/verify.html", tenant=g.tenant, run=run, verdict=verdict, anchor_at=anchor_at,
                           problem_count=(run.result or {}).get("problem_count", 0), checked_at=run.finished_at)
