"""The manager's unit page ("Đơn vị"), phone first: the review queue with honest counts,
filters, paging and bulk decisions; assigning work; overdue items with their actions;
who has declared; the unit's workload by person and week.

Each section is a fragment with its own id. With htmx a form swaps only its section
(the page does not jump to the top); without JavaScript the same forms post back and
the whole page is rendered with the section's message or errors. An error answers 422
(htmx swaps it too: static/js/manager.js), with each message beside its field and the
form keeping what was typed.
"""

from __future__ import annotations

from datetime import date, timedelta
from math import ceil
from typing import Any

from flask import abort, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core import unit_of_work
from core.catalogue import services as catalogue
from core.dashboards import services as dashboards
from core.errors import ServiceError
from core.extensions import db
from core.i18n import day_input
from core.org.models import Employee
from core.scoring import kernel
from core.work import calendar as cal
from core.work import manager, services
from core.work.form_input import field_message, parse_date, parse_number
from core.work.page_access import require_manager
from core.work.services import notices
from core.work.views import minutes_label, work_pages

PER_PAGE = 25
PEOPLE_PER_PAGE = 50
HEAT_PER_PAGE = 25


# ---------------------------------------------------------------- small helpers


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _positive_int(value: str | None) -> int | None:
    """An id or page number from a query or form; anything else is a 400."""
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 12:
        abort(400)
    return int(value)


def _day_arg(name: str) -> date | None:
    value = request.values.get(name, "").strip()
    if not value:
        return None
    day = day_input(value)
    if day is None:
        abort(400)
    return day


def _page(total: int, per_page: int, name: str = "page") -> tuple[int, int]:
    pages = max(1, ceil(total / per_page))
    return min(max(1, _positive_int(request.values.get(name)) or 1), pages), pages


def _translated(exc: ServiceError) -> dict[str, list[str]]:
    """The service's field errors in the page's language; a closed month is named in it."""
    if exc.code == "period_closed":
        field = next(iter(exc.errors), "work_date")
        return {field: [_("That month is closed: nothing in it can change.")]}
    out: dict[str, list[str]] = {}
    for field, messages in (exc.errors or {}).items():
        if not isinstance(messages, list):
            messages = [messages]
        out[field] = [field_message(str(m)) for m in messages]
    if not out:
        out["_"] = [_(exc.message)]
    return out


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(ids))).all())


def _render(section: str, context: dict[str, Any], status: int = 200):
    """The section alone for htmx, else the whole page with that section's state."""
    if _htmx():
        return render_template(f"work/manager/_{section}.html", tenant=g.tenant, **context), status
    return render_template("work/unit.html", **_page_context(**{section: context})), status


def _judge() -> None:
    """Decisions are a manager's: an admin or auditor without that role reads only."""
    require_manager()
    if not current_user.has_role("manager"):
        abort(403)


# ---------------------------------------------------------------- sections


def _queue_filter() -> manager.QueueFilter:
    state = request.values.get("state", "declarations")
    return manager.QueueFilter(state=state if state in manager.STATES else "declarations",
                               employee_id=_positive_int(request.values.get("person")),
                               work_date=_day_arg("date"))


