"""leaders and deputies: a deputy's field in charge, the evaluator's leadership score

deputy_fields holds each deputy's units or people over dates, so a deputy (cấp phó) is
scored on their field rather than as staff; general_scores.leadership is the
leadership and organisation criterion the evaluator scores for a head or deputy.

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

from core.tenancy.migration import apply_rls, grant_app_role

revision = '0024'
down_revision = '0021'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('deputy_fields',
    sa.Column('id', BIG, nullable=False),
    sa.Column('deputy_id', BIG, nullable=False),
    sa.Column('unit_id', BIG, nullable=True),
    sa.Column('member_id', BIG, nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.CheckConstraint('(unit_id IS NULL) <> (member_id IS NULL)', name=op.f('ck_deputy_fields_unit_or_member')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_deputy_fields_dates_ordered')),
    sa.ForeignKeyConstraint(['deputy_id'], ['employees.id'], name=op.f('fk_deputy_fields_deputy_id_employees')),
    sa.ForeignKeyConstraint(['member_id'], ['employees.id'], name=op.f('fk_deputy_fields_member_id_employees')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_deputy_fields_unit_id_org_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_deputy_fields_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deputy_fields'))
    )
    with op.batch_alter_table('deputy_fields', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deputy_fields_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deputy_fields_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deputy_fields_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_deputy_fields_tenant_deputy', ['tenant_id', 'deputy_id'], unique=False)
    with op.batch_alter_table('general_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leadership', sa.Numeric(5, 2), nullable=True))
    apply_rls(["deputy_fields"])
    grant_app_role()


def downgrade():
    with op.batch_alter_table('general_scores', schema=None) as batch_op:
        batch_op.drop_column('leadership')
    op.drop_table('deputy_fields')
