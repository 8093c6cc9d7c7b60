"""`congvu generate`, measured against a bare COPY of the same rows (issue 10).

    python -m bench.generate --employees 50000 --months 1     # the target: ≤ 3 minutes

1. A fresh PostgreSQL database (`congvu_bench_generate`), migrated by `congvu db upgrade`.
2. `congvu generate` in its own process, connecting as the non-owner role (row-level
   security in force): wall time from process start to exit, the process's peak memory,
   and the stages the command reports (people; each month's items, made by INSERT …
   SELECT on as many connections as the host has cores; the commit).
3. The baseline, in the same run (bench/baselines.bare_copy): COPY of as many rows of
   work_items, employees and users — real rows of the generated tenant, repeated, sent
   as bytes — into bare temporary tables (no index, key, trigger or policy), as the owner.
4. The figures go to stdout (JSON) and to the generate section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.baselines import bare_copy, ratio
from bench.common import replace_section
from bench.seed import recreate_database

ROOT = Path(__file__).resolve().parent.parent
DB, SLUG, FIRST_MONTH = "congvu_bench_generate", "bench-gen", "2026-10"
TARGET_S, TARGET_EMPLOYEES = 180, 50_000
START, END = "<!-- generate:start -->", "<!-- generate:end -->"


def _congvu(env: dict, *args: str) -> tuple[float, str]:
    began = time.perf_counter()
    out = subprocess.run([str(Path(sys.executable).parent / "congvu"), *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"congvu {' '.join(args)} failed: {out.stderr.strip()[-800:]}")
    return time.perf_counter() - began, out.stdout


def _counts(owner_url: str) -> dict[str, int]:
    from bench.baselines import _driver_connection

    with _driver_connection(owner_url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                for t in ("work_items", "employees", "users")}


def run(employees: int, months: int, pg: str, role: str = "congvu_app") -> dict:
    recreate_database(pg, DB, role)
    host = pg.split("://", 1)[1].split("@", 1)[1]
    owner_url = f"{pg}/{DB}"
    env = dict(os.environ, CONGVU_DATABASE_URL=f"postgresql+psycopg://{role}@{host}/{DB}",
               CONGVU_DATABASE_OWNER_URL=owner_url, CONGVU_SECRET_KEY="bench-generate")
    env.pop("CONGVU_REDIS_URL", None)
    _congvu(env, "db", "upgrade")
    load_before = os.getloadavg()
    rss_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, out = _congvu(env, "generate", "--tenant", SLUG, "--employees", str(employees), "--months", str(months),
                           "--first-month", FIRST_MONTH)
    peak_mb = max(rss_before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    load_after = os.getloadavg()
    rows = _counts(owner_url)
    baseline = {table: bare_copy(owner_url, table, None, n) for table, n in rows.items()}
    bare_s = sum(baseline.values())
    return {
        "employees": employees, "months": months, "rows": rows, "generate_s": round(seconds, 1),
        "items_per_s": round(rows["work_items"] / seconds), "peak_rss_mb": round(peak_mb),
        "bare_copy_s": {t: round(v, 2) for t, v in baseline.items()}, "bare_copy_total_s": round(bare_s, 2),
        "ratio_to_bare_copy": ratio(seconds, bare_s), "output": out.strip().splitlines()[-1] if out.strip() else "",
        "stages": next((line.removeprefix("stages: ") for line in out.splitlines() if line.startswith("stages: ")),
                       ""), "workers": os.cpu_count(),
        "load_before": [round(x, 1) for x in load_before], "load_after": [round(x, 1) for x in load_after],
    }


def write_section(f: dict, command: str, out: Path) -> None:
    """Replace this benchmark's own section of docs/benchmarks.md (the others are kept)."""
    at_target = f["employees"] == TARGET_EMPLOYEES and f["months"] == 1
    verdict = ("met" if f["generate_s"] <= TARGET_S else "**not met**") if at_target else \
        f"not assessed (the target is for {TARGET_EMPLOYEES:,} people and one month)"
    rows, base = f["rows"], f["bare_copy_s"]
    section = "\n".join([
        START, "## Generating a province (`congvu generate`, issue 10)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, with `{command}`: a fresh PostgreSQL database, `congvu generate "
        f"--employees {f['employees']} --months {f['months']}` in its own process as the non-owner role (row-level "
        f"security in force), the items written on {f.get('workers', '?')} connections at once. Load average "
        "(1, 5, 15 min) before → after: "
        f"{' / '.join(map(str, f['load_before']))} → {' / '.join(map(str, f['load_after']))}.", "",
        "| measure | value | target | × a bare COPY of the same rows |", "|---|---:|---:|---:|",
        f"| `congvu generate`, wall time | {f['generate_s']} s ({f['items_per_s']:,} items/s) | "
        f"≤ {TARGET_S} s for {TARGET_EMPLOYEES:,} people, one month: {verdict} | {f['ratio_to_bare_copy']}× |",
        f"| rows written | {rows['work_items']:,} work items, {rows['employees']:,} employees, "
        f"{rows['users']:,} logins | — | — |",
        f"| peak memory of the process | {f['peak_rss_mb']} MB | — | — |",
        f"| bare COPY of the same rows (the baseline) | {f['bare_copy_total_s']} s (work items {base['work_items']} s, "
        f"employees {base['employees']} s, logins {base['users']} s) | — | 1× |", "",
        f"Where the time went, as the command reports it (after about 2 s of start-up): {f.get('stages') or '—'}.",
        "",
        "The baseline sends real rows of the generated tenant, repeated, as bytes in COPY's text format (no "
        "Python per row), as the owner, into temporary tables shaped like the real ones but with no index, key, "
        "foreign key, trigger or policy, on one connection. The ratio is what writing into the real table costs "
        "on top (its five indexes, the eight foreign-key checks of each row, row-level security and the "
        "write-ahead log of a logged table), less what the several connections win back; the rows themselves "
        "are made by the INSERT … SELECT, not sent.",
        END])
    replace_section(out, START, END, section)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--employees", type=int, default=int(os.environ.get("SCALE", "2000")))
    p.add_argument("--months", type=int, default=1)
    p.add_argument("--pg", default=os.environ.get("CONGVU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--no-docs", action="store_true")
    args = p.parse_args()
    figures = run(args.employees, args.months, args.pg)
    print(json.dumps(figures, ensure_ascii=False))
    if not args.no_docs:
        write_section(figures, f"python -m bench.generate --employees {args.employees} --months {args.months}",
                      Path(args.out))


if __name__ == "__main__":
    main()
