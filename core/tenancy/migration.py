"""Helpers every revision that adds a tenant table uses: RLS policies and grants.

A test checks that every table with a tenant_id column is under RLS, so a revision
that forgets `apply_rls` fails the suite.
"""

import hashlib
import hmac
import os

import sqlalchemy as sa
from alembic import op

from core.tenancy.rls import (
    _PREDICATE,
    KEY_TABLE,
    LEGACY_PREDICATE,
    SCOPE_FUNCTION,
    SIGNED_0020_PREDICATE,
    enable_statements,
    grant_statements,
)


def signed_predicate_ready() -> bool:
    """Whether migration 0020's signature check exists in this database yet."""
    return op.get_bind().exec_driver_sql("SELECT to_regprocedure('public.congvu_rls_tenant()')").scalar() is not None


def current_predicate() -> str:
    """The newest predicate whose functions this database has: a revision runs before
    0020 (no signature), between 0020 and 0036 (0020's functions) or after 0036."""
    if op.get_bind().exec_driver_sql(f"SELECT to_regprocedure('{SCOPE_FUNCTION}')").scalar() is not None:
        return _PREDICATE
    return SIGNED_0020_PREDICATE if signed_predicate_ready() else LEGACY_PREDICATE


def apply_rls(tables: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    predicate = current_predicate()
    for table in tables:
        for stmt in enable_statements(table, predicate):
            op.execute(stmt)


def unscoped_in_migration() -> None:
    """Let the rest of this migration's transaction read and write every tenant's rows
    (data migrations, run as the owner, whom FORCE ROW LEVEL SECURITY also binds)."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    if not signed_predicate_ready():
        conn.exec_driver_sql("SELECT set_config('app.unscoped', 'on', true)")
        return
    key, bind_session = conn.execute(sa.text(f"SELECT key, bind_session FROM {KEY_TABLE} WHERE id = 1")).one()
    session = conn.execute(sa.text("SELECT public.congvu_rls_session()")).scalar() if bind_session else ""
    sig = hmac.new(bytes(key), f"|on|{session}".encode(), hashlib.sha256).hexdigest()
    conn.execute(sa.text("SELECT set_config('app.tenant_id', '', true), set_config('app.unscoped', 'on', true), "
                         "set_config('app.rls_sig', :sig, true)"), {"sig": sig})


def grant_app_role() -> None:
    """(Re-)grant the app role its rights; run at the end of every revision that adds tables."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = os.environ.get("CONGVU_DB_APP_ROLE", "congvu_app")
    for stmt in grant_statements(role):
        op.execute(stmt)
