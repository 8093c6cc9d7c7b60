"""A fresh PostgreSQL database for the benchmark: a tenant with units, positions, a
catalogue and employees with logins, created through the same services as the app."""

from __future__ import annotations

import random

from sqlalchemy import create_engine, text

from core import create_app, unit_of_work
from core.auth.models import User
from core.auth.passwords import hash_password
from core.catalogue import services as catalogue
from core.extensions import db
from core.org import services as org
from core.tenancy import tenant_context
from core.tenants.services import create_tenant

PASSWORD = "Bench-Morning-0730"
SLUG = "bench"
POSITIONS = [("CV-VP", "Văn phòng – thống kê"), ("CV-TPHT", "Tư pháp – hộ tịch"), ("CV-DC", "Địa chính"),
             ("CV-TCKT", "Tài chính – kế toán"), ("CV-VHXH", "Văn hóa – xã hội")]
WORDS = ["Giải quyết hồ sơ", "Soạn thảo văn bản", "Tiếp công dân", "Kiểm tra hiện trường", "Báo cáo định kỳ",
         "Thẩm định hồ sơ", "Cập nhật cơ sở dữ liệu", "Họp chuyên môn"]


def recreate_database(admin_url: str, name: str, app_role: str) -> None:
    admin = create_engine(admin_url + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).scalar():
            conn.execute(text(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def seed(owner_url: str, employees: int, units: int = 20, task_types: int = 40) -> list[str]:
    """Migrate and fill the database; returns the usernames that may log in."""
    from flask_migrate import upgrade

    app = create_app({"CONGVU_DATABASE_URL": owner_url, "CONGVU_SECRET_KEY": "bench-seed", "TESTING": True})
    rng = random.Random(730)
    usernames: list[str] = []
    with app.app_context():
        upgrade()
        tenant, _ = create_tenant(SLUG, "Tỉnh Benchmark")
        password_hash = hash_password(PASSWORD)
        with tenant_context(tenant.id):
            for code, name in POSITIONS:
                org.create_position({"code": code, "name": name, "group": "professional"})
            for i in range(task_types):
                catalogue.create_task_type({
                    "code": f"TT{i:03d}", "name": f"{WORDS[i % len(WORDS)]} số {i}", "group": "ABCD"[i % 4],
                    "unit_of_measure": "việc", "norm_minutes": rng.choice([15, 30, 45, 60, 90, 120]),
                    "product_weight": 1.0,
                    "complexity_levels": [{"level": 1, "coefficient": 0.8}, {"level": 2, "coefficient": 1.0},
                                          {"level": 3, "coefficient": 1.3}],
                    "position_codes": [POSITIONS[i % len(POSITIONS)][0]] if i % 3 else []})
            agency = org.create_unit({"code": "UBND", "name": "UBND tỉnh", "kind": "agency"})
            unit_ids = [org.create_unit({"code": f"P{u:02d}", "name": f"Phòng {u}", "kind": "department",
                                         "parent_id": agency.id}).id for u in range(units)]
            heads: dict[int, int] = {}
            for n in range(employees):
                unit_id = unit_ids[n % units]
                head = heads.get(unit_id)
                username = f"u{n:05d}"
                user = User(username=username, password_hash=password_hash)
                user.roles = ["employee", "manager"] if head is None else ["employee"]
                employee = org.create_employee({
                    "code": username.upper(), "full_name": f"Cán bộ {n}", "unit_id": unit_id,
                    "position_code": POSITIONS[n % len(POSITIONS)][0], "is_leader": head is None,
                    "manager_id": head})
                employee.user = user
                db.session.flush()
                heads.setdefault(unit_id, employee.id)
                usernames.append(username)
                if n % 200 == 199:
                    unit_of_work.commit()
        unit_of_work.commit()
        with db.engine.connect() as conn:  # statistics, as any production database has them
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        db.engine.dispose()
    return usernames
