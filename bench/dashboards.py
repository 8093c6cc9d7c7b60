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
  first would only measure the scoring engine, which bench.scoring does; the eleven
  months before it too (copies), since the page's trend reads twelve. Likewise its
  `week_hours` rows (the stored hours per person and ISO week), five or six per person,
  and their sum per unit and week (`unit_week_hours`, what the heat map reads), derived
  from them as the engine does. The province page's workload heat map is a separate
  htmx request loaded after the page: it is timed on both tenants, and the page plus
  the heat map together on the province tenant.
- The engine's side of the heat map: `write_week_hours` (the INSERT … SELECTs a full
  recalculation runs for the month, person rows and unit sums) timed on the unit
  tenant's scored month.
- --reuse measures the database an earlier run built (after `flask db upgrade` to the
  current schema), to iterate on the pages without building it again.
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

from sqlalchemy import create_engine, event, func, insert, literal, select, text, update

from bench.common import replace_section
from core import unit_of_work

PERIOD = "2026-10"
TARGET_UNIT_MS, TARGET_PROVINCE_MS = 300, 1000


def run(employees: int = 50_000, unit_size: int = 500, repeat: int = 15,
        pg: str = "postgresql+psycopg://postgres@127.0.0.1:5432", database: str = "congvu_bench_dashboards",
        role: str = "congvu_app", reuse: bool = False) -> dict:
    from flask_migrate import upgrade

    from bench.scoring import recreate
    from core import create_app
    from core.extensions import db

    if not reuse:
        recreate(pg, database, role)
    host = pg.split("@", 1)[1]
    app = create_app({"CONGVU_DATABASE_URL": f"postgresql+psycopg://{role}@{host}/{database}",
                      "CONGVU_DATABASE_OWNER_URL": f"{pg}/{database}", "CONGVU_SECRET_KEY": "bench-dashboards",
                      "TESTING": True, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    began = time.perf_counter()
    with app.app_context():
        upgrade()  # with --reuse: brings an earlier run's database to the current schema
        if reuse:
            unit_login, province_login = _logins(f"{pg}/{database}")
            unit_size, employees = _people(f"{pg}/{database}", unit_login[0]), _people(f"{pg}/{database}",
                                                                                       province_login[0])
        else:
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
    hours_write = _time_week_hours(app, unit_login[0])
    unit = _measure(app, client, unit_login, f"/t/bench-unit/dashboard/unit?period={PERIOD}", repeat)
    unit_work = _measure(app, client, unit_login, f"/t/bench-unit/dashboard/unit/work?period={PERIOD}", repeat)
    heatmap = _measure(app, client, unit_login, f"/t/bench-unit/dashboard/province/heatmap?period={PERIOD}",
                       repeat, admin=True)
    province = _measure(app, client, province_login, f"/t/bench-province/dashboard/province?period={PERIOD}",
                        repeat)
    province_heat = _measure(app, client, province_login,
                             f"/t/bench-province/dashboard/province/heatmap?period={PERIOD}", repeat)
    both = [a + b for a, b in zip(province.pop("times"), province_heat.pop("times"), strict=True)]
    for m in (unit, unit_work, heatmap):
        m.pop("times")
    page_and_heat = {"median_ms": round(statistics.median(both), 1), "max_ms": round(max(both), 1),
                     "sql_statements": province["sql_statements"] + province_heat["sql_statements"]}
    baselines = {"bare_endpoint_ms": _bare_endpoint_ms(repeat),
                 "unit_group_by_ms": _bare_group_by_ms(f"{pg}/{database}", unit_login[0], repeat),
                 "province_group_by_ms": _bare_group_by_ms(f"{pg}/{database}", province_login[0], repeat)}
    return {"setup_s": round(setup_s, 1), "unit_people": unit_size, "province_employees": employees,
            "baselines": baselines,
            "unit_dashboard": unit | {"target_ms": TARGET_UNIT_MS, "met": unit["median_ms"] <= TARGET_UNIT_MS},
            "province_dashboard": province | {"target_ms": TARGET_PROVINCE_MS,
                                              "met": province["median_ms"] <= TARGET_PROVINCE_MS},
            "unit_work_fragment": unit_work, "heatmap_fragment_unit_tenant": heatmap,
            "heatmap_fragment_province": province_heat,
            "province_page_and_heatmap": page_and_heat | {
                "target_ms": TARGET_PROVINCE_MS, "met": page_and_heat["median_ms"] <= TARGET_PROVINCE_MS},
            "week_hours_write_unit_tenant": hours_write}


def _time_week_hours(app, tenant_id: int, repeat: int = 3) -> dict:
    """The heat map's aggregate as a full recalculation writes it: the unit tenant's month
    (500 people, about 85,000 items), rolled back each time."""
    from core.dashboards.aggregates import write_week_hours
    from core.dashboards.models import WeekHours
    from core.extensions import db
    from core.tenancy import tenant_context
    from core.work.models import WorkItem

    times, rows = [], 0
    with app.app_context(), tenant_context(tenant_id):
        items = db.session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.status == "done"))
        for _ in range(repeat):
            began = time.perf_counter()
            write_week_hours(PERIOD)
            times.append((time.perf_counter() - began) * 1000)
            rows = db.session.scalar(select(func.count()).select_from(WeekHours))
            db.session.rollback()
        db.session.remove()
    return {"median_ms": round(statistics.median(times), 1), "rows": rows, "done_items": items}


