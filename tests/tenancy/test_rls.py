"""PostgreSQL row-level security: the database itself keeps tenants apart."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from core.extensions import db
from core.tenancy import rls, tenant_tables
from tests.conftest import OPS_ROLE
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
    with clean_app.app_context(), engine.begin() as conn:
        rls.apply(conn, a.tenant_id)
        tenants = conn.execute(text("SELECT DISTINCT tenant_id FROM employees")).scalars().all()
        assert tenants == [a.tenant_id]
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 6
    # SET LOCAL died with the transaction: a new one on the same pooled connection sees nothing.
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM employees")).scalar() == 0


def test_writing_into_another_tenant_is_refused_by_the_database(clean_app, pg):
    engine, a, b = pg
    with clean_app.app_context(), engine.connect() as conn, pytest.raises(ProgrammingError, match="row-level security"):
        rls.apply(conn, a.tenant_id)
        conn.execute(text("INSERT INTO job_positions (tenant_id, code, name, \"group\") VALUES (:b, 'X', 'X', 'support')"),
                     {"b": b.tenant_id})


def test_app_role_cannot_change_or_delete_audit_events(clean_app, pg):
    engine, a, _ = pg
    for statement in ("UPDATE audit_events SET actor = 'forged'", "DELETE FROM audit_events"):
        with clean_app.app_context(), engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            rls.apply(conn, a.tenant_id)
            conn.execute(text(statement))


# --- The app role cannot switch row-level security off (issue 17, item 4) -------------------
# Each attempt below is SQL the app role may run (what an injection could send); none may
# show a row of tenant b. `_rows_of` counts b's rows in every tenant table in one statement.

def _rows_of(conn, tenant_id: int) -> int:
    tables = tenant_tables(db.metadata)
    union = " + ".join(f'(SELECT count(*) FROM "{t}" WHERE tenant_id = :t)' for t in tables)
    return conn.execute(text(f"SELECT {union}"), {"t": tenant_id}).scalar()


def _own_signature(clean_app, conn, tenant_id: int | None = None, unscoped: bool = False) -> str:
    with clean_app.app_context():
        rls.apply(conn, tenant_id, unscoped=unscoped)
    return conn.execute(text("SELECT current_setting('app.rls_sig')")).scalar()


ATTEMPTS = {
    "unscoped on": ["SELECT set_config('app.unscoped', 'on', true)"],
    "unscoped on, session-wide": ["SELECT set_config('app.unscoped', 'on', false)"],
    "SET unscoped": ["SET app.unscoped = 'on'"],
    "tenant b": ["SELECT set_config('app.tenant_id', ':b', true)"],
    "tenant b, session-wide": ["SELECT set_config('app.tenant_id', ':b', false)"],
    "SET LOCAL tenant b": ["SET LOCAL app.tenant_id = ':b'"],
    "tenant b and unscoped": ["SELECT set_config('app.tenant_id', ':b', true), set_config('app.unscoped', 'on', true)"],
    "RESET ALL then unscoped": ["RESET ALL", "SELECT set_config('app.unscoped', 'on', true)"],
    "RESET the signature": ["RESET app.rls_sig", "SELECT set_config('app.tenant_id', ':b', true)"],
    "DISCARD TEMP then tenant b": ["DISCARD TEMP", "SELECT set_config('app.tenant_id', ':b', false)"],
    "a signature made up": ["SELECT set_config('app.tenant_id', ':b', true), set_config('app.rls_sig', "
                            "encode(sha256(convert_to(':b|off|' || public.congvu_rls_session(), 'UTF8')), 'hex'), true)"],
}


@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_no_setting_the_app_role_may_change_reveals_another_tenant(clean_app, pg, attempt):
    engine, a, b = pg
    with engine.connect() as conn:
        # The app signed tenant a for this transaction, as it does for a request of a's.
        _own_signature(clean_app, conn, a.tenant_id)
        assert _rows_of(conn, a.tenant_id) > 0 and _rows_of(conn, b.tenant_id) == 0
        for statement in ATTEMPTS[attempt]:
            conn.execute(text(statement.replace(":b", str(b.tenant_id))))
        assert _rows_of(conn, b.tenant_id) == 0
        conn.commit()
        # Session-wide values outlive the transaction: the next one sees no more.
        assert _rows_of(conn, b.tenant_id) == 0
        assert _rows_of(conn, a.tenant_id) == 0


def test_a_signature_is_worth_nothing_in_another_session(clean_app, pg):
    """Another session's signature (pg_stat_activity shows other sessions' statements) or
    this session's signature for other settings reveals nothing."""
    engine, a, b = pg
    with engine.connect() as other, engine.connect() as conn:
        stolen = _own_signature(clean_app, other, b.tenant_id)
        assert _rows_of(other, b.tenant_id) > 0  # genuine where it was made
        stolen_unscoped = _own_signature(clean_app, other.execution_options(), None, unscoped=True)
        mine = _own_signature(clean_app, conn, a.tenant_id)
        for tid, uns, sig in ((b.tenant_id, "off", stolen), ("", "on", stolen_unscoped),
                              (b.tenant_id, "off", mine), ("", "on", mine), (a.tenant_id, "on", mine)):
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true), set_config('app.unscoped', :u, true), "
                              "set_config('app.rls_sig', :s, true)"), {"t": str(tid), "u": uns, "s": sig})
            assert _rows_of(conn, b.tenant_id) == 0, (tid, uns)


