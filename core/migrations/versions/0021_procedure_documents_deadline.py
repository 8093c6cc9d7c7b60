"""procedure ↔ documents and the deadline: who decided and the signature on a decision,
the procedure decision an issued PDF was made from, an agency's late-work override

A procedure decision's document names the person who took the decision step and is signed
by them; the signed state lives on the decision so the evaluation page shows it. After the
tenant's deadline an agency's evaluation moves on only under an override with a reason.

Revision ID: 0021
Revises: 0015
Create Date: 2026-12-06 19:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil

revision = '0021'
down_revision = '0015'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('evaluation_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decider_id', BIG, nullable=True))
        batch_op.add_column(sa.Column('signed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('signed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('signer_id', BIG, nullable=True))
        batch_op.add_column(sa.Column('signer_subject', sa.Text(), nullable=True))
    with op.batch_alter_table('issued_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_id', BIG, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_issued_decisions_decision_id_evaluation_decisions'),
                                    'evaluation_decisions', ['decision_id'], ['id'])
    with op.batch_alter_table('agency_evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('late_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('late_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('agency_evaluations', schema=None) as batch_op:
        batch_op.drop_column('late_at')
        batch_op.drop_column('late_by')
        batch_op.drop_column('late_reason')
    with op.batch_alter_table('issued_decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_issued_decisions_decision_id_evaluation_decisions'),
                                 type_='foreignkey')
        batch_op.drop_column('decision_id')
    with op.batch_alter_table('evaluation_decisions', schema=None) as batch_op:
        batch_op.drop_column('signer_subject')
        batch_op.drop_column('signer_id')
        batch_op.drop_column('signed_by')
        batch_op.drop_column('signed_at')
        batch_op.drop_column('decider_id')
