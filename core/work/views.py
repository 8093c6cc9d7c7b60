"""Pages of the daily loop: "Hôm nay" (my day, made for a phone) and "Đơn vị" (my
unit, for managers).

"Hôm nay" opens on the declare form with today's items under it. Its forms work
without JavaScript (post, redirect back to the item), and with htmx they swap only what
changed — the form, the day's list, the one item — so the page never jumps to the top.
The declare form sends several rows at once through the same batch service as the API
(`services.declare_batch`, all or nothing); a plan above 12 hours in a day asks for a
confirmation first. Bad input comes back with the form as typed and each error beside
its field (422)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from core import unit_of_work
from core.catalogue import services as catalogue
from core.classification import procedure
from core.errors import Invalid, ServiceError
from core.extensions import db
from core.messages import error_text, localise
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services
from core.work.form_input import ceiling_message, field_message, parse_date, parse_number
from core.work.models import OPEN_STATUSES, WorkItem
from core.work.page_access import require_manager, require_member
from core.work.schemas import BATCH_MAX

work_pages = Blueprint("work_pages", __name__, template_folder="templates")
CATALOGUE_LIMIT = 30
# Every type of one position fits a phone's native picker; more is a catalogue to search.
CHOICES_LIMIT = 500
CARRIED_LIMIT = 50


def _form_errors(exc: ServiceError) -> None:
    flash(error_text(exc), "error")


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _position_id() -> int | None:
    return db.session.scalar(select(Employee.position_id).where(Employee.id == current_user.employee_id))


def _catalogue(q: str, today: date, limit: int = CATALOGUE_LIMIT) -> list[dict]:
    types = db.session.scalars(catalogue.task_types_query(_position_id(), q).limit(limit)).all()
    norms = catalogue.norms_in_force([t.id for t in types], today)
    return [catalogue.task_type_view(t, norms.get(t.id)) for t in types if t.id in norms]


def _field_errors(errors: dict) -> dict[str, str]:
    out = {}
    for field, messages in errors.items():
        messages = messages if isinstance(messages, list) else [str(messages)]
        out[field] = " ".join(field_message(str(m)) for m in messages)
    return out


# ---------------------------------------------------------------- Hôm nay


def _day_view(me: Employee, day: date) -> dict[str, Any]:
    """Today's items and the open ones carried over from earlier days (overdue first)."""
    # A declaration the manager refused is cancelled, but its owner must still see it and
    # why (nothing else tells them): it stays on its day, apart, and counts for nothing.
    of_day = db.session.scalars(select(WorkItem).where(
        WorkItem.employee_id == me.id, WorkItem.work_date == day,
        or_(WorkItem.status != "cancelled", WorkItem.verification == "refused"))
        .order_by(WorkItem.id)).all()
    todays = [i for i in of_day if i.status != "cancelled"]
    refused = [i for i in of_day if i.status == "cancelled"]
    earlier = db.session.scalars(select(WorkItem).where(
        WorkItem.employee_id == me.id, WorkItem.work_date < day, WorkItem.status.in_(OPEN_STATUSES))
        .order_by(WorkItem.work_date, WorkItem.id).limit(CARRIED_LIMIT)).all()
    carried_total = len(earlier) if len(earlier) < CARRIED_LIMIT else db.session.scalar(
        select(func.count()).select_from(WorkItem).where(
            WorkItem.employee_id == me.id, WorkItem.work_date < day, WorkItem.status.in_(OPEN_STATUSES)))
    every = services.views(list(todays) + list(earlier) + refused)
    items, carried = every[:len(todays)], every[len(todays):len(todays) + len(earlier)]
    refused_views = every[len(todays) + len(earlier):]
    carried.sort(key=lambda i: not i["overdue"])  # overdue first; stable, so by date within each
    return {"items": items, "refused": refused_views, "carried": carried, "carried_total": carried_total,
            "overdue_count": sum(1 for i in carried if i["overdue"]),
            "planned_minutes": sum(i["planned_minutes"] for i in items)}


