"""What every import writer shares: the base class, bulk writes through COPY on
PostgreSQL, and the shape of a row's error."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from core.extensions import db
from core.tenants.models import Tenant

BATCH = 5000
STAGED_BATCH = 20_000  # rows per COPY-and-merge chunk on PostgreSQL

RowError = dict[str, Any]

class Writer(ABC):
    """Checks rows against the tenant's data and writes them in batches. After the
    first error (``failed``) it keeps checking but stops writing: the transaction will
    be rolled back anyway. Each target (staff, catalogue, work items) has its own."""

    def __init__(self, tenant: Tenant, dry_run: bool = False):
        self.tenant = tenant
        self.tid = tenant.id
        self.dry_run = dry_run  # a writer may count instead of writing; the transaction is rolled back anyway
        self.conn = db.session.connection()
        self.failed = False
        self.new = self.updated = self.unchanged = 0

    @abstractmethod
    def add(self, row: int, values: dict[str, Any]) -> list[RowError]:
        """Check one row (its number in the file, its converted values); its errors."""

    def check(self, row: int, values: dict[str, Any], failed: tuple[str, ...] = ()) -> list[RowError]:
        """Check what converted of a row with errors (``values`` may lack any field; the
        columns in ``failed`` did not convert) against the tenant's data, writing nothing:
        its other errors are then reported in the same run. A writer without references
        to check has none."""
        return []

    def finish(self) -> list[RowError]:
        return []

    def close(self) -> None:  # noqa: B027 - a hook: only writers with a helper thread override it
        """Stop any helper (always called, also when the import fails half-way)."""


def _pg_bulk(conn, staging: str, shape_sql: str, columns: tuple[str, ...], rows: list[tuple], merge_sql: str,
             params: dict) -> int:
    """Many rows into PostgreSQL in one statement: COPY them into a temporary table (the
    fastest way in; COPY itself cannot write to a table under row-level security) and
    run ``merge_sql`` from it, which RLS checks as usual. Returns its row count."""
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS {shape_sql}")
    conn.exec_driver_sql(f"TRUNCATE {staging}")
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {staging} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return conn.exec_driver_sql(merge_sql, params).rowcount


def _err(row: int, column: str | None, message: str) -> RowError:
    return {"row": row, "column": column, "message": message}
