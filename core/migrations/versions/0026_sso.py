"""sso_configs: each tenant's OpenID Connect provider for single sign-on

The client secret is stored encrypted (core/sso/crypto.py) under a key kept out of the
database. One row per tenant; a tenant table, so row-level security applies.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('sso_configs',
    sa.Column('id', BIG, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret_enc', sa.Text(), nullable=False),
    sa.Column('claim', sa.String(length=64), nullable=False),
    sa.Column('maps_to', sa.String(length=16), nullable=False),
    sa.Column('sso_only', sa.Boolean(), nullable=False),
    sa.Column('break_glass_username', sa.String(length=100), nullable=True),
    sa.Column('jit_create', sa.Boolean(), nullable=False),
    sa.Column('updated_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sso_configs_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_configs')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_sso_configs_tenant_id'))
    )
    with op.batch_alter_table('sso_configs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_configs_tenant_id'), ['tenant_id'], unique=False)
    apply_rls(["sso_configs"])
    grant_app_role()


def downgrade():
    op.drop_table('sso_configs')