def _blank_rows(n: int = 1) -> list[dict]:
    return [{"task_type_code": "", "quantity": "1", "deadline": "", "title": "", "errors": {}} for _ in range(n)]


def _render_today(day: date, me: Employee | None, *, rows: list[dict] | None = None,
                  form: dict | None = None, status: int = 200, fragment: bool = False):
    q = request.args.get("q", "").strip()[:100]
    context: dict[str, Any] = {
        "tenant": g.tenant, "day": day, "me": me, "q": q,
        "before_cutoff": cal.now() < cal.cutoff_moment(day, g.tenant), "cutoff": g.tenant.morning_cutoff,
        "rows": rows or _blank_rows(), "form": form or {"work_date": day.isoformat()}, "batch_max": BATCH_MAX,
        "long_day_hours": services.LONG_DAY_MINUTES // 60,
    }
    if me is not None:
        context["self_assessment"] = procedure.self_assessment_due(current_user)
        context.update(_day_view(me, day))
        context["choices"] = _catalogue("", day, CHOICES_LIMIT)
        context["catalogue"] = _catalogue(q, day)
    template = "work/_declare_response.html" if fragment else "work/today.html"
    return render_template(template, **context), status


@work_pages.get("/t/<t>/today")
@login_required
def today(t):
    require_member()
    day = cal.local_today(g.tenant)
    me = db.session.get(Employee, current_user.employee_id) if current_user.employee_id else None
    return _render_today(day, me)


@work_pages.get("/t/<t>/today/catalogue")
@login_required
def today_catalogue(t):
    """The catalogue list alone, for htmx to swap in while the user types."""
    require_member()
    q = request.args.get("q", "").strip()[:100]
    day = cal.local_today(g.tenant)
    return render_template("work/_catalogue.html", catalogue=_catalogue(q, day) if current_user.employee_id else [],
                           q=q, day=day)


class _TypedWrong(Exception):
    """The service took every row, but some field was typed wrong: nothing is kept."""


def _rows_from_form() -> list[dict]:
    """The declare form's rows as typed (one per task type field; blank rows dropped)."""
    columns = {name: request.form.getlist(name) for name in ("task_type_code", "quantity", "deadline", "title")}
    count = len(columns["task_type_code"])
    rows = []
    for i in range(min(count, BATCH_MAX * 2)):
        row = {name: (values[i] if i < len(values) else "").strip() for name, values in columns.items()}
        row["title"] = row["title"][:300]
        row["errors"] = {}
        if row["task_type_code"] or (row["title"] and count > 1):
            rows.append(row)
    return rows


