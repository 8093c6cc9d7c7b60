"""job_runs.request_id, client_ip: where the request that started a job came from

A job's audit events say "job" and name who asked for it; a worker that runs it later has
no request of its own, so its events carried no address and no request id. The run keeps
those of the request that submitted it, and the job's events carry them: an inspector
follows a recalculation's writes back to the click (and its log lines) that started it.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('job_runs', sa.Column('request_id', sa.String(length=128), nullable=True))
    op.add_column('job_runs', sa.Column('client_ip', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('client_ip')
        batch_op.drop_column('request_id')
