"""scoring_marks: a person's month waiting to be re-scored beside the request

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('scoring_marks',
    sa.Column('id', BIG, nullable=False),
    sa.Column('employee_id', BIG, nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('marked_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scoring_marks_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_marks'))
    )
    with op.batch_alter_table('scoring_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_marks_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_scoring_marks_tenant_period_employee', ['tenant_id', 'period', 'employee_id'],
                              unique=False)
    apply_rls(["scoring_marks"])
    grant_app_role()


def downgrade():
    op.drop_table('scoring_marks')
