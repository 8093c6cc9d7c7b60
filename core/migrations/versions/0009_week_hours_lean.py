"""week_hours: no foreign keys, no single-column tenant index

Derived data rewritten by every full recalculation (a row per person and ISO week:
250,000 for a province's month). The three foreign-key checks per row cost more than
the aggregate itself (0.74 s of 2.5 s for 25,000 rows, EXPLAIN ANALYZE); item_scores
dropped its own for the same reason. The tenant index is covered by the others.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 17:50:00

"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('week_hours', schema=None) as batch_op:
        batch_op.drop_constraint('fk_week_hours_employee_id_employees', type_='foreignkey')
        batch_op.drop_constraint('fk_week_hours_unit_id_org_units', type_='foreignkey')
        batch_op.drop_constraint('fk_week_hours_tenant_id_tenants', type_='foreignkey')
        batch_op.drop_index('ix_week_hours_tenant_id')


def downgrade():
    with op.batch_alter_table('week_hours', schema=None) as batch_op:
        batch_op.create_index('ix_week_hours_tenant_id', ['tenant_id'], unique=False)
        batch_op.create_foreign_key('fk_week_hours_tenant_id_tenants', 'tenants', ['tenant_id'], ['id'],
                                    ondelete='RESTRICT')
        batch_op.create_foreign_key('fk_week_hours_unit_id_org_units', 'org_units', ['unit_id'], ['id'])
        batch_op.create_foreign_key('fk_week_hours_employee_id_employees', 'employees', ['employee_id'], ['id'])
