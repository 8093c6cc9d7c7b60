"""Dashboard server time (issue 9): the unit dashboard of a 500-person unit (target
≤ 300 ms) and the province dashboard of a 50,000-employee tenant (target ≤ 1 s).

    .venv/bin/python -m bench.dashboards --employees 50000 --unit-size 500

A fresh PostgreSQL database; the app connects as the non-owner role, so row-level
security is in force as in production. Requests go through the WSGI test client in this
process, so the figure is the server's own time (routing, queries, template) without
the network: the median and the worst of --repeat requests, and the SQL statements of
one request.

- The unit: `generate` builds a month of work for --unit-size people (about 8 items a
  day each), everyone is moved into one department led by the first person, and the
  month is scored by the engine (real period_scores and item_scores).
- The province: `generate` builds --employees people in agencies and departments; their
  month rows in period_scores are written directly (one per person, totals spread over
  0–100) because the page reads nothing else: building and scoring 8 million items
  first would only measure the scoring engine, which bench.scoring does. The province
  page's workload heat map is a separate htmx request that reads work items; it is
  timed on the unit tenant, the only one with items here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, event, insert, select, text, update

PERIOD = "2026-10"
TARGET_UNIT_MS, TARGET_PROVINCE_MS = 300, 1000


def run(employees: int = 50_000, unit_size: int = 500, repeat: int = 15,
        pg: str = "postgresql+psycopg://postgres@127.0.0.1:5432", database: str = "congvu_bench_dashboards",
        role: str = "congvu_app") -> dict:
    from flask_migrate import upgrade

    from bench.scoring import recreate
    from core import create_app
    from core.extensions import db

    recreate(pg, database, role)
    host = pg.split("@", 1)[1]
    app = create_app({"CONGVU_DATABASE_URL": f"postgresql+psycopg://{role}@{host}/{database}",
                      "CONGVU_DATABASE_OWNER_URL": f"{pg}/{database}", "CONGVU_SECRET_KEY": "bench-dashboards",
                      "TESTING": True, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    began = time.perf_counter()
    with app.app_context():
        upgrade()
        unit_login = _unit_tenant(unit_size)
        province_login = _province_tenant(employees)
        db.session.remove()
    # Bulk-loaded tables have no planner statistics until autovacuum gets to them; without
    # them PostgreSQL guesses one row and picks nested loops. Production tables have them.
    owner = create_engine(f"{pg}/{database}", isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text("ANALYZE"))
    owner.dispose()
    setup_s = time.perf_counter() - began
    client = app.test_client()
    unit = _measure(app, client, unit_login, f"/t/bench-unit/dashboard/unit?period={PERIOD}", repeat)
    unit_work = _measure(app, client, unit_login, f"/t/bench-unit/dashboard/unit/work?period={PERIOD}", repeat)
    heatmap = _measure(app, client, unit_login, f"/t/bench-unit/dashboard/province/heatmap?period={PERIOD}",
                       repeat, admin=True)
    province = _measure(app, client, province_login, f"/t/bench-province/dashboard/province?period={PERIOD}",
                        repeat)
    return {"setup_s": round(setup_s, 1), "unit_people": unit_size, "province_employees": employees,
            "unit_dashboard": unit | {"target_ms": TARGET_UNIT_MS, "met": unit["median_ms"] <= TARGET_UNIT_MS},
            "province_dashboard": province | {"target_ms": TARGET_PROVINCE_MS,
                                              "met": province["median_ms"] <= TARGET_PROVINCE_MS},
            "unit_work_fragment": unit_work, "heatmap_fragment_unit_tenant": heatmap}


def _unit_tenant(unit_size: int) -> tuple[int, int]:
    """One department of `unit_size` people with a scored month; returns the login of its head."""
    from core.auth.models import User
    from core.extensions import db
    from core.generate import generate
    from core.org.models import Employee
    from core.scoring import engine
    from core.tenancy import tenant_context

    made = generate("bench-unit", unit_size, 1, date(2026, 10, 1))
    db.session.commit()
    with tenant_context(made.tenant_id):
        head = db.session.scalar(select(Employee).where(Employee.code == "NV000001"))
        db.session.execute(update(Employee).where(Employee.id != head.id)
                           .values(unit_id=head.unit_id, manager_id=head.id))
        engine.recalculate(PERIOD)
        user_id = db.session.scalar(select(User.id).where(User.id == head.user_id))
        db.session.commit()
    return made.tenant_id, user_id


def _province_tenant(employees: int) -> tuple[int, int]:
    """`employees` people, one month row each; returns the login of a tenant admin."""
    from core.auth.models import User
    from core.extensions import db
    from core.generate import generate
    from core.org.models import Employee
    from core.scoring.models import PeriodScore
    from core.tenancy import tenant_context

    made = generate("bench-province", employees, 0, date(2026, 10, 1))
    db.session.commit()
    rng = random.Random(9)
    with tenant_context(made.tenant_id):
        people = db.session.execute(select(Employee.id, Employee.unit_id)).all()
        rows = []
        for employee_id, unit_id in people:
            task = round(min(70.0, max(0.0, rng.gauss(52, 9))), 2)
            general = round(rng.uniform(18, 30), 2) if rng.random() < 0.8 else None
            rows.append({"tenant_id": made.tenant_id, "employee_id": employee_id, "unit_id": unit_id,
                         "period": PERIOD, "item_count": rng.randint(120, 200), "working_days": 22,
                         "task_score": task, "general_score": general, "total": task + (general or 0),
                         "components": {}, "sums": {}, "variant_key": "decree335", "variant_version": "1",
                         "settings_hash": "0" * 64, "provisional": general is None})
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(PeriodScore), rows[start:start + 5000])
        admin = db.session.scalar(select(User).where(User.username == "nv000001"))
        admin.roles = ["employee", "manager", "tenant_admin"]
        db.session.commit()
        return made.tenant_id, admin.id


def _measure(app, client, login: tuple[int, int], path: str, repeat: int, admin: bool = False) -> dict:
    from core.extensions import db

    tenant_id, user_id = login
    if admin:  # the heat map is the province page's: the unit's head is made tenant admin for it
        from core.auth.models import User
        from core.tenancy import tenant_context

        with app.app_context(), tenant_context(tenant_id):
            user = db.session.get(User, user_id)
            user.roles = ["employee", "manager", "tenant_admin"]
            db.session.commit()
            db.session.remove()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = f"u:{tenant_id}:{user_id}", True, "vi"
    with app.app_context():
        engine = db.engine
    statements = [0]

    def count(*_args) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    times, counts = [], []
    try:
        for n in range(repeat + 1):
            statements[0] = 0
            began = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            if n:  # the first request warms caches (templates, plugin settings); not counted
                times.append(elapsed)
                counts.append(statements[0])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return {"path": path, "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
            "sql_statements": max(counts), "requests": len(times)}


START, END = "<!-- bench.dashboards: start -->", "<!-- bench.dashboards: end -->"


def write_report(result: dict, command: str, load: tuple[float, float], path: Path) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (between its own markers),
    keeping the other benchmarks' sections and what people wrote around them."""
    unit, province, heat = result["unit_dashboard"], result["province_dashboard"], result["heatmap_fragment_unit_tenant"]
    body = "\n".join([
        "## Dashboards (issue 9)", "",
        f"`{command}` on {platform.node()} ({os.cpu_count()} cores), PostgreSQL, app role with RLS; "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after (other work shared the host).", "",
        "| page | people | median ms | worst ms | SQL statements | target |", "|---|---|---|---|---|---|",
        f"| unit dashboard (a manager, one unit) | {result['unit_people']} | {unit['median_ms']} | {unit['max_ms']} | "
        f"{unit['sql_statements']} | ≤ {unit['target_ms']} ms: {'met' if unit['met'] else 'NOT met'} |",
        f"| province dashboard (tenant admin) | {result['province_employees']} | {province['median_ms']} | "
        f"{province['max_ms']} | {province['sql_statements']} | ≤ {province['target_ms']} ms: "
        f"{'met' if province['met'] else 'NOT met'} |",
        f"| unit: hours per day and queues (htmx, after the page) | {result['unit_people']} | "
        f"{result['unit_work_fragment']['median_ms']} | {result['unit_work_fragment']['max_ms']} | "
        f"{result['unit_work_fragment']['sql_statements']} | — |",
        f"| workload heat map fragment (htmx, after the page) | {result['unit_people']} | {heat['median_ms']} | "
        f"{heat['max_ms']} | {heat['sql_statements']} | — |", "",
        "Server time in-process (WSGI test client: routing, queries, template; no network), "
        f"{unit['requests']} requests each after one warm-up. The province tenant's month rows are written "
        "directly (the page reads only period_scores); the unit's month is generated and scored by the engine.",
        ""])
    section = f"{START}\n{body}{END}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.dashboards", description=__doc__.split("\n\n")[0])
    p.add_argument("--employees", type=int, default=50_000)
    p.add_argument("--unit-size", type=int, default=500)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="congvu_bench_dashboards")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"))
    args = p.parse_args()
    before = os.getloadavg()[0]
    result = run(args.employees, args.unit_size, args.repeat, args.pg, args.database)
    result["load_average"] = [before, os.getloadavg()[0]]
    command = ".venv/bin/python -m bench.dashboards " + " ".join(sys.argv[1:])
    write_report(result, command.strip(), (before, os.getloadavg()[0]), Path(args.out))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
