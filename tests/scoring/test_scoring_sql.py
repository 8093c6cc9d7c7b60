"""The SQL path of the built-in variants gives the Python path's numbers, bit for bit.

On PostgreSQL a month is scored with one INSERT … SELECT built from each variant's
`item_components_sql`; `score_items` (Python) stays the definition. Hypothesis draws
items and settings; both paths score them and every component must be the same double
(no tolerance: core/plugins/sql.py explains why they can be identical).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Date, DateTime, Float, Numeric, SmallInteger, String, cast, column, select, values

from core.extensions import db
from core.plugins.sql import SqlItem
from core.scoring import kernel
from plugins.deadline_buckets import DeadlineBuckets
from plugins.decree335 import Decree335
from plugins.hours_ledger import HoursLedger

VARIANTS = {v.key: v for v in (Decree335(), HoursLedger(), DeadlineBuckets())}
ZONE = "Asia/Ho_Chi_Minh"
AS_OF = date(2026, 10, 20)

COLUMNS = (
    ("quantity", Numeric(12, 2)), ("product_weight", Numeric(10, 3)), ("norm_minutes", Numeric(10, 2)),
    ("complexity_coefficient", Numeric(6, 3)), ("status", String(16)), ("planned", Boolean),
    ("role", String(8)), ("priority", SmallInteger), ("deadline", Date), ("failed_reviews", SmallInteger),
    ("missed_deadlines", SmallInteger), ("stars", SmallInteger), ("satisfaction", SmallInteger),
    ("exempt", Boolean), ("complexity_level", SmallInteger), ("work_date", Date), ("not_reported", Boolean),
    ("completed_at", DateTime(timezone=True)), ("task_type_code", String(40)), ("group", String(1)),
)


def cents(low: int, high: int, places: int):
    return st.integers(min_value=low, max_value=high).map(lambda n: Decimal(n).scaleb(-places))


item_strategy = st.fixed_dictionaries({
    "quantity": cents(1, 5000, 2), "product_weight": cents(1, 5000, 3), "norm_minutes": cents(0, 48000, 2),
    "complexity_coefficient": cents(500, 3000, 3),
    "status": st.sampled_from(["planned", "in_progress", "done", "done"]), "planned": st.booleans(),
    "role": st.sampled_from(["lead", "support"]), "priority": st.integers(1, 3),
    "deadline": st.one_of(st.none(), st.dates(date(2026, 10, 1), date(2026, 11, 10))),
    "failed_reviews": st.integers(0, 6), "missed_deadlines": st.integers(0, 6),
    "stars": st.one_of(st.none(), st.integers(1, 5)), "satisfaction": st.one_of(st.none(), st.integers(1, 5)),
    "exempt": st.booleans(), "complexity_level": st.one_of(st.none(), st.integers(1, 3)),
    "work_date": st.dates(date(2026, 10, 1), date(2026, 10, 31)), "not_reported": st.booleans(),
    # Around midnight in Vietnam, so the completion day depends on the time zone.
    "completed_at": st.one_of(st.none(), st.datetimes(datetime(2026, 9, 28), datetime(2026, 11, 5))
                              .map(lambda d: d.replace(tzinfo=UTC))),
    "task_type_code": st.just("VB01"), "group": st.sampled_from("ABCD"),
})

def hundredths(low: float, high: float):
    """Settings as a form gives them (PostgreSQL raises on a double underflow, which a
    factor like 1e-155 would cause; no tenant types one)."""
    return st.integers(int(low * 100), int(high * 100)).map(lambda n: n / 100)


unit = hundredths(0, 1)
setting_strategies = {
    "decree335": st.fixed_dictionaries({
        "review_penalty": unit, "deadline_penalty": unit,
        "quantity_weight": st.just(1.0), "quality_weight": st.just(1.0), "progress_weight": st.just(1.0),
        "unit_all_pass_pct": st.just(100.0), "unit_any_fail_pct": st.just(50.0), "satisfaction_weight": unit}),
    "hours-ledger": st.fixed_dictionaries({
        "deadline_penalty": unit,
        "star_factors": st.fixed_dictionaries({k: hundredths(0, 1.5) for k in "12345"}),
        "hours_per_day": st.just(8.0), "daily_cap_hours": st.just(10.0), "flag_hours": st.just(8.0),
        "target_utilisation": st.just(0.75), "satisfaction_weight": unit}),
    "deadline-buckets": st.fixed_dictionaries({
        key: hundredths(0, 150) for key in
        ("early_3", "early_2", "early_1", "on_time", "late_1", "late_2", "late_3")} | {
        "lead_weight": hundredths(0, 10), "support_weight": hundredths(0, 10), "satisfaction_weight": unit}),
}


def python_components(variant, items: list[dict], cfg: dict) -> list[tuple[float, ...]]:
    tenant = SimpleNamespace(timezone=ZONE)
    facts = [kernel.item_facts(SimpleNamespace(_mapping={"id": n, "employee_id": 1, **item}), tenant, AS_OF)
             for n, item in enumerate(items)]
    return [tuple(float(c[name]) for name in variant.item_components)
            for c in variant.score_items(facts, cfg)]


def sql_components(variant, items: list[dict], cfg: dict) -> list[tuple[float, ...]]:
    table = values(*(column(name, type_) for name, type_ in COLUMNS), name="items").data(
        [tuple(item[name] for name, _ in COLUMNS) for item in items])
    # Typed again: a VALUES column holding only NULLs would otherwise be text.
    typed = {name: cast(table.c[name], type_) for name, type_ in COLUMNS}
    exprs = variant.item_components_sql(SqlItem(typed, ZONE, AS_OF), cfg)
    try:
        rows = db.session.execute(select(*(cast(exprs[n], Float) for n in variant.item_components))
                                  .select_from(table)).all()
    finally:
        db.session.rollback()  # an error must not leave the next example an aborted transaction
    return [tuple(row) for row in rows]


@pytest.fixture
def pg_session(app, backend):
    if backend.name != "postgresql":
        pytest.skip("the SQL path runs on PostgreSQL; SQLite scores in Python")
    with app.app_context():
        yield
        db.session.rollback()


@pytest.mark.parametrize("key", VARIANTS)
def test_sql_components_equal_python_bit_for_bit(pg_session, key):
    variant = VARIANTS[key]

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(items=st.lists(item_strategy, min_size=1, max_size=12), cfg=setting_strategies[key])
    def check(items, cfg):
        assert sql_components(variant, items, cfg) == python_components(variant, items, cfg)

    check()


leader_settings = st.fixed_dictionaries({
    "leader_own_weight": hundredths(0, 3), "leader_unit_weight": hundredths(0, 3),
    "leader_leadership_weight": hundredths(0, 3),
    "leader_leadership_source": st.sampled_from(["evaluator_else_on_time", "evaluator", "on_time"]),
    "unit_all_pass_pct": hundredths(0, 100), "unit_any_fail_pct": hundredths(0, 100)})
leader_facts = st.fixed_dictionaries({
    "is_leader": st.just(True), "unit_people": st.integers(1, 40), "unit_any_kht": st.booleans(),
    "organising_pct": hundredths(0, 100), "deputy": st.booleans()}, optional={"leadership_pct": hundredths(0, 100)})


def test_a_leaders_month_is_the_same_from_either_path(pg_session):
    """Heads' and deputies' months (issue 20 item 1): the leader formula, with its criteria
    weights and the source of the leadership criterion drawn, turns the SQL path's sums
    into the same task score and parts as the Python path's."""
    variant = VARIANTS["decree335"]

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(items=st.lists(item_strategy, min_size=1, max_size=8), cfg=setting_strategies["decree335"],
           leader=leader_settings, facts=leader_facts)
    def check(items, cfg, leader, facts):
        full = variant.load_settings(cfg | leader)
        results = []
        for rows in (sql_components(variant, items, full), python_components(variant, items, full)):
            sums = {name: sum(row[i] for row in rows) for i, name in enumerate(variant.item_components)}
            results.append(variant.period_score(sums, full, {"working_days": 21, "period": "2026-10", **facts}))
        assert results[0] == results[1]

    check()


