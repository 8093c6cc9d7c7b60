"""work_items: five indexes instead of nine

Every index costs each inserted, imported or merged item a write. The single-column
indexes on tenant_id (the composites lead with it), norm_version_id and assigned_by_id
(no query reads by them) go; (employee_id, work_date) replaces both employee_id and
(tenant_id, employee_id, work_date), since employee ids are global.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 16:50:00

"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index('ix_work_items_employee_date', ['employee_id', 'work_date'], unique=False)
        batch_op.drop_index('ix_work_items_tenant_employee_date')
        batch_op.drop_index(batch_op.f('ix_work_items_employee_id'))
        batch_op.drop_index(batch_op.f('ix_work_items_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_work_items_norm_version_id'))
        batch_op.drop_index(batch_op.f('ix_work_items_assigned_by_id'))


def downgrade():
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_items_assigned_by_id'), ['assigned_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_norm_version_id'), ['norm_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index('ix_work_items_tenant_employee_date', ['tenant_id', 'employee_id', 'work_date'],
                              unique=False)
        batch_op.drop_index('ix_work_items_employee_date')
