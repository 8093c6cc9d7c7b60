"""`congvu generate`: a realistic synthetic tenant for load tests and benchmarks.

Agencies with departments and communes, positions, a catalogue, employees with
managers and logins, and months of work items with realistic spreads: about 6 declared
hours a day, some late, some returned for rework, some unreported, a few cancelled.
People, logins and items go in with PostgreSQL COPY (batched inserts on SQLite); the
small catalogue through the normal services. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text

from core.auth.models import User
from core.auth.passwords import hash_password
from core.bulk import copy_rows
from core.catalogue import services as catalogue
from core.errors import Conflict
from core.extensions import db
from core.org import services as org
from core.org.models import Employee, OrgUnit
from core.tenancy import current_tenant_id, tenant_context
from core.tenants.services import create_tenant
from core.work import calendar as cal
from core.work.models import WorkItem

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
ITEMS_PER_DAY = 8
ITEM_COLUMNS = ("tenant_id", "employee_id", "task_type_id", "norm_version_id", "title", "work_date", "quantity",
                "complexity_level", "norm_minutes", "product_weight", "complexity_coefficient", "status", "progress",
                "planned", "role", "priority", "outside_position", "deadline", "original_deadline", "missed_before",
                "missed_deadlines", "declared_at", "completed_at", "reported_at", "not_reported", "failed_reviews",
                "stars", "satisfaction", "exempt", "verification", "updated_at")


@dataclass
class Generated:
    tenant_id: int
    employees: int
    units: int
    items: int


def generate(slug: str, employees: int, months: int, first_month: date, seed: int = 2026,
             progress: Callable[[str, int, int], None] | None = None) -> Generated:
    """Create tenant `slug` and fill it; the caller commits."""
    if db.session.scalar(text("SELECT 1 FROM tenants WHERE slug = :s"), {"s": slug}):
        raise Conflict(f"Tenant '{slug}' exists; generate a new one.", {"tenant": ["Exists."]})
    rng = random.Random(seed)
    tenant, _ = create_tenant(slug, f"Tỉnh tổng hợp {slug}")
    with tenant_context(tenant.id):
        positions = _positions()
        types = _catalogue(rng, positions)
        units = _units(employees)
        people = _people(rng, employees, units, positions, progress)
        total = 0
        for m in range(months):
            month = date(first_month.year + (first_month.month - 1 + m) // 12, (first_month.month - 1 + m) % 12 + 1, 1)
            total += _items(rng, tenant, people, types, month, progress)
    return Generated(tenant.id, len(people), len(units), total)


def _positions() -> dict[str, int]:
    out = {}
    for code, name, group in [("LD", "Lãnh đạo phòng", "leadership"), ("CV", "Chuyên viên", "professional"),
                              ("CVC", "Chuyên viên chính", "professional"), ("VT", "Văn thư", "support")]:
        out[code] = org.create_position({"code": code, "name": name, "group": group}).id
    return out


def _catalogue(rng: random.Random, positions: dict[str, int]) -> list[tuple[int, int, float, float]]:
    """(task type id, norm version id, norm minutes, product weight) of 48 task types."""
    out = []
    for i in range(48):
        minutes = rng.choice([15, 20, 30, 45, 60, 90, 120])
        tt, version = catalogue.create_task_type({
            "code": f"G{i + 1:02d}", "name": f"{TASKS[i % len(TASKS)]} ({i + 1})", "group": "ABCD"[i % 4],
            "unit_of_measure": "việc", "norm_minutes": minutes, "product_weight": round(minutes / 45, 2),
            "complexity_levels": [{"level": 1, "coefficient": 0.8}, {"level": 2, "coefficient": 1.0},
                                  {"level": 3, "coefficient": 1.3}],
            "position_codes": [], "effective_from": date(2020, 1, 1)})
        out.append((tt.id, version.id, float(version.norm_minutes), float(version.product_weight)))
    return out


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


def _people(rng, employees: int, units: list[int], positions: dict[str, int], progress) -> list[tuple[int, int]]:
    """Employees with logins, a leader per department managing the others; returns
    (employee id, position id) of each."""
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
        users.append((user_ids[i], tid, f"nv{i + 1:06d}", password_hash, "employee,manager" if leader else "employee",
                      True, False, datetime.now(UTC)))
        people.append((employee_ids[i], tid, f"NV{i + 1:06d}",
                       f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}", unit, position,
                       None if leader else leader_of[unit], leader, round(rng.uniform(2.34, 6.2), 2),
                       date(rng.randint(2000, 2024), rng.randint(1, 12), 1), user_ids[i]))
        out.append((employee_ids[i], position))
    _copy("users", ("id", "tenant_id", "username", "password_hash", "roles", "active", "must_change_password",
                    "created_at"), users, User)
    _copy("employees", ("id", "tenant_id", "code", "full_name", "unit_id", "position_id", "manager_id", "is_leader",
                        "salary_coefficient", "start_date", "user_id"), people, Employee)
    if progress:
        progress("people", employees, employees)
    return out


def _items(rng, tenant, people, types, month: date, progress) -> int:
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    days = cal.WorkCalendar.load(month, end).working_days(month, end)
    zone = ZoneInfo(tenant.timezone)
    total = len(people) * len(days) * ITEMS_PER_DAY
    written = 0

    def rows() -> Iterator[tuple]:
        nonlocal written
        tid = tenant.id
        for day in days:
            morning = datetime.combine(day, time(7, 40), zone).astimezone(UTC)
            for employee_id, _position in people:
                for _ in range(ITEMS_PER_DAY):
                    yield _item(rng, tid, employee_id, types, day, morning)
                written += ITEMS_PER_DAY
            if progress:
                progress(f"items {month:%Y-%m}", written, total)

    _copy("work_items", ITEM_COLUMNS, rows(), WorkItem)
    return total


def _item(rng: random.Random, tid: int, employee_id: int, types, day: date, morning: datetime) -> tuple:
    tt_id, version_id, minutes, weight = types[rng.randrange(len(types))]
    # About 6 declared hours a day: 8 items of 45 minutes on average.
    quantity = rng.choice((1, 1, 1, 1, 2)) if minutes <= 45 else 1
    level = rng.choice((1, 2, 2, 2, 3))
    coefficient = {1: 0.8, 2: 1.0, 3: 1.3}[level]
    roll = rng.random()
    status = "done" if roll < 0.9 else "in_progress" if roll < 0.97 else "cancelled"
    deadline = day + timedelta(days=rng.choice((0, 0, 1, 2, 5)))
    late = status == "done" and rng.random() < 0.08
    finished = morning + timedelta(hours=rng.uniform(1, 9), days=(deadline - day).days + 1 if late else 0)
    done = status == "done"
    unreported = done and rng.random() < 0.03
    failed = 1 if done and rng.random() < 0.05 else 0
    stars = rng.choice((5, 5, 4, 4, 4, 3, 2)) if done and rng.random() < 0.8 else None
    declared = morning + timedelta(minutes=rng.randint(-20, 120))
    return (tid, employee_id, tt_id, version_id, TASKS[tt_id % len(TASKS)], day, quantity, level, minutes, weight,
            coefficient, status, 100 if done else (0 if status == "cancelled" else rng.choice((20, 50, 80))),
            declared.hour < 2, "lead" if rng.random() < 0.85 else "support", rng.choice((1, 1, 1, 2, 3)), False,
            deadline, deadline, 0, 1 if late else 0, declared, finished if done else None,
            finished + timedelta(days=2 if unreported else 0) if done else None, unreported, failed, stars,
            stars, False, "verified", declared)


def _copy(table: str, columns: Iterable[str], rows: Iterable[tuple], model) -> None:
    copy_rows(model.__table__, tuple(columns), rows)