def _bare_endpoint_ms(repeat: int) -> float:
    """The floor of a page's server time here: a bare Flask JSON endpoint through the same
    WSGI test client (median of `repeat` after one warm-up)."""
    from flask import Flask, jsonify

    bare = Flask("bare")
    bare.add_url_rule("/bare", "bare", lambda: jsonify({"ok": True}))
    client, times = bare.test_client(), []
    for n in range(repeat + 1):
        began = time.perf_counter()
        client.get("/bare")
        if n:
            times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 2)


def _bare_group_by_ms(owner_url: str, tenant_id: int, repeat: int) -> float:
    """The floor of what a dashboard reads: one GROUP BY per unit over the tenant's month
    rows (count, mean total), as the table owner, no row security, no template."""
    owner = create_engine(owner_url)
    times = []
    with owner.connect() as conn:
        for n in range(repeat + 1):
            began = time.perf_counter()
            conn.execute(text("SELECT unit_id, count(*), avg(total) FROM period_scores WHERE tenant_id = :t "
                              "AND period = :p GROUP BY unit_id"), {"t": tenant_id, "p": PERIOD}).all()
            if n:
                times.append((time.perf_counter() - began) * 1000)
    owner.dispose()
    return round(statistics.median(times), 2)


def _logins(owner_url: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """The two logins `_unit_tenant` and `_province_tenant` returned when an earlier run
    built the database (read as its owner, across tenants)."""
    owner = create_engine(owner_url)
    with owner.connect() as conn:
        logins = [conn.execute(text("SELECT u.tenant_id, u.id FROM users u JOIN tenants t ON t.id = u.tenant_id "
                                    "WHERE t.slug = :slug AND u.username = 'nv000001'"), {"slug": slug}).one()
                  for slug in ("bench-unit", "bench-province")]
    owner.dispose()
    return tuple(logins[0]), tuple(logins[1])


def _people(owner_url: str, tenant_id: int) -> int:
    owner = create_engine(owner_url)
    with owner.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM employees WHERE tenant_id = :t"), {"t": tenant_id}).scalar_one()
    owner.dispose()
    return n


def _unit_tenant(unit_size: int) -> tuple[int, int]:
    """One department of `unit_size` people with a scored month; returns the login of its head."""
    from core.auth.models import User
    from core.extensions import db
    from core.generate import generate
    from core.org.models import Employee
    from core.scoring import engine
    from core.tenancy import tenant_context

    made = generate("bench-unit", unit_size, 1, date(2026, 10, 1))
    unit_of_work.commit()
    with tenant_context(made.tenant_id):
        head = db.session.scalar(select(Employee).where(Employee.code == "NV000001"))
        db.session.execute(update(Employee).where(Employee.id != head.id)
                           .values(unit_id=head.unit_id, manager_id=head.id))
        engine.recalculate(PERIOD)
        user_id = db.session.scalar(select(User.id).where(User.id == head.user_id))
        unit_of_work.commit()
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
    unit_of_work.commit()
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
        _history(made.tenant_id)
        _week_hours(made.tenant_id, people, rng)
        admin = db.session.scalar(select(User).where(User.username == "nv000001"))
        admin.roles = ["employee", "manager", "tenant_admin"]
        unit_of_work.commit()
        return made.tenant_id, admin.id


def _history(tenant_id: int) -> None:
    """The eleven months before PERIOD, as a tenant a year in has them: the page's trend
    reads twelve months of period_scores (550,000 more rows here). Copies of the month's
    rows, one INSERT … SELECT per month."""
    from core.dashboards.services import TREND_MONTHS, shift_month
    from core.extensions import db
    from core.scoring.models import PeriodScore

    columns = [c.name for c in PeriodScore.__table__.columns if c.name != "id"]
    for back in range(1, TREND_MONTHS):
        month = shift_month(PERIOD, -back)
        copied = [literal(month).label("period") if c == "period" else getattr(PeriodScore, c) for c in columns]
        db.session.execute(insert(PeriodScore).from_select(
            columns, select(*copied).where(PeriodScore.tenant_id == tenant_id, PeriodScore.period == PERIOD)))


def _week_hours(tenant_id: int, people: list, rng: random.Random) -> None:
    """Each person's hours of each ISO week of the month, as the engine would store them
    (about 7 h per working day, spread by person)."""
    from datetime import timedelta

    from core.dashboards.aggregates import rebuild_unit_week_hours
    from core.dashboards.models import WeekHours
    from core.extensions import db

    first = date(int(PERIOD[:4]), int(PERIOD[5:]), 1)
    days = [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == first.month]
    weeks: dict[date, int] = {}
    for d in days:
        if d.weekday() < 5:
            monday = d - timedelta(days=d.weekday())
            weeks[monday] = weeks.get(monday, 0) + 1
    rows = []
    for employee_id, unit_id in people:
        pace = rng.uniform(5.0, 8.5)
        for monday, working in weeks.items():
            rows.append({"tenant_id": tenant_id, "employee_id": employee_id, "unit_id": unit_id, "period": PERIOD,
                         "week_start": monday, "minutes": round(pace * working * 60 * rng.uniform(0.8, 1.1), 1),
                         "items": 8 * working})
    for start in range(0, len(rows), 10000):
        db.session.execute(insert(WeekHours), rows[start:start + 10000])
    rebuild_unit_week_hours(tenant_id, PERIOD)  # their sum per unit, as the engine keeps it beside them


def _measure(app, client, login: tuple[int, int], path: str, repeat: int, admin: bool = False) -> dict:
    from core.extensions import db

    tenant_id, user_id = login
    if admin:  # the heat map is the province page's: the unit's head is made tenant admin for it
        from core.auth.models import User
        from core.tenancy import tenant_context

        with app.app_context(), tenant_context(tenant_id):
            user = db.session.get(User, user_id)
            user.roles = ["employee", "manager", "tenant_admin"]
            unit_of_work.commit()
            db.session.remove()
    from core.auth.models import User
    from core.auth.services import principal_for_user
    from core.tenancy import tenant_context

    # The session holds the login's stamped id (its session generation), as a real sign-in leaves it.
    with app.app_context(), tenant_context(tenant_id):
        session_id = principal_for_user(db.session.get(User, user_id)).get_id()
        db.session.remove()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = session_id, True, "vi"
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
            "sql_statements": max(counts), "requests": len(times), "times": times}


