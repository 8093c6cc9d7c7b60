"""row-level security: one signature check per tenant table a statement reads, and key rotation

Migration 0020's policies called `congvu_rls_unscoped()` and `congvu_rls_tenant()`, two
InitPlans per tenant table a statement reads, and the second called
`congvu_rls_signed()`: three PL/pgSQL calls, each switching search_path, for one answer.
Now one SECURITY DEFINER function, `congvu_rls_scope()`, reads the settings, checks the
signature and returns the tenants the transaction may see as a range, and the policies
test `tenant_id <@ (SELECT public.congvu_rls_scope())`: one call per table a statement
reads. What is accepted is unchanged (the same message, key and session binding).

The key table gains the previous key, accepted beside the current one while processes
that read it before a rotation still run (`congvu rls rotate-key`, docs/security.md), and
a log of rotations that only the owner reads.

Revision ID: 0036
Revises: 0022
Create Date: 2026-12-06 22:10:00

"""
import importlib.util
from pathlib import Path

from alembic import op

from core.tenancy.rls import (
    _PREDICATE,
    KEY_SCHEMA,
    KEY_TABLE,
    LEGACY_PREDICATE,
    POLICY,
    SIGNED_0020_PREDICATE,
    enable_statements,
)

revision = '0036'
down_revision = '0022'
branch_labels = None
depends_on = None

SESSION_EXPR = ("pg_backend_pid()::text || ':' || coalesce(inet_client_port(), 0)::text || ':' || "
                "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text")

# The HMAC is 0020's (RFC 2104 from the stored pads). Nothing set — the state of every
# transaction outside a tenant — returns before the key is read. The previous key is
# tried only when the current one fails, so a signer on the current key pays one HMAC.
# PL/pgSQL (plans kept per session), search_path pinned, PARALLEL RESTRICTED (the session
# differs in a parallel worker; an InitPlan runs in the leader).
FUNCTIONS = f"""
CREATE FUNCTION public.congvu_rls_scope() RETURNS int8range
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tid text := coalesce(current_setting('app.tenant_id', true), '');
  uns text := coalesce(current_setting('app.unscoped', true), '');
  sig text := coalesce(current_setting('app.rls_sig', true), '');
  k record;
  msg bytea;
BEGIN
  IF uns <> 'on' AND tid = '' THEN
    RETURN NULL;
  END IF;
  SELECT ikey, okey, bind_session, previous_ikey, previous_okey INTO k FROM {KEY_TABLE} WHERE id = 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  msg := convert_to(tid || '|' || uns || '|' || CASE WHEN k.bind_session THEN {SESSION_EXPR} ELSE '' END, 'UTF8');
  IF encode(sha256(k.okey || sha256(k.ikey || msg)), 'hex') = sig
     OR (k.previous_ikey IS NOT NULL
         AND encode(sha256(k.previous_okey || sha256(k.previous_ikey || msg)), 'hex') = sig) THEN
    IF uns = 'on' THEN
      RETURN int8range(NULL, NULL);
    END IF;
    IF tid <> '' THEN
      RETURN int8range(tid::bigint, tid::bigint, '[]');
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.congvu_rls_tenant() RETURNS bigint
LANGUAGE sql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN NOT lower_inf(r) THEN lower(r) END FROM (SELECT public.congvu_rls_scope() AS r) s
$$;

CREATE OR REPLACE FUNCTION public.congvu_rls_unscoped() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(lower_inf(r) AND upper_inf(r), false) FROM (SELECT public.congvu_rls_scope() AS r) s
$$;
"""


def _functions_of_0020() -> str:
    spec = importlib.util.spec_from_file_location("rls_0020", Path(__file__).with_name("0020_rls_signed_settings.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FUNCTIONS


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
        return  # SQLite has no row-level security
    op.execute(f"ALTER TABLE {KEY_TABLE} ADD COLUMN previous_key bytea, ADD COLUMN previous_ikey bytea, "
               "ADD COLUMN previous_okey bytea, ADD COLUMN rotated_at timestamptz")
    op.execute(f"CREATE TABLE {KEY_SCHEMA}.rotations (id serial PRIMARY KEY, "
               "at timestamptz NOT NULL DEFAULT now(), action text NOT NULL, actor text NOT NULL, "
               "fingerprint text NOT NULL)")
    conn.exec_driver_sql(FUNCTIONS)
    _recreate(_PREDICATE)
    op.execute("DROP FUNCTION public.congvu_rls_signed(text, text, text, text)")


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    _recreate(LEGACY_PREDICATE)  # no policy depends on a function while they are swapped
    for name in ("congvu_rls_scope()", "congvu_rls_unscoped()", "congvu_rls_tenant()", "congvu_rls_session()"):
        op.execute(f"DROP FUNCTION IF EXISTS public.{name}")
    conn.exec_driver_sql(_functions_of_0020())
    _recreate(SIGNED_0020_PREDICATE)
    op.execute(f"DROP TABLE {KEY_SCHEMA}.rotations")
    op.execute(f"ALTER TABLE {KEY_TABLE} DROP COLUMN previous_key, DROP COLUMN previous_ikey, "
               "DROP COLUMN previous_okey, DROP COLUMN rotated_at")
