"""PostgreSQL row-level security: the database itself keeps tenants apart."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from core.extensions import db
from core.tenancy import tenant_tables
from tests.factories import build_world


@pytest.fixture
def pg(clean_app, backend):
    if backend.name != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature; SQLite relies on the ORM filter")
    a, b = build_world(clean_app, "tinh-a"), build_world(clean_app, "tinh-b")
    engine = create_engine(backend.app_url)  # the app role: neither owner nor superuser
    yield engine, a, b
    engine.dispose()


def test_every_tenant_table_is_under_forced_rls(clean_app, pg):
    engine, _, _ = pg
    tables = tenant_tables(db.metadata)
    assert "employees" in tables and "audit_events" in tables
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = ANY(:t)"),
            {"t": tables}).all())
        assert rows == {t: True for t in tables}
        role = conn.execute(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"))
        assert role.scalar() is False


def test_no_tenant_set_reads_zero_rows_in_every_tenant_table(clean_app, pg):
    engine, _, _ = pg
    with engine.connect() as conn:
        for table in tenant_tables(db.metadata):
            assert conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() == 0, table


def test_tenant_setting_reads_only_that_tenant(clean_app, pg):
    engine, a, b = pg
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant_id)})
        tenants = conn.execute(text("SELECT DISTINCT tenant_id FROM employees")).scalars().all()
        assert tenants == [a.tenant_id]
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 6
    # SET LOCAL died with the transaction: a new one on the same pooled connection sees nothing.
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM employees")).scalar() == 0


def test_writing_into_another_tenant_is_refused_by_the_database(clean_app, pg):
    engine, a, b = pg
    with engine.connect() as conn, pytest.raises(ProgrammingError, match="row-level security"):
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant_id)})
        conn.execute(text("INSERT INTO job_positions (tenant_id, code, name, \"group\") VALUES (:b, 'X', 'X', 'support')"),
                     {"b": b.tenant_id})


def test_app_role_cannot_change_or_delete_audit_events(clean_app, pg):
    engine, a, _ = pg
    for statement in ("UPDATE audit_events SET actor = 'forged'", "DELETE FROM audit_events"):
        with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant_id)})
            conn.execute(text(statement))
