"""row-level security trusts only settings signed with a key the app role cannot read

Before, the policies trusted `app.tenant_id` and `app.unscoped` as set, and any role may
set them: SQL run as the app role could read every tenant. Now each transaction's
settings carry `app.rls_sig`, HMAC-SHA256 of (tenant, unscoped, database session) under a
key in `congvu_rls.keys`, readable by the owner and the ops role only; the policies
accept the settings only when the signature checks. docs/security.md has the reasons.

Revision ID: 0020
Revises: 0029
Create Date: 2026-12-06 19:00:00

"""
import os
import secrets

import sqlalchemy as sa
from alembic import op

from core.tenancy.rls import KEY_SCHEMA, KEY_TABLE, LEGACY_PREDICATE, POLICY, SIGNED_0020_PREDICATE, enable_statements

revision = '0020'
down_revision = '0029'
branch_labels = None
depends_on = None

# This database session: backend pid, client port and server start. Cheap (no
# pg_stat_activity snapshot, which cost ~40 µs a call), and the same value for the
# invoker and the definer functions; a pid comes back only after its backend ended, and
# then rarely with the same client port.
SESSION_EXPR = ("pg_backend_pid()::text || ':' || coalesce(inet_client_port(), 0)::text || ':' || "
                "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text")

# HMAC's two hashes (RFC 2104) with the key's pads stored beside it, because PostgreSQL has
# sha256() but no XOR on bytea; Python signs with hmac.new(key, …) and gets the same digest.
# The message: tenant id, unscoped flag and this database session (pid,
# client port and server start), so a signature is worth nothing in any other session — unless the owner
# set bind_session false, for PgBouncer in transaction mode, where a client's transactions
# land on any server session (docs/operations.md). PL/pgSQL, whose plans are kept per
# session: SQL functions that cannot be inlined are planned at every call (~100 µs). Every function
# pins search_path (and is called schema-qualified) so no object the app role creates can
# stand in for one they call. PARALLEL RESTRICTED: the session differs in a parallel worker;
# the policies call them in InitPlans, run once per statement by the leader.
FUNCTIONS = f"""
CREATE FUNCTION public.congvu_rls_session() RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
  SELECT {SESSION_EXPR}
$$;

CREATE FUNCTION public.congvu_rls_signed(tid text, uns text, session text, sig text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  k record;
BEGIN
  SELECT ikey, okey, bind_session INTO k FROM {KEY_TABLE} WHERE id = 1;
  RETURN coalesce(encode(sha256(k.okey || sha256(k.ikey || convert_to(
           tid || '|' || uns || '|' || CASE WHEN k.bind_session THEN session ELSE '' END, 'UTF8'))), 'hex') = sig,
         false);
END
$$;

CREATE FUNCTION public.congvu_rls_tenant() RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tid text := coalesce(current_setting('app.tenant_id', true), '');
BEGIN
  IF tid <> '' AND public.congvu_rls_signed(tid, coalesce(current_setting('app.unscoped', true), ''),
                                            {SESSION_EXPR}, current_setting('app.rls_sig', true)) THEN
    RETURN tid::bigint;
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION public.congvu_rls_unscoped() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN coalesce(current_setting('app.unscoped', true), '') = 'on'
     AND public.congvu_rls_signed(coalesce(current_setting('app.tenant_id', true), ''), 'on',
                                  {SESSION_EXPR}, current_setting('app.rls_sig', true));
END
$$;
"""
FUNCTION_NAMES = ["congvu_rls_unscoped()", "congvu_rls_tenant()",
                  "congvu_rls_signed(text, text, text, text)", "congvu_rls_session()"]


def _policy_tables() -> list[str]:
    rows = op.get_bind().exec_driver_sql(
        f"SELECT tablename FROM pg_policies WHERE policyname = '{POLICY}' AND schemaname = 'public'")
    return sorted(r[0] for r in rows)


def _recreate(predicate: str) -> None:
    for table in _policy_tables():
        for stmt in enable_statements(table, predicate):
            op.execute(stmt)


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return  # SQLite has no row-level security; the ORM filter keeps tenants apart there
    # Nobody but the owner creates objects in public (PostgreSQL 15's default; older
    # versions let every role), so no role can plant a function the policies would find.
    op.execute("DO $$ BEGIN REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
               "EXCEPTION WHEN insufficient_privilege THEN RAISE WARNING 'could not revoke CREATE on public'; END $$")
    op.execute(f"CREATE SCHEMA {KEY_SCHEMA}")
    op.execute(f"REVOKE ALL ON SCHEMA {KEY_SCHEMA} FROM PUBLIC")
    op.execute(f"CREATE TABLE {KEY_TABLE} (id integer PRIMARY KEY CHECK (id = 1), key bytea NOT NULL, "
               "ikey bytea NOT NULL, okey bytea NOT NULL, bind_session boolean NOT NULL DEFAULT true, "
               "created_at timestamptz NOT NULL DEFAULT now())")
    key = secrets.token_bytes(32)
    padded = key.ljust(64, b"\0")
    conn.execute(sa.text(f"INSERT INTO {KEY_TABLE} (id, key, ikey, okey) VALUES (1, :k, :i, :o)"),
                 {"k": key, "i": bytes(b ^ 0x36 for b in padded), "o": bytes(b ^ 0x5C for b in padded)})
    conn.exec_driver_sql(FUNCTIONS)
    ops_role = os.environ.get("CONGVU_DB_OPS_ROLE", "congvu_ops")
    op.execute(f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ops_role}') THEN "
               f"GRANT USAGE ON SCHEMA {KEY_SCHEMA} TO {ops_role}; GRANT SELECT ON {KEY_TABLE} TO {ops_role}; "
               "END IF; END $$")
    _recreate(SIGNED_0020_PREDICATE)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _recreate(LEGACY_PREDICATE)
    for name in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS public.{name}")
    op.execute(f"DROP SCHEMA IF EXISTS {KEY_SCHEMA} CASCADE")
