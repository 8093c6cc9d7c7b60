"""Look-ups the pages name people, units and positions by: ids by code, names by id,
the whole lists for a form's choices and head counts for the lists' columns.

Read-only; the tenant filter keeps every answer inside the current tenant, so a code of
another tenant is as unknown as a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select

from core.auth.models import User
from core.auth.normalize import search_term
from core.extensions import db
from core.org.models import Employee, JobPosition, OrgUnit
from core.pagination import page_and_total


def all_units() -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.name)))


def all_positions() -> list[JobPosition]:
    return list(db.session.scalars(select(JobPosition).order_by(JobPosition.code)))


def units_of_kinds(kinds: Iterable[str]) -> list[OrgUnit]:
    """Units of the given kinds (agencies, say), by name."""
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(list(kinds))).order_by(OrgUnit.name)))


def unit_exists(unit_id: int) -> bool:
    return db.session.get(OrgUnit, unit_id) is not None


def employee_id_by_code(code: str) -> int | None:
    return db.session.scalar(select(Employee.id).where(Employee.code == code))


def unit_id_by_code(code: str) -> int | None:
    return db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def position_id_by_code(code: str) -> int | None:
    return db.session.scalar(select(JobPosition.id).where(JobPosition.code == code))


def position_id_of(employee_id: int) -> int | None:
    """The employee's position, if any."""
    return db.session.scalar(select(Employee.position_id).where(Employee.id == employee_id))


def employee_code(employee_id: int) -> str | None:
    return db.session.scalar(select(Employee.code).where(Employee.id == employee_id))


def employee_names(ids: Iterable[int]) -> dict[int, str]:
    """{employee id: full name}; one query however many ids."""
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(db.session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(wanted))).all())


def employee_names_and_codes(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """{employee id: (full name, code)}; one query however many ids."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {i: (n, c) for i, n, c in db.session.execute(
        select(Employee.id, Employee.full_name, Employee.code).where(Employee.id.in_(wanted)))}


def unit_tree() -> dict[int, tuple[str, int | None]]:
    """{unit id: (name, parent id)} of every unit, in one query."""
    return {i: (n, p) for i, n, p in db.session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.parent_id))}


def paying_units() -> list[tuple[int, str]]:
    """(id, name) of the paying units (đơn vị dự toán), by name."""
    return [(i, n) for i, n in db.session.execute(
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.is_paying_unit.is_(True)).order_by(OrgUnit.name))]


def unit_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(wanted))).all())


def head_counts_by_unit() -> dict[int, int]:
    return dict(db.session.execute(select(Employee.unit_id, func.count()).group_by(Employee.unit_id)).all())


def head_counts_by_position() -> dict[int | None, int]:
    return dict(db.session.execute(select(Employee.position_id, func.count()).group_by(Employee.position_id)).all())


def employees_page(q: str | None, page: int, per_page: int) -> tuple[list[Employee], int]:
    """One page of employees by name, then id, and how many there are; `q` matches a name,
    a code or a login's username, Vietnamese marks or not ("nguyen van" finds "Nguyễn Văn").
    Two statements whatever the tenant's size: the rows' stored keys are matched in SQL."""
    stmt = select(Employee).order_by(Employee.full_name, Employee.id)
    if q:
        term = search_term(q)
        stmt = stmt.outerjoin(User, User.id == Employee.user_id).where(
            or_(Employee.search_key.contains(term, autoescape=True), User.search_key.contains(term, autoescape=True)))
    return page_and_total(stmt, page, per_page)
