"""Properties of scoring (hypothesis): scores stay in range, recalculating twice changes
nothing, incremental updates equal a full recalculation; and SQLite and PostgreSQL give
the same numbers for the same work."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select, text

from core import unit_of_work
from core.catalogue.models import NormVersion, TaskType
from core.extensions import db
from core.org.models import Employee
from core.scoring import engine
from core.scoring.models import GeneralScore, ItemScore, PeriodScore
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.tenants.services import update_settings
from core.timeutil import utcnow
from core.work.models import WorkItem
from tests.conftest import PG_HOST, Backend, _pg_available, make_app, missing
from tests.work.test_work_support import build

PERIOD = "2026-10"
VARIANTS = ["decree335", "hours-ledger", "deadline-buckets"]

item_strategy = st.fixed_dictionaries({
    "who": st.sampled_from(["staff", "staff2", "manager", "accountant"]),
    "day": st.integers(min_value=1, max_value=31),
    "quantity": st.integers(min_value=1, max_value=20),
    "status": st.sampled_from(["planned", "in_progress", "done", "done", "cancelled"]),
    "failed_reviews": st.integers(min_value=0, max_value=5),
    "missed_deadlines": st.integers(min_value=0, max_value=5),
    "stars": st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
    "exempt": st.booleans(),
    "planned": st.booleans(),
    "priority": st.integers(min_value=1, max_value=3),
    "role": st.sampled_from(["lead", "support"]),
    "deadline_offset": st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
    "finish_offset": st.integers(min_value=0, max_value=8),
    "late_report": st.booleans(),
})


def add_items(w, specs: list[dict]) -> list[int]:
    """Items written straight to the table (the rules of declaring are tested elsewhere)."""
    tt = db.session.scalar(select(TaskType).where(TaskType.code == "VB01"))
    version = db.session.scalar(select(NormVersion).where(NormVersion.task_type_id == tt.id))
    ids = []
    for s in specs:
        day = date(2026, 10, s["day"])
        done = s["status"] == "done"
        finished = utcnow().replace(year=2026, month=10, day=1) + timedelta(days=s["day"] - 1 + s["finish_offset"])
        item = WorkItem(
            employee_id=w.ids[s["who"]], task_type_id=tt.id, norm_version_id=version.id, title="x", work_date=day,
            quantity=Decimal(s["quantity"]), norm_minutes=version.norm_minutes, product_weight=version.product_weight,
            complexity_coefficient=Decimal("1.2"), status=s["status"], planned=s["planned"], role=s["role"],
            priority=s["priority"],
            deadline=None if s["deadline_offset"] is None else day + timedelta(days=s["deadline_offset"]),
            failed_reviews=s["failed_reviews"], missed_deadlines=s["missed_deadlines"], stars=s["stars"] if done else None,
            exempt=s["exempt"], completed_at=finished if done else None, reported_at=finished if done else None,
            not_reported=done and s["late_report"], declared_at=utcnow())
        db.session.add(item)
        db.session.flush()
        ids.append(item.id)
    return ids


def snapshot(codes=None) -> list[tuple]:
    rows = db.session.execute(select(Employee.code, PeriodScore.task_score, PeriodScore.total, PeriodScore.item_count,
                                     PeriodScore.components)
                              .join(Employee, Employee.id == PeriodScore.employee_id)
                              .where(PeriodScore.period == PERIOD)).all()
    return sorted((r.code, str(r.task_score), str(r.total), r.item_count, repr(sorted(r.components.items())))
                  for r in rows if codes is None or r.code in codes)


def use_variant(tenant_id: int, key: str) -> None:
    tenant = db.session.get(Tenant, tenant_id)
    update_settings(tenant, {"scoring_variant": {"key": key, "settings": {}}},
                    lambda kind, k, s: s)


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(item_strategy, min_size=0, max_size=25), variant=st.sampled_from(VARIANTS))
def test_ranges_idempotence_and_incremental_equals_full(clean_app, w, specs, variant):
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(delete(ItemScore))
        db.session.execute(delete(PeriodScore))
        db.session.execute(delete(WorkItem))
        use_variant(w.tenant_id, variant)
        ids = add_items(w, specs)
        engine.recalculate(PERIOD)
        full = snapshot()
        for row in db.session.scalars(select(PeriodScore)):
            assert Decimal(0) <= row.task_score <= Decimal(70)
            assert Decimal(0) <= row.total <= Decimal(100)
        engine.recalculate(PERIOD)
        assert snapshot() == full  # recalculating twice changes nothing
        db.session.execute(delete(ItemScore))
        db.session.execute(delete(PeriodScore))
        if ids:
            engine.refresh_items(ids)  # the incremental path, item by item's employees
        touched = {code for code, *_ in snapshot()}
        assert snapshot() == [r for r in full if r[0] in touched]
        assert all(r[3] == 0 for r in full if r[0] not in touched)
        db.session.rollback()


# ---------------------------------------------------------------- both databases


def _fresh(kind: str, tmp_path_factory):
    from flask_migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('same')}/s.db"
        backend, drop = Backend("sqlite", url, url), None
    else:
        problem = _pg_available()
        if problem:
            missing(f"PostgreSQL ({problem})")
        name = f"congvu_same_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_HOST + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        base = PG_HOST.split("@", 1)[1]
        backend = Backend("postgresql", f"postgresql+psycopg://congvu_app@{base}/{name}", f"{PG_HOST}/{name}", name)

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    app = make_app(backend, tmp_path_factory)
    with app.app_context():
        upgrade()
    return app, drop


@pytest.mark.parametrize("variant", VARIANTS)
def test_sqlite_and_postgresql_give_the_same_numbers(tmp_path_factory, clock, variant):
    rng = random.Random(335)
    specs = [{"who": rng.choice(["staff", "staff2", "manager", "accountant"]), "day": rng.randint(1, 31),
              "quantity": rng.randint(1, 9), "status": rng.choice(["planned", "in_progress", "done", "done"]),
              "failed_reviews": rng.randint(0, 3), "missed_deadlines": rng.randint(0, 3),
              "stars": rng.choice([None, 1, 2, 3, 4, 5]), "exempt": rng.random() < 0.1, "planned": rng.random() < 0.8,
              "priority": rng.randint(1, 3), "role": rng.choice(["lead", "support"]),
              "deadline_offset": rng.choice([None, 0, 1, 2, 5]), "finish_offset": rng.randint(0, 6),
              "late_report": rng.random() < 0.1} for _ in range(120)]
    results = {}
    for kind in ("sqlite", "postgresql"):
        app, drop = _fresh(kind, tmp_path_factory)
        try:
            world = build(app, "tinh-same")
            with app.app_context(), tenant_context(world.tenant_id):
                use_variant(world.tenant_id, variant)
                add_items(world, specs)
                engine.recalculate(PERIOD)
                unit_of_work.commit()
                results[kind] = snapshot()
            with app.app_context():
                db.engine.dispose()
        finally:
            if drop:
                drop()
    assert results["sqlite"] == results["postgresql"]
    assert any(r[3] > 0 for r in results["sqlite"])


change_strategy = st.fixed_dictionaries({
    "quantity": st.integers(min_value=1, max_value=20),
    "status": st.sampled_from(["planned", "in_progress", "done", "cancelled"]),
    "failed_reviews": st.integers(min_value=0, max_value=5),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(item_strategy, min_size=1, max_size=25), variant=st.sampled_from(VARIANTS),
       changes=st.lists(st.tuples(st.integers(min_value=0, max_value=24), change_strategy), min_size=1, max_size=4),
       general=st.lists(st.integers(min_value=0, max_value=10), min_size=4, max_size=4))
def test_a_refresh_after_a_full_run_equals_a_new_full_run(clean_app, w, specs, variant, changes, general):
    """The usual life of a month: scored in full, then items change one request at a
    time. A refresh re-scores only the changed people and reads the other members' facts
    for their leaders from the stored month rows — the result must be the full run's."""
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(delete(ItemScore))
        db.session.execute(delete(PeriodScore))
        db.session.execute(delete(WorkItem))
        db.session.execute(delete(GeneralScore))
        use_variant(w.tenant_id, variant)
        ids = add_items(w, specs)
        # General criteria put totals on both sides of 50, where a leader's unit results turn.
        for who, points in zip(("staff", "staff2", "manager", "accountant"), general, strict=True):
            db.session.add(GeneralScore(employee_id=w.ids[who], period=PERIOD, politics_ethics=Decimal(points),
                                        competence_attitude=Decimal(points), innovation=Decimal(points)))
        engine.recalculate(PERIOD)
        for index, change in changes:
            item = db.session.get(WorkItem, ids[index % len(ids)])
            item.quantity = Decimal(change["quantity"])
            item.status, item.failed_reviews = change["status"], change["failed_reviews"]
            db.session.flush()
            engine.refresh_items([item.id])  # one request's change
        incremental = snapshot()
        engine.recalculate(PERIOD)
        assert incremental == snapshot()
        db.session.rollback()


