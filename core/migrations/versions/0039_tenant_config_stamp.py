"""tenants.config_stamp: changes whenever the tenant's closed months, calendar, work settings
or webhook subscriptions change, so a process may keep what it read of them

Every work-item write reads those four (is the month closed, which days are working days,
the reporting window, who hears the change): four statements of a change's eleven, for
data that changes a few times a year. The request already reads the tenant's row; its
stamp names the version of that configuration, and core/tenants/config_cache.py keeps
what was read per (tenant, stamp) in the process. The stamp is set by the database
(triggers), not by the app, so no writer — a page, a job, an import, a merger, a hand-run
SQL fix — can change the configuration and leave the stamp behind. A random 62-bit value
rather than a counter: a tenant deleted and made again (tests wipe and reuse ids) never
meets the stamps an earlier one was cached under. NULL: nothing is cached (a database made
without these triggers, e.g. `db.create_all()` in a plugin's tests, never gets a stamp).

A later migration that recreates one of these tables on SQLite (batch_alter_table) drops
its triggers and must create them again (`create_sqlite_triggers`).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 08:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

TABLES = ("closed_periods", "calendar_days", "work_settings", "webhook_subscriptions")

PG_NEW_STAMP = "(floor(random() * 4611686018427387903))::bigint + 1"
SQLITE_NEW_STAMP = "(abs(random()) % 4611686018427387903) + 1"

# SECURITY DEFINER: the app role need not be allowed to update tenants for its writes of
# the configuration to move the stamp.
PG_BUMP = f"""
CREATE FUNCTION public.congvu_config_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE tenants SET config_stamp = {PG_NEW_STAMP} WHERE id = OLD.tenant_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE tenants SET config_stamp = {PG_NEW_STAMP} WHERE id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END
$$
"""

PG_FIRST = f"""
CREATE FUNCTION public.congvu_first_config_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.config_stamp := {PG_NEW_STAMP};
    RETURN NEW;
END
$$
"""


def create_sqlite_triggers(table: str) -> None:
    for op_name, where in (("insert", "id = NEW.tenant_id"), ("update", "id IN (OLD.tenant_id, NEW.tenant_id)"),
                           ("delete", "id = OLD.tenant_id")):
        op.execute(f"CREATE TRIGGER {table}_config_stamp_{op_name} AFTER {op_name.upper()} ON {table} "
                   f"BEGIN UPDATE tenants SET config_stamp = {SQLITE_NEW_STAMP} WHERE {where}; END")


def upgrade():
    op.add_column('tenants', sa.Column('config_stamp', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE tenants SET config_stamp = {PG_NEW_STAMP}")
        op.execute(PG_BUMP)
        op.execute(PG_FIRST)
        op.execute("CREATE TRIGGER tenants_config_stamp BEFORE INSERT ON tenants "
                   "FOR EACH ROW EXECUTE FUNCTION public.congvu_first_config_stamp()")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_config_stamp AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION public.congvu_config_stamp()")
    else:
        op.execute(f"UPDATE tenants SET config_stamp = {SQLITE_NEW_STAMP}")
        op.execute("CREATE TRIGGER tenants_config_stamp AFTER INSERT ON tenants "
                   f"BEGIN UPDATE tenants SET config_stamp = {SQLITE_NEW_STAMP} WHERE id = NEW.id; END")
        for table in TABLES:
            create_sqlite_triggers(table)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_config_stamp ON {table}")
        op.execute("DROP TRIGGER tenants_config_stamp ON tenants")
        op.execute("DROP FUNCTION public.congvu_config_stamp()")
        op.execute("DROP FUNCTION public.congvu_first_config_stamp()")
    else:
        for table in TABLES:
            for op_name in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_config_stamp_{op_name}")
        op.execute("DROP TRIGGER tenants_config_stamp")
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('config_stamp')
