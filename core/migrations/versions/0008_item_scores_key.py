"""item_scores: keyed by (tenant_id, work_item_id), two indexes instead of four

A full recalculation writes one row per item — 8.8 million for a province's month —
and each index costs every row a write. The surrogate id (read by nothing) and its
index go; the unique (tenant_id, work_item_id) becomes the primary key; the per-person
index goes too, since per-person reads reach their rows through work_items' own
(employee_id, work_date) index and this primary key.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 17:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_item_scores_tenant_employee_date')
        batch_op.drop_constraint('uq_item_scores_tenant_id_work_item_id', type_='unique')
        batch_op.drop_constraint('pk_item_scores', type_='primary')
        batch_op.drop_column('id')
        batch_op.create_primary_key('pk_item_scores', ['tenant_id', 'work_item_id'])


def downgrade():
    with op.batch_alter_table('item_scores', schema=None) as batch_op:
        batch_op.drop_constraint('pk_item_scores', type_='primary')
        batch_op.add_column(sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(),
                                      nullable=False))
        batch_op.create_primary_key('pk_item_scores', ['id'])
        batch_op.create_unique_constraint('uq_item_scores_tenant_id_work_item_id', ['tenant_id', 'work_item_id'])
        batch_op.create_index('ix_item_scores_tenant_employee_date', ['tenant_id', 'employee_id', 'work_date'],
                              unique=False)
