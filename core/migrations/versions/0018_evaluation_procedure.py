"""evaluation procedure: legal regimes, the steps of a person's evaluation, agencies' runs and decisions

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-06 16:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0018'
down_revision = '0014'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TABLES = ["employee_regimes", "evaluation_steps", "agency_evaluations", "evaluation_decisions"]


def _tenant(name: str) -> list:
    return [sa.Column('tenant_id', BIG, nullable=False),
            sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{name}_tenant_id_tenants'),
                                    ondelete='RESTRICT'),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}'))]


def upgrade():
    moment = core.timeutil.UTCDateTime(timezone=True)
    op.create_table('employee_regimes',
    sa.Column('id', BIG, nullable=False),
    sa.Column('employee_id', BIG, nullable=False),
    sa.Column('regime', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_employee_regimes_employee_id_employees')),
    sa.UniqueConstraint('tenant_id', 'employee_id', 'valid_from',
                        name=op.f('uq_employee_regimes_tenant_id_employee_id_valid_from')),
    *_tenant('employee_regimes'))
    op.create_table('evaluation_steps',
    sa.Column('id', BIG, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('employee_id', BIG, nullable=False),
    sa.Column('agency_id', BIG, nullable=False),
    sa.Column('step', sa.String(length=12), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('actor_employee_id', BIG, nullable=True),
    sa.Column('at', moment, nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_evaluation_steps_employee_id_employees')),
    sa.ForeignKeyConstraint(['agency_id'], ['org_units.id'], name=op.f('fk_evaluation_steps_agency_id_org_units')),
    sa.UniqueConstraint('tenant_id', 'year', 'employee_id', 'step',
                        name=op.f('uq_evaluation_steps_tenant_id_year_employee_id_step')),
    *_tenant('evaluation_steps'))
    op.create_table('agency_evaluations',
    sa.Column('id', BIG, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('agency_id', BIG, nullable=False),
    sa.Column('months', sa.JSON(), nullable=False),
    sa.Column('counted_to', sa.Date(), nullable=False),
    sa.Column('opened_at', moment, nullable=False),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['org_units.id'], name=op.f('fk_agency_evaluations_agency_id_org_units')),
    sa.UniqueConstraint('tenant_id', 'year', 'agency_id', name=op.f('uq_agency_evaluations_tenant_id_year_agency_id')),
    *_tenant('agency_evaluations'))
    op.create_table('evaluation_decisions',
    sa.Column('id', BIG, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('agency_id', BIG, nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('confirmation', sa.String(length=300), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', moment, nullable=False),
    sa.Column('appeal_until', moment, nullable=False),
    sa.Column('reopened_by', sa.String(length=200), nullable=True),
    sa.Column('reopened_at', moment, nullable=True),
    sa.Column('reopen_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['org_units.id'], name=op.f('fk_evaluation_decisions_agency_id_org_units')),
    *_tenant('evaluation_decisions'))
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{name}_tenant_id'), ['tenant_id'], unique=False)
    with op.batch_alter_table('employee_regimes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employee_regimes_employee_id'), ['employee_id'], unique=False)
    with op.batch_alter_table('evaluation_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_steps_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index('ix_evaluation_steps_tenant_year_agency', ['tenant_id', 'year', 'agency_id'], unique=False)
    with op.batch_alter_table('evaluation_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_decisions_tenant_year_agency', ['tenant_id', 'year', 'agency_id'],
                              unique=False)
    apply_rls(TABLES)
    grant_app_role()


def downgrade():
    for name in reversed(TABLES):
        op.drop_table(name)