def _queue_context(errors: dict | None = None, message: str | None = None) -> dict:
    f = _queue_filter()
    counts = manager.queue_counts(current_user, f)
    if "state" not in request.values and not counts[f.state]:
        # Opened without a choice: show the queue that has work waiting, not an empty one.
        waiting = next((s for s in manager.STATES if counts[s]), f.state)
        f = manager.QueueFilter(state=waiting, employee_id=f.employee_id, work_date=f.work_date)
    total = counts[f.state]
    page, pages = _page(total, PER_PAGE)
    items = manager.page_of(manager.queue_query(current_user, f), page, PER_PAGE)
    views = services.views(items)
    # Each row's person-day planned in all (the same weighing as the 8-hour flag of the
    # assign form and the unit's day), so a manager sees a day above 8 hours before
    # accepting it: one grouped query for the page.
    day_totals = services.day_plans((i["employee_id"], i["work_date"]) for i in views)
    people = manager.assignable_people(current_user)
    selected = {int(i) for i in request.form.getlist("ids") if i.isdigit()} if errors else set()
    return {"f": f, "counts": counts, "total": total, "page": page, "pages": pages, "items": views,
            "first": (page - 1) * PER_PAGE + 1 if views else 0, "last": (page - 1) * PER_PAGE + len(views),
            "people": people, "names": {p.id: p.full_name for p in people}, "errors": errors or {},
            "message": message, "selected": selected, "form": request.form if errors else {},
            "may_judge": current_user.has_role("manager"), "day_totals": day_totals,
            "full_day": services.FULL_DAY_MINUTES,
            "long_days": _long_days(day_totals, {p.id: p.full_name for p in people})}


def _long_days(day_totals: dict, names: dict[int, str]) -> list[str]:
    """The person-days of the page above a full day, newest first: "Name 14/10/2026 (8 h 30)"."""
    over = sorted(((day, names.get(e, ""), minutes) for (e, day), minutes in day_totals.items()
                   if services.overloaded(minutes)), key=lambda d: (-d[0].toordinal(), d[1]))
    return [f"{name} {day.strftime('%d/%m/%Y')} ({minutes_label(minutes)})" for day, name, minutes in over]


def _assign_context(errors: dict | None = None, message: str | None = None, keep: bool = False,
                    warning: str | None = None, chosen: dict | None = None) -> dict:
    """`keep`: the form as posted (beside its errors); `chosen`: what an assignment that
    went through leaves chosen for the next one (the form is otherwise empty)."""
    day = cal.local_today(g.tenant)
    people = manager.assignable_people(current_user)
    form = request.form if keep else (chosen or {})
    employee_id = _positive_int(form.get("employee_id")) if form else None
    # Each person's planned time today beside their name, so a manager sees before
    # assigning who is already full (one grouped query for the whole list).
    return {"people": people, "errors": errors or {}, "message": message, "form": form, "day": day,
            "task_types": _task_types_for(employee_id, day), "warning": warning,
            "loads": services.day_loads([p.id for p in people], day), "full_day": services.FULL_DAY_MINUTES,
            "may_assign": bool(people)}


def _task_types_for(employee_id: int | None, day: date) -> list[dict]:
    """The task types of that person's position with a norm in force today (none when the
    caller does not manage them); with no person yet, every type (the page without
    JavaScript cannot narrow the list, and the service checks the position)."""
    position_id = None
    if employee_id is not None:
        if employee_id not in {p.id for p in manager.assignable_people(current_user)}:
            return []
        position_id = db.session.scalar(select(Employee.position_id).where(Employee.id == employee_id))
    types = db.session.scalars(catalogue.task_types_query(position_id).limit(500)).all()
    norms = catalogue.norms_in_force([t.id for t in types], day)
    return [{"code": t.code, "name": t.name, "unit_of_measure": t.unit_of_measure, "max_quantity": t.max_quantity}
            for t in types if t.id in norms]


def _overdue_context(errors: dict | None = None, message: str | None = None, item_id: int | None = None) -> dict:
    today = cal.local_today(g.tenant)
    stmt = manager.overdue_query(current_user, today)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page, pages = _page(total, PER_PAGE, "opage")
    views = services.views(manager.page_of(stmt, page, PER_PAGE))
    return {"items": views, "total": total, "page": page, "pages": pages, "today": today,
            "names": _names({i["employee_id"] for i in views}), "errors": errors or {}, "error_item": item_id,
            "error_action": (request.view_args or {}).get("action") if errors else None,
            "message": message, "form": request.form if errors else {},
            "first": (page - 1) * PER_PAGE + 1 if views else 0, "last": (page - 1) * PER_PAGE + len(views)}


