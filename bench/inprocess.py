"""Per-request cost without the network or concurrency: SQL statements and
single-thread milliseconds for each request of the mix, through the WSGI test client
against the benchmark database (the app role, row-level security in force). Unlike
throughput on a shared 2-core host, these figures do not depend on what else runs."""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event

from bench.seed import PASSWORD, SLUG
from core import create_app
from core.extensions import db


def measure(app_url: str, usernames: list[str], repeat: int = 40) -> list[dict]:
    app = create_app({"CONGVU_DATABASE_URL": app_url, "CONGVU_SECRET_KEY": "bench-inprocess", "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    statements = [0]

    def count(*_args) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    api = f"/api/v1/tenants/{SLUG}"
    # The tenant's today (the seeded tenant keeps the default zone): the host's date is
    # yesterday there from 17:00 UTC on, and declaring for yesterday costs reads the spike has not.
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    rows: list[dict] = []
    users = usernames[-repeat:]  # people the load phases leave alone
    tokens: list[str] = []
    codes: list[str] = []
    items: list[int] = []

    def run(name: str, call) -> None:
        costs, times = [], []
        for n in range(repeat):
            statements[0] = 0
            start = time.perf_counter()
            call(n)
            times.append((time.perf_counter() - start) * 1000)
            costs.append(statements[0])
        # The process's first request of a kind reads what later ones keep (the tenant's
        # configuration under its stamp, core/tenants/config_cache.py): the steady cost is
        # the most any later one took.
        rows.append({"request": name, "sql_statements": max(costs[1:] or costs),
                     "median_ms": round(statistics.median(times), 1)})

    def login(n):
        r = client.post("/api/v1/auth/token", json={"tenant": SLUG, "username": users[n], "password": PASSWORD})
        tokens.append(r.get_json()["access_token"])

    def catalogue(n):
        r = client.get(f"{api}/task-types?mine=true&per_page=100", headers=_h(tokens[n]))
        codes.append(r.get_json()[0]["code"])

    def declare(n):
        r = client.post(f"{api}/work-items", headers=_h(tokens[n]), json={
            "task_type_code": codes[n], "work_date": today, "quantity": 2})
        assert r.status_code == 201, r.get_json()
        items.append(r.get_json()["id"])

    def update(n):
        r = client.patch(f"{api}/work-items/{items[n]}", headers=_h(tokens[n]), json={"status": "done"})
        assert r.status_code == 200, r.get_json()

    def listing(n):
        assert client.get(f"{api}/work-items?work_date={today}", headers=_h(tokens[n])).status_code == 200

    for name, call in (("log in", login), ("load my catalogue", catalogue), ("declare an item", declare),
                       ("update an item (done)", update), ("list my day", listing)):
        run(name, call)
    event.remove(engine, "before_cursor_execute", count)
    with app.app_context():
        db.engine.dispose()
    return rows


def _h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
