"""The built-in scoring variants as pure functions, against numbers worked out by hand
from domain.md."""

from __future__ import annotations

from datetime import date

import pytest

from plugins.deadline_buckets import DeadlineBuckets
from plugins.decree335 import Decree335
from plugins.hours_ledger import HoursLedger


def period(variant, items, facts=None, settings=None):
    s = variant.load_settings(settings or {})
    rows = variant.score_items(items, s)
    sums = {name: sum(r[name] for r in rows) for name in variant.item_components}
    return variant.period_score(sums, s, facts or {}), rows


def item(**kw):
    base = {"quantity": 1, "product_weight": 1, "status": "done", "failed_reviews": 0, "missed_deadlines": 0,
            "exempt": False, "norm_minutes": 60, "complexity_coefficient": 1, "planned": True, "role": "lead",
            "priority": 1, "stars": None}
    base.update(kw)
    return base


# ---------------------------------------------------------------- decree335


def test_decree335_example_of_the_issue():
    """40 assigned, 38 completed, 2 of them failed one review, 3 missed one deadline."""
    items = ([item(failed_reviews=1) for _ in range(2)] + [item(missed_deadlines=1) for _ in range(3)]
             + [item() for _ in range(33)] + [item(status="in_progress") for _ in range(2)])
    result, _ = period(Decree335(), items)
    c = result["components"]
    assert (c["quantity_pct"], c["quality_pct"], c["progress_pct"]) == (95.0, 93.75, 93.125)
    assert result["task_score"] == 65.77
    assert round(result["task_score"] + 27, 2) == 92.77


def test_decree335_weights_quantity_and_exemption():
    # weight 2 × 1.5 = 3; exempted: its 2 failed reviews and 1 missed deadline do not count.
    rows = Decree335().score_items([item(quantity=2, product_weight=1.5, failed_reviews=2, missed_deadlines=1,
                                         exempt=True)], Decree335().load_settings())
    assert rows == [{"assigned": 3.0, "quantity": 3.0, "quality": 3.0, "progress": 3.0, "items": 1,
                     "on_time_items": 1, "satisfaction_items": 0, "satisfaction_points": 0.0}]
    rows = Decree335().score_items([item(quantity=2, product_weight=1.5, failed_reviews=2, missed_deadlines=5)],
                                   Decree335().load_settings())
    assert rows[0]["quality"] == 1.5 and rows[0]["progress"] == 0.0 and rows[0]["on_time_items"] == 0


def test_decree335_tenant_weights_and_half_up_rounding():
    # Q 100, quality 50 (two failed reviews), progress 75 (one delay); weights 2/1/1:
    # own = (200 + 50 + 75) / 4 = 81.25 → task 70 × 0.8125 = 56.875 → 56.88 (half up).
    result, _ = period(Decree335(), [item(failed_reviews=2, missed_deadlines=1)],
                       settings={"quantity_weight": 2})
    assert result["components"]["own_pct"] == 81.25
    assert result["task_score"] == 56.88


def test_decree335_leader_mean_of_own_unit_and_organising():
    items = [item() for _ in range(9)] + [item(status="planned")]  # own 90 %
    result, _ = period(Decree335(), items, facts={"is_leader": True, "unit_people": 5, "unit_any_kht": True,
                                                  "organising_pct": 80.0})
    assert result["components"]["unit_results_pct"] == 50.0
    assert result["components"]["leader_pct"] == pytest.approx(73.3333, abs=1e-4)
    assert result["task_score"] == 51.33
    all_pass, _ = period(Decree335(), items, facts={"is_leader": True, "unit_people": 5, "unit_any_kht": False,
                                                    "organising_pct": 80.0})
    assert all_pass["task_score"] == 63.0  # (90 + 100 + 80) / 3 = 90 → 63


