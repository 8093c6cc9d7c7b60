"""What the per-item scoring refresh adds to a request (issue 5: at most 20 ms).

    python -m bench.refresh --employees 2000
    python -m bench.refresh --database congvu_bench_scoring --reuse   # what bench.scoring left

A PostgreSQL database filled by `congvu generate` and scored by `congvu recalc` (the
month 2026-10, people in departments of 25 led by a leader, as bench.scoring). Then,
in this process, as the non-owner role (row-level security in force), --samples people
each declare an item in that month through the work service, commit, and report it done
in a second transaction (three more people first warm the process up, not counted). The
refresh (engine.refresh_items, which the commit runs: re-score the item, re-aggregate the
person's month and their leaders', the heat map's week) is timed inside the commit, with
its SQL statements counted. That time is exactly
what the refresh adds to the request; the whole transaction is timed too, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import event, select

from bench.common import replace_section
from bench.scoring import PERIOD, ROOT, _congvu, recreate

TARGET_MS = 20.0
WARM_UP = 3  # people whose requests are not counted
BASELINE = 10  # people whose writes run without the refresh


def prepare(pg: str, database: str, role: str, employees: int, reuse: bool) -> dict:
    host = pg.split("@", 1)[1]
    env = dict(os.environ, CONGVU_DATABASE_URL=f"postgresql+psycopg://{role}@{host}/{database}",
               CONGVU_DATABASE_OWNER_URL=f"{pg}/{database}", CONGVU_SECRET_KEY="bench-refresh")
    env.pop("CONGVU_REDIS_URL", None)
    if not reuse:
        recreate(pg, database, role)
        _congvu(env, "db", "upgrade")
        _congvu(env, "generate", "--tenant", "bench", "--employees", str(employees), "--months", "1",
                "--first-month", PERIOD)
        _congvu(env, "recalc", "--tenant", "bench", "--period", PERIOD)
    else:
        _congvu(env, "db", "upgrade")
    from sqlalchemy import create_engine, text

    owner = create_engine(f"{pg}/{database}", isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text("ANALYZE"))
    owner.dispose()
    return env


def measure(env: dict, samples: int, seed: int = 5) -> dict:
    from core import create_app, unit_of_work
    from core.auth.principal import Principal
    from core.catalogue.models import TaskType
    from core.extensions import db
    from core.org.models import Employee
    from core.scoring import engine
    from core.tenancy import tenant_context
    from core.work import services as work
    from core.work.models import WorkItem

    app = create_app({"CONGVU_DATABASE_URL": env["CONGVU_DATABASE_URL"], "CONGVU_SECRET_KEY": "bench-refresh",
                      "TESTING": True})
    refresh_ms: list[float] = []
    refresh_sql: list[int] = []
    refresh_cpu_ms: list[float] = []  # this process's share: Python, the driver
    bare_ms: list[float] = []  # the same writes without the refresh
    txn_ms: list[float] = []
    statements = [0]
    original = engine.refresh_items

    def timed_refresh(item_ids: list[int]) -> None:
        statements[0] = 0
        began, cpu = time.perf_counter(), time.process_time()
        original(item_ids)
        refresh_ms.append((time.perf_counter() - began) * 1000)
        refresh_cpu_ms.append((time.process_time() - cpu) * 1000)
        refresh_sql.append(statements[0])

    with app.app_context():
        def count(*_args) -> None:
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        tid = db.session.execute(db.text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar_one()
        engine.refresh_items = timed_refresh
        try:
            with tenant_context(tid):
                people = db.session.execute(
                    select(Employee.id, Employee.user_id, Employee.is_leader).order_by(Employee.id)).all()
                items_of_month = db.session.scalar(select(db.func.count(WorkItem.id)).where(
                    WorkItem.work_date.between(date(int(PERIOD[:4]), int(PERIOD[5:]), 1),
                                               date(int(PERIOD[:4]), int(PERIOD[5:]), 31))))
                chosen = random.Random(seed).sample(people, min(samples + WARM_UP + BASELINE, len(people)))
                db.session.rollback()

                def declare_and_complete(pid: int, uid: int, is_leader: bool, times: list[float]) -> None:
                    roles = ("employee", "manager") if is_leader else ("employee",)
                    principal = Principal("user", uid, f"bench-{pid}", tid, roles, pid)
                    code = db.session.scalar(select(TaskType.code).join(WorkItem, WorkItem.task_type_id == TaskType.id)
                                             .where(WorkItem.employee_id == pid).limit(1))
                    day = date(int(PERIOD[:4]), int(PERIOD[5:]), 15)
                    began = time.perf_counter()
                    item, _ = work.declare(principal, {"task_type_code": code, "work_date": day, "quantity": 2})
                    unit_of_work.commit()
                    times.append((time.perf_counter() - began) * 1000)
                    item = db.session.get(WorkItem, item.id)
                    began = time.perf_counter()
                    work.update_item(principal, item, {"status": "done"})
                    unit_of_work.commit()
                    times.append((time.perf_counter() - began) * 1000)

                leaders = 0
                for n, (pid, uid, is_leader) in enumerate(chosen[:samples + WARM_UP]):
                    if n == WARM_UP:  # the first requests of a process fill SQLAlchemy's caches
                        refresh_ms.clear(), refresh_sql.clear(), txn_ms.clear(), refresh_cpu_ms.clear()
                    leaders += bool(is_leader) and n >= WARM_UP
                    declare_and_complete(pid, uid, is_leader, txn_ms)
                # The baseline: the same writes with the refresh taken out (their items stay
                # unscored until the month is recalculated; this database is the bench's).
                engine.refresh_items = lambda _ids: None
                for pid, uid, is_leader in chosen[samples + WARM_UP:]:
                    declare_and_complete(pid, uid, is_leader, bare_ms)
        finally:
            engine.refresh_items = original
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.remove()
            db.engine.dispose()
    ordered = sorted(refresh_ms)
    return {"employees": len(people), "items_of_month": items_of_month,
            "samples": len(refresh_ms), "leaders_among_people": leaders,
            "refresh_median_ms": round(statistics.median(refresh_ms), 1),
            "refresh_p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
            "refresh_max_ms": round(max(refresh_ms), 1),
            "refresh_sql_statements": max(refresh_sql),
            "refresh_python_cpu_median_ms": round(statistics.median(refresh_cpu_ms), 1),
            "transaction_median_ms": round(statistics.median(txn_ms), 1),
            "without_refresh_median_ms": round(statistics.median(bare_ms), 1) if bare_ms else None}


START, END = "<!-- refresh:start -->", "<!-- refresh:end -->"


def write_section(f: dict, command: str, out: Path, load: tuple) -> None:
    met = "met" if f["refresh_median_ms"] <= TARGET_MS else "**not met**"
    bare = f.get("without_refresh_median_ms")
    ratio = f"{f['refresh_median_ms'] / bare:.1f}×" if bare else "—"
    section = "\n".join([
        START, "## Per-item scoring refresh (issue 5)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, with `{command}`: {f['employees']:,} generated people, month "
        f"{PERIOD} scored ({f['items_of_month']:,} items); "
        f"{f['samples'] // 2} people ({f['leaders_among_people']} of them leaders) each declare an "
        "item and then report it done, each in its own transaction through the work service (3 more people first, not counted, "
        "warm the process up), as the non-owner "
        "role (row-level security in force). The time is the refresh the commit runs (re-score the item, "
        "re-aggregate the person's month and their leaders', rewrite their heat-map weeks), measured inside the "
        "transaction: what it adds to the request. Load average before → after: "
        f"{' / '.join(f'{x:.1f}' for x in load)} → {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.", "",
        "| measure | value | target |", "|---|---:|---:|",
        f"| refresh added to a write, median | {f['refresh_median_ms']} ms | ≤ {TARGET_MS:.0f} ms ({met}) |",
        f"| refresh, 90th percentile / worst | {f['refresh_p90_ms']} / {f['refresh_max_ms']} ms | — |",
        f"| of which this process's CPU (Python, driver), median | {f['refresh_python_cpu_median_ms']} ms | — |",
        f"| SQL statements of one refresh (most) | {f['refresh_sql_statements']} | — |",
        f"| the whole transaction (declare or complete, with the refresh), median | "
        f"{f['transaction_median_ms']} ms | — |",
        f"| the baseline: the same transaction without the refresh ({BASELINE} more people), median | "
        f"{f['without_refresh_median_ms']} ms | — |",
        f"| the refresh ÷ the baseline | {ratio} | — |",
        END])
    replace_section(out, START, END, section)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.refresh", description=__doc__.split("\n\n")[0])
    p.add_argument("--employees", type=int, default=int(os.environ.get("SCALE", "2000")))
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--pg", default=os.environ.get("CONGVU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    p.add_argument("--database", default="congvu_bench_refresh")
    p.add_argument("--reuse", action="store_true", help="measure on the database an earlier run generated")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--no-docs", action="store_true")
    args = p.parse_args()
    load = os.getloadavg()
    env = prepare(args.pg, args.database, "congvu_app", args.employees, args.reuse)
    figures = measure(env, args.samples)
    print(json.dumps(figures, ensure_ascii=False))
    if not args.no_docs:
        command = "python -m bench.refresh " + \
            (f"--database {args.database} --reuse" if args.reuse else f"--employees {args.employees}")
        write_section(figures, command, Path(args.out), load)


if __name__ == "__main__":
    main()
