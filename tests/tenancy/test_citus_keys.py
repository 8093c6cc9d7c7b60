"""docs/scaling.md's Citus plan, checked against the migrated database itself (not only
the models, which tests/app/test_schema.py reads): on every tenant table, every primary key,
unique constraint and unique index — including any a migration made with raw SQL, partial
or on expressions — leads with tenant_id or is exactly the table's own globally unique
id. Citus can then enforce each of them on a table distributed by tenant_id once its
primary key is made (tenant_id, id)."""

from __future__ import annotations

from sqlalchemy import inspect

from core.extensions import db
from core.tenancy import tenant_tables


def _keys(inspector, table: str) -> list[tuple[str, str, list]]:
    keys = [("primary key", "pk", inspector.get_pk_constraint(table)["constrained_columns"])]
    keys += [("unique", u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)]
    keys += [("unique index", i["name"], i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]]
    return keys


def test_every_unique_key_of_a_tenant_table_leads_with_tenant_id_in_the_database(app):
    with app.app_context():
        inspector = inspect(db.engine)
        tables = set(inspector.get_table_names())
        expected = set(tenant_tables(db.metadata))
        assert expected <= tables
        problems = []
        for table in sorted(expected):
            for kind, name, columns in _keys(inspector, table):  # a table without a primary key: [] fails
                if columns[:1] != ["tenant_id"] and columns != ["id"]:
                    problems.append(f"{table}: {kind} {name} on {columns}")
    assert problems == []
