"""the signatory of an evaluation decision: name, title and e-mail as at the decision

The leaders' decision is taken by the level above through the Sở Nội vụ login, which may
have no staff record; the decision then names the procedure's configured signatory, and a
signed upload is verified against that name.

Revision ID: 0031
Revises: 0036
Create Date: 2026-12-06 22:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evaluation_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decider_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decider_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decider_email', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('evaluation_decisions', schema=None) as batch_op:
        batch_op.drop_column('decider_email')
        batch_op.drop_column('decider_title')
        batch_op.drop_column('decider_name')
