"""Pages of the daily loop: "Hôm nay" (my day, made for a phone) and "Đơn vị" (my
unit, for managers). Forms post back and redirect (no JavaScript needed); htmx only
narrows the catalogue while typing."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from core.catalogue import services as catalogue
from core.errors import ServiceError
from core.extensions import db
from core.messages import error_text
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services
from core.work.models import OPEN_STATUSES, WorkItem

work_pages = Blueprint("work_pages", __name__, template_folder="templates")
CATALOGUE_LIMIT = 30


def _member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def _form_errors(exc: ServiceError) -> None:
    flash(error_text(exc), "error")


def _parse_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(_("Invalid date."), {field: [_("Use the format YYYY-MM-DD.")]}) from exc


def _parse_number(value: str | None, field: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError as exc:
        raise ServiceError(_("Invalid number."), {field: [_("Enter a number.")]}) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ServiceError(_("Invalid number."), {field: [_("Enter a number.")]})
    return number


def _catalogue(q: str, today: date) -> list[dict]:
    position_id = db.session.scalar(select(Employee.position_id).where(Employee.id == current_user.employee_id))
    types = db.session.scalars(catalogue.task_types_query(position_id, q).limit(CATALOGUE_LIMIT)).all()
    norms = catalogue.norms_in_force([t.id for t in types], today)
    return [catalogue.task_type_view(t, norms.get(t.id)) for t in types if t.id in norms]


# ---------------------------------------------------------------- Hôm nay


@work_pages.get("/t/<t>/today")
@login_required
def today(t):
    _member()
    tenant = g.tenant
    day = cal.local_today(tenant)
    q = request.args.get("q", "").strip()[:100]
    me = db.session.get(Employee, current_user.employee_id) if current_user.employee_id else None
    items, carried = [], []
    if me is not None:
        todays = db.session.scalars(select(WorkItem).where(
            WorkItem.employee_id == me.id, WorkItem.work_date == day, WorkItem.status != "cancelled")
            .order_by(WorkItem.id)).all()
        earlier = db.session.scalars(select(WorkItem).where(
            WorkItem.employee_id == me.id, WorkItem.work_date < day, WorkItem.status.in_(OPEN_STATUSES))
            .order_by(WorkItem.work_date, WorkItem.id).limit(50)).all()
        every = services.views(list(todays) + list(earlier))
        items, carried = every[:len(todays)], every[len(todays):]
    overdue = [i for i in items + carried if i["overdue"]]
    return render_template(
        "work/today.html", tenant=tenant, day=day, me=me, items=items, carried=carried, overdue=overdue,
        planned_minutes=sum(i["planned_minutes"] for i in items), q=q,
        catalogue=_catalogue(q, day) if me is not None else [],
        before_cutoff=cal.now() < cal.cutoff_moment(day, tenant), cutoff=tenant.morning_cutoff)


@work_pages.get("/t/<t>/today/catalogue")
@login_required
def today_catalogue(t):
    """The catalogue list alone, for htmx to swap in while the user types."""
    _member()
    q = request.args.get("q", "").strip()[:100]
    day = cal.local_today(g.tenant)
    return render_template("work/_catalogue.html", catalogue=_catalogue(q, day) if current_user.employee_id else [],
                           q=q, day=day)


@work_pages.post("/t/<t>/today/declare")
@login_required
def declare(t):
    _member()
    day = cal.local_today(g.tenant)
    try:
        data = {"task_type_code": request.form.get("task_type_code", ""),
                "work_date": _parse_date(request.form.get("work_date"), "work_date") or day,
                "quantity": _parse_number(request.form.get("quantity"), "quantity"),
                "deadline": _parse_date(request.form.get("deadline"), "deadline")}
        if data["quantity"] is None:  # an empty box means one unit; 0 is an error
            data["quantity"] = 1
        if request.form.get("title", "").strip():
            data["title"] = request.form["title"].strip()[:300]
        item, warnings = services.declare(current_user, data)
        services.commit()
        flash(_("Declared: %(title)s", title=item.title), "ok")
        if warnings:
            flash(_("Warning: this task type is not in your position's catalogue."), "warning")
    except ServiceError as exc:
        db.session.rollback()
        _form_errors(exc)
    return redirect(url_for("work_pages.today", t=t, q=request.form.get("q") or None))


@work_pages.post("/t/<t>/items/<int:item_id>/update")
@login_required
def update(t, item_id):
    _member()
    action = request.form.get("action", "progress")
    try:
        item = services.get_item(current_user, item_id)
        data: dict = {}
        if request.form.get("result_note", "").strip():
            data["result_note"] = request.form["result_note"].strip()[:5000]
        if action == "done":
            data["status"] = "done"
        elif action == "cancel":
            data["status"] = "cancelled"
        else:
            progress = _parse_number(request.form.get("progress"), "progress")
            if progress is not None:
                if not 0 <= progress <= 100:
                    raise ServiceError(_("Invalid progress."), {"progress": [_("Between 0 and 100.")]})
                data["progress"] = int(progress)
        services.update_item(current_user, item, data)
        services.commit()
        flash(_("Saved."), "ok")
    except ServiceError as exc:
        db.session.rollback()
        _form_errors(exc)
    return redirect(request.form.get("next") if _safe_next() else url_for("work_pages.today", t=t))


def _safe_next() -> bool:
    target = request.form.get("next", "")
    return target.startswith(f"/t/{g.tenant.slug}/") and "//" not in target and "\\" not in target


# ---------------------------------------------------------------- Đơn vị


def _manager() -> None:
    _member()
    if not current_user.has_role("manager", "tenant_admin", "auditor"):
        abort(403)


# The unit page itself ("/t/<t>/unit") is in manager_views.py.


@work_pages.post("/t/<t>/items/<int:item_id>/verify")
@login_required
def verify(t, item_id):
    _manager()
    accepted = request.form.get("accepted") == "1"
    try:
        item = services.get_item(current_user, item_id)
        services.verify(current_user, item, accepted, request.form.get("reason"))
        services.commit()
        flash(_("Declaration accepted.") if accepted else _("Declaration refused."), "ok")
    except ServiceError as exc:
        db.session.rollback()
        _form_errors(exc)
    return redirect(url_for("work_pages.unit", t=t))


@work_pages.post("/t/<t>/items/<int:item_id>/review")
@login_required
def review(t, item_id):
    _manager()
    passed = request.form.get("passed") == "1"
    try:
        stars = _parse_number(request.form.get("stars"), "stars")
        data = {"passed": passed, "stars": int(stars) if stars and passed else None,
                "comment": (request.form.get("comment") or "").strip()[:5000] or None}
        if data["stars"] is not None and not 1 <= data["stars"] <= 5:
            raise ServiceError(_("Invalid rating."), {"stars": [_("Between 1 and 5.")]})
        services.review(current_user, services.get_item(current_user, item_id), data)
        services.commit()
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