def test_a_refresh_reads_untouched_members_from_their_rows(clean_app, w):
    """The department's leader after one member's item changes: the other members' totals
    (all 100, nobody KHT) and on-time items come from their stored rows; had they been
    read wrong, unit results would drop to 50 % or organising would move."""
    spec = {"day": 5, "quantity": 2, "status": "done", "failed_reviews": 0,
            "missed_deadlines": 0, "stars": 5, "exempt": False, "planned": True,
            "deadline_offset": 2, "finish_offset": 0, "late_report": False,
            "priority": 1, "role": "lead"}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(delete(ItemScore))
        db.session.execute(delete(PeriodScore))
        db.session.execute(delete(WorkItem))
        db.session.execute(delete(GeneralScore))
        use_variant(w.tenant_id, "decree335")
        ids = add_items(w, [spec | {"who": who} for who in ("staff", "staff2", "accountant", "manager")
                            for _ in range(3)])
        for who in ("staff", "staff2", "accountant", "manager"):
            db.session.add(GeneralScore(employee_id=w.ids[who], period=PERIOD, politics_ethics=Decimal(10),
                                        competence_attitude=Decimal(10), innovation=Decimal(10)))
        engine.recalculate(PERIOD)
        item = db.session.get(WorkItem, ids[0])  # one of staff's three
        item.quantity = Decimal(5)
        db.session.flush()
        engine.refresh_items([item.id])
        leader = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == w.ids["manager"],
                                                             PeriodScore.period == PERIOD))
        assert leader.components["unit_results_pct"] == 100.0 and leader.components["organising_pct"] == 100.0
        incremental = snapshot()
        engine.recalculate(PERIOD)
        assert incremental == snapshot()
        db.session.rollback()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(item_strategy, min_size=4, max_size=20), variant=st.sampled_from(VARIANTS),
       changes=st.lists(st.tuples(st.integers(min_value=0, max_value=19), change_strategy), min_size=2, max_size=8),
       batch=st.integers(min_value=1, max_value=3), seed=st.integers(min_value=0, max_value=10_000))
