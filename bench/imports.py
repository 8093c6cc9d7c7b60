"""Imports, measured end to end (`python -m bench.imports --help`).

1. A fresh PostgreSQL database (`congvu_bench_imports`) with a tenant, 20 units,
   5 positions and a 40-type catalogue, migrated as the owner.
2. Files as a province would send them: a staff roster xlsx (--staff rows, written by
   openpyxl) and a work-items CSV (--items rows) for those people.
3. `congvu import` as a separate process, connecting as the non-owner role (row-level
   security in force): staff first, then work items. Wall time and the process's peak
   memory (ru_maxrss) are measured for each; then the work-items file is imported
   again, which must change nothing.
4. The baseline, in the same run (bench/baselines.py): a bare COPY of each file's rows
   (the CSV as is; the roster's same rows written as CSV) into a temporary table of text
   columns, with nothing to parse, check or index. Each import's time is also given as
   a ratio to it.
5. The figures go to stdout (JSON) and to the imports section of docs/benchmarks.md.

Targets (issue 7): 50,000 staff rows ≤ 15 s, 1,000,000 work items ≤ 90 s, ≤ 500 MB each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.baselines import bare_copy_csv, ratio
from bench.common import replace_section
from core import unit_of_work

ROOT = Path(__file__).resolve().parent.parent
DB = "congvu_bench_imports"
SLUG = "bench-imports"
TARGETS = {"staff": (15.0, 500), "work_items": (90.0, 500)}
MARK_START, MARK_END = "<!-- imports:start -->", "<!-- imports:end -->"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.split("\n\n")[0])
    p.add_argument("--staff", type=int, default=50_000)
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--pg", default=os.environ.get("CONGVU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server as its owner")
    p.add_argument("--db", default=DB, help="the database to (re)create for the run")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    return p.parse_args()


def prepare(pg: str, name: str = DB) -> str:
    from sqlalchemy import create_engine, text

    from bench.seed import recreate_database
    from core import create_app
    from core.catalogue import services as catalogue
    from core.extensions import db
    from core.org import services as org
    from core.tenancy import tenant_context
    from core.tenants.services import create_tenant

    recreate_database(pg, name, "congvu_app")
    owner = f"{pg}/{name}"
    app = create_app({"CONGVU_DATABASE_URL": owner, "CONGVU_SECRET_KEY": "bench", "TESTING": True})
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        tenant, _ = create_tenant(SLUG, "Tỉnh nhập liệu")
        with tenant_context(tenant.id):
            for p in range(5):
                org.create_position({"code": f"VT{p}", "name": f"Vị trí {p}", "group": "professional"})
            agency = org.create_unit({"code": "UBND", "name": "UBND tỉnh", "kind": "agency"})
            for u in range(20):
                org.create_unit({"code": f"P{u:02d}", "name": f"Phòng {u}", "kind": "department",
                                 "parent_id": agency.id})
            for i in range(40):
                catalogue.create_task_type({
                    "code": f"TT{i:03d}", "name": f"Công việc {i}", "group": "ABCD"[i % 4], "unit_of_measure": "việc",
                    "norm_minutes": 30 + i, "product_weight": 1.0,
                    "complexity_levels": [{"level": 1, "coefficient": 0.8}, {"level": 2, "coefficient": 1.0}],
                    "position_codes": []})
        unit_of_work.commit()
        db.engine.dispose()
    engine = create_engine(owner)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    base = pg.split("://", 1)[1].split("@", 1)[1]
    return f"postgresql+psycopg://congvu_app@{base}/{name}"


STAFF_HEADER = ["code", "full_name", "unit_code", "position_code", "manager_code", "is_leader",
                "salary_coefficient", "start_date", "end_date", "username", "email", "roles"]


def staff_rows(n: int):
    for i in range(n):
        head = (i // 50) * 50  # a manager per 50 people
        yield [f"CB{i:06d}", f"Nguyễn Văn Cán Bộ {i}", f"P{i % 20:02d}", f"VT{i % 5}",
               "" if i == head else f"CB{head:06d}", 1 if i == head else 0, 2.34 + (i % 10) / 10,
               date(2020, 1, 1) + timedelta(days=i % 1500), None, f"cb{i:06d}" if i % 10 == 0 else None,
               None, "employee" if i % 10 == 0 else None]


def staff_file(path: Path, n: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Dữ liệu")
    sheet.append(STAFF_HEADER)
    for row in staff_rows(n):
        sheet.append(row)
    workbook.save(path)


def staff_csv(path: Path, n: int) -> None:
    """The roster's same rows as CSV: what the bare-COPY baseline of the staff import copies."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(STAFF_HEADER)
        writer.writerows(staff_rows(n))


