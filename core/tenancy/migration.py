"""Helpers every revision that adds a tenant table uses: RLS policies and grants.

A test checks that every table with a tenant_id column is under RLS, so a revision
that forgets `apply_rls` fails the suite.
"""

import os

from alembic import op

from core.tenancy.rls import enable_statements, grant_statements


def apply_rls(tables: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        for stmt in enable_statements(table):
            op.execute(stmt)


def grant_app_role() -> None:
    """(Re-)grant the app role its rights; run at the end of every revision that adds tables."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = os.environ.get("CONGVU_DB_APP_ROLE", "congvu_app")
    for stmt in grant_statements(role):
        op.execute(stmt)
