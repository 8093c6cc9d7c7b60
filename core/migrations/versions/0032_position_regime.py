"""job_positions.regime: the legal regime of whoever holds a post when none is recorded
for the person — an elected office (a commune People's Committee chair, say) is held by a
cán bộ, not a công chức, and is evaluated under other rules. Null: công chức, as before.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 22:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_positions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('regime', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('job_positions', schema=None) as batch_op:
        batch_op.drop_column('regime')
