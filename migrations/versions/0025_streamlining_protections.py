"""employees: the dated facts that exclude a person from streamlining (Decree 154/2025)

The streamlining report listed every KHT person (and, as an option, the lowest N % of
totals) without asking whether the law lets them be streamlined at all: a pregnant
woman, someone on maternity leave, raising a child under 36 months or under a pending
discipline review may not be. Each fact is a pair of dates on the employee (an open end
means it still holds); the child is dated by the youngest child's birth.

Revision ID: 0025
Revises: 0015
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0015'
branch_labels = None
depends_on = None

COLUMNS = ("pregnant_from", "pregnant_to", "maternity_leave_from", "maternity_leave_to",
           "youngest_child_born_on", "discipline_review_from", "discipline_review_to")


def upgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
