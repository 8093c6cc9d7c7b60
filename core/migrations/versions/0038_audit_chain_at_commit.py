"""audit_events chained by PostgreSQL at commit: content_hash, and a deferred trigger

An event's `content_hash` (SHA-256 of its content, computed by the app) is written with
the event; its seq, prev_hash and hash are filled in at COMMIT by a deferred constraint
trigger that takes the tenant's chain lock and reads the head. The lock is then held
only while the server commits, never across a round trip to the app: one tenant's
writes no longer queue behind each other's requests. The trigger reports the new head
as a NOTICE, which the app signs into a checkpoint after the commit. Events the app
chained itself (SQLite, sealed events) arrive with a seq and are left alone.

Revision ID: 0038
Revises: 0035
Create Date: 2026-12-07 02:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0035'
branch_labels = None
depends_on = None

# The head of the tenant's chain, ignoring this transaction's own events not yet chained.
HEAD = """
CREATE OR REPLACE FUNCTION public.congvu_audit_head(tid bigint, OUT seq bigint, OUT hash varchar)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7350, CAST(tid AS integer));
    RETURN QUERY SELECT e.seq, e.hash FROM audit_events e WHERE e.tenant_id = tid AND e.seq IS NOT NULL
        ORDER BY e.seq DESC LIMIT 1;
END
$$
"""

# SECURITY DEFINER: the app role may only append to audit_events; filling in the chain
# fields of an event of this transaction, once, is the owner's. Row-level security
# still applies (FORCE): an event outside the transaction's tenant is refused, loudly.
CHAIN = """
CREATE FUNCTION public.congvu_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash varchar;
    new_hash varchar;
    n integer;
BEGIN
    IF NEW.seq IS NOT NULL THEN
        RETURN NULL;  -- chained by the app (SQLite's way, or a sealed event)
    END IF;
    IF NEW.content_hash IS NULL THEN
        RAISE EXCEPTION 'audit event % has neither a seq nor a content hash', NEW.id;
    END IF;
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM public.congvu_audit_head(NEW.tenant_id) h;
    head_seq := coalesce(head_seq, 0) + 1;
    head_hash := coalesce(head_hash, repeat('0', 64));
    new_hash := encode(sha256(convert_to(head_hash || ':' || head_seq::text || ':' || NEW.content_hash, 'UTF8')), 'hex');
    UPDATE audit_events SET seq = head_seq, prev_hash = head_hash, hash = new_hash
        WHERE id = NEW.id AND seq IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> 1 THEN
        RAISE EXCEPTION 'audit event % of tenant % could not be chained (outside this transaction''s tenant)',
            NEW.id, NEW.tenant_id;
    END IF;
    RAISE NOTICE 'congvu-audit-head % % %', NEW.tenant_id, head_seq, new_hash;
    RETURN NULL;
END
$$
"""

TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_events_chain AFTER INSERT ON audit_events
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.congvu_audit_chain()
"""

OLD_HEAD = """
CREATE OR REPLACE FUNCTION public.congvu_audit_head(tid bigint, OUT seq bigint, OUT hash varchar)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7350, CAST(tid AS integer));
    RETURN QUERY SELECT e.seq, e.hash FROM audit_events e WHERE e.tenant_id = tid
        ORDER BY e.seq DESC LIMIT 1;
END
$$
"""


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(HEAD)
        op.execute(CHAIN)
        op.execute(TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_chain ON audit_events")
        op.execute("DROP FUNCTION public.congvu_audit_chain()")
        op.execute(OLD_HEAD)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('content_hash')
