"""What migration 0042's closed-month guard costs a bulk write on PostgreSQL.

`python -m bench.closed_month_guard` (CONGVU_BENCH_PG, default the local server as
postgres): a scratch database with only `closed_periods` (24 closed months) and a
two-column `work_items`, one INSERT … SELECT of a million rows in open months, best of
three, without the trigger, with it, and with the pass a merger takes. The trigger and
its function are the migration's own.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import psycopg

DSN = os.environ.get("CONGVU_BENCH_PG", "host=127.0.0.1 user=postgres")
NAME = "congvu_bench_closed_guard"
ROWS = 1_000_000
PASS = "SELECT set_config('congvu.allow_closed', 'on', true)"
MIGRATION = Path(__file__).resolve().parents[1] / "core/migrations/versions/0042_closed_month_guard.py"


def _migration():
    spec = importlib.util.spec_from_file_location("closed_month_guard", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _best(conn: psycopg.Connection, before: str = "") -> float:
    times = []
    for _ in range(3):
        with conn.transaction():
            if before:
                conn.execute(before)
            started = time.perf_counter()
            conn.execute(f"INSERT INTO work_items SELECT 1, '2026-01-01'::date + (i % 300) "
                         f"FROM generate_series(1, {ROWS}) i")
            times.append(time.perf_counter() - started)
            conn.execute("TRUNCATE work_items")
    return min(times)


def main() -> None:
    guard = _migration()
    with psycopg.connect(f"{DSN} dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
        admin.execute(f"CREATE DATABASE {NAME}")
        try:
            with psycopg.connect(f"{DSN} dbname={NAME}", autocommit=True) as conn:
                conn.execute("CREATE TABLE closed_periods (tenant_id bigint, period varchar(7), "
                             "UNIQUE (tenant_id, period))")
                conn.execute("CREATE TABLE work_items (tenant_id bigint, work_date date)")
                conn.execute("INSERT INTO closed_periods SELECT 1, to_char(d, 'YYYY-MM') "
                             "FROM generate_series('2024-01-01'::date, '2025-12-01', '1 month') d")
                print(f"no trigger:          {_best(conn):.2f} s for {ROWS:,} rows")
                conn.execute(guard._pg_function("work_items"))
                for event in guard.EVENTS:
                    conn.execute(guard._pg_trigger("work_items", event))
                print(f"guard:               {_best(conn):.2f} s")
                with_pass = _best(conn, PASS)
                print(f"guard, pass set:     {with_pass:.2f} s")
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
