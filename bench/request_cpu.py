"""CPU per request, not wall time (`python -m bench.request_cpu`): on a shared host the
throughput moves with whatever else runs, while the CPU a declaration costs does not
(much). One thread declares for people of one department through the WSGI test client
against PostgreSQL as the app role (row-level security in force, scoring deferred), then
reports each kind of request's statements, the Python process's CPU
(`time.process_time`) and the PostgreSQL backend's CPU (utime + stime of the app's
backend processes in /proc), per request. Run it from two checkouts, alternated, to
compare code (PYTHONPATH names the checkout):

    python -m bench.request_cpu --seed            # once: a fresh database
    python -m bench.request_cpu --repeat 300      # per checkout, several times
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text

from bench.seed import PASSWORD, SLUG, recreate_database, seed

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(owner, database: str, role: str) -> float:
    """Seconds of CPU the app role's backends of `database` have used so far."""
    with owner.connect() as conn:
        pids = [r[0] for r in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :d AND usename = :r"), {"d": database, "r": role})]
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICK


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.request_cpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", default=os.environ.get("CONGVU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    p.add_argument("--database", default="congvu_bench_cpu")
    p.add_argument("--app-role", default="congvu_app")
    p.add_argument("--seed", action="store_true", help="recreate and seed the database, then stop")
    p.add_argument("--repeat", type=int, default=300, help="declarations (and updates) per run")
    p.add_argument("--people", type=int, default=16, help="people of the first department who declare")
    p.add_argument("--profile", help="write the declarations' cProfile statistics to this file")
    args = p.parse_args()
    owner_url = f"{args.pg}/{args.database}"
    if args.seed:
        recreate_database(args.pg, args.database, args.app_role)
        seed(owner_url, 400)
        return
    os.environ.setdefault("CONGVU_DATABASE_OPS_URL", owner_url)
    os.environ["CONGVU_SCORING"] = "deferred"
    host = args.pg.split("://", 1)[1].split("@", 1)[1]
    from core import create_app
    from core.extensions import db

    app = create_app({"CONGVU_DATABASE_URL": f"postgresql+psycopg://{args.app_role}@{host}/{args.database}",
                      "CONGVU_SECRET_KEY": "bench-cpu", "TESTING": True, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    owner = create_engine(owner_url)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    api = f"/api/v1/tenants/{SLUG}"
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    # Seeded person n works in unit n % 20 (bench/seed.py): the first department's people.
    people = [f"u{n:05d}" for n in range(0, 20 * args.people, 20)]
    tokens, codes = [], []
    for who in people:
        r = client.post("/api/v1/auth/token", json={"tenant": SLUG, "username": who, "password": PASSWORD})
        tokens.append({"Authorization": f"Bearer {r.get_json()['access_token']}"})
        codes.append(client.get(f"{api}/task-types?mine=true&per_page=100", headers=tokens[-1]).get_json()[0]["code"])
    items: list[int] = []

    def declare(n: int) -> None:
        k = n % len(people)
        r = client.post(f"{api}/work-items", headers=tokens[k],
                        json={"task_type_code": codes[k], "work_date": today, "quantity": 2,
                              "confirm_long_day": True})
        assert r.status_code == 201, r.get_json()
        items.append(r.get_json()["id"])

    def update(n: int) -> None:
        r = client.patch(f"{api}/work-items/{items[n]}", headers=tokens[n % len(people)], json={"status": "done"})
        assert r.status_code == 200, r.get_json()

    def batch(n: int) -> None:
        k = n % len(people)
        r = client.post(f"{api}/work-items", headers=tokens[k], json={"confirm_long_day": True, "items": [
            {"task_type_code": codes[k], "work_date": today, "quantity": 1} for _ in range(6)]})
        assert r.status_code == 201, r.get_json()

    for warm in range(len(people)):  # each person's first request warms what the process keeps
        declare(warm)
    items.clear()
    result = {"load": round(os.getloadavg()[0], 1)}
    for name, call, count in (("declare", declare, args.repeat), ("update", update, args.repeat),
                              ("batch6", batch, args.repeat // 6)):
        profiler = cProfile.Profile() if args.profile and name == "declare" else None
        statements[0] = 0
        db_before = backend_cpu(owner, args.database, args.app_role)
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for n in range(count):
            call(n)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).dump_stats(args.profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        db_cpu = backend_cpu(owner, args.database, args.app_role) - db_before
        result[name] = {"statements": round(statements[0] / count, 2), "py_ms": round(cpu / count * 1000, 3),
                        "pg_ms": round(db_cpu / count * 1000, 3), "wall_ms": round(wall / count * 1000, 3)}
    print(json.dumps(result), flush=True)
    with app.app_context():
        db.engine.dispose()
    owner.dispose()


if __name__ == "__main__":
    main()
