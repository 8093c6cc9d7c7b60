"""audit_events.actor: 200 characters

A job's events name the person who asked for it and the job ("user:N:login via job
<uuid>", core/audit/services.py): with a login of up to 100 characters that is up to
about 170. Widening a varchar is a catalogue change on PostgreSQL (no table rewrite);
stored events, and so their hashes, are untouched.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('actor', existing_type=sa.String(length=120), type_=sa.String(length=200),
                              existing_nullable=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('actor', existing_type=sa.String(length=200), type_=sa.String(length=120),
                              existing_nullable=False)
