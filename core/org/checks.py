"""Every refusal the org services would answer for a unit, a position or an employee,
found at once and without writing, so a form can show them beside its fields together
with its own errors — one round, not one error per submit.

Only the fields given (those that passed the form's own checks) are looked at; the
services check again when they write, so these answers add, never replace, theirs. The
messages are the services' own (English), translated by the forms as theirs are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from core.auth.models import User
from core.auth.normalize import nfc
from core.auth.passwords import password_problems
from core.extensions import db
from core.ids import MAX_ID
from core.org.models import Employee, JobPosition, OrgUnit
from core.org.schemas import PROTECTION_PAIRS, protection_date_errors
from core.org.services import reports_of, unit_subtree_ids

Errors = dict[str, list[str]]


def _taken(model: type, code: str, own_id: int | None) -> bool:
    found = db.session.scalar(select(model.id).where(model.code == code))
    return found is not None and found != own_id


def _unit_exists(unit_id: int) -> bool:
    # An id beyond BIGINT names nothing; asking the database would fail the whole form.
    return 0 < unit_id <= MAX_ID and db.session.get(OrgUnit, unit_id) is not None


def unit_errors(unit: OrgUnit | None, data: Mapping[str, Any]) -> Errors:
    """A new unit (`unit` None) or a change of `unit`: a code in use, an unknown parent, a cycle."""
    errors: Errors = {}
    if data.get("code") and _taken(OrgUnit, data["code"], unit.id if unit else None):
        errors["code"] = ["A unit with this code exists."]
    parent_id = data.get("parent_id")
    if parent_id is not None:
        if not _unit_exists(parent_id):
            errors["parent_id"] = ["No such unit in this tenant."]
        elif unit is not None and parent_id in unit_subtree_ids(unit.id):
            errors["parent_id"] = ["This would make a cycle."]
    return errors


def position_errors(position: JobPosition | None, data: Mapping[str, Any]) -> Errors:
    if data.get("code") and _taken(JobPosition, data["code"], position.id if position else None):
        return {"code": ["A position with this code exists."]}
    return {}


def employee_errors(employee: Employee | None, data: Mapping[str, Any], creating: bool) -> Errors:
    """A new employee (with a login when a username is given) or a change of `employee`."""
    errors: Errors = {}
    if data.get("code") and _taken(Employee, data["code"], employee.id if employee else None):
        errors["code"] = ["An employee with this code exists."]
    if data.get("unit_id") is not None and not _unit_exists(data["unit_id"]):
        errors["unit_id"] = ["No such unit in this tenant."]
    code = data.get("position_code")
    if code and db.session.scalar(select(JobPosition.id).where(JobPosition.code == code)) is None:
        errors["position_code"] = ["No such position in this tenant."]
    manager_id = data.get("manager_id")
    if employee is not None and manager_id is not None and manager_id in reports_of(employee.id) | {employee.id}:
        errors["manager_id"] = ["This would make a management cycle."]
    start, end = data.get("start_date"), data.get("end_date")
    if start and end and end < start:
        errors["end_date"] = ["The end date is before the start date."]
    # A pair is judged only when both its days passed the form: a day typed wrong is its
    # own error, not a missing start.
    paired = {name: data[name] for pair in PROTECTION_PAIRS if all(n in data for n in pair) for name in pair}
    for name, messages in protection_date_errors(paired).items():
        errors.setdefault(name, messages)
    if creating:
        errors.update(_login_errors(data.get("username"), data.get("password")))
    return errors


def _login_errors(username: str | None, password: str | None) -> Errors:
    if not username:
        return {"username": ["Required with a password."]} if password else {}
    if db.session.scalar(select(User.id).where(User.username == nfc(username))) is not None:
        return {"username": ["This username is taken in this tenant."]}
    if not password:
        return {"password": ["Required with a username."]}
    problems = password_problems(password, username)
    return {"password": problems} if problems else {}