@work_pages.post("/t/<t>/today/declare")
@login_required
def declare(t):
    """Declare the form's rows in one batch (all or nothing). The single-row form of the
    catalogue list posts here too."""
    require_member()
    day = cal.local_today(g.tenant)
    me = db.session.get(Employee, current_user.employee_id) if current_user.employee_id else None
    rows = _rows_from_form()
    form = {"work_date": request.form.get("work_date", "").strip()[:10] or day.isoformat(),
            "confirm_long": request.form.get("confirm_long") == "1", "errors": {}}
    maxima = {c["code"]: c["max_quantity"] for c in (_catalogue("", day, CHOICES_LIMIT) if me else [])}
    items: list[dict] = []
    try:
        work_date = parse_date(form["work_date"], "work_date") or day
    except ServiceError as exc:
        form["errors"] = _field_errors(exc.errors)
        work_date = day
    if not rows:
        form["errors"]["rows"] = _("Choose at least one task type.")
        rows = _blank_rows()
    elif len(rows) > BATCH_MAX:
        form["errors"]["rows"] = _("At most %(n)s items at once.", n=BATCH_MAX)
    for row in rows:
        row["max_quantity"] = maxima.get(row["task_type_code"])
        data: dict[str, Any] = {"task_type_code": row["task_type_code"], "work_date": work_date}
        try:
            quantity = parse_number(row["quantity"], "quantity")
            data["quantity"] = 1 if quantity is None else quantity  # an empty box means one unit; 0 is an error
        except ServiceError as exc:
            row["errors"].update(_field_errors(exc.errors))
        else:
            # The service's own checks, made here too: when another field (the work date, say)
            # stops the form before the service, every error of the row still shows at once.
            if data["quantity"] <= 0:
                row["errors"]["quantity"] = field_message("Must be greater than 0.")
            elif row["max_quantity"] is not None and data["quantity"] > float(row["max_quantity"]):
                row["errors"]["quantity"] = ceiling_message(float(row["max_quantity"]))
        try:
            data["deadline"] = parse_date(row["deadline"], "deadline")
        except ServiceError:
            row["errors"]["deadline"] = _("Choose a date.")
        if not row["task_type_code"]:
            row["errors"]["task_type_code"] = _("Choose a task type.")
        if row["title"]:
            data["title"] = row["title"]
        items.append(data)
    status = 200
    typed_wrong = any(r["errors"] for r in rows)
    if form["errors"]:
        status = 422
    else:
        # Rows typed wrong still go to the service (a wrong field is left out, so it is not
        # judged twice): what it says of their other fields — the work date outside the
        # catalogue, say — shows with the typing errors, in one answer, and nothing is kept.
        try:
            declared = services.declare_batch(current_user, items)
            if typed_wrong:
                db.session.rollback()
                raise _TypedWrong
            try:
                services.check_long_days([item for item, _ in declared], form["confirm_long"])
                long_day = False
            except Invalid as exc:
                if exc.code != "long_day":
                    raise
                long_day = True
            if long_day:
                form["planned_minutes"] = services.planned_minutes(current_user.employee_id, work_date)
                db.session.rollback()
                form["needs_confirm"] = True
                status = 422
            else:
                unit_of_work.commit()
                flash(ngettext_declared(len(declared)), "ok")
                if any(w for _, w in declared):
                    flash(_("Warning: this task type is not in your position's catalogue."), "warning")
                rows, form = _blank_rows(), {"work_date": day.isoformat()}
        except Invalid as exc:
            db.session.rollback()
            by_index = (exc.errors or {}).get("items")
            if isinstance(by_index, dict):
                for index, errors in by_index.items():
                    row = rows[int(index)]
                    row_errors = _field_errors(errors)
                    # The work date is the form's, not the row's: its error stands beside its box.
                    if "work_date" in row_errors:
                        form["errors"]["work_date"] = row_errors.pop("work_date")
                    row["errors"] = {**row_errors, **row["errors"]}  # the page's own words first
            else:
                form["errors"]["rows"] = _(exc.message)
            status = 422
        except _TypedWrong:
            status = 422
        except ServiceError as exc:
            db.session.rollback()
            # localise: a message with a value in it (a month the database found closed
            # after the checks, core/work/closed_guard.py) is translated too.
            form["errors"]["rows"] = localise(exc.message)
            status = exc.status
    if _htmx():
        return _render_today(day, me, rows=rows, form=form, status=status, fragment=True)
    if status == 200:
        return redirect(url_for("work_pages.today", t=t, q=request.form.get("q") or None) + "#declare")
    return _render_today(day, me, rows=rows, form=form, status=status)


def ngettext_declared(n: int) -> str:
    from flask_babel import ngettext

    return ngettext("Declared %(num)d item.", "Declared %(num)d items.", n)


