"""congvu_audit_head: take a tenant's audit chain lock and read its head in one statement

Revision ID: 0035
Revises: 0037
Create Date: 2026-12-06 22:30:00

"""
from alembic import op

revision = '0035'
down_revision = '0037'
branch_labels = None
depends_on = None

# PL/pgSQL, VOLATILE: under READ COMMITTED the head is read with a snapshot taken after
# the lock is granted, so it includes the event of the transaction that held it last.
# (One SQL statement that locked and read would read with the snapshot of its start.)
# SECURITY INVOKER (the default): row-level security applies to the read as to any other.
FUNCTION = """
CREATE FUNCTION public.congvu_audit_head(tid bigint, OUT seq bigint, OUT hash varchar)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7350, CAST(tid AS integer));
    RETURN QUERY SELECT e.seq, e.hash FROM audit_events e WHERE e.tenant_id = tid
        ORDER BY e.seq DESC LIMIT 1;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION public.congvu_audit_head(bigint)")
