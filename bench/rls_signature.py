"""What the signed row-level security settings cost per statement (docs/benchmarks.md).

    python -m bench.rls_signature [--rounds 3000]

A scratch PostgreSQL database (CONGVU_TEST_PG, as the tests use) is migrated, two
tenants are built, then, connected as the app role inside one transaction signed for
the first tenant, three statements are timed `--rounds` times each: a primary-key read
of one employee, a count of the tenant's users, and a join of three tenant tables. The
same runs are repeated with the policies swapped back to the unsigned predicate of
before migration 0020 (which the app role could switch off), alternating twice, and
the medians of the per-statement means are printed. The database is dropped after.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from core.tenancy import rls

STATEMENTS = {
    "employee by id": "SELECT full_name FROM employees WHERE id = :id",
    "count users": "SELECT count(*) FROM users",
    "join of 3 tables": ("SELECT count(*) FROM employees e JOIN org_units u ON u.id = e.unit_id "
                         "JOIN users s ON s.id = e.user_id"),
}


def _policies(owner_url: str, predicate: str) -> None:
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_policies WHERE policyname = :p"),
                              {"p": rls.POLICY}).scalars().all()
        for table in tables:
            for stmt in rls.enable_statements(table, predicate):
                conn.execute(text(stmt))
    engine.dispose()


def _time(app, app_url: str, tenant_id: int, employee_id: int, rounds: int) -> dict[str, float]:
    engine = create_engine(app_url)
    out = {}
    with app.app_context(), engine.connect() as conn:
        rls.apply(conn, tenant_id)
        for name, sql in STATEMENTS.items():
            stmt = text(sql)
            conn.execute(stmt, {"id": employee_id})  # warm the plan cache
            start = time.perf_counter()
            for _ in range(rounds):
                conn.execute(stmt, {"id": employee_id}).all()
            out[name] = (time.perf_counter() - start) / rounds * 1e6
        conn.rollback()
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from tests.conftest import _drop_postgres, _make_postgres, make_app
    from tests.factories import build_world

    class _Tmp:  # make_app takes pytest's tmp_path_factory; this stand-in has its one method
        def mktemp(self, name: str) -> Path:
            return Path(tempfile.mkdtemp(prefix=f"rlsbench-{name}-"))

    backend = _make_postgres()
    try:
        app = make_app(backend, _Tmp())
        with app.app_context():
            upgrade()
        a, _b = build_world(app, "tinh-a"), build_world(app, "tinh-b")
        results: dict[str, dict[str, list[float]]] = {"signed": {}, "unsigned (before 0020)": {}}
        for _ in range(2):
            for label, predicate in (("unsigned (before 0020)", rls.LEGACY_PREDICATE), ("signed", rls._PREDICATE)):
                _policies(backend.owner_url, predicate)
                for name, micros in _time(app, backend.app_url, a.tenant_id, a.ids["staff"], args.rounds).items():
                    results[label].setdefault(name, []).append(micros)
        print(f"{'statement':<20} {'unsigned µs':>12} {'signed µs':>10} {'extra µs':>9}")
        for name in STATEMENTS:
            before = statistics.median(results["unsigned (before 0020)"][name])
            after = statistics.median(results["signed"][name])
            print(f"{name:<20} {before:>12.1f} {after:>10.1f} {after - before:>9.1f}")
    finally:
        _drop_postgres(backend)


if __name__ == "__main__":
    main()