@work_pages.post("/t/<t>/items/<int:item_id>/update")
@login_required
def update(t, item_id):
    """Progress, result, done or cancel for one item. The progress box holds the stored
    value, so saving only a result note keeps the progress; an unchanged value is not
    sent to the service (it would otherwise start a planned item)."""
    require_member()
    action = request.form.get("action", "progress")
    typed = {"progress": request.form.get("progress", ""), "result_note": request.form.get("result_note", "")}
    errors: dict[str, str] = {}
    item = None
    status = 200
    try:
        item = services.get_item(current_user, item_id)
        data: dict = {}
        note = typed["result_note"].strip()[:5000]
        if note != (item.result_note or ""):
            data["result_note"] = note or None
        if action == "done":
            data["status"] = "done"
        elif action == "cancel":
            data["status"] = "cancelled"
        else:
            progress = parse_number(typed["progress"], "progress")
            if progress is not None:
                if not 0 <= progress <= 100 or not float(progress).is_integer():
                    raise ServiceError(_("Invalid progress."), {"progress": [_("A whole number from 0 to 100.")]})
                if int(progress) != item.progress:
                    data["progress"] = int(progress)
        if data:
            services.update_item(current_user, item, data)
            unit_of_work.commit()
        if not _htmx():
            flash(_("Saved."), "ok")
    except ServiceError as exc:
        db.session.rollback()
        status = 422 if exc.status == 400 else exc.status
        errors = _field_errors(exc.errors) or {"result_note": _(exc.message)}
        if item is None:
            _form_errors(exc)
        else:
            db.session.refresh(item)
            if not _htmx():
                flash(" ".join(errors.values()), "error")
    if _htmx() and item is not None:
        return _render_item(item, errors, typed if errors else None, status, saved=not errors)
    if _safe_next():
        return redirect(request.form["next"])
    return redirect(url_for("work_pages.today", t=t) + (f"#item-{item_id}" if item is not None else ""))


def _render_item(item: WorkItem, errors: dict[str, str], typed: dict | None, status: int, saved: bool):
    """One item (htmx swaps it in place) and the day's summary, out of band."""
    day = cal.local_today(g.tenant)
    me = db.session.get(Employee, current_user.employee_id) if current_user.employee_id else None
    summary = _day_view(me, day) if me is not None and me.id == item.employee_id else None
    return render_template("work/_item_response.html", i=services.view(item), day=day, errors=errors,
                           typed=typed, saved=saved, summary=summary, tenant=g.tenant,
                           before_cutoff=cal.now() < cal.cutoff_moment(day, g.tenant),
                           cutoff=g.tenant.morning_cutoff), status


def _safe_next() -> bool:
    target = request.form.get("next", "")
    return target.startswith(f"/t/{g.tenant.slug}/") and "//" not in target and "\\" not in target


# ---------------------------------------------------------------- Đơn vị


# The unit page itself ("/t/<t>/unit") is in manager_views.py.


@work_pages.post("/t/<t>/items/<int:item_id>/verify")
@login_required
def verify(t, item_id):
    require_manager()
    accepted = request.form.get("accepted") == "1"
    try:
        item = services.get_item(current_user, item_id)
        services.verify(current_user, item, accepted, request.form.get("reason"))
        unit_of_work.commit()
        flash(_("Declaration accepted.") if accepted else _("Declaration refused."), "ok")
    except ServiceError as exc:
        db.session.rollback()
        _form_errors(exc)
    return redirect(url_for("work_pages.unit", t=t))


@work_pages.post("/t/<t>/items/<int:item_id>/review")
@login_required
def review(t, item_id):
    require_manager()
    passed = request.form.get("passed") == "1"
    try:
        stars = parse_number(request.form.get("stars"), "stars")
        data = {"passed": passed, "stars": int(stars) if stars and passed else None,
                "comment": (request.form.get("comment") or "").strip()[:5000] or None}
        if data["stars"] is not None and not 1 <= data["stars"] <= 5:
            raise ServiceError(_("Invalid rating."), {"stars": [_("Between 1 and 5.")]})
        services.review(current_user, services.get_item(current_user, item_id), data)
        unit_of_work.commit()
        flash(_("Review saved.") if passed else _("Sent back for rework."), "ok")
    except ServiceError as exc:
        db.session.rollback()
        _form_errors(exc)
    return redirect(url_for("work_pages.unit", t=t))


def minutes_label(minutes: float) -> str:
    """120 → "2 h 00"; what a phone screen has room for."""
    total = int(round(minutes))
    return f"{total // 60} h {total % 60:02d}"


@work_pages.app_template_filter("minutes")
def _minutes_filter(value) -> str:
    return minutes_label(float(value or 0))


_STATUS = {"planned": _l("planned"), "in_progress": _l("in progress"), "done": _l("done"),
           "cancelled": _l("cancelled")}


@work_pages.app_template_filter("work_status")
def _status_filter(value: str) -> str:
    return str(_STATUS.get(value, value))
