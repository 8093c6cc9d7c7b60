"""audit_events.via, client_ip, request_id: how and from where an event was made

`via` names the channel ("page", "api" or "api:token:<id>", "cli", "job", "system"),
`client_ip` the request's remote address as the app sees it (behind the trusted proxy,
the client's), `request_id` the id the request's log lines carry. All three are NULL for
the events written before them: their content hash covers the three only when they are
set, so every existing chain verifies unchanged. Plain ADD COLUMN on both databases (no
table rebuild): the chain trigger, the grants and SQLite's triggers stay as they are.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('via', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('client_ip', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('request_id', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('request_id')
        batch_op.drop_column('client_ip')
        batch_op.drop_column('via')
