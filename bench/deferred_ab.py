"""Scoring inline against deferred, one thread, alternated (`python -m bench.deferred_ab`):
a declaration's and an update's statements and median time in each mode
(bench.inprocess.measure), and the scorer's time to drain the marks the deferred round
left. Needs a database the morning spike seeded (`python -m bench --database NAME`)."""

from __future__ import annotations

import argparse
import json
import os
import time

from sqlalchemy import create_engine, text

from bench import inprocess


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.deferred_ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", default=os.environ.get("CONGVU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    p.add_argument("--database", default="congvu_bench")
    p.add_argument("--app-role", default="congvu_app")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=20, help="declarations (and updates) per mode and round")
    args = p.parse_args()
    owner = create_engine(f"{args.pg}/{args.database}")
    host = args.pg.split("://", 1)[1].split("@", 1)[1]
    app_url = f"postgresql+psycopg://{args.app_role}@{host}/{args.database}"
    with owner.connect() as conn:
        users = [r[0] for r in conn.execute(text("SELECT username FROM users ORDER BY id"))]
        tenant_id = conn.execute(text("SELECT id FROM tenants ORDER BY id LIMIT 1")).scalar()
    from core import create_app
    from core.extensions import db
    from core.scoring import scorer

    for n in range(args.rounds):
        for mode in ("inline", "deferred"):
            os.environ["CONGVU_SCORING"] = mode  # read by create_app in measure()
            # Each round its own people (measure takes the last `repeat` of the list).
            rows = inprocess.measure(app_url, users[: len(users) - 2 * args.repeat * n] if n else users,
                                     repeat=args.repeat)
            record = {"round": n + 1, "mode": mode, "load": round(os.getloadavg()[0], 1)}
            record |= {r["request"]: [r["sql_statements"], r["median_ms"]] for r in rows
                       if r["request"] in ("declare an item", "update an item (done)")}
            if mode == "deferred":
                app = create_app({"CONGVU_DATABASE_URL": app_url, "CONGVU_SECRET_KEY": "bench", "TESTING": True})
                with app.app_context():
                    started = time.perf_counter()
                    taken = scorer.drain_tenant(tenant_id)
                    ms = (time.perf_counter() - started) * 1000
                    db.engine.dispose()
                record["drain"] = {"marks": taken, "ms": round(ms, 1), "ms_per_mark": round(ms / max(taken, 1), 2)}
            print(json.dumps(record), flush=True)
    owner.dispose()


if __name__ == "__main__":
    main()