def _key(backend) -> bytes:
    owner = create_engine(backend.owner_url)
    with owner.connect() as conn:
        key = bytes(conn.execute(text("SELECT key FROM congvu_rls.keys")).scalar())
    owner.dispose()
    return key


def test_the_app_role_cannot_reach_the_key_become_another_role_or_change_the_rules(clean_app, pg):
    engine, a, _ = pg
    refused = [
        "SELECT key FROM congvu_rls.keys",
        "SET ROLE postgres",
        f"SET ROLE {OPS_ROLE}",  # the role that may read the key
        "SET SESSION AUTHORIZATION postgres",
        "ALTER TABLE employees DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE employees NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON employees",
        "CREATE OR REPLACE FUNCTION public.congvu_rls_tenant() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'",
        "CREATE OR REPLACE FUNCTION public.congvu_rls_scope() RETURNS int8range LANGUAGE sql "
        "AS 'SELECT int8range(NULL, NULL)'",
        "UPDATE congvu_rls.keys SET previous_key = key",
        "CREATE FUNCTION public.sha256(bytea) RETURNS bytea LANGUAGE sql AS 'SELECT $1'",
        "ALTER ROLE congvu_app BYPASSRLS",
    ]
    with engine.connect() as conn:
        for statement in refused:
            with pytest.raises(DBAPIError, match="permission denied|must be owner|must be superuser"):
                conn.execute(text(statement))
            conn.rollback()


def test_every_policy_checks_the_signature_with_one_call(clean_app, pg):
    """Migration 0036: one InitPlan per tenant table, the same predicate for reading and
    writing, on every tenant table."""
    engine, a, _ = pg
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tablename, qual, with_check FROM pg_policies WHERE policyname = :p"),
                            {"p": rls.POLICY}).all()
        assert {r.tablename for r in rows} == set(tenant_tables(db.metadata))
        assert {(r.qual, r.with_check) for r in rows} == {
            ("(tenant_id <@ ( SELECT congvu_rls_scope() AS congvu_rls_scope))",) * 2}
        _own_signature(clean_app, conn, a.tenant_id)
        assert conn.execute(text("SELECT public.congvu_rls_scope()")).scalar().lower == a.tenant_id
        plan = "\n".join(conn.execute(text("EXPLAIN SELECT count(*) FROM employees")).scalars())
        assert plan.count("InitPlan") == 1, plan


