"""`congvu generate`: a realistic synthetic tenant for load tests and benchmarks.

Agencies with departments and communes, positions, a catalogue (some task types for
every position, some for one group of positions), employees with managers and logins,
and months of work items with realistic spreads (core/generate/items.py). People and
logins go in with COPY (batched inserts on SQLite), the small catalogue through the
normal services, the items by INSERT … SELECT on PostgreSQL. Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select, text

from core import unit_of_work
from core.auth.models import User
from core.auth.normalize import search_key
from core.auth.passwords import hash_password
from core.bulk import copy_rows
from core.catalogue import services as catalogue
from core.errors import Conflict
from core.extensions import db
from core.generate import items as work
from core.org import services as org
from core.org.models import Employee, OrgUnit
from core.tenancy import current_tenant_id, tenant_context
from core.tenants.services import create_tenant
from core.work import calendar as cal

PASSWORD = "Generated-Load-2026"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Minh", "Hữu", "Đức", "Thanh", "Ngọc", "Quốc", "Thu", "Hoài"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiền", "Hoa", "Hùng", "Hương", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngân", "Phong", "Phúc", "Quang", "Sơn", "Tâm", "Thảo"]
TASKS = ["Giải quyết hồ sơ hành chính", "Soạn thảo văn bản", "Tiếp công dân", "Kiểm tra hiện trường",
         "Báo cáo định kỳ", "Thẩm định hồ sơ", "Cập nhật cơ sở dữ liệu", "Họp chuyên môn", "Tham mưu đề xuất",
         "Rà soát văn bản", "Tổng hợp số liệu", "Hướng dẫn nghiệp vụ"]
PEOPLE_PER_DEPARTMENT = 25
DEPARTMENTS_PER_AGENCY = 8
POSITIONS = [("LD", "Lãnh đạo phòng", "leadership"), ("CV", "Chuyên viên", "professional"),
             ("CVC", "Chuyên viên chính", "professional"), ("VT", "Văn thư", "support")]
# Task types G01–G24 are for every position; the others for one group of positions.
SHARED_TYPES = 24
OWN_TYPES = [(12, ["CV", "CVC"]), (6, ["LD"]), (6, ["VT"])]
# Norm minutes by type, in turn: with the quantities and levels of items.py, an item
# credits about 46 minutes, and the 8 of a day some 6 hours.
NORM_MINUTES = (15, 20, 30, 30, 45, 60, 90)


@dataclass
class Generated:
    tenant_id: int
    employees: int
    units: int
    items: int


def generate(slug: str, employees: int, months: int, first_month: date, seed: int = 2026,
             progress: Callable[[str, int, int], None] | None = None, workers: int = 1) -> Generated:
    """Create tenant `slug` and fill it; the caller commits. With `workers` > 1 on
    PostgreSQL, the tenant and its people are committed first and the items written on
    that many connections at once, each block of people committed on its own (a failure
    leaves a partial tenant, to be generated again under another name)."""
    if db.session.scalar(text("SELECT 1 FROM tenants WHERE slug = :s"), {"s": slug}):
        raise Conflict(f"Tenant '{slug}' exists; generate a new one.", {"tenant": ["Exists."]})
    rng = random.Random(seed)
    tenant, _ = create_tenant(slug, f"Tỉnh tổng hợp {slug}")
    with tenant_context(tenant.id):
        positions = _positions()
        choices = _catalogue(positions)
        units = _units(employees)
        people = _people(rng, employees, units, positions, progress)
        parallel = workers > 1 and db.session.get_bind().dialect.name == "postgresql"
        if parallel:
            unit_of_work.commit()  # the other connections must see the people their items point at
        total = 0
        for m in range(months):
            month = date(first_month.year + (first_month.month - 1 + m) // 12, (first_month.month - 1 + m) % 12 + 1, 1)
            total += month_of_work(tenant, people, choices, month, seed, workers if parallel else 1, progress)
    return Generated(tenant.id, len(people), len(units), total)


def month_of_work(tenant, people: list[tuple[int, int, int]], choices: dict[int, list[work.Choice]], month: date,
                  seed: int, workers: int = 1, progress: Callable[[str, int, int], None] | None = None,
                  until: date | None = None) -> int:
    """The work items of `month` (its first day) for `people` ((index, employee id,
    position id) each), from the task types each position may declare; returns the count.
    With `until`, only the working days up to that day (a month still under way)."""
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if until is not None:
        end = min(end, until)
    plan = work.Month(tenant.id, seed, cal.WorkCalendar.load(month, end).working_days(month, end),
                      tenant.timezone, _cutoff(tenant.morning_cutoff))
    stage = f"items {month:%Y-%m}"
    return work.write(plan, people, choices, db.engine if workers > 1 else None, workers,
                      (lambda done, n: progress(stage, done, n)) if progress else None)


def _cutoff(value: str | None) -> time:
    hours, minutes = (int(x) for x in (value or "09:00").split(":"))
    return time(hours, minutes)


def _positions() -> dict[str, int]:
    return {code: org.create_position({"code": code, "name": name, "group": group}).id
            for code, name, group in POSITIONS}


def _catalogue(positions: dict[str, int]) -> dict[int, list[work.Choice]]:
    """48 task types; returns what each position (by id) may declare."""
    applies: list[list[str]] = [[]] * SHARED_TYPES + [codes for n, codes in OWN_TYPES for _ in range(n)]
    choices: dict[int, list[work.Choice]] = {pid: [] for pid in positions.values()}
    for i, codes in enumerate(applies):
        minutes = NORM_MINUTES[i % len(NORM_MINUTES)]
        tt, version = catalogue.create_task_type({
            "code": f"G{i + 1:02d}", "name": f"{TASKS[i % len(TASKS)]} ({i + 1})", "group": "ABCD"[i % 4],
            "unit_of_measure": "việc", "norm_minutes": minutes, "product_weight": round(minutes / 45, 2),
            "complexity_levels": [{"level": 1, "coefficient": 0.8}, {"level": 2, "coefficient": 1.0},
                                  {"level": 3, "coefficient": 1.3}],
            "position_codes": codes, "effective_from": date(2020, 1, 1)})
        choice = work.Choice(tt.id, version.id, version.norm_minutes, version.product_weight, tt.name)
        for code, pid in positions.items():
            if not codes or code in codes:
                choices[pid].append(choice)
    return choices


def _units(employees: int) -> list[int]:
    """Departments (the units people sit in), under agencies; returns department ids."""
    departments = max(1, -(-employees // PEOPLE_PER_DEPARTMENT))
    agencies = max(1, -(-departments // DEPARTMENTS_PER_AGENCY))
    agency_ids = []
    for a in range(agencies):
        unit = OrgUnit(code=f"CQ{a + 1:04d}", name=f"Cơ quan {a + 1}", kind="agency")
        db.session.add(unit)
        db.session.flush()
        agency_ids.append(unit.id)
    rows = [{"tenant_id": current_tenant_id(), "code": f"CQ{d // DEPARTMENTS_PER_AGENCY + 1:04d}-P{d:05d}",
             "name": f"Phòng {d + 1}", "kind": "department", "parent_id": agency_ids[d // DEPARTMENTS_PER_AGENCY]}
            for d in range(departments)]
    db.session.execute(insert(OrgUnit), rows)
    return list(db.session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "department").order_by(OrgUnit.id)))


def _reserve_ids(table: str, n: int) -> list[int]:
    """Ids for rows written with COPY, taken from the table's own sequence (or counted on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                            f"FROM generate_series(1, :n)"), {"n": n}))
    start = (db.session.scalar(text(f"SELECT max(id) FROM {table}")) or 0) + 1
    return list(range(start, start + n))


