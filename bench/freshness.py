"""Freshness of the scores during the morning spike (issue 16), and the check after it.

- `MonthPoller` reads every person's month row (its item count) ten times a second, as
  the owner, while the declarations run and until the marks are drained.
- `freshness` gives, for each declared item, the seconds from its response (its commit
  had happened by then) to the first poll that saw its person's month row count it: the
  k-th item a person declared is reflected once the row counts k items (one person's
  declarations are spread over the run, so they commit in order). The poll interval
  bounds the error (+0.1 s at most).
- `equal_to_full_recalculation` snapshots the month rows, recalculates the month from
  scratch (the engine's full path, one transaction) and compares.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from sqlalchemy import create_engine, text

POLL_S = 0.1
_ROWS = text("SELECT employee_id, item_count FROM period_scores WHERE period = :p")
_SNAPSHOT = text("SELECT employee_id, task_score::text, total::text, item_count, components::jsonb::text "
                 "FROM period_scores WHERE period = :p")


class MonthPoller(threading.Thread):
    def __init__(self, owner_url: str, period: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(owner_url)
        self.period = period
        self.polls: list[tuple[float, dict[int, int]]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            while not self._halt.is_set():
                rows = dict(conn.execute(_ROWS, {"p": self.period}).all())
                self.polls.append((time.time(), rows))
                self._halt.wait(POLL_S)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        self.engine.dispose()


def freshness(declared: list[tuple[int, int, float]], polls: list[tuple[float, dict[int, int]]]) -> dict:
    """`declared`: (employee id, items in the request, wall time of its response) of every
    successful declaration. Returns p50/p99/max seconds and how many were never seen."""
    by_person: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for employee_id, n_items, done in declared:
        by_person[employee_id].append((done, n_items))
    delays: list[float] = []
    unseen = 0
    for employee_id, requests in by_person.items():
        requests.sort()
        counted = 0
        cursor = 0
        for done, n_items in requests:
            counted += n_items
            while cursor < len(polls) and polls[cursor][1].get(employee_id, 0) < counted:
                cursor += 1
            if cursor == len(polls):
                unseen += 1
                continue
            delays.append(max(0.0, polls[cursor][0] - done))
    delays.sort()
    n = len(delays)

    def pct(p: float) -> float | None:
        return round(delays[min(n - 1, int(p * n))], 2) if n else None

    return {"declarations": n + unseen, "p50_s": pct(0.5), "p99_s": pct(0.99),
            "max_s": round(delays[-1], 2) if n else None, "never_seen": unseen}


def _snapshot(engine, period: str) -> dict[int, tuple]:
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(_SNAPSHOT, {"p": period})}


def equal_to_full_recalculation(owner_url: str, slug: str, period: str) -> dict:
    """Compare every month row the scorers left with a full recalculation of the month.
    Rows only the full run writes are people with no item (item count 0); any other
    difference is a row the incremental path got wrong."""
    from core import create_app, unit_of_work
    from core.extensions import db
    from core.scoring import engine as scoring
    from core.tenancy import tenant_context
    from core.tenants.models import Tenant

    engine = create_engine(owner_url)
    try:
        before = _snapshot(engine, period)
        app = create_app({"CONGVU_DATABASE_URL": owner_url, "CONGVU_SECRET_KEY": "bench-check", "TESTING": True,
                          "CONGVU_DATABASE_OPS_URL": owner_url})
        with app.app_context():
            tenant_id = db.session.query(Tenant.id).filter_by(slug=slug).scalar()
            with tenant_context(tenant_id):
                scoring.recalculate(period)
                unit_of_work.commit()
            db.engine.dispose()
        after = _snapshot(engine, period)
    finally:
        engine.dispose()
    differing = sorted(pid for pid, row in before.items() if after.get(pid) != row)
    missed = sorted(pid for pid, row in after.items() if pid not in before and row[2])
    return {"months": len(before), "differing": len(differing), "missed_with_items": len(missed),
            "equal": not differing and not missed}