def test_signatures_hold_in_the_database_and_the_unscoped_one_crosses_tenants(clean_app, pg):
    """The positive side: what the app signs, the policies accept (the operator's paths)."""
    engine, a, b = pg
    with engine.connect() as conn:
        session = conn.execute(text(rls.SESSION_SQL)).scalar()
        assert conn.execute(text("SELECT public.congvu_rls_session()")).scalar() == session
        _own_signature(clean_app, conn, unscoped=True)
        assert _rows_of(conn, a.tenant_id) > 0 and _rows_of(conn, b.tenant_id) > 0
        employees = conn.execute(text("SELECT count(*) FROM employees")).scalar()
        assert employees == 2 * conn.execute(text("SELECT count(*) FROM employees WHERE tenant_id = :t"),
                                             {"t": a.tenant_id}).scalar()


def test_the_key_is_read_through_the_ops_url_only(clean_app, backend, pg):
    """An app given only the app role's URL cannot sign and says so; the ops role can."""
    from core import create_app

    app = create_app({"TESTING": True, "CONGVU_DATABASE_URL": backend.app_url,
                      "CONGVU_DATABASE_OWNER_URL": None, "CONGVU_DATABASE_OPS_URL": None,
                      "CONGVU_INSTANCE_PATH": clean_app.config["CONGVU_INSTANCE_PATH"]})
    with app.app_context(), pytest.raises(RuntimeError, match="CONGVU_DATABASE_OPS_URL"):
        rls.signing_key()
    key = _key(backend)
    app.config["CONGVU_DATABASE_OPS_URL"] = backend.ops_url  # congvu_ops: may read the key, nothing else
    with app.app_context():
        assert rls.signing_key() == key and len(key) == 32
    ops = create_engine(backend.ops_url)
    with ops.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("SELECT count(*) FROM employees"))  # the key is all the ops role may read
    ops.dispose()


def test_signatures_unbound_from_the_session_for_pgbouncer(clean_app, backend, pg):
    """With bind_session false (PgBouncer in transaction mode, set by the owner) the app's
    signatures still hold on any session, and settings without one still reveal nothing."""
    engine, a, b = pg
    owner = create_engine(backend.owner_url)
    with owner.begin() as conn:
        conn.execute(text("UPDATE congvu_rls.keys SET bind_session = false"))
    clean_app.extensions["congvu_rls"].pop("key", None)
    try:
        with engine.connect() as one, engine.connect() as two:
            sig = _own_signature(clean_app, one, a.tenant_id)
            assert _rows_of(one, a.tenant_id) > 0
            two.execute(text("SELECT set_config('app.tenant_id', :t, true), set_config('app.unscoped', 'off', true), "
                             "set_config('app.rls_sig', :s, true)"), {"t": str(a.tenant_id), "s": sig})
            assert _rows_of(two, a.tenant_id) == _rows_of(one, a.tenant_id)  # the same signature, another session
            two.execute(text("SELECT set_config('app.tenant_id', :t, true), set_config('app.unscoped', 'on', true)"),
                        {"t": str(b.tenant_id)})
            assert _rows_of(two, b.tenant_id) == 0
    finally:
        with owner.begin() as conn:
            conn.execute(text("UPDATE congvu_rls.keys SET bind_session = true"))
        owner.dispose()
        clean_app.extensions["congvu_rls"].pop("key", None)


def test_a_data_migration_after_0020_can_still_go_unscoped(clean_app, backend, pg):
    """`unscoped_in_migration()` signs "unscoped" as the owner (whom FORCE RLS binds too);
    the raw set_config that migrations 0011–0014 used would no longer be accepted."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from core.tenancy.migration import unscoped_in_migration

    owner = create_engine(backend.owner_url)
    with owner.connect() as conn:
        conn.execute(text("SELECT set_config('app.unscoped', 'on', true)"))
        assert conn.execute(text("SELECT public.congvu_rls_unscoped()")).scalar() is False
        with Operations.context(MigrationContext.configure(conn)):
            unscoped_in_migration()
        assert conn.execute(text("SELECT public.congvu_rls_unscoped()")).scalar() is True
        conn.rollback()
    owner.dispose()