def _people(rng, employees: int, units: list[int], positions: dict[str, int], progress
            ) -> list[tuple[int, int, int]]:
    """Employees with logins, a leader per department managing the others; returns
    (index, employee id, position id) of each."""
    tid = current_tenant_id()
    password_hash = hash_password(PASSWORD)  # one hash for every generated login
    user_ids, employee_ids = _reserve_ids("users", employees), _reserve_ids("employees", employees)
    users, people, out = [], [], []
    leader_of: dict[int, int] = {}
    for i in range(employees):
        unit = units[i // PEOPLE_PER_DEPARTMENT] if i // PEOPLE_PER_DEPARTMENT < len(units) else units[-1]
        leader = unit not in leader_of
        if leader:
            leader_of[unit] = employee_ids[i]
        position = positions["LD"] if leader else positions[rng.choice(["CV", "CV", "CV", "CVC", "VT"])]
        username, code = f"nv{i + 1:06d}", f"NV{i + 1:06d}"
        users.append((user_ids[i], tid, username, search_key(username), password_hash,
                      "employee,manager" if leader else "employee", True, False, datetime.now(UTC)))
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        people.append((employee_ids[i], tid, code, name, search_key(name, code), unit, position,
                       None if leader else leader_of[unit], leader, round(rng.uniform(2.34, 6.2), 2),
                       date(rng.randint(2000, 2024), rng.randint(1, 12), 1), user_ids[i]))
        out.append((i, employee_ids[i], position))
    copy_rows(User.__table__, ("id", "tenant_id", "username", "search_key", "password_hash", "roles", "active",
                               "must_change_password", "created_at"), users)
    copy_rows(Employee.__table__, ("id", "tenant_id", "code", "full_name", "search_key", "unit_id", "position_id",
                                   "manager_id", "is_leader", "salary_coefficient", "start_date", "user_id"), people)
    if progress:
        progress("people", employees, employees)
    return out
