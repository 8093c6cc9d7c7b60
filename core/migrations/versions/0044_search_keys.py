"""employees.search_key, users.search_key: names, codes and logins without marks, stored

Searches typed without Vietnamese marks ("nguyen van" for "Nguyễn Văn", "dang" for
"Đặng") matched by folding every row in Python, reading a whole province's staff for one
page. Each row now keeps its folded text (core/auth/normalize.py `search_key`), written
with the name, and a search is one `LIKE '%term%'` in SQL, paged there.

The keys of existing rows are computed here in Python, 1,000 rows a statement (keyset by
id, executemany): SQLite's lower() leaves "Đ" and "Ă" as they are and neither database
has unaccent by default, so SQL could only approximate the fold with a hand-kept letter
map, and a key that differs from what the app computes for the same name would hide the
row from searches. Task types already kept theirs (search_text); it is recomputed too, as
a merger's prefixed codes had left it with the old code.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07 11:40:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_CHUNK = 1000


def upgrade():
    op.add_column('employees', sa.Column('search_key', sa.String(length=300), server_default='', nullable=False))
    op.add_column('users', sa.Column('search_key', sa.String(length=100), server_default='', nullable=False))
    conn = op.get_bind()
    backfill(conn, 'employees', 'search_key', ('full_name', 'code'), 300, _key)
    backfill(conn, 'users', 'search_key', ('username',), 100, _key)
    backfill(conn, 'task_types', 'search_text', ('code', 'name'), 400, _task_type_text)


def downgrade():
    for table in ('users', 'employees'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('search_key')


# The app's folding as of this revision (core/auth/normalize.py, core/catalogue/services.py):
# copied, so that a later change there does not change what this migration wrote.
def _term(text):
    text = unicodedata.normalize('NFD', unicodedata.normalize('NFC', text or '').lower().replace('đ', 'd'))
    return ' '.join(''.join(c for c in text if not unicodedata.combining(c)).split())


def _key(*fields):
    return '\n'.join(_term(f) for f in fields if f)


def _task_type_text(code, name):
    text = f"{code} {name}".replace('đ', 'd').replace('Đ', 'D')
    return ''.join(c for c in unicodedata.normalize('NFD', text) if not unicodedata.combining(c)).lower().strip()


def backfill(conn, table, column, sources, length, fold) -> int:
    """Write `column` of every row from its `sources`, a chunk of ids at a time; returns the
    rows written. Runs as the owner, whom row-level security does not limit."""
    t = sa.table(table, sa.column('id', BIG), sa.column(column, sa.String), *(sa.column(s, sa.String) for s in sources))
    stmt = sa.update(t).where(t.c.id == sa.bindparam('row_id')).values({column: sa.bindparam('value')})
    last, written = 0, 0
    while True:
        rows = conn.execute(sa.select(t.c.id, t.c[column], *(t.c[s] for s in sources))
                            .where(t.c.id > last).order_by(t.c.id).limit(_CHUNK)).all()
        if not rows:
            return written
        changes = [{'row_id': r[0], 'value': value} for r in rows
                   if (value := fold(*r[2:])[:length]) != r[1]]
        if changes:
            conn.execute(stmt, changes)
        written += len(changes)
        last = rows[-1][0]