def test_decree335_leader_formula_is_a_setting_with_named_criteria():
    items = [item() for _ in range(9)] + [item(status="planned")]  # own 90 %
    facts = {"is_leader": True, "unit_people": 5, "unit_any_kht": True, "organising_pct": 80.0}
    # The evaluator scored leadership and organisation 70: it replaces the on-time share
    # (80) by default: (90 + 50 + 70) ÷ 3 = 70 % → 70 × 0.7 = 49.00, not provisional.
    scored, _ = period(Decree335(), items, facts=facts | {"leadership_pct": 70.0})
    assert (scored["components"]["leadership_pct"], scored["task_score"], scored["provisional"]) == (70.0, 49.0, False)
    # Weights 2 : 1 : 1 (own tasks count double): (2 × 90 + 50 + 70) ÷ 4 = 75 % → 52.50.
    weighted, _ = period(Decree335(), items, facts=facts | {"leadership_pct": 70.0},
                         settings={"leader_own_weight": 2})
    assert weighted["task_score"] == 52.5
    # Source "on_time": the evaluator's 70 is ignored, the share 80 is used: (90 + 50 + 80) ÷ 3 → 51.33.
    on_time, _ = period(Decree335(), items, facts=facts | {"leadership_pct": 70.0},
                        settings={"leader_leadership_source": "on_time"})
    assert on_time["task_score"] == 51.33
    # Source "evaluator" and nothing scored yet: the criterion drops out, its weight to the
    # others — (90 + 50) ÷ 2 = 70 % → 49.00 — and the month stays provisional.
    waiting, _ = period(Decree335(), items, facts=facts, settings={"leader_leadership_source": "evaluator"})
    assert (waiting["task_score"], waiting["provisional"]) == (49.0, True)
    assert "leadership_pct" not in waiting["components"]
    # A unit without people (or a field with nobody employed in the month): own work only, 90 % → 63.00.
    alone, _ = period(Decree335(), items, facts={"is_leader": True, "unit_people": 0})
    assert alone["task_score"] == 63.0 and "leader_pct" not in alone["components"]


def test_decree335_leader_settings_are_validated():
    import marshmallow

    for bad in ({"leader_leadership_source": "manager"}, {"leader_own_weight": -1}, {"leader_unit_weight": 101}):
        with pytest.raises(marshmallow.ValidationError):
            Decree335().load_settings(bad)


def test_decree335_no_items_scores_zero():
    result, _ = period(Decree335(), [])
    assert result["task_score"] == 0.0 and result["components"]["quantity_pct"] == 0.0


# ---------------------------------------------------------------- hours-ledger


def test_hours_ledger_item_credit():
    variant = HoursLedger()
    s = variant.load_settings()
    rows = variant.score_items([
        item(norm_minutes=60, quantity=2, complexity_coefficient=1.2, stars=4, missed_deadlines=1),  # 97.2
        item(norm_minutes=30, planned=False),  # unrated: factor 1, provisional; unplanned: credited, flagged
        item(norm_minutes=45, report_late=True, stars=5),  # reported too late: 0
        item(norm_minutes=45, status="in_progress"),  # not completed: 0
        item(norm_minutes=40, stars=1),  # one star: factor 0
    ], s)
    # Unrounded doubles (bit-identical to the SQL path), so compared to the hand figures within 1e-9.
    assert [r["credited_minutes"] for r in rows] == pytest.approx([97.2, 30.0, 0.0, 0.0, 0.0], abs=1e-9)
    assert rows[1]["unplanned_minutes"] == 30.0 and rows[1]["unrated_items"] == 1
    assert rows[2]["late_reports"] == 1


def test_hours_ledger_daily_cap_and_flag():
    variant = HoursLedger()
    s = variant.load_settings()
    day = variant.adjust_day({"credited_minutes": 700.0, "unrated_items": 0}, s)
    assert day["credited_minutes"] == 600.0 and day["capped_minutes"] == 100.0 and day["days_over_flag"] == 1
    normal = variant.adjust_day({"credited_minutes": 480.0}, s)
    assert normal["credited_minutes"] == 480.0 and normal["days_over_flag"] == 0


def test_hours_ledger_period_utilisation():
    # 100 h credited over 20 working days: 100 / 160 = 62.5 %; ÷ 75 % target = 0.8333 → 58.33.
    variant = HoursLedger()
    result = variant.period_score({"credited_minutes": 6000.0, "unrated_items": 0}, variant.load_settings(),
                                  {"working_days": 20})
    assert result["components"]["utilisation_pct"] == 62.5
    assert result["components"]["hours_per_working_day"] == 5.0
    assert result["task_score"] == 58.33 and result["provisional"] is False
    over = variant.period_score({"credited_minutes": 9000.0, "unrated_items": 2}, variant.load_settings(),
                                {"working_days": 20})
    assert over["task_score"] == 70.0 and over["provisional"] is True
    assert variant.period_score({}, variant.load_settings(), {"working_days": 0})["task_score"] == 0.0