def test_concurrent_scorers_with_marks_arriving_mid_batch_equal_a_full_run(clean_app, backend, w, specs, variant,
                                                                           changes, batch, seed):
    """Scoring beside the request (core/scoring/scorer.py): changes commit with their marks
    while scorers drain batches. On PostgreSQL two scorer threads run side by side with a
    writer (SKIP LOCKED, leaders locked in one ascending statement); on SQLite, one
    process, batches and writes interleave in a random order. Whatever the interleaving,
    once the marks are drained the month equals a full recalculation."""
    import threading

    from core.scoring import scorer
    from core.scoring.models import ScoringMark

    with clean_app.app_context(), tenant_context(w.tenant_id):
        for model in (ScoringMark, ItemScore, PeriodScore, WorkItem, GeneralScore):
            db.session.execute(delete(model))
        use_variant(w.tenant_id, variant)
        ids = add_items(w, specs)
        engine.recalculate(PERIOD)
        unit_of_work.commit()

    def write(index: int, change: dict) -> None:
        """One request's change: the item and its person's mark, one commit."""
        with clean_app.app_context(), tenant_context(w.tenant_id):
            item = db.session.get(WorkItem, ids[index % len(ids)])
            item.quantity = Decimal(change["quantity"])
            item.status, item.failed_reviews = change["status"], change["failed_reviews"]
            db.session.add(ScoringMark(employee_id=item.employee_id, period=PERIOD))
            unit_of_work.commit()
            db.session.remove()

    def score_once() -> int:
        with clean_app.app_context():
            try:
                return scorer.drain_tenant(w.tenant_id, limit=batch)
            finally:
                db.session.remove()

    if backend.name == "postgresql":
        done, failures = threading.Event(), []

        def scorer_loop() -> None:
            try:
                while not done.is_set():
                    score_once()
                score_once()
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=scorer_loop) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for index, change in changes:
                write(index, change)
        finally:
            done.set()
            for t in threads:
                t.join(60)
        assert not failures, failures
    else:
        rng = random.Random(seed)
        for index, change in changes:
            write(index, change)
            if rng.random() < 0.5:
                score_once()
    score_once()
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(ScoringMark.id).limit(1)) is None
        incremental = snapshot()
        engine.recalculate(PERIOD)
        assert incremental == snapshot()
        db.session.rollback()
