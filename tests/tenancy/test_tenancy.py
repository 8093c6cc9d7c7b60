"""The ORM tenant filter and the write guards (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from core import unit_of_work
from core.extensions import db
from core.org.models import Employee, OrgUnit
from core.tenancy import TenantContextError, tenant_context, unscoped
from tests.factories import build_world


@pytest.fixture
def two(clean_app):
    return build_world(clean_app, "tinh-a"), build_world(clean_app, "tinh-b")


def test_select_sees_only_current_tenant(clean_app, two):
    a, b = two
    with clean_app.app_context():
        with tenant_context(a.tenant_id):
            codes = set(db.session.scalars(select(Employee.code)))
            assert db.session.get(Employee, b.ids["staff"]) is None
            assert db.session.scalar(select(func.count()).select_from(Employee)) == 6
        assert codes == {"ADMIN", "MANAGER", "STAFF", "STAFF2", "OUTSIDER", "AUDITOR"}
        with tenant_context(b.tenant_id):
            assert db.session.get(Employee, b.ids["staff"]).full_name == "Người staff"


def test_joins_and_subqueries_are_scoped(clean_app, two):
    a, b = two
    with clean_app.app_context(), tenant_context(a.tenant_id):
        rows = db.session.execute(select(Employee.id, OrgUnit.id).join(OrgUnit, Employee.unit_id == OrgUnit.id)).all()
        assert {r[0] for r in rows} == {a.ids[n] for n in ("admin", "manager", "staff", "staff2", "outsider", "auditor")}
        sub = select(Employee.id).subquery()
        assert db.session.scalar(select(func.count()).select_from(sub)) == 6


def test_no_tenant_context_sees_nothing(clean_app, two):
    with clean_app.app_context():
        assert db.session.scalars(select(Employee)).all() == []
        with unscoped():
            assert db.session.scalar(select(func.count()).select_from(Employee)) == 12


def test_insert_takes_tenant_from_context_and_refuses_another(clean_app, two):
    a, b = two
    with clean_app.app_context(), tenant_context(a.tenant_id):
        unit = OrgUnit(code="NEW", name="Mới", kind="department")
        db.session.add(unit)
        db.session.flush()
        assert unit.tenant_id == a.tenant_id
        db.session.add(OrgUnit(code="EVIL", name="Xấu", kind="department", tenant_id=b.tenant_id))
        with pytest.raises(TenantContextError):
            db.session.flush()
        db.session.rollback()


def test_insert_without_tenant_is_refused(clean_app):
    with clean_app.app_context():
        db.session.add(OrgUnit(code="X", name="X", kind="agency"))
        with pytest.raises(TenantContextError):
            db.session.flush()
        db.session.rollback()


def test_bulk_update_and_delete_are_scoped(clean_app, two):
    a, b = two
    with clean_app.app_context():
        with tenant_context(a.tenant_id):
            db.session.execute(update(Employee).values(email="x@a.vn"))
            db.session.execute(delete(Employee).where(Employee.code == "AUDITOR"))
            unit_of_work.commit()
        with tenant_context(b.tenant_id):
            assert db.session.scalar(select(func.count()).where(Employee.email.is_not(None))) == 0
            assert db.session.scalar(select(Employee.id).where(Employee.code == "AUDITOR")) == b.ids["auditor"]
        with tenant_context(a.tenant_id):
            assert db.session.scalar(select(func.count()).where(Employee.email == "x@a.vn")) == 5
