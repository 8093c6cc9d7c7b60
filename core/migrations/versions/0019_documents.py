"""documents: a tenant's own DOCX templates and the classification decisions issued for signing

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 16:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('document_templates',
    sa.Column('id', BIG, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_b64', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_document_templates_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_templates')),
    sa.UniqueConstraint('tenant_id', 'kind', name=op.f('uq_document_templates_tenant_id_kind'))
    )
    with op.batch_alter_table('document_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_templates_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('issued_decisions',
    sa.Column('id', BIG, nullable=False),
    sa.Column('agency_id', BIG, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('decider_id', BIG, nullable=True),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('issued_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('signed_pdf_b64', sa.Text(), nullable=True),
    sa.Column('signer_subject', sa.Text(), nullable=True),
    sa.Column('signer_id', BIG, nullable=True),
    sa.Column('signed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=200), nullable=True),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['org_units.id'], name=op.f('fk_issued_decisions_agency_id_org_units')),
    sa.ForeignKeyConstraint(['decider_id'], ['employees.id'], name=op.f('fk_issued_decisions_decider_id_employees')),
    sa.ForeignKeyConstraint(['signer_id'], ['employees.id'], name=op.f('fk_issued_decisions_signer_id_employees')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_issued_decisions_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_decisions'))
    )
    with op.batch_alter_table('issued_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_decisions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_issued_decisions_tenant_agency_year', ['tenant_id', 'agency_id', 'year'], unique=False)
    apply_rls(["document_templates", "issued_decisions"])
    grant_app_role()


def downgrade():
    op.drop_table('issued_decisions')
    op.drop_table('document_templates')