START, END = "<!-- bench.dashboards: start -->", "<!-- bench.dashboards: end -->"


def write_report(result: dict, command: str, load: tuple[float, float], path: Path) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (between its own markers),
    keeping the other benchmarks' sections and what people wrote around them."""
    unit, province, heat = result["unit_dashboard"], result["province_dashboard"], result["heatmap_fragment_unit_tenant"]
    pheat, both = result["heatmap_fragment_province"], result["province_page_and_heatmap"]
    writes = result["week_hours_write_unit_tenant"]
    base = result["baselines"]

    def ratio(ms: float, floor: float) -> str:
        return f"{ms / floor:.1f}×" if floor else "—"

    body = "\n".join([
        "## Dashboards (issue 9)", "",
        f"`{command}` on {platform.node()} ({os.cpu_count()} cores), PostgreSQL, app role with RLS; "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after (other work shared the host).", "",
        "| page | people | median ms | worst ms | SQL statements | target | × bare GROUP BY |",
        "|---|---|---|---|---|---|---|",
        f"| unit dashboard (a manager, one unit) | {result['unit_people']} | {unit['median_ms']} | {unit['max_ms']} | "
        f"{unit['sql_statements']} | ≤ {unit['target_ms']} ms: {'met' if unit['met'] else 'NOT met'} | "
        f"{ratio(unit['median_ms'], base['unit_group_by_ms'])} |",
        f"| province dashboard (tenant admin) | {result['province_employees']} | {province['median_ms']} | "
        f"{province['max_ms']} | {province['sql_statements']} | ≤ {province['target_ms']} ms: "
        f"{'met' if province['met'] else 'NOT met'} | {ratio(province['median_ms'], base['province_group_by_ms'])} |",
        f"| unit: hours per day and queues (htmx, after the page) | {result['unit_people']} | "
        f"{result['unit_work_fragment']['median_ms']} | {result['unit_work_fragment']['max_ms']} | "
        f"{result['unit_work_fragment']['sql_statements']} | — | — |",
        f"| workload heat map fragment (htmx, after the page) | {result['unit_people']} | {heat['median_ms']} | "
        f"{heat['max_ms']} | {heat['sql_statements']} | — | — |",
        f"| workload heat map fragment (htmx, after the page) | {result['province_employees']} | "
        f"{pheat['median_ms']} | {pheat['max_ms']} | {pheat['sql_statements']} | — | — |",
        f"| province dashboard + heat map (the two requests of the page) | {result['province_employees']} | "
        f"{both['median_ms']} | {both['max_ms']} | {both['sql_statements']} | ≤ {both['target_ms']} ms: "
        f"{'met' if both['met'] else 'NOT met'} | {ratio(both['median_ms'], base['province_group_by_ms'])} |", "",
        f"Baselines measured in the same run: one GROUP BY per unit over the month's rows of the tenant "
        f"(count, mean total; as the owner, no row security, no template) — {base['unit_group_by_ms']} ms for "
        f"the unit tenant, {base['province_group_by_ms']} ms for the province; a bare Flask JSON endpoint "
        f"through the same WSGI test client — {base['bare_endpoint_ms']} ms (the province page + heat map is "
        f"{ratio(both['median_ms'], base['bare_endpoint_ms'])} that).", "",
        "Server time in-process (WSGI test client: routing, queries, template; no network), "
        f"{unit['requests']} requests each after one warm-up; the page + heat map row adds the n-th page "
        "request to the n-th heat map request. The province tenant's month rows (period_scores, twelve "
        "months, as the trend reads), its "
        f"week_hours rows ({result['province_employees']} people × the month's ISO weeks) and their sums per "
        "unit (unit_week_hours) are written directly, as the page reads nothing else; the unit's month is "
        "generated and scored by the engine.",
        "",
        f"The heat map's aggregates as the engine writes them (`write_week_hours`: the person rows and "
        f"their unit sums, the step a full recalculation adds): {writes['median_ms']} ms for the unit "
        f"tenant's month ({writes['done_items']:,} completed items → {writes['rows']:,} rows).", ""])
    replace_section(path, START, END, f"{START}\n{body}{END}\n")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.dashboards", description=__doc__.split("\n\n")[0])
    p.add_argument("--employees", type=int, default=50_000)
    p.add_argument("--unit-size", type=int, default=500)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="congvu_bench_dashboards")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"))
    p.add_argument("--reuse", action="store_true",
                   help="measure the database an earlier run built (upgraded to the current schema) instead of "
                        "building a new one; --employees and --unit-size are then those of that run")
    p.add_argument("--no-docs", action="store_true", help="print the figures without writing docs/benchmarks.md")
    args = p.parse_args()
    before = os.getloadavg()[0]
    result = run(args.employees, args.unit_size, args.repeat, args.pg, args.database, reuse=args.reuse)
    result["load_average"] = [before, os.getloadavg()[0]]
    command = ".venv/bin/python -m bench.dashboards " + " ".join(sys.argv[1:])
    if not args.no_docs:
        write_report(result, command.strip(), (before, os.getloadavg()[0]), Path(args.out))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
