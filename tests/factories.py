"""Building tenants with people for tests, through the same services the API uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from core import unit_of_work
from core.org import services as org
from core.tenancy import tenant_context
from core.tenants.services import create_tenant

PASSWORD = "Correct-Horse-42"


@dataclass
class World:
    slug: str
    tenant_id: int
    ids: dict[str, int] = field(default_factory=dict)  # units, positions, employees by name
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


PEOPLE = {
    # name: (unit, roles, leader, manager)
    "admin": ("agency", ["employee", "tenant_admin"], False, None),
    "manager": ("dept", ["employee", "manager"], True, None),
    "staff": ("dept", ["employee"], False, "manager"),
    "staff2": ("dept", ["employee"], False, "manager"),
    "outsider": ("other", ["employee"], False, None),
    "auditor": ("agency", ["auditor"], False, None),
}


def build_world(app, slug: str, client=None) -> World:
    """A tenant with an agency, two departments, a position and six people with logins;
    with `client`, also a bearer token for each person."""
    with app.app_context():
        tenant, _ = create_tenant(slug, f"Tỉnh thử {slug}")
        world = World(slug, tenant.id)
        with tenant_context(tenant.id):
            agency = org.create_unit({"code": "AG", "name": "Sở Thử nghiệm", "kind": "agency"})
            dept = org.create_unit({"code": "AG-P1", "name": "Phòng Một", "kind": "department",
                                    "parent_id": agency.id})
            other = org.create_unit({"code": "AG-P2", "name": "Phòng Hai", "kind": "department",
                                     "parent_id": agency.id})
            units = {"agency": agency.id, "dept": dept.id, "other": other.id}
            position = org.create_position({"code": "CV", "name": "Chuyên viên", "group": "professional"})
            world.ids.update(units, position=position.id)
            for name, (unit, roles, leader, manager) in PEOPLE.items():
                employee = org.create_employee({
                    "code": name.upper(), "full_name": f"Người {name}", "unit_id": units[unit],
                    "position_code": "CV", "is_leader": leader,
                    "manager_id": world.ids[manager] if manager else None,
                    "username": name, "password": PASSWORD, "roles": roles,
                })
                world.ids[name] = employee.id
        unit_of_work.commit()
    if client is not None:
        for name in PEOPLE:
            world.tokens[name] = login(client, slug, name)
    return world


def login(client, tenant: str | None, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"tenant": tenant, "username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def make_operator(app, client, username: str = "root") -> str:
    from core.auth.services import create_operator

    with app.app_context():
        create_operator(username, PASSWORD)
        unit_of_work.commit()
    return login(client, None, username)
