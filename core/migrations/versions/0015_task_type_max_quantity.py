"""task_types.max_quantity: the most one work item of the type may declare

A quantity of 99999 was accepted for one day's item (a typo read as 100,005 hours of
work) because nothing bounded it but the API's technical ceiling. Each task type now
carries its own ceiling, editable through the catalogue; existing types get the default.

Revision ID: 0015
Revises: 0019
Create Date: 2026-12-06 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_quantity', sa.Numeric(12, 2), nullable=False, server_default='100'))


def downgrade():
    with op.batch_alter_table('task_types', schema=None) as batch_op:
        batch_op.drop_column('max_quantity')
