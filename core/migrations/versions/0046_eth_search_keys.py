"""Search keys fold the eth ð/Ð (U+00F0/U+00D0) to "d" like đ/Đ

Converters from the old Vietnamese encodings (TCVN3, VNI) and some keyboards write the
eth, which looks like Đ, for it: "Ðặng" was stored with the key "ðang" and no search
typed "dang" (or "Đặng") found it. The app's folding now maps both letters
(core/auth/normalize.py `D_LETTERS`); the keys of the rows whose sources hold one are
recomputed here, in Python, as 0044 did, and only those rows are read.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07 18:20:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_LETTERS = str.maketrans({'đ': 'd', 'Đ': 'D', 'ð': 'd', 'Ð': 'D'})


# The app's folding as of this revision (core/auth/normalize.py, core/catalogue/services.py),
# copied so that a later change there does not change what this migration wrote.
def _term(text):
    text = unicodedata.normalize('NFD', unicodedata.normalize('NFC', text or '').translate(_LETTERS).lower())
    return ' '.join(''.join(c for c in text if not unicodedata.combining(c)).split())


def _key(*fields):
    return '\n'.join(_term(f) for f in fields if f)


def _task_type_text(code, name):
    text = f"{code} {name}".translate(_LETTERS)
    return ''.join(c for c in unicodedata.normalize('NFD', text) if not unicodedata.combining(c)).lower().strip()


TARGETS = (('employees', 'search_key', ('full_name', 'code'), 300, _key),
           ('users', 'search_key', ('username',), 100, _key),
           ('task_types', 'search_text', ('code', 'name'), 400, _task_type_text))


def rekey(conn, table, column, sources, length, fold) -> int:
    """Rewrite `column` of the rows whose `sources` hold an eth; returns the rows written.
    Both cases are named: SQLite's LIKE folds the case of ASCII letters only. Runs as the
    owner, whom row-level security does not limit."""
    t = sa.table(table, sa.column('id', BIG), sa.column(column, sa.String), *(sa.column(s, sa.String) for s in sources))
    eth = sa.or_(*(t.c[s].like(f'%{letter}%') for s in sources for letter in ('ð', 'Ð')))
    rows = conn.execute(sa.select(t.c.id, t.c[column], *(t.c[s] for s in sources)).where(eth)).all()
    changes = [{'row_id': r[0], 'value': value} for r in rows if (value := fold(*r[2:])[:length]) != r[1]]
    if changes:
        conn.execute(sa.update(t).where(t.c.id == sa.bindparam('row_id')).values({column: sa.bindparam('value')}),
                     changes)
    return len(changes)


def upgrade():
    conn = op.get_bind()
    for target in TARGETS:
        rekey(conn, *target)


def downgrade():
    pass  # the keys stay folded; the older code searches them as it did (an eth is not typed into a search)