def test_every_builtin_variant_has_a_sql_path():
    """The month-scale target (8.8 M items in a minute) needs it for the variants we ship."""
    for variant in VARIANTS.values():
        assert variant.item_components_sql(
            SqlItem({name: column(name, type_) for name, type_ in COLUMNS}, ZONE, AS_OF),
            variant.settings_schema().load({})) is not None


def test_deadline_buckets_judges_days_early_in_the_tenant_zone(pg_session):
    """Completed 23:30 UTC on the 9th is the 10th in Vietnam: on the deadline day, 100 points."""
    variant = VARIANTS["deadline-buckets"]
    cfg = variant.settings_schema().load({})
    item = {"quantity": Decimal("1"), "product_weight": Decimal("1"), "norm_minutes": Decimal("30"),
            "complexity_coefficient": Decimal("1"), "status": "done", "planned": True, "role": "lead", "priority": 1,
            "deadline": date(2026, 10, 10), "failed_reviews": 0, "missed_deadlines": 0, "stars": 5,
            "satisfaction": None, "exempt": False, "complexity_level": None, "work_date": date(2026, 10, 9),
            "not_reported": False, "completed_at": datetime(2026, 10, 9, 23, 30, tzinfo=UTC) - timedelta(0),
            "task_type_code": "VB01", "group": "A"}
    # weight 1 × (completion 100 + quality 5 × 20) ÷ 2 = 100; no satisfaction rating: 0 rated, 0 points
    assert sql_components(variant, [item], cfg) == [(1.0, 100.0, 0.0, 1.0, 0.0, 0.0)]
    assert python_components(variant, [item], cfg) == [(1.0, 100.0, 0.0, 1.0, 0, 0.0)]