def _people_context() -> dict:
    today = cal.local_today(g.tenant)
    day = _day_arg("day") or today
    people = services.unit_day(current_user, day)
    page, pages = _page(len(people), PEOPLE_PER_PAGE, "ppage")
    shown = people[(page - 1) * PEOPLE_PER_PAGE: page * PEOPLE_PER_PAGE]
    return {"people": shown, "total": len(people), "declared_people": sum(1 for p in people if p["declared"]),
            "overloaded": [p["full_name"] for p in people if p["overloaded"]],
            # No arrow on into days that have not come: nobody has declared for them yet.
            "day": day, "prev_day": day - timedelta(days=1), "next_day": day + timedelta(days=1) if day < today else None,
            "page": page, "pages": pages}


def _page_context(**sections: dict) -> dict:
    """The whole page; a section given (after a post without htmx) keeps its state."""
    ctx: dict[str, Any] = {"tenant": g.tenant}
    ctx["queue"] = sections.get("queue") or _queue_context()
    ctx["assign"] = sections.get("assign") or _assign_context()
    ctx["overdue"] = sections.get("overdue") or _overdue_context()
    ctx["people"] = sections.get("people") or _people_context()
    ctx["period"] = request.values.get("period") or cal.local_today(g.tenant).strftime("%Y-%m")
    return ctx


# ---------------------------------------------------------------- the page and the queue


@work_pages.get("/t/<t>/unit")
@login_required
def unit(t):
    require_manager()
    target = request.headers.get("HX-Target") if _htmx() else None
    if target == "queue":
        return render_template("work/manager/_queue.html", tenant=g.tenant, **_queue_context())
    if target == "overdue":
        return render_template("work/manager/_overdue.html", tenant=g.tenant, **_overdue_context())
    if target == "people":
        return render_template("work/manager/_people.html", tenant=g.tenant, **_people_context())
    return render_template("work/unit.html", **_page_context())


_BULK = {"accept": ("verify", True), "refuse": ("verify", False), "pass": ("review", True),
         "rework": ("review", False)}


@work_pages.post("/t/<t>/unit/queue")
@login_required
def bulk(t):
    """One decision for every selected item of the queue, all or none."""
    _judge()
    action = request.form.get("action", "")
    if action not in _BULK:
        return _render("queue", _queue_context({"action": [_("Choose what to do with the selected items.")]}), 422)
    kind, yes = _BULK[action]
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit() and len(i) <= 12]
    try:
        if kind == "verify":
            done = manager.bulk_verify(current_user, ids, yes, request.form.get("reason"))
        else:
            stars = parse_number(request.form.get("stars"), "stars") if yes else None
            if stars is not None and (not stars.is_integer() or not 1 <= stars <= 5):
                raise ServiceError("Invalid rating.", {"stars": ["Between 1 and 5."]})
            done = manager.bulk_review(current_user, ids, yes, int(stars) if stars is not None else None,
                                       (request.form.get("comment") or "")[:5000])
        unit_of_work.commit()
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return _render("queue", _queue_context(_translated(exc)), 422)
    n = len(done)
    message = {"accept": _("%(n)s declarations accepted.", n=n), "refuse": _("%(n)s declarations refused.", n=n),
               "pass": _("%(n)s items passed review.", n=n), "rework": _("%(n)s items sent back for rework.", n=n)}
    return _render("queue", _queue_context(message=message[action]))


