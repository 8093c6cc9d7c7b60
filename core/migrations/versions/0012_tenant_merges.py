"""tenant_merges: the tenant mergers whose people a tenant scores, in that tenant

Scoring read each merger's record from the closing `tenant.merged` event of the
source's audit chain: a query per merged tenant, outside the tenant's scope, and after
a chain of mergers (A into B, then B into C) C found only B's. The row is written with
the merger in the target and moves with its tenant when that tenant merges on, so a
tenant's rows are every merger its people went through. Filled here from the audit
events of the mergers already committed (those whose event names the people who moved),
each in the tenant its people are in now.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 20:30:00

"""
from datetime import date

import sqlalchemy as sa
from alembic import op

import core.timeutil
from core.tenancy.migration import apply_rls, grant_app_role

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('tenant_merges',
    sa.Column('id', BIG, nullable=False),
    sa.Column('source_tenant_id', BIG, nullable=False),
    sa.Column('into_tenant_id', BIG, nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('moved_employees', sa.JSON(), nullable=False),
    sa.Column('committed_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', BIG, nullable=False),
    sa.ForeignKeyConstraint(['into_tenant_id'], ['tenants.id'], name=op.f('fk_tenant_merges_into_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['source_tenant_id'], ['tenants.id'],
                            name=op.f('fk_tenant_merges_source_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_merges_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_merges'))
    )
    with op.batch_alter_table('tenant_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenant_merges_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_tenant_merges_tenant_source', ['tenant_id', 'source_tenant_id'], unique=True)
    apply_rls(["tenant_merges"])
    grant_app_role()
    backfill(op.get_bind())


def backfill(conn) -> int:
    """A row per merged tenant whose last `tenant.merged` event names the people who
    moved, in the tenant at the end of its chain of mergers. Returns the rows written."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Every tenant's rows: the migration runs outside any tenant (RLS would hide them
        # from an owner without BYPASSRLS); for this transaction only.
        conn.execute(sa.text("SELECT set_config('app.unscoped', 'on', true)"))
    tenants = sa.table('tenants', sa.column('id', BIG), sa.column('merged_into_id', BIG))
    events = sa.table('audit_events', sa.column('tenant_id', BIG), sa.column('action', sa.String),
                      sa.column('seq', BIG), sa.column('at', core.timeutil.UTCDateTime(timezone=True)),
                      sa.column('after', sa.JSON))
    merges = sa.table('tenant_merges', sa.column('tenant_id', BIG), sa.column('source_tenant_id', BIG),
                      sa.column('into_tenant_id', BIG), sa.column('effective_date', sa.Date),
                      sa.column('moved_employees', sa.JSON),
                      sa.column('committed_at', core.timeutil.UTCDateTime(timezone=True)))
    into = dict(conn.execute(sa.select(tenants.c.id, tenants.c.merged_into_id)
                             .where(tenants.c.merged_into_id.is_not(None))).all())
    done = set(conn.execute(sa.select(merges.c.source_tenant_id)).scalars())
    rows = []
    for source, target in sorted(into.items()):
        if source in done:
            continue
        last = conn.execute(sa.select(events.c.after, events.c.at)
                            .where(events.c.tenant_id == source, events.c.action == 'tenant.merged',
                                   events.c.seq.is_not(None))
                            .order_by(events.c.seq.desc()).limit(1)).first()
        if last is None or not last.after or 'moved_employees' not in last.after:
            continue
        now, seen = target, {source}
        while now in into and now not in seen:  # the tenant its people are in today
            seen.add(now)
            now = into[now]
        rows.append({"tenant_id": now, "source_tenant_id": source, "into_tenant_id": target,
                     "effective_date": date.fromisoformat(last.after["effective_date"]),
                     "moved_employees": last.after["moved_employees"], "committed_at": last.at})
    if rows:
        conn.execute(merges.insert(), rows)
    if postgres:
        conn.execute(sa.text("SELECT set_config('app.unscoped', '', true)"))
    return len(rows)


def downgrade():
    with op.batch_alter_table('tenant_merges', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_merges_tenant_source')
        batch_op.drop_index(batch_op.f('ix_tenant_merges_tenant_id'))
    op.drop_table('tenant_merges')
