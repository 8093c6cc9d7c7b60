"""component_choices.version and scoring_stamps: adopted versions, and what each stamp meant

A tenant's choice records the version it adopted; each month's stamp keeps its
settings, titles, descriptions and labels.

Revision ID: 0037
Revises: 0032
Create Date: 2026-12-06 22:10:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0037'
down_revision = '0032'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('component_choices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.String(length=40), nullable=True))
    op.create_table('scoring_stamps',
    sa.Column('id', BIG, nullable=False),
    sa.Column('variant_key', sa.String(length=100), nullable=False),
    sa.Column('variant_version', sa.String(length=40), nullable=False),
    sa.Column('settings_hash', sa.String(length=64), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('item_components', sa.JSON(), nullable=False),
    sa.Column('title_vi', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description_vi', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('created_at', core.timeutil.UTCDateTime(), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scoring_stamps_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_stamps')),
    sa.UniqueConstraint('tenant_id', 'variant_key', 'variant_version', 'settings_hash',
                        name='uq_scoring_stamps_stamp')
    )
    with op.batch_alter_table('scoring_stamps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_stamps_tenant_id'), ['tenant_id'], unique=False)
    apply_rls(["scoring_stamps"])
    grant_app_role()


def downgrade():
    op.drop_table('scoring_stamps')
    with op.batch_alter_table('component_choices', schema=None) as batch_op:
        batch_op.drop_column('version')