@work_pages.post("/t/<t>/unit/queue/<int:item_id>/<any(accept, pass):action>")
@login_required
def decide_one(t, item_id, action):
    """One click for one item: accept a declaration, or pass a finished item with the
    stars chosen on its row (`stars_<id>`, default 5). The same services and audit events
    as the bulk form (a list of one, so an item already decided is refused the same way).
    With htmx only that row is replaced (and the counts of the tabs), so the manager keeps
    their place in the list."""
    _judge()
    state = "declarations" if action == "accept" else "reviews"
    try:
        if action == "accept":
            done = manager.bulk_verify(current_user, [item_id], True, None)
        else:
            stars = parse_number(request.form.get(f"stars_{item_id}") or "5", "stars")
            if stars is None or not stars.is_integer() or not 1 <= stars <= 5:
                raise ServiceError("Invalid rating.", {"stars": ["Between 1 and 5."]})
            done = manager.bulk_review(current_user, [item_id], True, int(stars), None)
        unit_of_work.commit()
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        errors = _translated(exc)
        if not _htmx():
            return _render("queue", _queue_context(errors), 422)
        item = services.views([services.get_item(current_user, item_id)])[0]
        return render_template("work/manager/_queue_row.html", tenant=g.tenant, i=item, state=state,
                               names=_names({item["employee_id"]}),
                               day_totals=services.day_plans([(item["employee_id"], item["work_date"])]),
                               full_day=services.FULL_DAY_MINUTES, error=" ".join(
                                   m for ms in errors.values() for m in ms), counts=None), 422
    title = done[0].title
    message = _("Accepted: %(title)s", title=title) if action == "accept" else \
        _("Passed (%(stars)s★): %(title)s", stars=done[0].stars, title=title)
    if not _htmx():
        return _render("queue", _queue_context(message=message))
    counts = manager.queue_counts(current_user, _queue_filter())
    return render_template("work/manager/_queue_row.html", tenant=g.tenant, i=None, done_message=message,
                           item_id=item_id, counts=counts)


# ---------------------------------------------------------------- assigning


@work_pages.get("/t/<t>/unit/assign/task-types")
@login_required
def assign_task_types(t):
    """The options of the task type list for the chosen person (htmx swaps them in)."""
    require_manager()
    employee_id = _positive_int(request.args.get("employee_id"))
    day = cal.local_today(g.tenant)
    # The type already chosen (sent along by the person list) stays chosen when the new
    # person's position has it too: changing the person no longer silently empties it.
    chosen = (request.args.get("task_type_code") or "").strip()
    return render_template("work/manager/_task_type_options.html",
                           task_types=_task_types_for(employee_id, day), selected=chosen)


@work_pages.post("/t/<t>/unit/assign")
@login_required
def assign(t):
    _judge()
    form = request.form
    day = cal.local_today(g.tenant)
    errors: dict[str, list[str]] = {}
    employee_id = _positive_int(form.get("employee_id")) if form.get("employee_id", "").isdigit() else None
    if employee_id is None:
        errors["employee_id"] = [_("Choose a person.")]
    if not form.get("task_type_code", "").strip():
        errors["task_type_code"] = [_("Choose a task type.")]
    data: dict[str, Any] = {"employee_id": employee_id, "task_type_code": form.get("task_type_code", "").strip()}
    for field, parse in (("quantity", parse_number), ("deadline", parse_date), ("work_date", parse_date)):
        try:
            data[field] = parse(form.get(field), field)
        except ServiceError as exc:
            errors.update(_translated(exc))
    if data.get("quantity") is None and "quantity" not in errors:
        errors["quantity"] = [_("Enter a quantity.")]
    elif data.get("quantity") is not None and data["quantity"] <= 0:
        errors["quantity"] = [_("Must be greater than 0.")]
    # The ceiling is the task type's (the catalogue's max_quantity), the same one the
    # employee's own declaration meets: the service applies it (below), with the type's figure.
    if data.get("deadline") is None and "deadline" not in errors:
        errors["deadline"] = [_("Choose a deadline.")]
    data["work_date"] = data.get("work_date") or day
    if form.get("title", "").strip():
        data["title"] = form["title"].strip()[:300]
    if errors:
        return _render("assign", _assign_context(errors, keep=True), 422)
    try:
        item, _warnings = services.declare(current_user, data)
        unit_of_work.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _render("assign", _assign_context(_translated(exc), keep=True), 422)
    name = db.session.scalar(select(Employee.full_name).where(Employee.id == item.employee_id))
    # Several items in a row are often for the same person, of the same type, on the same
    # day: those stay chosen (the type list stays the person's). The quantity, title and
    # deadline are each item's own: they start afresh, so none is copied by mistake (a
    # forgotten deadline is asked for, not silently repeated).
    chosen = {"employee_id": str(item.employee_id), "task_type_code": data["task_type_code"],
              "work_date": item.work_date}
    return _render("assign", _assign_context(message=_("Assigned to %(name)s: %(title)s", name=name,
                                                       title=item.title),
                                             warning=_overload_warning(name, item.employee_id, item.work_date),
                                             chosen=chosen))


