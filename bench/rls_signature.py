"""What the signed row-level security settings cost per statement (docs/benchmarks.md).

    python -m bench.rls_signature [--rounds 3000]

A scratch PostgreSQL database (CONGVU_TEST_PG, as the tests use) is migrated, two
tenants are built, then, connected as the app role inside one transaction signed for
the first tenant, three statements are timed `--rounds` times each: a primary-key read
of one employee, a count of the tenant's users, and a join of three tenant tables. The
policies are switched between three predicates, in turn, twice: the unsigned one of
before migration 0020 (which the app role could switch off), 0020's (its functions
recreated under bench-only names, as 0020 wrote them) and the current one (migration
0036: one function per table). The medians of the per-statement means are printed. The
database is dropped after.
"""

from __future__ import annotations

import argparse
import importlib.util
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


def _functions_0020(owner_url: str) -> str:
    """Migration 0020's functions, as it created them, under names of this bench's own;
    returns the predicate that calls them."""
    spec = importlib.util.spec_from_file_location(
        "rls_0020", Path(__file__).resolve().parent.parent / "core" / "migrations" / "versions" / "0020_rls_signed_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sql = module.FUNCTIONS
    for name in ("session", "signed", "tenant", "unscoped"):
        sql = sql.replace(f"public.congvu_rls_{name}(", f"public.bench_rls_{name}_0020(")
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()
    return rls.SIGNED_0020_PREDICATE.replace("public.congvu_rls_", "public.bench_rls_").replace("()", "_0020()")


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


CHECKS = {"0020": "PERFORM public.bench_rls_unscoped_0020(); PERFORM public.bench_rls_tenant_0020();",
          "0036": "PERFORM public.congvu_rls_scope();",
          "unsigned (before 0020)": "PERFORM nullif(current_setting('app.tenant_id', true), '')::bigint;"}


def _per_check(app, app_url: str, tenant_id: int, calls: int) -> dict[str, float]:
    """The check alone, as one table of a statement pays it: `calls` evaluations in a DO
    loop inside one signed transaction (no driver, no statement around it), µs each."""
    engine = create_engine(app_url)
    out = {}
    with app.app_context(), engine.connect() as conn:
        rls.apply(conn, tenant_id)
        for label, body in CHECKS.items():
            start = time.perf_counter()
            conn.exec_driver_sql(f"DO $$ BEGIN FOR i IN 1..{calls} LOOP {body} END LOOP; END $$")
            out[label] = (time.perf_counter() - start) / calls * 1e6
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
        predicates = {"unsigned (before 0020)": rls.LEGACY_PREDICATE,
                      "0020": _functions_0020(backend.owner_url), "0036": rls._PREDICATE}
        results: dict[str, dict[str, list[float]]] = {label: {} for label in predicates}
        for _ in range(2):
            for label, predicate in predicates.items():
                _policies(backend.owner_url, predicate)
                for name, micros in _time(app, backend.app_url, a.tenant_id, a.ids["staff"], args.rounds).items():
                    results[label].setdefault(name, []).append(micros)
        print(f"{'statement':<20} {'unsigned µs':>12} {'0020 µs':>8} {'0036 µs':>8} "
              f"{'0020 extra':>11} {'0036 extra':>11}")
        for name in STATEMENTS:
            before, old, new = (statistics.median(results[label][name]) for label in predicates)
            print(f"{name:<20} {before:>12.1f} {old:>8.1f} {new:>8.1f} {old - before:>11.1f} {new - before:>11.1f}")
        checks: dict[str, list[float]] = {}
        for _ in range(3):
            for label, micros in _per_check(app, backend.app_url, a.tenant_id, args.rounds * 5).items():
                checks.setdefault(label, []).append(micros)
        print("one table's check, µs (median of 3 DO loops of", args.rounds * 5, "calls): "
              + ", ".join(f"{label} {statistics.median(v):.1f}" for label, v in checks.items()))
    finally:
        _drop_postgres(backend)


if __name__ == "__main__":
    main()
