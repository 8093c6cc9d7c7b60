"""unit_week_hours: week_hours summed per unit, for the heat map

The province dashboard's workload heat map grouped every person's week rows of the
month (250,000 at 50,000 people: 45–90 ms of PostgreSQL time per request, more under
load). The engine now keeps the per-unit sum beside them (about 10,000 rows a month),
so the heat map reads one row per unit and week. Filled here from the week_hours
already stored, so the heat map shows the same hours right after the upgrade.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 20:10:00

"""
import sqlalchemy as sa
from alembic import op

from core.tenancy.migration import apply_rls, grant_app_role

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('unit_week_hours',
    sa.Column('tenant_id', BIG, nullable=False),
    sa.Column('id', BIG, nullable=False),
    sa.Column('unit_id', BIG, nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Float(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_week_hours')),
    sa.UniqueConstraint('tenant_id', 'period', 'unit_id', 'week_start',
                        name=op.f('uq_unit_week_hours_tenant_id_period_unit_id_week_start'))
    )
    apply_rls(["unit_week_hours"])
    grant_app_role()
    if op.get_bind().dialect.name == "postgresql":
        # Every tenant's rows: the migration runs outside any tenant (RLS would hide them
        # from an owner without BYPASSRLS); for this transaction only.
        op.execute("SELECT set_config('app.unscoped', 'on', true)")
    op.execute("INSERT INTO unit_week_hours (tenant_id, period, unit_id, week_start, minutes, items) "
               "SELECT tenant_id, period, unit_id, week_start, sum(minutes), sum(items) FROM week_hours "
               "GROUP BY tenant_id, period, unit_id, week_start")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.unscoped', '', true)")


def downgrade():
    op.drop_table('unit_week_hours')
