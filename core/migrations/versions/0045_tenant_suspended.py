"""tenants.suspended_at, suspended_reason: the operator suspends a province

A hosted platform's operator must be able to stop a province's use of it (contract
ended, security incident) and give it back later, without losing anything. The status
column is a plain string (no CHECK), so "suspended" needs no change there; the date is
what the province's users are told, the reason what the operator's list shows.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tenants', sa.Column('suspended_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
    op.add_column('tenants', sa.Column('suspended_reason', sa.String(length=500), nullable=True))


def downgrade():
    # A province still suspended stays so (status is kept): the older code does not serve
    # it to anyone signing in, nor schedules it; only its date and reason are lost.
    # Not a batch (a copy of the table) on SQLite: the config-stamp triggers of 0039 name
    # `tenants` and would break on its rename; SQLite >= 3.35 drops a column in place.
    op.drop_column('tenants', 'suspended_reason')
    op.drop_column('tenants', 'suspended_at')
