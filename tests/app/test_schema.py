"""The schema: migrations agree with the models, and go down and up again; every
tenant table leads its keys with tenant_id or a global id."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.extensions import db
from core.tenancy import tenant_tables
from tests.conftest import PG_HOST, make_app


def test_models_and_migrations_agree(app):
    with app.app_context():
        engine = create_engine(app.config["CONGVU_DATABASE_OWNER_URL"])
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        engine.dispose()
    assert diff == []


@pytest.fixture
def scratch_app(backend, tmp_path_factory):
    """An app on its own empty database, so going down does not disturb other tests."""
    from tests.conftest import Backend

    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('scratch')}/s.db"
        yield make_app(Backend("sqlite", url, url), tmp_path_factory)
        return
    name = f"congvu_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_HOST + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_HOST}/{name}"
    yield make_app(Backend("postgresql", url, url, name), tmp_path_factory)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_downgrade_upgrade(scratch_app):
    from flask_migrate import downgrade, upgrade

    with scratch_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"tenants", "users", "employees", "org_units", "audit_events"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) == tables
        db.engine.dispose()


def test_tenant_keys_lead_with_tenant_id(app):
    """Ready for distribution by tenant (Citus): unique keys of tenant tables start with
    tenant_id, or are the table's own globally unique id; primary keys likewise."""
    problems = []
    for name in tenant_tables(db.metadata):
        table = db.metadata.tables[name]
        for constraint in table.constraints:
            cols = [c.name for c in getattr(constraint, "columns", [])]
            kind = type(constraint).__name__
            if kind == "UniqueConstraint" and cols and cols[0] != "tenant_id":
                problems.append(f"{name}: unique {cols}")
            if kind == "PrimaryKeyConstraint" and cols != ["id"] and cols[:1] != ["tenant_id"]:
                problems.append(f"{name}: primary key {cols}")
        for column in table.columns:
            if column.unique and column.name != "id":
                problems.append(f"{name}.{column.name} unique alone")
    assert problems == []
