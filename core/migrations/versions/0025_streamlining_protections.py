"""employees: the dated facts that exclude a person from streamlining (Decree 154/2025);
org_units and bonus_runs: the bonus fund belongs to a paying unit (Decree 73/2024)

The streamlining report listed every KHT person (and, as an option, the lowest N % of
totals) without asking whether the law lets them be streamlined at all: a pregnant
woman, someone on maternity leave, raising a child under 36 months or under a pending
discipline review may not be. Each fact is a pair of dates on the employee (an open end
means it still holds); the child is dated by the youngest child's birth.

The bonus fund is the paying unit's (đơn vị dự toán: an agency or a commune), not the
province's: units carry the flag, and a run records the paying unit it shared (null: the
whole tenant, as every run before) and the share set aside for ad-hoc bonuses.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

COLUMNS = ("pregnant_from", "pregnant_to", "maternity_leave_from", "maternity_leave_to",
           "youngest_child_born_on", "discipline_review_from", "discipline_review_to")


def upgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_paying_unit', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('bonus_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paying_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('adhoc_percent', sa.Numeric(5, 2), nullable=True))
        batch_op.add_column(sa.Column('adhoc_reserve', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key('fk_bonus_runs_paying_unit_id_org_units', 'org_units', ['paying_unit_id'], ['id'])


def downgrade():
    with op.batch_alter_table('bonus_runs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_bonus_runs_paying_unit_id_org_units', type_='foreignkey')
        for name in ('adhoc_reserve', 'adhoc_percent', 'paying_unit_id'):
            batch_op.drop_column(name)
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.drop_column('is_paying_unit')
    with op.batch_alter_table('employees', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
