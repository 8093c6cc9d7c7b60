"""Baselines measured in the same run as each benchmark figure, so a figure reads as a
ratio to what the machine does with no application in the way (issue 10):

- `bare_endpoint`: a bare Flask JSON endpoint (`bare_app` below) served by the same
  gunicorn with deploy/gunicorn.conf.py, under the same open-loop load (bench.load);
  for the morning spike.
- `bare_copy`: COPY of as many rows, of the same shape (real rows, sent as bytes),
  into a temporary table with no index, constraint, trigger or row-level security; for
  `congvu generate` and any bulk writer.
- `bare_copy_csv`: COPY of a CSV file's bytes, as is, into a temporary table of text
  columns — the floor of importing that file; for the imports.
- `bare_group_by` lives in bench/scoring.py (a SQL GROUP BY over the month's items).

    ratio(figure_seconds, baseline_seconds)  ->  e.g. 4.2 (×)

Every function takes the owner's URL of the benchmark's own database (or a port) and
returns seconds (or a load summary); none writes to the application's tables.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, jsonify, request

from bench.common import start_gunicorn, stop_server

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- a bare Flask endpoint

bare_app = Flask("congvu-bench-bare")


@bare_app.get("/healthz")
def _health():
    return jsonify(status="ok")


@bare_app.route("/bare", methods=["GET", "POST"])
def _bare():
    """Parses the JSON body (if any) and answers a small JSON document: what any JSON
    API endpoint does before it touches a database."""
    body = request.get_json(silent=True) or {}
    return jsonify(id=1, received=len(body), status="planned"), 201 if request.method == "POST" else 200


def start_bare_server(port: int, workers: int = 0, threads: int = 0) -> subprocess.Popen:
    """gunicorn -c deploy/gunicorn.conf.py bench.baselines:bare_app on 127.0.0.1:`port`."""
    server = start_gunicorn("bench.baselines:bare_app", port, dict(os.environ), workers, threads)
    if server is None:
        raise RuntimeError("the bare gunicorn did not start")
    return server


def bare_endpoint(port: int, total: int, rate: float, method: str = "POST", workers: int = 0, threads: int = 0,
                  client_processes: int = 2, client_threads: int = 32) -> dict:
    """The load summary (bench.load.Result.summary) of `total` requests at `rate` per
    second to the bare endpoint, on the same gunicorn configuration as the app. Pass the
    app run's workers, threads and client settings so only the application differs."""
    from bench import load

    body = {"task_type_code": "TT001", "work_date": "2026-10-14", "quantity": 2, "complexity_level": 2,
            "priority": 1} if method == "POST" else None

    def factory(_i: int):
        return method, "/bare", body, None

    server = start_bare_server(port, workers, threads)
    try:
        result = load.run(f"http://127.0.0.1:{port}", factory, total, rate, client_processes, client_threads)
    finally:
        stop_server(server)
    return result.summary()


# ---------------------------------------------------------------- bare COPY


def _driver_connection(owner_url: str):
    import psycopg

    return psycopg.connect(owner_url.replace("postgresql+psycopg://", "postgresql://", 1))


def bare_copy(owner_url: str, table: str, columns: Sequence[str] | None, rows: int, sample: int = 2000) -> float:
    """Seconds to COPY `rows` rows of `table`'s shape into a bare temporary copy of it.

    The rows are real ones: a sample of `table` (all its columns when `columns` is
    None), read first in COPY's text format (not timed) and sent again and again as
    bytes, so no Python runs per row. The temporary table (LIKE `table`: column types
    and NOT NULL only) has no index, key, foreign key, trigger or policy, and is not
    WAL-logged: what COPY costs the database with nothing else to do."""
    with _driver_connection(owner_url) as conn:
        if columns is None:
            cursor = conn.execute(f'SELECT * FROM "{table}" LIMIT 0')
            columns = [d.name for d in cursor.description]
        quoted = ", ".join(f'"{c}"' for c in columns)
        lines: list[bytes] = []
        with conn.cursor().copy(f'COPY (SELECT {quoted} FROM "{table}" LIMIT {int(sample)}) TO STDOUT') as out:
            for block in out:
                lines.append(bytes(block))
        picked = b"".join(lines).splitlines(keepends=True)
        if not picked:
            raise RuntimeError(f"{table} is empty: nothing to take a sample of")
        conn.execute(f'CREATE TEMP TABLE "_bare_{table}" (LIKE "{table}")')
        whole, rest = divmod(rows, len(picked))
        block = b"".join(picked)
        began = time.perf_counter()
        with conn.cursor().copy(f'COPY "_bare_{table}" ({quoted}) FROM STDIN') as copy:
            for _ in range(whole):
                copy.write(block)
            copy.write(b"".join(picked[:rest]))
        conn.commit()
        elapsed = time.perf_counter() - began
    return elapsed


def bare_copy_csv(owner_url: str, path: str | Path, header: bool = True) -> float:
    """Seconds to COPY a CSV file's bytes, as is, into a temporary table of text
    columns (as many as the file's first line has): no parsing beyond CSV, no checks."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        width = len(next(csv.reader(fh)))
    columns = ", ".join(f"c{i} text" for i in range(width))
    with _driver_connection(owner_url) as conn:
        conn.execute(f"CREATE TEMP TABLE _bare_csv ({columns})")
        began = time.perf_counter()
        with conn.cursor().copy(f"COPY _bare_csv FROM STDIN WITH (FORMAT csv{', HEADER true' if header else ''})") \
                as copy, open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        elapsed = time.perf_counter() - began
    return elapsed


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, rounded for a table (None when either is missing or zero)."""
    if not value or not baseline:
        return None
    return round(value / baseline, 1)


def main() -> None:
    """`python -m bench.baselines`: the bare endpoint's load summary alone, as JSON."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m bench.baselines", description=bare_endpoint.__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--total", type=int, default=3600)
    p.add_argument("--rate", type=float, default=300)
    p.add_argument("--method", choices=("GET", "POST"), default="POST")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--client-processes", type=int, default=2)
    p.add_argument("--client-threads", type=int, default=48)
    a = p.parse_args()
    print(json.dumps(bare_endpoint(a.port, a.total, a.rate, a.method, a.workers, a.threads, a.client_processes,
                                   a.client_threads)))


if __name__ == "__main__":
    main()
