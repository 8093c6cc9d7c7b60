"""Units, positions and employees: validation, writes and who may see whom.

Every write is checked against the current tenant and audited in the same
transaction; a failed check raises before anything is written.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from core import unit_of_work
from core.audit.services import record
from core.auth.models import User
from core.auth.normalize import nfc, search_term
from core.auth.principal import Principal
from core.auth.services import PasswordRejected, create_user
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.org.models import PROTECTION_FIELDS, Employee, JobPosition, OrgUnit
from core.org.schemas import protection_date_errors

# ---------------------------------------------------------------- units


def unit_view(unit: OrgUnit) -> dict:
    return {"id": unit.id, "code": unit.code, "name": unit.name, "kind": unit.kind,
            "parent_id": unit.parent_id, "official_code": unit.official_code, "is_paying_unit": unit.is_paying_unit}


def get_unit(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("Unit not found.")
    return unit


def _unit_by_code(code: str) -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def _check_parent(unit: OrgUnit | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if db.session.get(OrgUnit, parent_id) is None:
        raise Invalid("Unknown parent unit.", {"parent_id": ["No such unit in this tenant."]})
    if unit is not None and unit.id is not None and parent_id in unit_subtree_ids(unit.id):
        raise Invalid("A unit cannot be its own ancestor.", {"parent_id": ["This would make a cycle."]})


def unit_subtree_ids(root_id: int) -> set[int]:
    """The unit and every unit under it (one recursive query)."""
    tree = select(OrgUnit.id).where(OrgUnit.id == root_id).cte("tree", recursive=True)
    tree = tree.union(select(OrgUnit.id).where(OrgUnit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


def create_unit(data: dict) -> OrgUnit:
    if _unit_by_code(data["code"]) is not None:
        raise Conflict("Duplicate unit code.", {"code": ["A unit with this code exists."]})
    _check_parent(None, data.get("parent_id"))
    unit = OrgUnit(code=data["code"], name=data["name"], kind=data["kind"], parent_id=data.get("parent_id"),
                   is_paying_unit=bool(data.get("is_paying_unit", False)))
    db.session.add(unit)
    db.session.flush()
    record("unit.create", "unit", unit.id, after=unit_view(unit))
    return unit


def update_unit(unit: OrgUnit, data: dict) -> OrgUnit:
    before = unit_view(unit)
    if "code" in data and data["code"] != unit.code and _unit_by_code(data["code"]) is not None:
        raise Conflict("Duplicate unit code.", {"code": ["A unit with this code exists."]})
    if "parent_id" in data:
        _check_parent(unit, data["parent_id"])
    for key, value in data.items():
        setattr(unit, key, value)
    db.session.flush()
    record("unit.update", "unit", unit.id, before=before, after=unit_view(unit))
    return unit


def delete_unit(unit: OrgUnit) -> None:
    if db.session.scalar(select(func.count()).select_from(Employee).where(Employee.unit_id == unit.id)):
        raise Conflict("The unit still has people.", {"id": ["Move its employees first."]})
    if db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id == unit.id)):
        raise Conflict("The unit still has sub-units.", {"id": ["Move or delete its sub-units first."]})
    record("unit.delete", "unit", unit.id, before=unit_view(unit))
    db.session.delete(unit)
    db.session.flush()


# ---------------------------------------------------------------- positions


def position_view(p: JobPosition) -> dict:
    return {"id": p.id, "code": p.code, "name": p.name, "group": p.group, "regime": p.regime}


def get_position(position_id: int) -> JobPosition:
    position = db.session.get(JobPosition, position_id)
    if position is None:
        raise NotFound("Position not found.")
    return position


def _position_by_code(code: str) -> JobPosition | None:
    return db.session.scalar(select(JobPosition).where(JobPosition.code == code))


def create_position(data: dict) -> JobPosition:
    if _position_by_code(data["code"]) is not None:
        raise Conflict("Duplicate position code.", {"code": ["A position with this code exists."]})
    position = JobPosition(**data)
    db.session.add(position)
    db.session.flush()
    record("position.create", "position", position.id, after=position_view(position))
    return position


def update_position(position: JobPosition, data: dict) -> JobPosition:
    before = position_view(position)
    if "code" in data and data["code"] != position.code and _position_by_code(data["code"]) is not None:
        raise Conflict("Duplicate position code.", {"code": ["A position with this code exists."]})
    for key, value in data.items():
        setattr(position, key, value)
    db.session.flush()
    record("position.update", "position", position.id, before=before, after=position_view(position))
    return position


def delete_position(position: JobPosition) -> None:
    if db.session.scalar(select(func.count()).select_from(Employee).where(Employee.position_id == position.id)):
        raise Conflict("The position is held by employees.", {"id": ["Reassign its employees first."]})
    before = position_view(position)
    _delete_unreferenced("position", position)
    record("position.delete", "position", before["id"], before=before)


# ---------------------------------------------------------------- employees


def employee_view(e: Employee) -> dict:
    return {
        "id": e.id, "code": e.code, "full_name": e.full_name, "unit_id": e.unit_id,
        "position_code": e.position.code if e.position else None, "manager_id": e.manager_id,
        "is_leader": e.is_leader, "salary_coefficient": float(e.salary_coefficient),
        "start_date": e.start_date, "end_date": e.end_date, "email": e.email,
        "username": e.user.username if e.user else None, "roles": e.user.roles if e.user else [],
        **{name: getattr(e, name) for name in PROTECTION_FIELDS},
    }


def find_employee(employee_id: int) -> Employee | None:
    return db.session.get(Employee, employee_id)


def get_employee(employee_id: int) -> Employee:
    employee = find_employee(employee_id)
    if employee is None:
        raise NotFound("Employee not found.")
    return employee


def _resolve_refs(employee: Employee | None, data: dict) -> dict:
    """Turn codes and ids into checked references of this tenant; field errors otherwise."""
    out = dict(data)
    errors: dict[str, list[str]] = {}
    if "unit_id" in data and db.session.get(OrgUnit, data["unit_id"]) is None:
        errors["unit_id"] = ["No such unit in this tenant."]
    if "position_code" in data:
        code = out.pop("position_code")
        position = _position_by_code(code) if code else None
        if code and position is None:
            errors["position_code"] = ["No such position in this tenant."]
        out["position_id"] = position.id if position else None
    manager_id = data.get("manager_id")
    if manager_id is not None:
        if db.session.get(Employee, manager_id) is None:
            errors["manager_id"] = ["No such employee in this tenant."]
        elif employee is not None and manager_id in reports_of(employee.id) | {employee.id}:
            errors["manager_id"] = ["This would make a management cycle."]
    if "salary_coefficient" in out:
        out["salary_coefficient"] = Decimal(str(round(out["salary_coefficient"], 2)))
    if errors:
        raise Invalid("Some references are invalid.", errors)
    return out


def create_employee(data: dict) -> Employee:
    data = dict(data)
    username, password = data.pop("username", None), data.pop("password", None)
    roles = data.pop("roles", None) or ["employee"]
    if db.session.scalar(select(Employee.id).where(Employee.code == data["code"])) is not None:
        raise Conflict("Duplicate employee code.", {"code": ["An employee with this code exists."]})
    fields = _resolve_refs(None, data)
    employee = Employee(**fields)
    if username:
        employee.user = _new_login(username, password, roles)
    elif password:
        raise Invalid("A password needs a username.", {"username": ["Required with a password."]})
    db.session.add(employee)
    unit_of_work.changed(employee)
    db.session.flush()
    record("employee.create", "employee", employee.id, after=employee_view(employee))
    return employee


def _new_login(username: str, password: str | None, roles: list[str]) -> User:
    username = nfc(username)  # stored NFC (User's validator): look for that form
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("Username taken.", {"username": ["This username is taken in this tenant."]})
    if not password:
        raise Invalid("A login needs a password.", {"password": ["Required with a username."]})
    try:
        return create_user(username, password, roles)
    except PasswordRejected as exc:
        raise Invalid("The password is not acceptable.", {"password": exc.problems}) from exc


def update_employee(employee: Employee, data: dict) -> Employee:
    before = employee_view(employee)
    data = dict(data)
    roles = data.pop("roles", None)
    if "code" in data and data["code"] != employee.code and db.session.scalar(
            select(Employee.id).where(Employee.code == data["code"])) is not None:
        raise Conflict("Duplicate employee code.", {"code": ["An employee with this code exists."]})
    fields = _resolve_refs(employee, data)
    start = fields.get("start_date", employee.start_date)
    end = fields.get("end_date", employee.end_date)
    if start and end and end < start:
        raise Invalid("The end date is before the start date.", {"end_date": ["Before the start date."]})
    # A patch may send one date of a pair: check it against the one already stored.
    dates = protection_date_errors({name: fields.get(name, getattr(employee, name)) for name in PROTECTION_FIELDS})
    if dates:
        raise Invalid("Some dates are inconsistent.", dates)
    for key, value in fields.items():
        setattr(employee, key, value)
    unit_of_work.changed(employee)
    if roles is not None:
        if employee.user is None:
            raise Invalid("The employee has no login.", {"roles": ["Create a login first."]})
        employee.user.roles = roles
    db.session.flush()
    after = employee_view(employee)
    record("employee.update", "employee", employee.id, before=before, after=after)
    if roles is not None and before["roles"] != after["roles"]:
        record("user.roles", "user", employee.user_id, before={"roles": before["roles"]},
               after={"roles": after["roles"]})
    return employee


def set_login_active(employee: Employee, active: bool, acting_user_id: int | None = None) -> Employee:
    """Deactivate (or reactivate) an employee's login. A deactivated login cannot sign in,
    its sessions end (they are checked against `active` on every request) and its API
    tokens are revoked. An admin cannot lock themself out."""
    from core.auth.services import revoke_user_tokens
    from core.tenancy import current_tenant_id

    user = employee.user
    if user is None:
        raise Invalid("The employee has no login.", {"active": ["Create a login first."]})
    if not active and acting_user_id is not None and user.id == acting_user_id:
        raise Conflict("You cannot deactivate your own login.", {"active": ["This is your own login."]})
    if bool(user.active) == active:
        return employee
    user.active = active
    revoked = 0 if active else revoke_user_tokens(user.id, current_tenant_id())
    db.session.flush()
    record("user.activate" if active else "user.deactivate", "user", user.id,
           before={"active": not active}, after={"active": active, "tokens_revoked": revoked})
    return employee


def delete_employee(employee: Employee) -> None:
    if db.session.scalar(select(func.count()).select_from(Employee).where(Employee.manager_id == employee.id)):
        raise Conflict("The employee manages others.", {"id": ["Reassign their reports first."]})
    before = employee_view(employee)
    user = employee.user
    _delete_unreferenced("employee", employee, *([user] if user is not None else []))
    unit_of_work.changed(employee, gone=True)
    record("employee.delete", "employee", before["id"], before=before)


def _delete_unreferenced(label: str, *objects) -> None:
    """Delete, or 409 when anything still refers to the rows (work items, leave, the
    catalogue…): the database's foreign keys are the complete list, so ask them, inside a
    savepoint so a refusal changes nothing."""
    try:
        with db.session.begin_nested():
            for obj in objects:
                db.session.delete(obj)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(f"The {label} is still referenced by other records.",
                       {"id": [f"The {label} has work items, leave or other records; they must go first."]}) from exc


# ---------------------------------------------------------------- visibility


def reports_of(employee_id: int) -> set[int]:
    """Everyone under `employee_id` in the management chain (transitively)."""
    chain = select(Employee.id).where(Employee.manager_id == employee_id).cte("chain", recursive=True)
    chain = chain.union(select(Employee.id).where(Employee.manager_id == chain.c.id))
    return set(db.session.scalars(select(chain.c.id)))


def managed_scope(employee_id: int) -> Select:
    """Ids of the people an employee manages: their reports, and everyone in the units
    (and sub-units) they lead."""
    led = select(Employee.unit_id).where(Employee.id == employee_id, Employee.is_leader.is_(True))
    units = select(OrgUnit.id).where(OrgUnit.id.in_(led)).cte("led_units", recursive=True)
    units = units.union(select(OrgUnit.id).where(OrgUnit.parent_id == units.c.id))
    chain = select(Employee.id).where(Employee.manager_id == employee_id).cte("reports", recursive=True)
    chain = chain.union(select(Employee.id).where(Employee.manager_id == chain.c.id))
    return select(Employee.id).where(or_(Employee.unit_id.in_(select(units.c.id)), Employee.id.in_(select(chain.c.id))))


def visible_employees_filter(principal: Principal):
    """A WHERE clause on Employee for what `principal` may see, or None for everything."""
    if principal.has_role("tenant_admin", "auditor"):
        return None
    if principal.employee_id is None:
        return Employee.id.is_(None)
    own = Employee.id == principal.employee_id
    if principal.has_role("manager"):
        return or_(own, Employee.id.in_(managed_scope(principal.employee_id)))
    return own


def visible_people(principal: Principal, q: str | None = None) -> Select:
    """The employees `principal` may see, by name; `q` matches a name or a code, with
    Vietnamese marks or without."""
    stmt = select(Employee).order_by(Employee.full_name)
    clause = visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    if q:
        stmt = stmt.where(employee_matches(q))
    return stmt


def employee_matches(q: str):
    """A WHERE clause: the employee's name or code holds `q`, marks or not ("dang" finds
    "Đặng"), read from the stored key (core/auth/normalize.py `search_key`)."""
    return Employee.search_key.contains(search_term(q), autoescape=True)


def home_units(principal: Principal) -> list[OrgUnit]:
    """Tenant admins and auditors see every unit; anyone else their own unit (with the
    units under it, for a manager): a province's hundred units are nobody's daily page."""
    stmt = select(OrgUnit).order_by(OrgUnit.kind, OrgUnit.name)
    if not principal.has_role("tenant_admin", "auditor"):
        unit_id = db.session.scalar(select(Employee.unit_id).where(Employee.id == principal.employee_id)) \
            if principal.employee_id else None
        if unit_id is None:
            return []
        ids = unit_subtree_ids(unit_id) if principal.has_role("manager") else {unit_id}
        stmt = stmt.where(OrgUnit.id.in_(sorted(ids)))
    return list(db.session.scalars(stmt))


def can_see_employee(principal: Principal, employee_id: int) -> bool:
    clause = visible_employees_filter(principal)
    stmt = select(Employee.id).where(Employee.id == employee_id)
    if clause is not None:
        stmt = stmt.where(clause)
    return db.session.scalar(stmt) is not None


def manages(principal: Principal, employee_id: int) -> bool:
    if principal.employee_id is None or not principal.has_role("manager"):
        return False
    return db.session.scalar(managed_scope(principal.employee_id).where(Employee.id == employee_id)) is not None
