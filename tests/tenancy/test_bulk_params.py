"""No statement is capped by how many ids it names (issue 17, item 7; core/sqlparams.py):
PostgreSQL refuses more than 65,535 bind parameters in a statement and SQLite more than
32,766, and a recalculation of a province with 70,000 people failed on its first list."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import bindparam, delete, func, select

from core import unit_of_work
from core.extensions import db
from core.generate import generate
from core.org.models import Employee
from core.scoring import engine, kernel, scope
from core.scoring.models import PeriodScore
from core.tenancy import tenant_context
from tests.factories import build_world


def test_an_in_list_longer_than_any_driver_limit_runs_on_both_databases(clean_app):
    world = build_world(clean_app, "tinh-a")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        wanted = [world.ids["staff"], world.ids["admin"], *range(10**9, 10**9 + 70_000)]  # 70,002 ids, two real
        assert db.session.scalar(select(func.count()).select_from(Employee).where(Employee.id.in_(wanted))) == 2
        # A cached statement's expanding parameter takes the same path.
        stmt = select(func.count()).select_from(Employee).where(Employee.id.in_(bindparam("ids", expanding=True)))
        assert db.session.scalar(stmt, {"ids": wanted}) == 2
        # Text lists keep their bind parameters (nothing else is rendered inline).
        compiled = str(select(Employee.id).where(Employee.code.in_(["A", "B"])).compile(db.engine))
        assert "'A'" not in compiled


def test_recalculating_a_province_of_70000_people(clean_app, backend):
    """One recalculation of 70,000 people equals the same month aggregated in chunks of
    5,000 (each chunk with the leaders above it, as an incremental refresh does): the
    same row for every person, leaders included."""
    if backend.name != "postgresql":
        pytest.skip("70,000 people are generated with COPY (PostgreSQL); the SQLite path is the test above")
    with clean_app.app_context():
        made = generate("tinh-lon", 70_000, 0, date(2026, 10, 1))
        unit_of_work.commit()
        with tenant_context(made.tenant_id):
            result = engine.recalculate("2026-10")
            unit_of_work.commit()
            assert result["employees"] == 70_000 and result["items"] == 0
            whole = _scores()
            assert len(whole) == 70_000
            db.session.execute(delete(PeriodScore).where(PeriodScore.period == "2026-10"))
            ids = sorted(db.session.scalars(select(Employee.id)))
            scheme = kernel.scheme_for("2026-10")
            unit_of_work.commit()
            for start in range(0, len(ids), 5_000):
                # A transaction each, as refreshes are: each person's lock is a slot of the
                # server's lock table (max_locks_per_transaction), which 70,000 would overflow.
                chunk = ids[start:start + 5_000]
                engine.aggregate(scheme, chunk, scope.lock_people(chunk))
                unit_of_work.commit()
            assert _scores() == whole


def _scores() -> list[tuple]:
    return sorted(db.session.execute(select(PeriodScore.employee_id, PeriodScore.task_score, PeriodScore.total,
                                            PeriodScore.provisional).where(PeriodScore.period == "2026-10")).all())
