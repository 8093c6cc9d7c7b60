"""The tenant admin's screens (Sở Nội vụ): employees and logins, units, positions, the
task catalogue, competencies and closing months.

Every page reads its form through the API's marshmallow schema and writes through the
same service as the API (so rules, audit and refusals are the services'); a refused form
answers 422 with each error beside its field and the typed values kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from core import unit_of_work
from core.admin.forms import load, load_with_checks, message, raw_input, service_errors
from core.auth.models import ROLES
from core.auth.normalize import unmarked
from core.catalogue import checks as catalogue_checks
from core.catalogue import services as catalogue
from core.catalogue.models import TASK_GROUPS, TaskType
from core.catalogue.schemas import CompetencySchema, TaskTypeSchema
from core.errors import NotFound, ServiceError
from core.i18n import decimal_input, month_input
from core.mergers import units as unit_merges
from core.mergers.schemas import UnitMergeIn
from core.org import checks as org_checks
from core.org import deputies, directory
from core.org import services as org
from core.org.models import POSITION_GROUPS, PROTECTION_FIELDS, UNIT_KINDS, Employee, OrgUnit
from core.org.schemas import DeputyFieldSchema, EmployeePatchSchema, EmployeeSchema, PositionSchema, UnitSchema
from core.pagination import page_and_total
from core.plugins.forms import describe_settings, flat_errors, form_values, localise_errors, settings_from_form
from core.plugins.manager import current_manager, current_tenant_slug
from core.scoring import kernel
from core.scoring import services as scoring
from core.scoring.schemas import ReopenIn, WhatIfIn
from core.tenants import choices as tenant_choices
from core.work import calendar as cal
from core.work.schemas import CalendarDaySchema, LeaveSchema
from core.work.services import calendar_days
from core.work.services import leave as leaves

admin_pages = Blueprint("admin_pages", __name__, template_folder="templates", static_folder="static",
                        static_url_path="/static/admin")
PAGE_SIZE = 50
# A list longer than this shows its folds closed: a phone would scroll through all of it.
FOLDS_OPEN_UP_TO = 20
# A page of employees is a few phone screens: each one is a card of three or four lines.
EMPLOYEES_PER_PAGE = 30
_POSITION_GROUPS = {"leadership": _l("Leadership"), "professional": _l("Professional"), "support": _l("Support")}
LEVEL_ROWS = 5  # complexity levels offered on the task type form (the schema allows 10)


@admin_pages.app_template_filter("position_group_label")
def position_group_label(value: str) -> str:
    return str(_POSITION_GROUPS.get(value, value))


@admin_pages.app_template_filter("admin_date")
def admin_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


@admin_pages.app_template_filter("month_label")
def month_label(period: str) -> str:
    """2026-11 → "tháng 11/2026"."""
    return _("month %(month)s/%(year)s", month=period[5:7], year=period[:4])


def _admin() -> None:
    """The signed-in user must belong to the URL's tenant (else 404) and be its admin (else 403)."""
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    if not current_user.has_role("tenant_admin"):
        abort(403)


def _get(getter: Callable[[int], Any], object_id: int) -> Any:
    """The object a service's getter finds, else 404 — another tenant's ids too, which the
    tenant filter hides like missing ones."""
    try:
        return getter(object_id)
    except NotFound:
        abort(404)


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _paged(stmt) -> tuple[list, int, int]:
    page = _page()
    rows, total = page_and_total(stmt, page, PAGE_SIZE)
    return rows, total, page


def _save(write, redirect_to: str):
    """Run a service write; commit and redirect, or roll back and return its field errors."""
    try:
        write()
    except ServiceError as exc:
        unit_of_work.rollback()
        return service_errors(exc)
    unit_of_work.commit()
    return redirect(redirect_to)


