"""session_generation on users and operators; usernames and names stored as NFC

A logout raises the login's session generation, which is part of every session id's
stamp (core/auth/services.py: password_stamp): each session of that login ends at its
next request. Stored usernames, employee and unit names written with combining marks
(NFD) are rewritten as NFC, the form every write now stores (core/auth/normalize.py), so
logins and searches typed either way find them. A username whose NFC form another login
of the tenant already has is left as it is and reported (the two need a person).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 16:30:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_CHUNK = 1000


def upgrade():
    for table in ('users', 'operators'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    normalise(op.get_bind())


def downgrade():
    for table in ('operators', 'users'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('session_generation')


def normalise(conn) -> dict[str, int]:
    """Rewrite non-NFC values as NFC; returns the rows changed per table.column."""
    if conn.dialect.name == 'postgresql':
        # Every tenant's rows, for this transaction only (as migration 0012 does).
        conn.execute(sa.text("SELECT set_config('app.unscoped', 'on', true)"))
    changed = {}
    for table, column, scope in (('users', 'username', 'tenant_id'), ('operators', 'username', None),
                                 ('employees', 'full_name', None), ('org_units', 'name', None)):
        cols = [sa.column('id', BIG), sa.column(column, sa.String)] + ([sa.column(scope, BIG)] if scope else [])
        t = sa.table(table, *cols)
        rows = conn.execute(sa.select(*t.c)).all()
        taken = {(getattr(r, scope) if scope else None, getattr(r, column)) for r in rows} if column == 'username' else set()
        updates = []
        for row in rows:
            value = getattr(row, column)
            fixed = unicodedata.normalize('NFC', value) if value else value
            if fixed == value:
                continue
            key = (getattr(row, scope) if scope else None, fixed)
            if key in taken:
                print(f"0014: {table}.{column} of id {row.id} left as it is: its NFC form is another login's")
                continue
            taken.add(key)
            updates.append({'row_id': row.id, 'value': fixed})
        stmt = sa.update(t).where(t.c.id == sa.bindparam('row_id')).values({column: sa.bindparam('value')})
        for start in range(0, len(updates), _CHUNK):
            conn.execute(stmt, updates[start:start + _CHUNK])
        changed[f"{table}.{column}"] = len(updates)
    return changed
