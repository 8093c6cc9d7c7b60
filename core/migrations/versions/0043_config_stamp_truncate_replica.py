"""tenants.config_stamp also moves on TRUNCATE and under session_replication_role = replica

Migration 0039's triggers move a tenant's stamp on every row written to closed_periods,
calendar_days, work_settings and webhook_subscriptions; processes keep what they read of
those tables while the stamp holds (core/tenants/config_cache.py). Two ways of writing
went round them on PostgreSQL, and left processes serving what was no longer there:

- TRUNCATE fires no row trigger. A statement-level AFTER TRUNCATE trigger on each table
  now moves the stamp of every tenant (a TRUNCATE has no rows to say whose it was).
- A bulk load run with `session_replication_role = replica` (pg_restore
  --disable-triggers, logical replication, a hand-run load) fires only triggers enabled
  ALWAYS. The four row triggers and the TRUNCATE ones are made ALWAYS.

The closed-month guard of migration 0042 stays enabled for origin sessions only: a
replica-mode load is how a restore writes history back, closed months included.

SQLite has neither TRUNCATE nor replication roles (its `DELETE FROM t` fires row triggers):
nothing to do there.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 12:00:00

"""
from alembic import op

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None

TABLES = ("closed_periods", "calendar_days", "work_settings", "webhook_subscriptions")

PG_NEW_STAMP = "(floor(random() * 4611686018427387903))::bigint + 1"

# SECURITY DEFINER, as 0039's: whoever may truncate the table need not update tenants.
PG_BUMP_ALL = f"""
CREATE FUNCTION public.congvu_config_stamp_all() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE tenants SET config_stamp = {PG_NEW_STAMP};
    RETURN NULL;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_BUMP_ALL)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_config_stamp_truncate AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION public.congvu_config_stamp_all()")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_config_stamp_truncate")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_config_stamp")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_config_stamp")
        op.execute(f"DROP TRIGGER {table}_config_stamp_truncate ON {table}")
    op.execute("DROP FUNCTION public.congvu_config_stamp_all()")
