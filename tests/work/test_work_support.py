"""Building a tenant for the catalogue and work tests: people with logins, positions,
a small catalogue, and a fixed clock. No tests here; the other test_work*/test_catalogue*
modules import it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from core import unit_of_work
from core.auth.models import User
from core.auth.passwords import hash_password
from core.auth.services import issue_token, principal_for_user
from core.catalogue import services as catalogue
from core.extensions import db
from core.org import services as org
from core.tenancy import tenant_context
from core.tenants.services import create_tenant
from core.work import calendar as cal

PASSWORD = "Correct-Horse-42"
_HASH: list[str] = []
HCM = ZoneInfo("Asia/Ho_Chi_Minh")

PEOPLE = {
    # name: (unit, position, roles, leader, manager)
    "admin": ("agency", "CV", ["employee", "tenant_admin"], False, None),
    "manager": ("dept", "CV", ["employee", "manager"], True, None),
    "staff": ("dept", "CV", ["employee"], False, "manager"),
    "staff2": ("dept", "CV", ["employee"], False, "manager"),
    "accountant": ("dept", "KT", ["employee"], False, "manager"),
    "outsider": ("other", "CV", ["employee"], False, None),
    "auditor": ("agency", "CV", ["auditor"], False, None),
}

TASK_TYPES = [
    {"code": "HT01", "name": "Giải quyết hồ sơ hộ tịch", "group": "B", "unit_of_measure": "hồ sơ",
     "norm_minutes": 30, "product_weight": 1.0,
     "complexity_levels": [{"level": 1, "coefficient": 0.8}, {"level": 2, "coefficient": 1.0},
                           {"level": 3, "coefficient": 1.2}], "position_codes": ["CV"]},
    {"code": "VB01", "name": "Soạn thảo văn bản hành chính", "group": "B", "unit_of_measure": "văn bản",
     "norm_minutes": 60, "product_weight": 1.5, "complexity_levels": [], "position_codes": []},
    {"code": "KT01", "name": "Lập báo cáo tài chính", "group": "C", "unit_of_measure": "báo cáo",
     "norm_minutes": 240, "product_weight": 3.0, "complexity_levels": [], "position_codes": ["KT"]},
]


@dataclass
class World:
    slug: str
    tenant_id: int
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    principals: dict = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def url(self, path: str) -> str:
        return f"/api/v1/tenants/{self.slug}{path}"


def _password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))  # one argon2 hash for every test login: fast
    return _HASH[0]


def build(app, slug: str = "tinh-w", catalogue_too: bool = True) -> World:
    with app.app_context():
        tenant, _ = create_tenant(slug, f"Tỉnh {slug}")
        world = World(slug, tenant.id)
        with tenant_context(tenant.id):
            agency = org.create_unit({"code": "AG", "name": "Sở Nội vụ", "kind": "agency"})
            dept = org.create_unit({"code": "AG-P1", "name": "Phòng Một", "kind": "department",
                                    "parent_id": agency.id})
            other = org.create_unit({"code": "AG-P2", "name": "Phòng Hai", "kind": "department",
                                     "parent_id": agency.id})
            units = {"agency": agency.id, "dept": dept.id, "other": other.id}
            world.ids.update(units)
            for code, name in (("CV", "Chuyên viên"), ("KT", "Kế toán")):
                world.ids["pos_" + code] = org.create_position(
                    {"code": code, "name": name, "group": "professional"}).id
            for name, (unit, position, roles, leader, manager) in PEOPLE.items():
                user = User(username=name, password_hash=_password_hash())
                user.roles = roles
                employee = org.create_employee({
                    "code": name.upper(), "full_name": f"Người {name}", "unit_id": units[unit],
                    "position_code": position, "is_leader": leader,
                    "manager_id": world.ids[manager] if manager else None})
                employee.user = user
                db.session.flush()
                world.ids[name] = employee.id
                principal = principal_for_user(user)
                world.principals[name] = principal
                world.tokens[name] = issue_token(principal, 3600)[0]
            if catalogue_too:
                for data in TASK_TYPES:
                    tt, _ = catalogue.create_task_type(dict(data))
                    world.ids[data["code"]] = tt.id
        unit_of_work.commit()
    return world


def local(*args) -> datetime:
    """A moment in Hồ Chí Minh time, as aware UTC."""
    return datetime(*args, tzinfo=HCM).astimezone(UTC)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def set(self, *args) -> None:
        self.moment = local(*args)

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def world(clean_app, clock) -> World:
    return build(clean_app)


@pytest.fixture
def events(monkeypatch) -> list[dict]:
    """Every congvu_work_item_changed the work services emit."""
    calls: list[dict] = []

    def fake_emit(hook, **kwargs):
        calls.append({"hook": hook, **kwargs})
        return []

    monkeypatch.setattr("core.work.services.events.emit", fake_emit)
    return calls


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def declare(client, w: World, who: str = "staff", expect: int = 201, **data) -> dict:
    body = {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2}
    body.update(data)
    r = client.post(w.url("/work-items"), json=body, headers=w.h(who))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


# ---------------------------------------------------------------- for the isolation walk

def _in_tenant(app, w, key: str, make) -> int:
    """Make (once per world) an object of w's tenant; its id for another tenant's URLs."""
    cache_key = f"work:{key}"
    if cache_key not in w.ids:
        with app.app_context(), tenant_context(w.tenant_id):
            w.ids[cache_key] = make()
            unit_of_work.commit()
    return w.ids[cache_key]


def _task_type(app, w) -> int:
    def make() -> int:
        tt, _ = catalogue.create_task_type({**TASK_TYPES[1], "code": "ISO01"})
        return tt.id
    return _in_tenant(app, w, "task_type", make)


def _work_item(app, w) -> int:
    from core.work import services as work

    tt_id = _task_type(app, w)

    def make() -> int:
        principal = principal_for_user(db.session.get(User, _user_id_of(w, "staff")))
        item, _ = work.declare(principal, {"task_type_code": "ISO01", "work_date": cal.local_today(),
                                           "quantity": 1})
        assert item.task_type_id == tt_id
        return item.id
    return _in_tenant(app, w, "item", make)


def _user_id_of(w, name: str) -> int:
    from core.org.models import Employee

    return db.session.get(Employee, w.ids[name]).user_id


def _competency(app, w) -> int:
    return _in_tenant(app, w, "competency", lambda: catalogue.create_competency(
        {"code": "ISO", "name": "Năng lực", "max_level": 5}).id)


def _leave(app, w) -> int:
    from core.work.models import LeaveRecord

    def make() -> int:
        row = LeaveRecord(employee_id=w.ids["staff"], start_date=cal.local_today(), end_date=cal.local_today())
        db.session.add(row)
        db.session.flush()
        return row.id
    return _in_tenant(app, w, "leave", make)


def _calendar_day(app, w) -> int:
    from core.work.models import CalendarDay

    def make() -> int:
        row = CalendarDay(day=cal.local_today(), kind="day_off")
        db.session.add(row)
        db.session.flush()
        return row.id
    return _in_tenant(app, w, "calendar_day", make)


# tests/tenancy/test_isolation.py walks every tenant route; these make tenant B's objects for it.
FOREIGN_WORK_IDS = {"task_type_id": _task_type, "item_id": _work_item, "competency_id": _competency,
                    "leave_id": _leave, "day_id": _calendar_day}
