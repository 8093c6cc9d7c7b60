"""The audit chain's lock is keyed by the whole 64-bit tenant id

`congvu_audit_head` (0035, 0038) took `pg_advisory_xact_lock(7350, CAST(tid AS integer))`:
a tenant id beyond 2^31 - 1 cannot be cast, so that tenant's every audited write failed
at commit ("integer out of range"), and a 32-bit key cannot tell apart ids that differ
by 2^32. The lock is now `pg_advisory_xact_lock(tid)`, the one-bigint form, whose key
space PostgreSQL keeps apart from the two-integer keys (7350-7352, core/scoring/locks.py):
the single-key space is the audit chain's alone, one key per tenant id, exactly.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 18:30:00

"""
from alembic import op

revision = '0047'
down_revision = '0046'
branch_labels = None
depends_on = None

_HEAD = """
CREATE OR REPLACE FUNCTION public.congvu_audit_head(tid bigint, OUT seq bigint, OUT hash varchar)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM {lock};
    RETURN QUERY SELECT e.seq, e.hash FROM audit_events e WHERE e.tenant_id = tid AND e.seq IS NOT NULL
        ORDER BY e.seq DESC LIMIT 1;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_HEAD.format(lock="pg_advisory_xact_lock(tid)"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_HEAD.format(lock="pg_advisory_xact_lock(7350, CAST(tid AS integer))"))
