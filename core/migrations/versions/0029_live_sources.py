"""live_sources: another system's API pulled on a schedule by a live connector

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 20:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('live_sources',
    sa.Column('id', BIG, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('connector', sa.String(length=100), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('every_minutes', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.String(length=500), nullable=True),
    sa.Column('next_run_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_run_id', sa.String(length=36), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_live_sources_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_sources'))
    )
    with op.batch_alter_table('live_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_sources_tenant_id'), ['tenant_id'], unique=False)
    apply_rls(["live_sources"])
    grant_app_role()


def downgrade():
    op.drop_table('live_sources')
