"""Writing many rows at once: PostgreSQL COPY, batched INSERTs elsewhere.

PostgreSQL refuses COPY FROM into a table under row-level security, so on PostgreSQL
rows are copied into a temporary table and moved with one INSERT … SELECT, which the
tenant policy checks like any other insert. Runs in the session's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Table, insert

from core.extensions import db

BATCH = 5000


def copy_rows(table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert `rows` (tuples in the order of `columns`) into `table`; returns the count.
    On PostgreSQL the COPY holds the connection while `rows` is read: a generator that
    queries the database itself would wait forever (and hold up DROP DATABASE server-wide),
    so pass rows already computed."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return _copy_postgresql(conn, table.name, tuple(columns), rows)
    count, batch = 0, []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == BATCH:
            conn.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _copy_postgresql(conn, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    quoted = ", ".join(f'"{c}"' for c in columns)
    stage = f"_load_{table}"
    conn.exec_driver_sql(f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" (LIKE "{table}" INCLUDING DEFAULTS) '
                         f"ON COMMIT DROP")
    count = 0
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{stage}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    conn.exec_driver_sql(f'INSERT INTO "{table}" ({quoted}) SELECT {quoted} FROM "{stage}"')
    conn.exec_driver_sql(f'TRUNCATE "{stage}"')
    return count