def _unit_tree(units: list[OrgUnit]) -> list[tuple[OrgUnit, int]]:
    """Units in tree order with their depth (roots first, children by name)."""
    children: dict[int | None, list[OrgUnit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    out: list[tuple[OrgUnit, int]] = []
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        out.append((unit, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(unit.id, [])))
    return out


def _unit_options(exclude: set[int] = frozenset()) -> list[tuple[int, str]]:
    """Units for a <select>, in tree order, indented by depth."""
    return [(u.id, "\u2003" * depth + f"{u.name} ({u.code})") for u, depth in _unit_tree(directory.all_units())
            if u.id not in exclude]


# ---------------------------------------------------------------- hub


@admin_pages.get("/t/<t>/admin/")
@login_required
def hub(t):
    """"Quản trị": every admin screen in one place."""
    _admin()
    return render_template("admin/hub.html", tenant=g.tenant)


# ---------------------------------------------------------------- employees and logins


def _employee_form_input(form: MultiDict, employee: Employee | None) -> tuple[dict, dict[str, list[str]]]:
    """The employee form (a new one when `employee` is None), with the service's refusals
    found in the same round as the form's own errors."""
    creating = employee is None
    schema = EmployeeSchema()
    names = ["code", "full_name", "unit_id", "position_code", "is_leader", "salary_coefficient", "start_date",
             "end_date", "email", "roles", *PROTECTION_FIELDS] + (["username", "password"] if creating else [])
    data = raw_input(schema, form, names)
    errors: dict[str, list[str]] = {}
    manager_code = form.get("manager_code", "").strip()
    data["manager_id"] = None
    if manager_code:
        manager_id = directory.employee_id_by_code(manager_code)
        if manager_id is None:
            errors["manager_code"] = [_("No employee has this code.")]
        else:
            data["manager_id"] = manager_id
    loaded, schema_errors = load_with_checks(schema, data,
                                             lambda valid: org_checks.employee_errors(employee, valid, creating))
    if "manager_id" in schema_errors:
        errors.setdefault("manager_code", schema_errors.pop("manager_id"))
    errors.update(schema_errors)
    return loaded, errors


def _employee_values(e: Employee) -> dict[str, Any]:
    return {"code": e.code, "full_name": e.full_name, "unit_id": str(e.unit_id),
            "position_code": e.position.code if e.position else "",
            "manager_code": (directory.employee_code(e.manager_id) or "") if e.manager_id else "",
            "is_leader": e.is_leader, "salary_coefficient": _number(float(e.salary_coefficient)),
            "start_date": e.start_date.isoformat() if e.start_date else "",
            "end_date": e.end_date.isoformat() if e.end_date else "", "email": e.email or "",
            "roles": list(e.user.roles) if e.user else [],
            **{name: getattr(e, name).isoformat() if getattr(e, name) else "" for name in PROTECTION_FIELDS}}


def _employee_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # The form names the manager by code; the service speaks of manager_id.
    if "manager_id" in errors:
        errors["manager_code"] = errors.pop("manager_id")
    return errors


def _form_values(form: MultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in form.items() if k not in ("csrf_token", "password")}
    values["roles"] = form.getlist("roles")
    values["position_codes"] = form.getlist("position_codes")
    values["is_leader"] = bool(form.get("is_leader"))
    values["is_paying_unit"] = bool(form.get("is_paying_unit"))
    return values


def _render_employee(employee: Employee | None, values: dict, errors: dict, status: int = 200):
    return render_template("admin/employee_form.html", tenant=g.tenant, employee=employee, values=values,
                           errors=errors, unit_options=_unit_options(),
                           position_options=[(p.code, f"{p.name} ({p.code})") for p in directory.all_positions()],
                           roles=ROLES), status


@admin_pages.get("/t/<t>/admin/employees")
@login_required
def employees(t):
    """Employees and their logins: paged, searched by name, code or username."""
    _admin()
    q = request.args.get("q", "").strip()[:100]
    page = _page()
    rows, total = directory.employees_page(q or None, page, EMPLOYEES_PER_PAGE)
    return render_template("admin/employees.html", tenant=g.tenant, rows=rows, total=total, page=page,
                           page_size=EMPLOYEES_PER_PAGE, q=q, saved=request.args.get("saved"))


@admin_pages.route("/t/<t>/admin/employees/new", methods=["GET", "POST"])
@login_required
def employee_new(t):
    _admin()
    if request.method == "GET":
        return _render_employee(None, {"roles": ["employee"], "salary_coefficient": _number(2.34)}, {})
    data, errors = _employee_form_input(request.form, None)
    if not errors:
        # Back on the list, found by its code: a new name can sort onto any page.
        result = _save(lambda: org.create_employee(data), url_for("admin_pages.employees", t=t, saved="created",
                                                                  q=data["code"]))
        if not isinstance(result, dict):
            return result
        errors = _employee_errors(result)
    return _render_employee(None, _form_values(request.form), errors, 422)


@admin_pages.route("/t/<t>/admin/employees/<int:employee_id>", methods=["GET", "POST"])
@login_required
def employee_edit(t, employee_id):
    _admin()
    employee = _get(org.get_employee, employee_id)
    if request.method == "GET":
        return _render_employee(employee, _employee_values(employee), {})
    data, errors = _employee_form_input(request.form, employee)
    if not errors:
        allowed = set(EmployeePatchSchema().fields) - ({"roles"} if employee.user is None else set())
        changes = {k: v for k, v in data.items() if k in allowed}
        result = _save(lambda: org.update_employee(employee, changes),
                       url_for("admin_pages.employees", t=t, saved="updated",
                               q=changes.get("code", employee.code)))
        if not isinstance(result, dict):
            return result
        errors = _employee_errors(result)
        employee = _get(org.get_employee, employee_id)
    return _render_employee(employee, _form_values(request.form), errors, 422)


@admin_pages.post("/t/<t>/admin/employees/<int:employee_id>/login")
@login_required
def employee_login_active(t, employee_id):
    """Deactivate or reactivate an employee's login."""
    _admin()
    employee = _get(org.get_employee, employee_id)
    active = request.form.get("active") == "1"
    result = _save(lambda: org.set_login_active(employee, active, current_user.id),
                   url_for("admin_pages.employee_edit", t=t, employee_id=employee_id))
    if not isinstance(result, dict):
        return result
    employee = _get(org.get_employee, employee_id)
    return _render_employee(employee, _employee_values(employee), result, 409)


# ---------------------------------------------------------------- units


def _unit_groups(tree: list[tuple[OrgUnit, int]]) -> list[tuple[str, list[tuple[OrgUnit, list[OrgUnit]]]]]:
    """The tree as a phone can hold it: top-level units by kind (a province has seventy-odd
    communes and wards), each with the units under it in tree order."""
    groups: dict[str, list[tuple[OrgUnit, list[OrgUnit]]]] = {}
    below: list[OrgUnit] = []
    for unit, depth in tree:
        if depth == 0:
            below = []
            groups.setdefault(unit.kind, []).append((unit, below))
        else:
            below.append(unit)
    return sorted(groups.items(), key=lambda kv: UNIT_KINDS.index(kv[0]) if kv[0] in UNIT_KINDS else len(UNIT_KINDS))


def _render_units(values: dict, errors: dict, status: int = 200):
    units = directory.all_units()
    counts = directory.head_counts_by_unit()
    tree = _unit_tree(units)
    q = request.args.get("q", "").strip()[:100]
    found = None
    if q:
        names = {u.id: u.name for u in units}
        wanted = unmarked(q)
        found = [(u, names.get(u.parent_id)) for u, _d in tree if wanted in unmarked(f"{u.name} {u.code}")]
    depths = {u.id: d for u, d in tree}
    return render_template("admin/units.html", tenant=g.tenant, groups=_unit_groups(tree), depths=depths,
                           total=len(tree), q=q, found=found, folds_open=len(tree) <= FOLDS_OPEN_UP_TO,
                           unit_options=_unit_options(), counts=counts, kinds=UNIT_KINDS, values=values, errors=errors,
                           saved=request.args.get("saved")), status


@admin_pages.route("/t/<t>/admin/units", methods=["GET", "POST"])
@login_required
def units(t):
    """The unit tree, and a form to add a unit."""
    _admin()
    if request.method == "GET":
        return _render_units({"kind": "department"}, {})
    data, errors = load_with_checks(UnitSchema(), raw_input(UnitSchema(), request.form),
                                    lambda valid: org_checks.unit_errors(None, valid))
    if not errors:
        # Back on the list, found by its code: a new unit would sit in a closed fold.
        result = _save(lambda: org.create_unit(data), url_for("admin_pages.units", t=t, saved="created",
                                                              q=data["code"]))
        if not isinstance(result, dict):
            return result
        errors = result
    return _render_units(_form_values(request.form), errors, 422)


def _render_unit(unit: OrgUnit, values: dict, errors: dict, status: int = 200,
                 merge_values: dict | None = None, merge_errors: dict | None = None):
    # Its own subtree is not offered as a parent (the service refuses a cycle anyway).
    subtree = org.unit_subtree_ids(unit.id)
    options = _unit_options(exclude=subtree)
    merge_options = [(u.code, f"{u.name} ({u.code})") for u, _d in _unit_tree(directory.all_units()) if u.id not in subtree]
    merged = unit_merges.merge_of(unit.id)
    return render_template("admin/unit_form.html", tenant=g.tenant, unit=unit, values=values, errors=errors,
                           unit_options=options, kinds=UNIT_KINDS, merge_options=merge_options, merged=merged,
                           merge_values=merge_values or {"effective_date": cal.local_today(g.tenant).isoformat()},
                           merge_errors=merge_errors or {}), status


@admin_pages.route("/t/<t>/admin/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit_edit(t, unit_id):
    """Rename a unit, change its code or kind, or move it under another parent."""
    _admin()
    unit = _get(org.get_unit, unit_id)
    if request.method == "GET":
        return _render_unit(unit, {"code": unit.code, "name": unit.name, "kind": unit.kind,
                                   "parent_id": str(unit.parent_id or ""), "is_paying_unit": unit.is_paying_unit}, {})
    data, errors = load_with_checks(UnitSchema(), raw_input(UnitSchema(), request.form),
                                    lambda valid: org_checks.unit_errors(unit, valid))
    if not errors:
        result = _save(lambda: org.update_unit(unit, data), url_for("admin_pages.units", t=t, saved="updated",
                                                                    q=data.get("code", unit.code)))
        if not isinstance(result, dict):
            return result
        errors = result
        unit = _get(org.get_unit, unit_id)
    return _render_unit(unit, _form_values(request.form), errors, 422)


@admin_pages.post("/t/<t>/admin/units/<int:unit_id>/merge")
@login_required
def unit_merge(t, unit_id):
    """Merge this unit into another from a date (core/mergers/units.py): its people and
    sub-units move; reports of earlier days keep the old unit."""
    _admin()
    unit = _get(org.get_unit, unit_id)
    values = {"into": request.form.get("into", ""), "effective_date": request.form.get("effective_date", ""),
              "merge_confirm": bool(request.form.get("merge_confirm"))}
    errors: dict[str, list[str]] = {}
    data, errors = load(UnitMergeIn(), {"sources": [unit.code], **raw_input(UnitMergeIn(), request.form,
                                                                           ["into", "effective_date"])})
    if not request.form.get("merge_confirm"):
        errors["merge_confirm"] = [_("Tick the box to confirm.")]
    if not errors:
        result = _save(lambda: unit_merges.merge_units(data["sources"], data["into"], data["effective_date"],
                                                       current_user.actor),
                       url_for("admin_pages.units", t=t, saved="merged"))
        if not isinstance(result, dict):
            return result
        errors = result
        unit = _get(org.get_unit, unit_id)
    if "sources" in errors:
        errors["_"] = errors.pop("sources")
    return _render_unit(unit, {"code": unit.code, "name": unit.name, "kind": unit.kind,
                               "parent_id": str(unit.parent_id or "")}, {}, 422,
                        merge_values=values, merge_errors=errors)


# ---------------------------------------------------------------- positions


def _render_positions(values: dict, errors: dict, status: int = 200):
    positions = directory.all_positions()
    q = request.args.get("q", "").strip()[:100]
    found = None
    if q:
        wanted = unmarked(q)
        found = [p for p in positions if wanted in unmarked(p.name) or wanted in unmarked(p.code)]
    # A fold per group (leadership, professional, support), in that order; a group the
    # tenant's pack added beyond these comes last.
    by_group: dict[str, list] = {}
    for p in positions:
        by_group.setdefault(p.group, []).append(p)
    order = {g: i for i, g in enumerate(POSITION_GROUPS)}
    folds = sorted(by_group.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return render_template("admin/positions.html", tenant=g.tenant, folds=folds, total=len(positions), q=q,
                           folds_open=len(positions) <= FOLDS_OPEN_UP_TO,
                           found=found, counts=directory.head_counts_by_position(), groups=POSITION_GROUPS,
                           values=values, errors=errors, saved=request.args.get("saved")), status


@admin_pages.route("/t/<t>/admin/positions", methods=["GET", "POST"])
@login_required
def positions(t):
    """Job positions with their codes (the staff import names positions by code)."""
    _admin()
    if request.method == "GET":
        return _render_positions({"group": "professional"}, {})
    data, errors = load_with_checks(PositionSchema(), raw_input(PositionSchema(), request.form),
                                    lambda valid: org_checks.position_errors(None, valid))
    if not errors:
        # Back on the list, found by its code: a new position would sit in a closed fold.
        result = _save(lambda: org.create_position(data), url_for("admin_pages.positions", t=t, saved="created",
                                                                  q=data["code"]))
        if not isinstance(result, dict):
            return result
        errors = result
    return _render_positions(_form_values(request.form), errors, 422)


@admin_pages.route("/t/<t>/admin/positions/<int:position_id>", methods=["GET", "POST"])
@login_required
def position_edit(t, position_id):
    _admin()
    position = _get(org.get_position, position_id)
    values: dict[str, Any] = {"code": position.code, "name": position.name, "group": position.group}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        data, errors = load_with_checks(PositionSchema(), raw_input(PositionSchema(), request.form),
                                        lambda valid: org_checks.position_errors(position, valid))
        if not errors:
            result = _save(lambda: org.update_position(position, data),
                           url_for("admin_pages.positions", t=t, saved="updated",
                                   q=data.get("code", position.code)))
            if not isinstance(result, dict):
                return result
            errors = result
            position = _get(org.get_position, position_id)
        values, status = _form_values(request.form), 422
    return render_template("admin/position_form.html", tenant=g.tenant, position=position, values=values,
                           errors=errors, groups=POSITION_GROUPS), status


# ---------------------------------------------------------------- task types


def _levels_from_form(form: MultiDict) -> list[dict[str, str]]:
    rows = []
    for i in range(LEVEL_ROWS):
        level, coefficient = form.get(f"level_{i}", "").strip(), form.get(f"coefficient_{i}", "").strip()
        coefficient = decimal_input(coefficient)
        if level or coefficient:
            rows.append({"level": level, "coefficient": coefficient})
    return rows


def _task_type_input(form: MultiDict, tt: TaskType | None) -> tuple[dict, dict[str, list[str]]]:
    """The task type form (a new one when `tt` is None) with the service's refusals in the same round."""
    schema = TaskTypeSchema()
    data = raw_input(schema, form, ["code", "name", "group", "unit_of_measure", "norm_minutes", "product_weight",
                                    "position_codes", "effective_from"])
    data["complexity_levels"] = _levels_from_form(form)
    return load_with_checks(schema, data, lambda valid: catalogue_checks.task_type_errors(tt, valid))


def _task_type_values(tt: TaskType, view: dict) -> dict[str, Any]:
    values: dict[str, Any] = {k: view[k] for k in ("code", "name", "group", "unit_of_measure")}
    values.update(norm_minutes=_number(view["norm_minutes"]), product_weight=_number(view["product_weight"]),
                  position_codes=view["position_codes"], effective_from="")
    for i, row in enumerate(view["complexity_levels"][:LEVEL_ROWS]):
        values[f"level_{i}"], values[f"coefficient_{i}"] = str(row["level"]), _number(row["coefficient"])
    return values


def _number(value: float | None) -> str:
    """A number as a Vietnamese reader types it (1,5); the form reads both 1,5 and 1.5."""
    if value is None:
        return ""
    text = str(int(value)) if float(value).is_integer() else str(value)
    return text.replace(".", ",") if str(get_locale() or "vi").startswith("vi") else text


def _render_task_type(tt: TaskType | None, values: dict, errors: dict, status: int = 200):
    versions = catalogue.task_type_versions(tt) if tt is not None else []
    return render_template("admin/task_type_form.html", tenant=g.tenant, task_type=tt, values=values,
                           errors=errors, groups=TASK_GROUPS, positions=directory.all_positions(),
                           versions=[catalogue.version_view(v) for v in versions], level_rows=range(LEVEL_ROWS),
                           today=cal.local_today(g.tenant)), status


@admin_pages.get("/t/<t>/admin/task-types")
@login_required
def task_types(t):
    """The task catalogue with the norm in force today."""
    _admin()
    q = request.args.get("q", "").strip()[:100]
    rows, total, page = _paged(catalogue.task_types_query(q=q or None))
    norms = catalogue.norms_in_force([tt.id for tt in rows], cal.local_today(g.tenant))
    views = [catalogue.task_type_view(tt, norms.get(tt.id)) for tt in rows]
    return render_template("admin/task_types.html", tenant=g.tenant, rows=views, total=total, page=page,
                           page_size=PAGE_SIZE, q=q, saved=request.args.get("saved"))


@admin_pages.route("/t/<t>/admin/task-types/new", methods=["GET", "POST"])
@login_required
def task_type_new(t):
    _admin()
    if request.method == "GET":
        return _render_task_type(None, {"group": "B", "product_weight": "1", "position_codes": []}, {})
    data, errors = _task_type_input(request.form, None)
    if not errors:
        result = _save(lambda: catalogue.create_task_type(data),
                       url_for("admin_pages.task_types", t=t, saved="created"))
        if not isinstance(result, dict):
            return result
        errors = result
    return _render_task_type(None, _form_values(request.form), errors, 422)


@admin_pages.route("/t/<t>/admin/task-types/<int:task_type_id>", methods=["GET", "POST"])
@login_required
def task_type_edit(t, task_type_id):
    """Change a task type; a changed norm becomes a new version from the given day (default
    today), so items of earlier days keep the norm they were declared under."""
    _admin()
    tt = _get(catalogue.get_task_type, task_type_id)
    today = cal.local_today(g.tenant)
    if request.method == "GET":
        return _render_task_type(tt, _task_type_values(tt, catalogue.task_type_view(
            tt, catalogue.norm_in_force(tt.id, today))), {})
    data, errors = _task_type_input(request.form, tt)
    if not errors:
        in_force = catalogue.task_type_view(tt, catalogue.norm_in_force(tt.id, data.get("effective_from") or today))
        norm_unchanged = all(data.get(k) == in_force[k] for k in catalogue.NORM_FIELDS) and \
            not data.get("effective_from")
        if norm_unchanged:  # no new version for a rename
            data = {k: v for k, v in data.items() if k not in (*catalogue.NORM_FIELDS, "effective_from")}
        result = _save(lambda: catalogue.update_task_type(tt, data, today),
                       url_for("admin_pages.task_types", t=t, saved="updated"))
        if not isinstance(result, dict):
            return result
        errors = result
        tt = _get(catalogue.get_task_type, task_type_id)
    return _render_task_type(tt, _form_values(request.form), errors, 422)


# ---------------------------------------------------------------- competencies


def _render_competencies(values: dict, errors: dict, status: int = 200):
    rows = catalogue.all_competencies()
    return render_template("admin/competencies.html", tenant=g.tenant, rows=rows, values=values, errors=errors,
                           saved=request.args.get("saved")), status


@admin_pages.route("/t/<t>/admin/competencies", methods=["GET", "POST"])
@login_required
def competencies(t):
    _admin()
    if request.method == "GET":
        return _render_competencies({"max_level": "5"}, {})
    data, errors = load_with_checks(CompetencySchema(), raw_input(CompetencySchema(), request.form),
                                    lambda valid: catalogue_checks.competency_errors(None, valid))
    if not errors:
        result = _save(lambda: catalogue.create_competency(data),
                       url_for("admin_pages.competencies", t=t, saved="created"))
        if not isinstance(result, dict):
            return result
        errors = result
    return _render_competencies(_form_values(request.form), errors, 422)


@admin_pages.route("/t/<t>/admin/competencies/<int:competency_id>", methods=["GET", "POST"])
@login_required
def competency_edit(t, competency_id):
    _admin()
    competency = _get(catalogue.get_competency, competency_id)
    values: dict[str, Any] = {"code": competency.code, "name": competency.name,
                              "description": competency.description or "", "max_level": str(competency.max_level)}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        data, errors = load_with_checks(CompetencySchema(), raw_input(CompetencySchema(), request.form),
                                        lambda valid: catalogue_checks.competency_errors(competency, valid))
        if not errors:
            result = _save(lambda: catalogue.update_competency(competency, data),
                           url_for("admin_pages.competencies", t=t, saved="updated"))
            if not isinstance(result, dict):
                return result
            errors = result
            competency = _get(catalogue.get_competency, competency_id)
        values, status = _form_values(request.form), 422
    return render_template("admin/competency_form.html", tenant=g.tenant, competency=competency, values=values,
                           errors=errors), status


# ---------------------------------------------------------------- months


def _recent_months(today: date, count: int = 13) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _i in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def _render_periods(errors: dict, values: dict, status: int = 200):
    months = _recent_months(cal.local_today(g.tenant))
    states = scoring.period_states(months)  # two reads for the thirteen months
    # The month in progress is offered no close button: its people still declare and report
    # in it, and one mistaken tap would freeze their work (the API can still close it).
    after = date(int(months[0][:4]) + (months[0][5:] == "12"), int(months[0][5:]) % 12 + 1, 1)
    open_months = [m for m in months[1:] if not states[m]["closed"]]
    missing = scoring.general_missing(open_months) if open_months else {}
    rows = [{"period": m, "closed": states[m]["closed"], "stale": states[m]["stale"],
             "scored_at": states[m]["scored_at"], "in_progress": m == months[0] and not states[m]["closed"],
             "closable_from": after, "general_missing": missing.get(m)} for m in months]
    return render_template("admin/periods.html", tenant=g.tenant, rows=rows, errors=errors, values=values,
                           saved=request.args.get("saved"), units_named=scoring.UNITS_NAMED), status


@admin_pages.get("/t/<t>/admin/periods")
@login_required
def periods(t):
    """Closing and reopening months."""
    _admin()
    return _render_periods({}, {})


def _month_or_404(period: str) -> None:
    try:
        kernel.parse_month(period)
    except ServiceError:
        abort(404)
    except ValueError:
        abort(404)


@admin_pages.post("/t/<t>/admin/periods/<period>/close")
@login_required
def period_close(t, period):
    """Close a month once the box confirming it is ticked: its items then refuse changes."""
    _admin()
    _month_or_404(period)
    if not request.form.get("confirm"):
        return _render_periods({period: {"confirm": [_("Tick the box to confirm.")]}}, {}, 422)
    result = _save(lambda: scoring.close_period(period), url_for("admin_pages.periods", t=t, saved=period))
    if isinstance(result, dict):
        return _render_periods({period: result}, {}, 409)
    return result


@admin_pages.post("/t/<t>/admin/periods/<period>/reopen")
@login_required
def period_reopen(t, period):
    """Reopen a closed month; the reason goes to the audit log."""
    _admin()
    _month_or_404(period)
    data, errors = load(ReopenIn(), raw_input(ReopenIn(), request.form))
    if errors:
        return _render_periods({period: errors}, {period: request.form.get("reason", "")}, 422)
    result = _save(lambda: scoring.reopen_period(period, data["reason"]),
                   url_for("admin_pages.periods", t=t, saved=period))
    if isinstance(result, dict):
        return _render_periods({period: result}, {period: request.form.get("reason", "")}, 409)
    return result


# ---------------------------------------------------------------- what-if

WHAT_IF_ROWS = 50  # people listed, largest change first (the distribution covers everyone)
VARIANT = "scoring_variant"


def _what_if_form(key: str | None) -> tuple[Any, list[dict], str]:
    """The variant to preview (default: the one in force today), its settings fields, its key."""
    manager, slug = current_manager(), current_tenant_slug()
    if not key:
        in_force = tenant_choices.choice_in_force(VARIANT)
        key = in_force.key if in_force else ""
    registered = manager.registered(VARIANT, key, slug) if key else None
    if registered is None:
        available = manager.available(VARIANT, slug)
        registered = available[0] if available else None
    if registered is None:
        abort(404)
    return registered.component, describe_settings(registered.component, _locale()), registered.component.key


def _locale() -> str:
    return str(get_locale() or "vi")


@admin_pages.route("/t/<t>/admin/what-if", methods=["GET", "POST"])
@login_required
def what_if(t):
    """Preview a month under another scoring variant or settings, beside the stored scores;
    nothing is saved (the scoring service's what-if)."""
    _admin()
    source = request.form if request.method == "POST" else request.args
    component, fields_, key = _what_if_form(source.get("key"))
    in_force = tenant_choices.choice_in_force(VARIANT)
    stored = in_force.settings if in_force and in_force.key == key else None
    typed = (source.get("period") or "").strip()[:16]
    values: dict[str, Any] = {"period": (month_input(typed) or typed) if typed else
                              _recent_months(cal.local_today(g.tenant), 2)[1],
                              "unit_id": source.get("unit_id", ""), "key": key}
    errors: dict[str, list[str]] = {}
    result = None
    if request.method == "POST":
        settings, settings_errors = settings_from_form(component, request.form)
        setting_values = {name[2:]: v for name, v in request.form.items() if name.startswith("s.")}
        setting_values.update({f["name"]: request.form.get("s." + f["name"], "") for f in fields_
                               if f["type"] == "boolean"})
        data, errors = load(WhatIfIn(), {"period": values["period"], "key": key, "settings": settings,
                                         **({"unit_id": values["unit_id"]} if values["unit_id"] else {})})
        errors.update({f"s.{k}": [message(m) for m in v] for k, v in settings_errors.items()})
        if not errors:
            try:
                result = scoring.what_if(current_user._get_current_object(), data["period"], key, settings,
                                         data.get("unit_id"))
            except ServiceError as exc:
                nested = (exc.errors.get(VARIANT) or {}).get("settings") if exc.errors else None
                errors = ({f"s.{k}": flat_errors(localise_errors(v, _locale())) for k, v in nested.items()}
                          if isinstance(nested, dict) else service_errors(exc))
            finally:
                unit_of_work.rollback()  # a preview writes nothing
    else:
        setting_values = form_values(component, stored)
    rows, shown = [], []
    if result is not None:
        rows = result["people"]
        moved = sorted(rows, key=lambda r: -abs((r["preview_task_score"] or 0) - (r["current_task_score"] or 0)))
        shown = moved[:WHAT_IF_ROWS]
        names = directory.employee_names(r["employee_id"] for r in shown)
        shown = [{**r, "name": names.get(r["employee_id"], "")} for r in shown]
    variants = [(reg.component.key, reg.component.title(_locale())) for reg in
                current_manager().available(VARIANT, current_tenant_slug())]
    return render_template("admin/what_if.html", tenant=g.tenant, values=values, errors=errors,
                           fields=fields_, setting_values=setting_values, variants=variants,
                           unit_options=_unit_options(), result=result, shown=shown, total=len(rows),
                           in_force_key=in_force.key if in_force else None), (422 if errors else 200)


# ---------------------------------------------------------------- calendar days and leave

LEAVE_KINDS = {"annual": _l("Annual leave"), "sick": _l("Sick leave"), "maternity": _l("Maternity leave"),
               "unpaid": _l("Unpaid leave"), "study": _l("Study leave"), "other": _l("Other leave")}
CALENDAR_LABELS = {"day_off": _l("Day off (holiday)"), "working_day": _l("Working day (make-up)")}


def _render_calendar(day_values: dict, day_errors: dict, leave_values: dict, leave_errors: dict,
                     status: int = 200):
    today = cal.local_today(g.tenant)
    days = cal.calendar_days_between(date(today.year - 1, 1, 1), date(today.year + 1, 12, 31))
    leave, total, page = _paged(leaves.leave_query(current_user._get_current_object(), {}))
    people = directory.employee_names(r.employee_id for r in leave)
    return render_template("admin/calendar.html", tenant=g.tenant, days=days, leave=leave, people=people,
                           total=total, page=page, page_size=PAGE_SIZE, day_values=day_values,
                           day_errors=day_errors, leave_values=leave_values, leave_errors=leave_errors,
                           calendar_kinds=list(CALENDAR_LABELS.items()), leave_kinds=list(LEAVE_KINDS.items()),
                           calendar_labels=CALENDAR_LABELS, leave_labels=LEAVE_KINDS,
                           saved=request.args.get("saved")), status


@admin_pages.route("/t/<t>/admin/calendar", methods=["GET", "POST"])
@login_required
def calendar(t):
    """Holidays and make-up working days of the tenant, and people's leave."""
    _admin()
    leave_defaults = {"kind": "annual", "approved": True}
    if request.method == "GET":
        return _render_calendar({"kind": "day_off"}, {}, leave_defaults, {})
    data, errors = load(CalendarDaySchema(), raw_input(CalendarDaySchema(), request.form))
    if not errors:
        result = _save(lambda: calendar_days.set_calendar_day(data), url_for("admin_pages.calendar", t=t, saved="day"))
        if not isinstance(result, dict):
            return result
        errors = result
    return _render_calendar(_form_values(request.form), errors, leave_defaults, {}, 422)


@admin_pages.post("/t/<t>/admin/calendar/<int:day_id>/delete")
@login_required
def calendar_day_delete(t, day_id):
    _admin()
    row = _get(calendar_days.get_calendar_day, day_id)
    result = _save(lambda: calendar_days.delete_calendar_day(row), url_for("admin_pages.calendar", t=t, saved="day"))
    if isinstance(result, dict):
        return _render_calendar({"kind": "day_off"}, result, {"kind": "annual", "approved": True}, {}, 409)
    return result


@admin_pages.post("/t/<t>/admin/leave")
@login_required
def leave_create(t):
    _admin()
    schema = LeaveSchema()
    raw = raw_input(schema, request.form, ["start_date", "end_date", "kind", "approved", "reason"])
    code = request.form.get("employee_code", "").strip()
    errors: dict[str, list[str]] = {}
    employee_id = directory.employee_id_by_code(code) if code else None
    if employee_id is None:
        errors["employee_code"] = [_("No employee has this code.")]
    else:
        raw["employee_id"] = employee_id
    data, schema_errors = load(schema, raw)
    schema_errors.pop("employee_id", None)
    errors.update(schema_errors)
    if not errors:
        result = _save(lambda: leaves.create_leave(current_user._get_current_object(), data),
                       url_for("admin_pages.calendar", t=t, saved="leave") + "#leave")
        if not isinstance(result, dict):
            return result
        errors = result
        if "employee_id" in errors:
            errors["employee_code"] = errors.pop("employee_id")
    values = _form_values(request.form)
    return _render_calendar({"kind": "day_off"}, {}, values, errors, 422)


@admin_pages.post("/t/<t>/admin/leave/<int:leave_id>/delete")
@login_required
def leave_delete(t, leave_id):
    _admin()
    principal = current_user._get_current_object()
    try:
        row = leaves.get_leave(principal, leave_id)
    except ServiceError:
        abort(404)
    result = _save(lambda: leaves.delete_leave(principal, row),
                   url_for("admin_pages.calendar", t=t, saved="leave") + "#leave")
    if isinstance(result, dict):
        return _render_calendar({"kind": "day_off"}, {}, {"kind": "annual", "approved": True}, result, 409)
    return result


# ---------------------------------------------------------------- deputies' fields in charge


def _render_deputies(values: dict, errors: dict, status: int = 200):
    rows, total, page = _paged(deputies.fields_stmt())
    people = directory.employee_names({r.deputy_id for r in rows} | {r.member_id for r in rows if r.member_id})
    units = directory.unit_names(r.unit_id for r in rows if r.unit_id)
    return render_template("admin/deputies.html", tenant=g.tenant, rows=rows, people=people, units=units,
                           total=total, page=page, page_size=PAGE_SIZE, values=values, errors=errors,
                           saved=request.args.get("saved")), status


@admin_pages.route("/t/<t>/admin/deputies", methods=["GET", "POST"])
@login_required
def deputy_fields(t):
    """Deputies' fields in charge: a unit or a person each, from a date (Decree 335, Art. 15)."""
    _admin()
    if request.method == "GET":
        return _render_deputies({}, {})
    # People and units by code, as the other admin forms name them; each unknown code is
    # its own field error, and nothing is written until every field is right.
    codes = {name: (request.form.get(name) or "").strip() for name in ("deputy_code", "unit_code", "member_code")}
    errors: dict[str, list[str]] = {}
    raw = raw_input(DeputyFieldSchema(), request.form, ["start_date", "end_date"])
    ids: dict[str, int | None] = {}
    for name, is_unit, key in (("deputy_code", False, "deputy_id"), ("unit_code", True, "unit_id"),
                               ("member_code", False, "member_id")):
        if not codes[name]:
            ids[key] = None
            continue
        ids[key] = (directory.unit_id_by_code if is_unit else directory.employee_id_by_code)(codes[name])
        if ids[key] is None:
            errors[name] = [_("No unit has this code.") if is_unit else _("No employee has this code.")]
    if not codes["deputy_code"]:
        errors["deputy_code"] = [_("Required.")]
    if not codes["unit_code"] and not codes["member_code"]:
        errors["unit_code"] = [_("Give a unit code or an employee code.")]
    elif codes["unit_code"] and codes["member_code"]:
        errors["unit_code"] = [_("Give a unit code or an employee code, not both.")]
    raw.update({k: v for k, v in ids.items() if v is not None})
    raw.setdefault("deputy_id", 0)
    data, schema_errors = load(DeputyFieldSchema(), raw)
    for name, key in (("unit_code", "unit_id"), ("member_code", "member_id"), ("deputy_code", "deputy_id")):
        if key in schema_errors:
            errors.setdefault(name, schema_errors.pop(key))
    errors.update(schema_errors)
    if not errors:
        result = _save(lambda: deputies.create_field(data), url_for("admin_pages.deputy_fields", t=t, saved="1"))
        if not isinstance(result, dict):
            return result
        errors = result
    return _render_deputies(_form_values(request.form), errors, 422)


@admin_pages.post("/t/<t>/admin/deputies/<int:field_id>/delete")
@login_required
def deputy_field_delete(t, field_id):
    _admin()
    row = _get(deputies.get_field, field_id)
    return _save(lambda: deputies.delete_field(row), url_for("admin_pages.deputy_fields", t=t, saved="1"))