def test_hours_ledger_settings_validation():
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as err:
        HoursLedger().load_settings({"star_factors": {"5": 1.0}})
    assert "star_factors" in err.value.messages
    with pytest.raises(ValidationError):
        HoursLedger().load_settings({"daily_cap_hours": 0})


# ---------------------------------------------------------------- deadline-buckets


def test_deadline_buckets_points_table():
    variant = DeadlineBuckets()
    s = variant.load_settings()
    deadline = date(2026, 10, 15)
    expected = {5: 115, 3: 115, 2: 110, 1: 105, 0: 100, -1: 90, -2: 75, -3: 50, -4: 0}
    for early, points in expected.items():
        finished = date.fromordinal(deadline.toordinal() - early)
        row = variant.score_items([item(deadline=deadline, completed_on=finished, stars=5)], s)[0]
        assert row["weighted_score"] == (points + 100) / 2, early


def test_deadline_buckets_period():
    d = date(2026, 10, 15)
    items = [
        item(deadline=d, completed_on=date(2026, 10, 13), stars=5),  # (110 + 100) / 2 = 105, w 1
        item(deadline=d, completed_on=date(2026, 10, 16), stars=3, role="support", priority=2),  # 75, w 0.6
        item(deadline=d, status="in_progress", as_of=date(2026, 10, 20), priority=3),  # (0 + 100) / 2, w 3
        item(deadline=date(2026, 10, 25), status="planned", as_of=date(2026, 10, 20)),  # not yet due: left out
    ]
    result, rows = period(DeadlineBuckets(), items)
    assert rows[3]["weight"] == 0.0
    # Σ w × score = 105 + 45 + 150 = 300; Σ w = 4.6 → 65.2174 % → 45.65.
    assert result["components"]["task_pct"] == pytest.approx(65.2174, abs=1e-4)
    assert result["task_score"] == 45.65 and result["provisional"] is True


def test_deadline_buckets_caps_at_100_percent():
    d = date(2026, 10, 15)
    result, _ = period(DeadlineBuckets(), [item(deadline=d, completed_on=date(2026, 10, 1), stars=5)] * 3)
    assert result["components"]["task_pct"] == 100.0 and result["task_score"] == 70.0


# ---------------------------------------------------------------- satisfaction


def test_decree335_satisfaction_counts_only_when_the_tenant_weighs_it():
    # Four items done, no penalties: quantity = quality = progress = 100 %, own 100 %.
    # Satisfaction of the done items 5, 3, 2 and one unrated: (100 + 60 + 40) ÷ 3 = 66.667 %.
    # An unfinished item's rating (1) does not count: only delivered work is rated.
    items = [item(satisfaction=5), item(satisfaction=3), item(satisfaction=2), item(satisfaction=None),
             item(status="in_progress", satisfaction=1)]
    result, rows = period(Decree335(), items[:4])
    assert Decree335().load_settings()["satisfaction_weight"] == 0.0
    assert result["components"]["satisfaction_pct"] == pytest.approx(66.6667, abs=1e-4)
    assert result["task_score"] == 70.0  # default weight 0: Decree 335's task part has no such criterion
    # Weight 0.25: 0.75 × 100 + 0.25 × 66.667 = 91.667 % → 70 × 0.91667 = 64.1667 → 64.17.
    result, _ = period(Decree335(), items[:4], settings={"satisfaction_weight": 0.25})
    assert result["components"]["own_pct"] == pytest.approx(91.6667, abs=1e-4)
    assert result["task_score"] == 64.17
    # The unfinished item: quantity 4 ÷ 5 = 80 % on all three → own 80; satisfaction still
    # 66.667 (3 rated): 0.75 × 80 + 0.25 × 66.667 = 76.667 % → 53.6667 → 53.67.
    result, rows = period(Decree335(), items, settings={"satisfaction_weight": 0.25})
    assert rows[4]["satisfaction_items"] == 0 and result["components"]["satisfaction_items"] == 3
    assert result["task_score"] == 53.67


