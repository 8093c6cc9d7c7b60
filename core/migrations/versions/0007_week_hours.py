"""week_hours: credited hours per person and ISO week of a month, for the heat map

The province dashboard's workload heat map (unit × week, hours per person per working
day) read every completed item of the month: 8 million at 50,000 people. The scoring
engine now keeps this per-person, per-week sum, so the heat map is one GROUP BY over
a few rows per person.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 17:00:00

"""
import sqlalchemy as sa
from alembic import op

from core.tenancy.migration import apply_rls, grant_app_role

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('week_hours',
    sa.Column('id', BIG, nullable=False),
    sa.Column('employee_id', BIG, nullable=False),
    sa.Column('unit_id', BIG, nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Float(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_week_hours_employee_id_employees')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_week_hours_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_week_hours_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_week_hours')),
    sa.UniqueConstraint('tenant_id', 'employee_id', 'period', 'week_start',
                        name=op.f('uq_week_hours_tenant_id_employee_id_period_week_start'))
    )
    with op.batch_alter_table('week_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_week_hours_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_week_hours_tenant_period', ['tenant_id', 'period'], unique=False)
    apply_rls(["week_hours"])
    grant_app_role()


def downgrade():
    with op.batch_alter_table('week_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_week_hours_tenant_period')
        batch_op.drop_index(batch_op.f('ix_week_hours_tenant_id'))
    op.drop_table('week_hours')