def items_file(path: Path, n: int, staff: int) -> None:
    rng = random.Random(7)
    start = date(2026, 9, 1)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["external_id", "employee_code", "task_type_code", "title", "work_date", "quantity",
                         "complexity_level", "deadline", "declared_at", "completed_at", "reported_at", "status",
                         "failed_reviews", "missed_deadlines", "stars", "satisfaction", "role", "priority", "exempt"])
        for i in range(n):
            day = start + timedelta(days=i % 28)
            done = i % 4 != 0
            writer.writerow([f"EO-{i:08d}", f"CB{rng.randrange(staff):06d}", f"TT{i % 40:03d}", f"Việc số {i}",
                             day.isoformat(), 1 + i % 3, 1 + i % 2, (day + timedelta(days=2)).isoformat(),
                             f"{day.isoformat()} 07:{i % 60:02d}", f"{day.isoformat()} 16:30" if done else "", "",
                             "done" if done else "in_progress", 0, "", 4 if done else "", "", "lead", 1, 0])


def run_import(app_url: str, connector: str, path: Path) -> dict:
    env = dict(os.environ, CONGVU_DATABASE_URL=app_url, CONGVU_SECRET_KEY="bench", CONGVU_REDIS_URL="")
    env.pop("CONGVU_REDIS_URL")
    script = ("import resource, sys; from core.cli import main; "
              "sys.argv = ['congvu'] + sys.argv[1:]; "
              "code = 0\n"
              "try:\n    main()\nexcept SystemExit as e:\n    code = e.code or 0\n"
              "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
              "sys.exit(code)")
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, "import", "--tenant", SLUG, "--connector", connector,
                           str(path)], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    peak = next((int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_KB")), 0)
    if proc.returncode != 0:
        raise SystemExit(f"{connector} import failed: {proc.stderr.strip()[-800:]}")
    return {"seconds": round(seconds, 1), "peak_mb": round(peak / 1024), "output": proc.stdout.strip()}


NOTES = """Where the time goes (py-spy and EXPLAIN ANALYZE on a quiet host, at 200,000 work items and
50,000 people; there a first import runs at about 45 s and a re-import at about 30 s a
million rows):

- **Start-up**: about 2 s of each figure is the `congvu` process starting (Flask app,
  plugins, connections) before the file is opened.
- **Reading** streams. CSV through the csv module; the converted value of each distinct
  text is remembered per column (dates, codes, statuses repeat in a large file), so
  converting and checking a 19-column row costs about 9 µs, and the writer's checks plus
  the row's COPY text (each column's formatted values remembered too) about 11 µs more.
  The xlsx roster is read with expat callbacks under defusedxml's own guards (entity
  declarations and external references refused): 44 µs a row, where ElementTree's pull
  parser, which defusedxml's iterparse uses, took 78.
- **Writing work items** (PostgreSQL): each 20,000-row chunk goes as bytes by COPY into a
  temporary table (COPY cannot write to a table under row-level security), then one
  `INSERT … ON CONFLICT (tenant_id, external_id) DO UPDATE … WHERE (…) IS DISTINCT FROM
  (…)` inserts the new rows, updates the changed ones and leaves equal rows as they are
  (locked, not rewritten): one pass through the unique index instead of a lookup pass, a
  comparison pass and an insert. A merger thread runs it while the reader prepares the
  next chunk; since the reader formats the COPY text, the thread only waits on the
  server, and a first import is bound by the database: py-spy shows the merger in the
  server 95 % of the time and the reader waiting for queue space.
- **The database's share**, EXPLAIN ANALYZE of a 20,000-row chunk: about 34 µs a row, of
  which 21 µs in the eight foreign-key triggers (four real checks — employee, task type,
  norm version, tenant — and four on NULL columns) and 13 µs for the row and its five
  indexes; the COPY into the temporary table adds about 5 µs. That is some 40 s of a
  million-row first import; the rest of it (foreign keys) is in the schema, not here.
- **Re-importing** the same file writes nothing and is bound by the reading (about 20 µs
  of Python a row against some 8 µs of database).
- **Staff**: new people take their ids from the sequence as they are read and are inserted
  with their manager and new login in one pass; employees has seven indexes with twenty
  foreign keys pointing at it (half of the database time). The roster's writes are not
  overlapped with its reading.
- **Dry runs** write nothing: each chunk is counted against the table through the unique
  index instead of being written and rolled back.
- **Memory** is bounded by two queued chunks of COPY text (about 5 MB each), at most
  4,096 remembered values per column, and 8-byte hashes of the keys seen (the duplicate
  check); the process itself starts at about 125 MB.
- The figures move with the host's load: a load average of 5 to 9 on 2 cores doubles or
  triples them."""


def write_docs(report: dict, path: Path | None = None) -> None:
    path = path or ROOT / "docs" / "benchmarks.md"
    s, w, again = report["staff"], report["work_items"], report["work_items_again"]
    base = report.get("bare_copy_s", {})

    def times(figure: dict, baseline: float | None) -> str:
        r = ratio(figure["seconds"], baseline)
        return f"{r}×" if r is not None else "—"
    section = "\n".join([
        MARK_START,
        "## Imports (issue 7)",
        "",
        f"Measured {report['when']} on {report['machine']} with `{report['command']}`: a fresh PostgreSQL",
        "database, `congvu import` as its own process connecting as the non-owner role (row-level",
        "security in force), wall time from process start to exit, peak memory = the process's ru_maxrss.",
        "",
        "| File | Rows | Time | Target | Peak memory | Target | × a bare COPY of the rows |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| staff xlsx (`staff-xlsx`) | {report['staff_rows']:,} | {s['seconds']} s | ≤ 15 s | {s['peak_mb']} MB | "
        f"≤ 500 MB | {times(s, base.get('staff'))} |",
        f"| work items CSV (`work-items-csv`) | {report['item_rows']:,} | {w['seconds']} s | ≤ 90 s | "
        f"{w['peak_mb']} MB | ≤ 500 MB | {times(w, base.get('work_items'))} |",
        f"| the same CSV again (changes nothing) | {report['item_rows']:,} | {again['seconds']} s | — | "
        f"{again['peak_mb']} MB | ≤ 500 MB | {times(again, base.get('work_items'))} |",
        "",
        "The baseline, measured in the same run (bench/baselines.py): COPY of the same rows, as CSV, into a "
        "temporary table of text columns with no index, key or check — staff "
        f"{base.get('staff', '—')} s, work items {base.get('work_items', '—')} s.",
        "",
        f"Load average of the host (1, 5, 15 min) before and after: {report['load_before']} → "
        f"{report['load_after']} (on {os.cpu_count()} cores).",
        "",
        NOTES,
        "",
        MARK_END,
    ])
    replace_section(path, MARK_START, MARK_END, section)


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    app_url = prepare(args.pg, args.db)
    # The app role cannot read the row-level security key; the processes read it as the owner here.
    os.environ.setdefault("CONGVU_DATABASE_OPS_URL", f"{args.pg}/{args.db}")
    with tempfile.TemporaryDirectory() as tmp:
        staff_path, items_path = Path(tmp) / "staff.xlsx", Path(tmp) / "items.csv"
        staff_file(staff_path, args.staff)
        items_file(items_path, args.items, args.staff)
        report = {"staff_rows": args.staff, "item_rows": args.items,
                  "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
                  "command": f".venv/bin/python -m bench.imports --staff {args.staff} --items {args.items}"
                  + (f" --db {args.db}" if args.db != DB else "")}
        report["load_before"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        report["staff"] = run_import(app_url, "staff-xlsx", staff_path)
        report["work_items"] = run_import(app_url, "work-items-csv", items_path)
        report["work_items_again"] = run_import(app_url, "work-items-csv", items_path)
        staff_csv_path = Path(tmp) / "staff.csv"
        staff_csv(staff_csv_path, args.staff)
        owner_url = f"{args.pg}/{args.db}"
        report["bare_copy_s"] = {"staff": round(bare_copy_csv(owner_url, staff_csv_path), 3),
                                 "work_items": round(bare_copy_csv(owner_url, items_path), 3)}
        report["load_after"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if not args.no_docs:
        write_docs(report)


if __name__ == "__main__":
    main()