def test_hours_ledger_satisfaction_takes_a_tenth_by_default():
    # 100 h over 20 working days: 62.5 % utilisation ÷ 75 % = 83.333 % attainment.
    # Four rated items 5, 5, 4, 2 → (100 + 100 + 80 + 40) ÷ 4 = 80 %.
    # 0.9 × 83.333 + 0.1 × 80 = 75 + 8 = 83 % → 70 × 0.83 = 58.10.
    variant = HoursLedger()
    sums = {"credited_minutes": 6000.0, "satisfaction_items": 4, "satisfaction_points": 320.0}
    result = variant.period_score(sums, variant.load_settings(), {"working_days": 20})
    assert result["task_score"] == 58.1 and result["components"]["satisfaction_pct"] == 80.0
    assert result["components"]["utilisation_pct"] == 62.5  # hours stay the measure of time used
    # No rated item: the score is the hours' alone (58.33), nobody loses for a missing rating.
    assert variant.period_score({"credited_minutes": 6000.0}, variant.load_settings(),
                                {"working_days": 20})["task_score"] == 58.33
    # A late report earns no hours, and its rating still counts: the citizen was served.
    row = variant.score_items([item(report_late=True, satisfaction=4)], variant.load_settings())[0]
    assert (row["credited_minutes"], row["satisfaction_items"], row["satisfaction_points"]) == (0.0, 1, 80.0)


def test_deadline_buckets_satisfaction_takes_a_fifth_by_default():
    d = date(2026, 10, 15)
    items = [
        item(deadline=d, completed_on=d, stars=5, satisfaction=5),  # (100 + 100) ÷ 2 = 100; rated 100
        item(deadline=d, completed_on=date(2026, 10, 17), stars=3, satisfaction=1),  # (75 + 60) ÷ 2 = 67.5; 20
        item(deadline=date(2026, 10, 25), status="planned", as_of=d, satisfaction=5),  # not due, not done: out
    ]
    result, _ = period(DeadlineBuckets(), items)
    # task % = (100 + 67.5) ÷ 2 = 83.75; satisfaction (100 + 20) ÷ 2 = 60;
    # 0.8 × 83.75 + 0.2 × 60 = 67 + 12 = 79 % → 70 × 0.79 = 55.30.
    c = result["components"]
    assert (c["task_pct"], c["satisfaction_items"], c["satisfaction_pct"]) == (83.75, 2, 60.0)
    assert c["score_pct"] == pytest.approx(79.0, abs=1e-9) and result["task_score"] == 55.3
    result, _ = period(DeadlineBuckets(), items, settings={"satisfaction_weight": 0})
    assert result["task_score"] == 58.63  # 70 × 0.8375 = 58.625 → 58.63 (half up)


def test_satisfaction_weight_is_a_share():
    from marshmallow import ValidationError

    for variant in (Decree335(), HoursLedger(), DeadlineBuckets()):
        with pytest.raises(ValidationError) as err:
            variant.load_settings({"satisfaction_weight": 1.5})
        assert "satisfaction_weight" in err.value.messages


@pytest.mark.parametrize("variant", [Decree335(), HoursLedger(), DeadlineBuckets()], ids=lambda v: v.key)
def test_builtins_pass_the_conformance_kit(variant):
    from core.plugins.testing import check_scoring_variant

    check_scoring_variant(variant)


@pytest.mark.parametrize("variant", [Decree335(), HoursLedger(), DeadlineBuckets()], ids=lambda v: v.key)
def test_every_setting_of_a_built_in_variant_has_its_labels(variant):
    """The explain page names each setting in Vietnamese or English (the words a month's
    stamp keeps come from the settings form's description): none may fall back to its key."""
    from core.plugins.forms import describe_settings

    labels = {lang: {f["name"]: f["label"] for f in describe_settings(variant, lang)} for lang in ("vi", "en")}
    assert set(labels["vi"]) == set(labels["en"]) == set(variant.default_settings())
    for key in labels["vi"]:
        vi, en = labels["vi"][key], labels["en"][key]
        assert vi != key.replace("_", " ") and en != key.replace("_", " "), key
        assert vi != en, key
