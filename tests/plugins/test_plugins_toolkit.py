"""The plugin authors' toolkit and the conformance kit (no database needed)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.plugins import toolkit
from core.plugins.testing import (
    ConformanceError,
    check_bonus_scheme,
    check_component,
    check_import_connector,
    check_scoring_variant,
    sample_item,
)
from core.plugins.toolkit import (
    allocate_exact,
    is_working_day,
    period_bounds,
    public_holidays,
    read_csv,
    round_money,
    working_days,
)

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- money


def test_allocate_exact_sums_to_the_total_by_largest_remainder():
    assert allocate_exact(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}  # tie: earlier key
    assert allocate_exact(10, {"x": Decimal("1.5"), "y": "1.0", "z": 0.5}) == {"x": 5, "y": 3, "z": 2}
    assert allocate_exact(0, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    with pytest.raises(ValueError):
        allocate_exact(7, {})
    with pytest.raises(ValueError):
        allocate_exact(5, {"a": -1, "b": 2})
    with pytest.raises(ValueError):
        allocate_exact(-1, {"a": 1})


@given(st.integers(min_value=0, max_value=10**12),
       st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any))
def test_allocate_exact_properties(total, weights):
    shares = allocate_exact(total, dict(enumerate(weights)))
    assert sum(shares.values()) == total
    weight_sum = sum(weights)
    for i, w in enumerate(weights):
        quota = Fraction(total * w, weight_sum)
        assert quota - 1 < shares[i] < quota + 1  # nobody is more than one đồng from their exact share
        assert w > 0 or shares[i] == 0


def test_round_money_rounds_halves_away_from_zero():
    assert [round_money(v) for v in (Decimal("2.5"), 3.5, "-2.5", Fraction(5, 2), 10, 0.49999)] == [3, 4, -3, 3, 10, 0]
    assert round_money(1_234_567.5) == 1_234_568


# ---------------------------------------------------------------- calendar


def test_working_days_leave_out_weekends_and_vietnamese_holidays():
    # February 2026: 20 weekdays, less Tết (16–20 Feb, Monday to Friday).
    assert working_days(date(2026, 2, 1), date(2026, 2, 28)) == 15
    # October 2026: 22 weekdays, no holiday; the tenant gave 5 October off.
    assert working_days(date(2026, 10, 1), date(2026, 10, 31), extra_days_off=[date(2026, 10, 5)]) == 21
    assert working_days(date(2026, 10, 2), date(2026, 10, 1)) == 0
    assert date(2026, 9, 2) in public_holidays(date(2026, 9, 1), date(2026, 9, 30))
    assert not is_working_day(date(2026, 4, 27))  # Hùng Kings' day, observed
    assert is_working_day(date(2026, 4, 28)) and not is_working_day(date(2026, 4, 28), [date(2026, 4, 28)])


def test_period_bounds_for_every_api_period():
    assert period_bounds("2026-10") == (date(2026, 10, 1), date(2026, 10, 31))
    assert period_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds("2026-Q1") == (date(2026, 1, 1), date(2026, 3, 31))
    assert period_bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))
    assert period_bounds("2026-W43") == (date(2026, 10, 19), date(2026, 10, 25))
    assert period_bounds("2026-10-27") == (date(2026, 10, 27), date(2026, 10, 27))
    for bad in ("2026-13", "2026-Q5", "2026-W54", "2026-02-30", "26-10", "", "2026-10-27x"):
        with pytest.raises(ValueError):
            period_bounds(bad)


# ---------------------------------------------------------------- files


def test_read_csv_header_in_any_order_bom_semicolons_and_row_numbers():
    data = "\ufeffName;Code;extra\nAn;A1;x\n;;\nBình;B2;\n".encode()
    rows, errors, extra = read_csv(data, ["code", "name"])
    assert errors == [] and extra == ["extra"]
    assert [(r["_row"], r["code"], r["name"]) for r in rows] == [(2, "A1", "An"), (4, "B2", "Bình")]


def test_read_csv_reports_bad_input_instead_of_raising():
    assert read_csv(b"", ["a"]) == ([], [], [])
    rows, errors, _ = read_csv(b"\xff\xfe\x00bad", ["a"])
    assert rows == [] and "not UTF-8" in errors[0]["message"]
    rows, errors, _ = read_csv(b"a,a\n1,2,3\n", ["a"])
    assert {(e["row"], e["column"]) for e in errors} == {(1, "a"), (2, None)}


def test_toolkit_exports_are_all_present():
    for name in toolkit.__all__:
        assert hasattr(toolkit, name), name


# ---------------------------------------------------------------- the conformance kit


class Good(toolkit.ScoringVariant):
    key = "good"
    version = "1"
    title_vi = "Tốt"
    title_en = "Good"
    item_components = ("done",)

    def score_items(self, items, settings):
        return [{"done": 1 if i["status"] == "done" else 0} for i in items]

    def period_score(self, sums, settings, facts):
        return {"task_score": min(70.0, float(sums["done"])), "components": {"done": float(sums["done"])}}


def test_kit_accepts_a_good_variant():
    results = check_scoring_variant(Good(), items=[sample_item(), sample_item(status="planned")])
    assert results[1]["task_score"] == 1.0


@pytest.mark.parametrize("override, message", [
    ({"score_items": lambda self, items, s: [{"done": 1, "extra": 2} for _ in items]}, "are not item_components"),
    ({"score_items": lambda self, items, s: [{"done": float("nan")} for _ in items]}, "finite number"),
    ({"score_items": lambda self, items, s: [{"done": 1} for _ in items[:1]]}, "one dict per item"),
    ({"score_items": lambda self, items, s: [{"done": len(items)} for _ in items]}, "one at a time differs"),
    ({"period_score": lambda self, sums, s, f: {"task_score": 71, "components": {}}}, "from 0 to 70"),
    ({"period_score": lambda self, sums, s, f: {"task_score": 1, "components": {"x": "1"}}}, "components must map"),
    ({"period_score": lambda self, sums, s, f: {"task_score": 1, "components": {}, "provisional": 1}},
     "provisional must be a bool"),
    ({"period_score": lambda self, sums, s, f: {"task_score": 70 / f["working_days"], "components": {}}},
     r"period_score \(no working days\) raised ZeroDivisionError"),
    ({"key": "Not A Key"}, "not well formed"),
    ({"task_score_max": 0}, "task_score_max must be a number above 0"),
    ({"total_bands": (("HT", 50), ("HTXS", 90), ("KHT", 0))}, "from the highest edge down"),
    ({"total_bands": (("HT", 50), ("KHT", 10))}, "the last one 0"),
    ({"task_histogram_edges": (0, 35, 63)}, "rise from 0 to task_score_max"),
    ({"organising_components": ("done", "on_time")}, "two of item_components"),
    ({"band": lambda self, total: "A+"}, r"band\(95.5\) is 'A\+', not one of total_bands"),
    ({"leader_facts": lambda self, members, s: {"unit_people": 99}}, "must not replace the core's facts"),
    ({"leader_facts": lambda self, members, s: {"when": date(2026, 1, 1)}}, "JSON-able dict"),
])
def test_kit_catches_broken_variants(override, message):
    broken = type("Broken", (Good,), override)
    with pytest.raises(ConformanceError, match=message):
        check_component(broken())


def test_default_leader_facts_and_bands_are_decree_335s():
    """Members' totals 95.5, 70, 55.25, 49.99 (the last under HT's edge, 50): anyone KHT.
    Organising over sums items 3 + 1 + 0 + 4 = 8, on time 2 + 1 + 0 + 3 = 6: 6 / 8 = 75 %."""
    class Organised(Good):
        item_components = ("done", "items", "on_time")
        organising_components = ("items", "on_time")

    sums = [{"items": 3, "on_time": 2}, {"items": 1, "on_time": 1}, {}, {"items": 4, "on_time": 3}]
    totals = [Decimal("95.5"), Decimal("70"), Decimal("55.25"), Decimal("49.99")]
    members = [{"total": t, "sums": s} for t, s in zip(totals, sums, strict=True)]
    assert Organised().leader_facts(members, {}) == {"unit_any_kht": True, "organising_pct": 75.0}
    # Without 49.99 nobody is KHT (50 is HT: an edge belongs to the band above it); no items: 100 %.
    assert Organised().leader_facts(members[:3], {}) == {"unit_any_kht": False, "organising_pct": 75.0}
    assert Organised().leader_facts([{"total": Decimal(50), "sums": {}}], {}) == \
        {"unit_any_kht": False, "organising_pct": 100.0}
    # A variant that names no organising components gives no organising fact.
    assert Good().leader_facts(members, {}) == {"unit_any_kht": True}
    assert [Good().band(t) for t in (*totals, Decimal(90), 0)] == ["HTXS", "HTT", "HT", "KHT", "HTXS", "KHT"]


def test_another_rules_bands_and_cap_reach_the_leader_facts():
    """A rule with three bands, failing under 40, and a task cap of 60 (and so general criteria to 40)."""
    class Other(Good):
        task_score_max = 60.0
        total_bands = (("A", 80), ("B", 40), ("C", 0))
        task_histogram_edges = (0, 30, 60)

    check_component(Other())
    members = [{"total": Decimal("45"), "sums": {}}, {"total": Decimal("39.99"), "sums": {}}]
    assert Other().leader_facts(members[:1], {}) == {"unit_any_kht": False}
    assert Other().leader_facts(members, {}) == {"unit_any_kht": True}


def test_kit_catches_impure_and_nondeterministic_variants():
    counter = iter(range(1000))

    class Drifting(Good):
        def period_score(self, sums, settings, facts):
            return {"task_score": float(next(counter) % 70), "components": {}}

    with pytest.raises(ConformanceError, match="not deterministic"):
        check_component(Drifting())


def test_kit_catches_settings_that_do_not_round_trip():
    class Settings(toolkit.Schema):
        start = toolkit.fields.Date(load_default=date(2026, 1, 1))  # dumps to JSON fine

    class Unjsonable(toolkit.Schema):
        amount = toolkit.fields.Decimal(load_default=Decimal("1.5"))  # dumps a Decimal: not JSON

    class WithDate(Good):
        settings_schema = Settings

    class WithDecimal(Good):
        settings_schema = Unjsonable

    assert check_component(WithDate())
    with pytest.raises(ConformanceError, match="not well formed.*JSON"):
        check_component(WithDecimal())


def test_kit_checks_bonus_sums_and_connectors():
    class Greedy(toolkit.BonusScheme):
        key = "greedy"
        version = "1"
        title_vi = "Tham"
        title_en = "Greedy"

        def default_fund(self, people, settings):
            return 1000

        def allocate(self, fund, people, settings):
            return [{"employee_id": p["employee_id"], "amount": fund // len(people)} for p in people]

    with pytest.raises(ConformanceError, match="not to the fund"):
        check_bonus_scheme(Greedy())

    class Fragile(toolkit.ImportConnector):
        key = "fragile"
        version = "1"
        title_vi = "Dễ vỡ"
        title_en = "Fragile"
        target = "staff"
        columns = ("code",)
        key_columns = ("code",)

        def parse(self, data, settings):
            text = data.decode()  # raises on binary input
            return {"rows": [], "errors": []} if not text else {"rows": [], "errors": [{"row": 1, "column": None,
                                                                                         "message": "?"}]}

    with pytest.raises(ConformanceError, match="raised"):
        check_import_connector(Fragile())


# ---------------------------------------------------------------- the vendor example's own tests


def test_vendor_example_tests_pass_with_the_conformance_kit():
    """The template vendors copy must keep passing its own tests against this core."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(ROOT / "examples" / "vendor-plugin" / "tests")],
                            cwd=ROOT / "examples" / "vendor-plugin", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
