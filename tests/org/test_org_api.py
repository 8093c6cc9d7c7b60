"""Units, positions and employees through the API: writes, bad input, permissions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.extensions import db
from core.org.models import Employee, OrgUnit
from core.tenancy import tenant_context, unscoped
from tests.factories import build_world, login

BASE = "/api/v1/tenants/tinh-a"


@pytest.fixture
def world(clean_app, client):
    return build_world(clean_app, "tinh-a", client)


def counts(app, tenant_id):
    with app.app_context(), tenant_context(tenant_id):
        return (db.session.scalar(select(func.count()).select_from(OrgUnit)),
                db.session.scalar(select(func.count()).select_from(Employee)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_unit_crud_and_audit(clean_app, client, world):
    h = world.headers("admin")
    created = client.post(f"{BASE}/units", headers=h, json={"code": "AG-P3", "name": "Phòng Ba",
                                                            "kind": "department", "parent_id": world.ids["agency"]})
    assert created.status_code == 201
    unit = created.get_json()
    assert unit["name"] == "Phòng Ba" and unit["parent_id"] == world.ids["agency"]
    patched = client.patch(f"{BASE}/units/{unit['id']}", headers=h, json={"name": "Phòng Ba (mới)"})
    assert patched.status_code == 200 and patched.get_json()["name"] == "Phòng Ba (mới)"
    assert client.get(f"{BASE}/units/{unit['id']}", headers=world.headers("staff")).get_json()["code"] == "AG-P3"
    assert client.delete(f"{BASE}/units/{unit['id']}", headers=h).status_code == 204
    assert client.get(f"{BASE}/units/{unit['id']}", headers=h).status_code == 404
    with clean_app.app_context(), tenant_context(world.tenant_id):
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "unit", AuditEvent.object_id == str(unit["id"]))
            .order_by(AuditEvent.seq)).all()
    assert actions == ["unit.create", "unit.update", "unit.delete"]


@pytest.mark.parametrize("body, field", [
    ({"code": "X", "name": "X"}, "kind"),
    ({"code": "X", "name": "X", "kind": "district"}, "kind"),
    ({"code": "has space", "name": "X", "kind": "agency"}, "code"),
    ({"code": "X", "name": "", "kind": "agency"}, "name"),
    ({"code": "X", "name": "X", "kind": "agency", "colour": "red"}, "colour"),
    ({"code": 12, "name": "X", "kind": "agency"}, "code"),
    ({"code": "X", "name": "X", "kind": "agency", "parent_id": "one"}, "parent_id"),
    ({"code": "X", "name": "X", "kind": "agency", "parent_id": 987654321}, "parent_id"),
])
def test_bad_unit_input_is_422_with_field_errors_and_changes_nothing(clean_app, client, world, body, field):
    before = counts(clean_app, world.tenant_id)
    response = client.post(f"{BASE}/units", headers=world.headers("admin"), json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == "validation_error" and field in payload["errors"]
    assert counts(clean_app, world.tenant_id) == before


def test_duplicate_code_is_409(clean_app, client, world):
    before = counts(clean_app, world.tenant_id)
    response = client.post(f"{BASE}/units", headers=world.headers("admin"),
                           json={"code": "AG-P1", "name": "Trùng", "kind": "department"})
    assert response.status_code == 409 and "code" in response.get_json()["errors"]
    dup = client.post(f"{BASE}/employees", headers=world.headers("admin"),
                      json={"code": "STAFF", "full_name": "Trùng", "unit_id": world.ids["dept"]})
    assert dup.status_code == 409
    assert counts(clean_app, world.tenant_id) == before


def test_unit_cannot_become_its_own_ancestor(clean_app, client, world):
    h = world.headers("admin")
    for parent in (world.ids["dept"], world.ids["agency"]):
        target = world.ids["agency"]
        response = client.patch(f"{BASE}/units/{target}", headers=h, json={"parent_id": parent})
        assert response.status_code == 422, parent
        assert response.get_json()["errors"]["parent_id"] == ["This would make a cycle."]
    assert client.get(f"{BASE}/units/{world.ids['agency']}", headers=h).get_json()["parent_id"] is None


def test_deleting_a_unit_with_people_or_children_is_409(clean_app, client, world):
    h = world.headers("admin")
    assert client.delete(f"{BASE}/units/{world.ids['dept']}", headers=h).status_code == 409
    assert client.delete(f"{BASE}/units/{world.ids['agency']}", headers=h).status_code == 409
    assert client.delete(f"{BASE}/positions/{world.ids['position']}", headers=h).status_code == 409
    assert client.delete(f"{BASE}/employees/{world.ids['manager']}", headers=h).status_code == 409


def test_manager_from_another_tenant_is_refused(clean_app, client, world):
    other = build_world(clean_app, "tinh-b")
    before = counts(clean_app, world.tenant_id)
    response = client.post(f"{BASE}/employees", headers=world.headers("admin"), json={
        "code": "NEW", "full_name": "Người mới", "unit_id": world.ids["dept"], "manager_id": other.ids["manager"]})
    assert response.status_code == 422 and "manager_id" in response.get_json()["errors"]
    moved = client.patch(f"{BASE}/employees/{world.ids['staff']}", headers=world.headers("admin"),
                         json={"unit_id": other.ids["dept"]})
    assert moved.status_code == 422 and "unit_id" in moved.get_json()["errors"]
    assert counts(clean_app, world.tenant_id) == before


def test_management_cycle_refused(clean_app, client, world):
    response = client.patch(f"{BASE}/employees/{world.ids['manager']}", headers=world.headers("admin"),
                            json={"manager_id": world.ids["staff"]})
    assert response.status_code == 422 and "manager_id" in response.get_json()["errors"]


def test_employee_with_login_and_dates(clean_app, client, world):
    h = world.headers("admin")
    bad_dates = client.post(f"{BASE}/employees", headers=h, json={
        "code": "E1", "full_name": "Lê Thị Hoa", "unit_id": world.ids["dept"],
        "start_date": "2026-05-01", "end_date": "2026-01-01"})
    assert bad_dates.status_code == 422 and "end_date" in bad_dates.get_json()["errors"]
    created = client.post(f"{BASE}/employees", headers=h, json={
        "code": "E1", "full_name": "Lê Thị Hoa", "unit_id": world.ids["dept"], "position_code": "CV",
        "manager_id": world.ids["manager"], "salary_coefficient": 3.66, "start_date": "2020-01-01",
        "username": "hoa", "password": "Hoa-Khanh-Hoa-2026", "roles": ["employee"]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["salary_coefficient"] == 3.66 and body["username"] == "hoa" and body["roles"] == ["employee"]
    assert "password" not in body
    assert login(client, "tinh-a", "hoa", "Hoa-Khanh-Hoa-2026")
    taken = client.post(f"{BASE}/employees", headers=h, json={
        "code": "E2", "full_name": "X", "unit_id": world.ids["dept"], "username": "hoa",
        "password": "Another-Good-One-1"})
    assert taken.status_code == 409 and "username" in taken.get_json()["errors"]
    roles = client.patch(f"{BASE}/employees/{body['id']}", headers=h, json={"roles": ["employee", "manager"]})
    assert roles.get_json()["roles"] == ["employee", "manager"]


def test_a_persons_dates_outside_1900_to_2099_are_refused_and_change_nothing(clean_app, client, world):
    """Year 1 and year 9999 were stored as given: typos that then decide who is employed in
    a month and who is protected from streamlining."""
    h = world.headers("admin")
    before = counts(clean_app, world.tenant_id)
    for field, value in (("start_date", "0001-01-01"), ("end_date", "9999-12-31"), ("pregnant_from", "1899-12-31"),
                         ("youngest_child_born_on", "2100-01-01")):
        r = client.post(f"{BASE}/employees", headers=h, json={
            "code": "E9", "full_name": "Lê Văn Chín", "unit_id": world.ids["dept"], field: value})
        assert r.status_code == 422 and r.get_json()["errors"] == {field: ["Use a date between 1900 and 2099."]}, r.get_json()
    patched = client.patch(f"{BASE}/employees/{world.ids['staff']}", headers=h, json={"start_date": "0001-01-01"})
    assert patched.status_code == 422 and list(patched.get_json()["errors"]) == ["start_date"]
    assert counts(clean_app, world.tenant_id) == before
    edge = client.post(f"{BASE}/employees", headers=h, json={
        "code": "E9", "full_name": "Lê Văn Chín", "unit_id": world.ids["dept"], "start_date": "1900-01-01",
        "end_date": "2099-12-31"})
    assert edge.status_code == 201 and (edge.get_json()["start_date"], edge.get_json()["end_date"]) == (
        "1900-01-01", "2099-12-31")


def test_visibility_by_role(clean_app, client, world):
    def codes(who):
        response = client.get(f"{BASE}/employees", headers=world.headers(who))
        assert response.status_code == 200
        assert int(response.headers["X-Total-Count"]) == len(response.get_json())
        return {e["code"] for e in response.get_json()}

    everyone = {"ADMIN", "MANAGER", "STAFF", "STAFF2", "OUTSIDER", "AUDITOR"}
    assert codes("admin") == everyone
    assert codes("auditor") == everyone
    assert codes("manager") == {"MANAGER", "STAFF", "STAFF2"}
    assert codes("staff") == {"STAFF"}
    assert client.get(f"{BASE}/employees/{world.ids['outsider']}", headers=world.headers("staff")).status_code == 404
    assert client.get(f"{BASE}/employees/{world.ids['staff']}", headers=world.headers("manager")).status_code == 200


def test_manager_of_a_parent_unit_sees_sub_units(clean_app, client, world):
    h = world.headers("admin")
    client.patch(f"{BASE}/employees/{world.ids['manager']}", headers=h, json={"unit_id": world.ids["agency"]})
    response = client.get(f"{BASE}/employees", headers=world.headers("manager"))
    assert {e["code"] for e in response.get_json()} == {"ADMIN", "MANAGER", "STAFF", "STAFF2", "OUTSIDER", "AUDITOR"}


@pytest.mark.parametrize("who", ["staff", "manager", "auditor"])
def test_only_tenant_admins_write_the_organisation(clean_app, client, world, who):
    h = world.headers(who)
    assert client.post(f"{BASE}/units", headers=h, json={"code": "Z", "name": "Z", "kind": "agency"}).status_code == 403
    assert client.patch(f"{BASE}/positions/{world.ids['position']}", headers=h, json={"name": "Z"}).status_code == 403
    assert client.patch(f"{BASE}/settings", headers=h, json={"morning_cutoff": "08:00"}).status_code == 403


def test_unauthenticated_is_401(clean_app, client, world):
    response = client.get(f"{BASE}/units")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get(f"{BASE}/units", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_pagination(clean_app, client, world):
    h = world.headers("admin")
    first = client.get(f"{BASE}/employees?per_page=4&page=1", headers=h)
    second = client.get(f"{BASE}/employees?per_page=4&page=2", headers=h)
    assert first.headers["X-Total-Count"] == "6" and len(first.get_json()) == 4 and len(second.get_json()) == 2
    assert {e["id"] for e in first.get_json()}.isdisjoint({e["id"] for e in second.get_json()})
    assert client.get(f"{BASE}/employees?per_page=501", headers=h).status_code == 422
    assert client.get(f"{BASE}/employees?page=0", headers=h).status_code == 422


def test_settings_validation(clean_app, client, world):
    h = world.headers("admin")
    ok = client.patch(f"{BASE}/settings", headers=h, json={"morning_cutoff": "08:30", "timezone": "Asia/Bangkok"})
    assert ok.status_code == 200 and ok.get_json()["morning_cutoff"] == "08:30"
    for body, field in (({"morning_cutoff": "25:00"}, "morning_cutoff"), ({"timezone": "Mars/Olympus"}, "timezone")):
        response = client.patch(f"{BASE}/settings", headers=h, json=body)
        assert response.status_code == 422 and field in response.get_json()["errors"]
    assert client.get(f"{BASE}/settings", headers=h).get_json()["timezone"] == "Asia/Bangkok"


def test_deleting_an_employee_removes_their_login(clean_app, client, world):
    assert client.delete(f"{BASE}/employees/{world.ids['staff2']}", headers=world.headers("admin")).status_code == 204
    response = client.post("/api/v1/auth/token", json={"tenant": "tinh-a", "username": "staff2",
                                                        "password": "Correct-Horse-42"})
    assert response.status_code == 401
    with clean_app.app_context(), unscoped():
        assert db.session.scalar(select(func.count()).select_from(Employee).where(Employee.code == "STAFF2")) == 0