def _overload_warning(name: str, employee_id: int, day: date) -> str | None:
    """A warning, never a refusal: the work is assigned, and the manager reads that it
    planned the person's day above 8 hours (domain.md: such days are flagged for them)."""
    minutes = services.planned_minutes(employee_id, day)
    if not services.overloaded(minutes):
        return None
    return _("%(name)s now has %(time)s of norm time planned on %(day)s, more than %(hours)s hours: "
             "consider another day or another person.", name=name, time=minutes_label(minutes),
             day=day.strftime("%d/%m/%Y"), hours=services.FULL_DAY_MINUTES // 60)


# ---------------------------------------------------------------- overdue items


@work_pages.post("/t/<t>/unit/overdue/<int:item_id>/<any(extend, exempt, remind):action>")
@login_required
def overdue_action(t, item_id, action):
    _judge()
    try:
        item = services.get_item(current_user, item_id)
        reason = (request.form.get("reason") or "").strip()[:2000]
        if action == "extend":
            deadline = parse_date(request.form.get("deadline"), "deadline")
            if deadline is None:
                raise ServiceError("Choose the new deadline.", {"deadline": ["Choose the new deadline."]})
            services.extend_deadline(current_user, item, deadline, reason)
            message = _("Deadline moved to %(day)s: %(title)s", day=deadline.strftime("%d/%m/%Y"), title=item.title)
        elif action == "exempt":
            services.exempt(current_user, item, reason)
            message = _("Exempted: %(title)s", title=item.title)
        else:
            manager.remind(current_user, item, link=notices.at_item(item))
            message = _("Reminder sent: %(title)s", title=item.title)
        unit_of_work.commit()
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return _render("overdue", _overdue_context(_translated(exc), item_id=item_id), 422)
    return _render("overdue", _overdue_context(message=message))


# ---------------------------------------------------------------- the unit's workload


@work_pages.get("/t/<t>/unit/heatmap")
@login_required
def unit_heatmap(t):
    """Person × week of a month: credited hours per working day, for the unit the caller
    leads (a manager), or their own unit (an admin or auditor); people paged."""
    require_manager()
    period = request.args.get("period", "").strip()[:7] or cal.local_today(g.tenant).strftime("%Y-%m")
    try:
        start, end = kernel.parse_month(period)
    except (ServiceError, ValueError):
        abort(400)
    units = dashboards.managed_units(current_user)
    own = db.session.scalar(select(Employee.unit_id).where(Employee.id == current_user.employee_id)) \
        if current_user.employee_id else None
    allowed = {u.id for u in units}
    unit_id = own if own in allowed else (units[0].id if units else None)
    ids = dashboards.unit_ids(current_user, unit_id) if unit_id else []
    page, pages = _page(len(ids), HEAT_PER_PAGE)
    shown = ids[(page - 1) * HEAT_PER_PAGE: page * HEAT_PER_PAGE]
    names = _names(set(shown))
    today = cal.local_today(g.tenant)
    data = manager.person_heatmap([(i, names.get(i, "")) for i in shown], start, min(end, max(start, today)))
    return render_template("work/manager/_heatmap.html", tenant=g.tenant, data=data, period=period, page=page,
                           pages=pages, total=len(ids), prev_period=dashboards.shift_month(period, -1),
                           next_period=dashboards.shift_month(period, 1))
