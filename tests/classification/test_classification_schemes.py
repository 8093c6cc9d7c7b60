"""The built-in classification and bonus schemes as pure functions, against numbers
worked out by hand from domain.md ("Classification", "Money and people decisions")."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.plugins.testing import check_component
from core.plugins.toolkit import LEVELS, ValidationError
from plugins._classification import quota_count
from plugins.decree73_bonus import Decree73Pool, FixedCoefficient
from plugins.decree90 import Decree90
from plugins.decree335_classification import Decree335Classification

GROUP = ("SO-NOI-VU", "professional")


def person(employee_id: int, total: float | None, **kw) -> dict:
    base = {"employee_id": employee_id, "total": total, "task_score": None if total is None else total * 0.7,
            "quota_group": GROUP, "months_worked": 12, "forced_kht": False, "criteria": {}}
    base.update(kw)
    return base


def classify(scheme, people, **stored):
    return scheme.classify(people, scheme.load_settings(stored))


def levels(answers) -> list:
    return [a["level"] for a in answers]


def htt_fillers(n: int, first_id: int = 100, group=GROUP) -> list[dict]:
    return [person(first_id + i, 75.0, quota_group=group) for i in range(n)]


@pytest.mark.parametrize("scheme", [Decree335Classification(), Decree90(), Decree73Pool(), FixedCoefficient()])
def test_built_in_schemes_pass_the_conformance_kit(scheme):
    check_component(scheme)


# ---------------------------------------------------------------- the quota


def test_quota_ten_in_the_htxs_band_and_twenty_htt_end_as_five_and_twenty_five():
    # x ≤ 0.2 × (20 + 10 − x) → 1.2x ≤ 6 → x = 5: the five lowest totals (91…95) are demoted.
    top = [person(i, 90.0 + i) for i in range(1, 11)]
    answers = classify(Decree335Classification(), top + htt_fillers(20))
    assert levels(answers).count("HTXS") == 5 and levels(answers).count("HTT") == 25
    assert [a["employee_id"] for a in answers if a["demoted_by_quota"]] == [1, 2, 3, 4, 5]
    assert [a["employee_id"] for a in answers if a["level"] == "HTXS"] == [6, 7, 8, 9, 10]


@pytest.mark.parametrize(("in_band", "htt", "kept"), [
    (10, 20, 5), (1, 5, 1), (1, 4, 0), (1, 0, 0), (0, 7, 0), (3, 100, 3), (12, 0, 2), (7, 11, 3)])
def test_quota_count_by_hand(in_band, htt, kept):
    # (12, 0): x ≤ 0.2 × (12 − x) → x ≤ 2; (7, 11): x ≤ 0.2 × 18 ÷ 1.2 = 3.
    assert quota_count(in_band, htt, Fraction(1, 5)) == kept


def test_quota_is_counted_per_agency_and_group_of_positions():
    other = ("UBND-XA-1", "professional")
    support = ("SO-NOI-VU", "support")
    people = ([person(1, 95.0)] + htt_fillers(5)                      # 1 ≤ 0.2 × 5: kept
              + [person(2, 96.0, quota_group=other)] + htt_fillers(4, 200, other)   # 1 > 0.2 × 4: demoted
              + [person(3, 97.0, quota_group=support)])                # alone in its group: demoted
    by_id = {a["employee_id"]: a for a in classify(Decree335Classification(), people)}
    assert (by_id[1]["level"], by_id[1]["demoted_by_quota"]) == ("HTXS", False)
    assert (by_id[2]["level"], by_id[2]["demoted_by_quota"]) == ("HTT", True)
    assert (by_id[3]["level"], by_id[3]["demoted_by_quota"]) == ("HTT", True)
    assert not any(by_id[i]["demoted_by_quota"] for i in range(100, 105))


def test_quota_ties_on_total_demote_the_lower_task_score_first():
    people = [person(1, 92.0, task_score=60.0), person(2, 92.0, task_score=62.0)] + htt_fillers(5)
    # two in band, five HTT: x ≤ 0.2 × 7 ÷ 1.2 = 1.17 → 1 kept; the lower task score goes.
    answers = classify(Decree335Classification(), people)
    assert answers[0] == {"employee_id": 1, "level": "HTT", "demoted_by_quota": True}
    assert answers[1] == {"employee_id": 2, "level": "HTXS", "demoted_by_quota": False}
    # The answer does not depend on the order people come in.
    assert {a["employee_id"]: a["level"] for a in classify(Decree335Classification(), people[::-1])} == \
        {a["employee_id"]: a["level"] for a in answers}


def test_quota_ratio_is_a_tenant_setting():
    people = [person(1, 95.0), person(2, 93.0)] + htt_fillers(4)
    assert levels(classify(Decree335Classification(), people))[:2] == ["HTXS", "HTT"]  # 0.2 × 6 ÷ 1.2 = 1 kept
    answers = classify(Decree335Classification(), people, quota_ratio="0.5")  # 0.5 × 6 ÷ 1.5 = 2
    assert levels(answers)[:2] == ["HTXS", "HTXS"]


# ---------------------------------------------------------------- bands, discipline, months


@pytest.mark.parametrize(("total", "level"), [
    (100.0, "HTXS"), (90.0, "HTXS"), (89.99, "HTT"), (70.0, "HTT"), (69.99, "HT"), (50.0, "HT"),
    (49.99, "KHT"), (0.0, "KHT")])
def test_decree335_bands_at_exactly_90_70_and_50(total, level):
    # Five HTT beside the person keep one HTXS within the quota (1 ≤ 0.2 × 5).
    answers = classify(Decree335Classification(), [person(1, total)] + htt_fillers(5))
    assert answers[0] == {"employee_id": 1, "level": level, "demoted_by_quota": False}


def test_discipline_makes_kht_whatever_the_total_and_does_not_count_in_the_quota():
    people = [person(1, 98.0, forced_kht=True), person(2, 91.0)] + htt_fillers(5)
    answers = classify(Decree335Classification(), people)
    assert answers[0] == {"employee_id": 1, "level": "KHT", "demoted_by_quota": False}
    assert answers[1]["level"] == "HTXS"


def test_under_six_months_worked_is_not_classified():
    people = [person(1, 95.0, months_worked=5), person(2, 80.0, months_worked=6),
              person(3, 40.0, months_worked=0, forced_kht=True), person(4, None)]
    answers = classify(Decree335Classification(), people)
    assert levels(answers) == [None, "HTT", None, None]
    assert levels(classify(Decree335Classification(), people[:1], min_months=3)) == ["HTT"]  # HTXS alone: quota


def test_a_heads_level_is_at_most_their_units_result():
    # Head 1 has 95 (HTXS band) but their unit's people average 80.00 (HTT): HTT. Head 2
    # with 75 (HTT) over a unit averaging 45 (KHT band): KHT. Head 3 with 60 (HT) over a
    # unit of 92: stays HT (the cap only lowers). Person 4 is no head: 95 → HTXS.
    people = [person(1, 95.0, is_leader=True, unit_total="80.00"), person(2, 75.0, is_leader=True, unit_total="45"),
              person(3, 60.0, is_leader=True, unit_total="92"), person(4, 95.0, unit_total="45")]
    answers = classify(Decree335Classification(), people + htt_fillers(5))
    assert levels(answers)[:4] == ["HTT", "KHT", "HT", "HTXS"]
    # A head with no one scored under them, or a tenant that turns the rule off: not capped.
    alone = [person(1, 95.0, is_leader=True, unit_total=None)] + htt_fillers(5)
    assert levels(classify(Decree335Classification(), alone))[0] == "HTXS"
    assert levels(classify(Decree335Classification(), people + htt_fillers(5),
                           head_capped_by_unit=False))[:2] == ["HTXS", "HTT"]


def test_decree335_band_floors_are_settings():
    assert levels(classify(Decree335Classification(), [person(1, 85.0)], htt_from="86")) == ["HT"]


# ---------------------------------------------------------------- decree90


def criteria(assigned, completed, good, exceeding=0):
    return {"assigned": assigned, "completed": completed, "good": good, "exceeding": exceeding}


@pytest.mark.parametrize(("counts", "level"), [
    (criteria(10, 10, 10, 5), "HTXS"),   # all good, 5/10 = 50 % exceeding
    (criteria(10, 10, 10, 4), "HTT"),    # all good, 4/10 = 40 % exceeding
    (criteria(10, 10, 8), "HT"),         # all completed, 2/10 = 20 % late or poor
    (criteria(10, 9, 8), "HT"),          # 9/10 completed: not HT's condition, ≥ 50 %: no KHT ground → HT
    (criteria(10, 10, 7), "HT"),         # all completed, 3/10 = 30 % late: between HT and KHT → HT
    (criteria(10, 4, 4), "KHT"),         # 4/10 = 40 % completed: under 50 %
    (criteria(10, 5, 5), "HT"),          # 5/10 = 50 % completed is not under half → not KHT
    (criteria(0, 0, 0), None),           # no work recorded
])
def test_decree90_criteria(counts, level):
    answers = classify(Decree90(), [person(1, None, criteria=counts)] + [
        person(100 + i, None, criteria=criteria(10, 10, 10)) for i in range(5)])
    assert answers[0]["level"] == level


def test_decree90_worked_example_between_ht_and_kht():
    # A records clerk was given 12 tasks in 2024 and completed all 12; 4 were late, so
    # 4/12 = 33.3 % late — over HT's 20 % (2.4 tasks), yet 12/12 completed is far from
    # KHT's "under 50 % completed". The old rule classed her KHT; the decree gives no
    # ground for that. A colleague completed 10 of 12 (83 %), all on time: HT needs every
    # task completed, KHT needs under half, so he too is in between. A third completed
    # 12/12 with 2 late: 2/12 = 16.7 % ≤ 20 % → HT by the text. A fourth completed 5/12
    # = 41.7 % < 50 % → KHT.
    people = [person(1, None, criteria=criteria(12, 12, 8)), person(2, None, criteria=criteria(12, 10, 10)),
              person(3, None, criteria=criteria(12, 12, 10)), person(4, None, criteria=criteria(12, 5, 5))]
    assert levels(classify(Decree90(), people)) == ["HT", "HT", "HT", "KHT"]
    # A tenant that leaves the in-between cases to the evaluator gets no computed level for
    # them (the manager's reasoned override sets it); the text's own HT and KHT stand.
    assert levels(classify(Decree90(), people, between_ht_and_kht="evaluator")) == [None, None, "HT", "KHT"]


def test_decree90_absent_three_to_under_six_months_is_at_most_ht():
    # All 4 tasks good and exceeding: HTXS by the criteria. Worked 9 months: absent
    # 12 − 9 = 3 ≥ 3 → at most HT. Worked 9.5: absent 2.5 < 3 → keeps HTXS. Worked 5:
    # under the 6 months' minimum → not classified. Worked 7 with 1 of 4 completed (25 %
    # < 50 %): KHT stays KHT — the cap only lowers.
    top = criteria(4, 4, 4, 4)
    people = [person(1, 95.0, criteria=top, months_worked=9), person(2, 95.0, criteria=top, months_worked="9.5"),
              person(3, None, criteria=top, months_worked=5),
              person(4, None, criteria=criteria(4, 1, 1), months_worked=7)]
    people += [person(100 + i, None, criteria=criteria(4, 4, 4)) for i in range(5)]
    # Quota: 1 in the HTXS band (person 2) and 5 HTT: x ≤ 0.2 × 6 ÷ 1.2 = 1 → kept.
    assert levels(classify(Decree90(), people))[:4] == ["HT", "HTXS", None, "KHT"]
    # A tenant reading "3 months" as 2: absent 2.5 is capped too.
    assert levels(classify(Decree90(), people, at_most_ht_absent_months=2))[:2] == ["HT", "HT"]


def test_sick_and_maternity_leave_keep_people_in_classification():
    # Worked 4 months, 8 away: under the 6 months' minimum → not classified, unless those
    # months were sick or maternity leave: 4 + 8 = 12 ≥ 6 → classified on the 4 worked.
    # Person 2: 4 worked, 1 on maternity leave, 7 away otherwise: 4 + 1 = 5 < 6 → none.
    people = [person(1, 80.0, months_worked=4, months_on_kept_leave=8),
              person(2, 80.0, months_worked=4, months_on_kept_leave=1), person(3, 80.0, months_worked=4)]
    assert levels(classify(Decree335Classification(), people)) == ["HTT", None, None]
    assert levels(classify(Decree90(), [p | {"criteria": criteria(4, 4, 4)} for p in people])) == ["HTT", None, None]
    # A tenant whose scheme keeps the strict count turns it off.
    assert levels(classify(Decree335Classification(), people, kept_leave_counts=False)) == [None, None, None]


def test_decree90_away_six_months_or_more_is_classified_on_the_time_worked():
    # All 4 tasks good and exceeding: HTXS. Maternity leave of 6 months: worked 6, absent
    # 12 − 6 = 6, not "3 to under 6" → keeps HTXS (on the 6 months worked). Sick leave of
    # 4 months: absent 4 ∈ [3, 6) → at most HT. Worked 2 (+10 maternity): absent 10 → HTXS.
    top = criteria(4, 4, 4, 4)
    people = [person(1, None, criteria=top, months_worked=6, months_on_kept_leave=6),
              person(2, None, criteria=top, months_worked=8, months_on_kept_leave=4),
              person(3, None, criteria=top, months_worked=2, months_on_kept_leave=10)]
    people += [person(100 + i, None, criteria=criteria(4, 4, 4)) for i in range(15)]
    # Quota: 2 in the HTXS band and 16 HTT (person 2 capped, 15 fillers): x ≤ 0.2 × 18 ÷ 1.2 = 3 → both kept.
    assert levels(classify(Decree90(), people))[:3] == ["HTXS", "HT", "HTXS"]
    # The upper end is a setting: a tenant capping every absence of 3 months or more.
    assert levels(classify(Decree90(), people, at_most_ht_absent_below=13))[:3] == ["HT", "HT", "HT"]


def test_decree90_between_setting_is_validated():
    with pytest.raises(ValidationError):
        Decree90().load_settings({"between_ht_and_kht": "KHT"})


def test_decree90_quota_discipline_and_months():
    top = [person(i, 90.0 + i, criteria=criteria(4, 4, 4, 4)) for i in range(1, 3)]
    htt = [person(100 + i, None, criteria=criteria(4, 4, 4)) for i in range(5)]
    answers = classify(Decree90(), top + htt + [
        person(50, None, criteria=criteria(4, 4, 4, 4), forced_kht=True),
        person(51, None, criteria=criteria(4, 4, 4, 4), months_worked=3)])
    # 2 in band, 5 HTT: x ≤ 0.2 × 7 ÷ 1.2 → 1; the lower total (91) is demoted.
    assert [(a["level"], a["demoted_by_quota"]) for a in answers[:2]] == [("HTT", True), ("HTXS", False)]
    assert levels(answers)[-2:] == ["KHT", None]


# ---------------------------------------------------------------- bonus: decree73-pool


def staff(employee_id, level, coefficient, months=12):
    return {"employee_id": employee_id, "level": level, "salary_coefficient": Decimal(coefficient),
            "months_worked": months, "base_salary": 2_340_000}


def test_decree73_pool_fund_and_shares_by_hand():
    people = [staff(1, "HTXS", "2.34"), staff(2, "HTT", "3.00"), staff(3, "HT", "4.00", months=6),
              staff(4, "KHT", "2.67"), staff(5, None, "5.00", months=3)]
    scheme, s = Decree73Pool(), Decree73Pool().load_settings()
    # 10 % × 2,340,000 × (2.34×12 + 3×12 + 4×6 + 2.67×12 + 5×3) = 234,000 × 135.12 = 31,618,080
    assert scheme.default_fund(people, s) == 31_618_080
    # weights 1.5×12 = 18, 1.0×12 = 12, 0.5×6 = 3, KHT 0, not classified 0; Σ 33.
    # 31,618,080 × 18/33 = 17,246,225.45…; × 12/33 = 11,497,483.63…; × 3/33 = 2,874,370.90…
    # floors sum to 31,618,078; the 2 đồng left go to the largest remainders (.90, .63).
    amounts = [a["amount"] for a in scheme.allocate(31_618_080, people, s)]
    assert amounts == [17_246_225, 11_497_484, 2_874_371, 0, 0]
    assert sum(amounts) == 31_618_080


def test_decree73_pool_settings_change_fund_and_weights():
    # Without a base salary per person the scheme's setting applies.
    people = [dict(staff(1, "HTXS", "2.00"), base_salary=None), dict(staff(2, "HTT", "2.00"), base_salary=None)]
    scheme = Decree73Pool()
    s = scheme.load_settings({"base_salary": 2_000_000, "fund_percent": "5", "weight_htxs": "2"})
    assert scheme.default_fund(people, s) == 4_800_000  # 5 % × 2,000,000 × 2 × 24
    assert [a["amount"] for a in scheme.allocate(4_800_000, people, s)] == [3_200_000, 1_600_000]  # 24 : 12
    people[0]["base_salary"] = 2_340_000  # 5 % × (2,340,000 + 2,000,000) × 2 × 12 = 5,208,000
    assert scheme.default_fund(people, s) == 5_208_000


def test_decree73_pool_refuses_a_fund_nobody_can_receive():
    with pytest.raises(ValueError, match="nobody"):
        Decree73Pool().allocate(1_000, [staff(1, "KHT", "2.34")], Decree73Pool().load_settings())
    assert Decree73Pool().allocate(0, [staff(1, "KHT", "2.34")], Decree73Pool().load_settings())[0]["amount"] == 0


# ---------------------------------------------------------------- bonus: fixed-coefficient


def test_fixed_coefficient_by_hand():
    people = [staff(1, "HTXS", "2.34"), staff(2, "HTT", "3.00"), staff(3, "HT", "4.00"), staff(4, "KHT", "2.0")]
    scheme, s = FixedCoefficient(), FixedCoefficient().load_settings()
    # 1.0, 0.6, 0.3, 0 × 2,340,000
    assert scheme.default_fund(people, s) == 2_340_000 + 1_404_000 + 702_000
    assert [a["amount"] for a in scheme.allocate(4_446_000, people, s)] == [2_340_000, 1_404_000, 702_000, 0]
    # A smaller fund keeps the proportions 10 : 6 : 3: 1,000,000 × 10/19 = 526,315.78…, × 6/19 = 315,789.47…,
    # × 3/19 = 157,894.73…; floors sum to 999,998 and the 2 đồng go to .78 and .73.
    assert [a["amount"] for a in scheme.allocate(1_000_000, people, s)] == [526_316, 315_789, 157_895, 0]


# ---------------------------------------------------------------- bonus: the property


people_strategy = st.lists(
    st.fixed_dictionaries({
        "level": st.sampled_from([*LEVELS, None]),
        "salary_coefficient": st.decimals(min_value=Decimal("1.00"), max_value=Decimal("10.00"), places=2),
        "months_worked": st.integers(min_value=0, max_value=12),
        "base_salary": st.integers(min_value=1_000_000, max_value=5_000_000),
    }), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(people=people_strategy, fund=st.one_of(st.none(), st.integers(min_value=0, max_value=10**11)))
@pytest.mark.parametrize("scheme", [Decree73Pool(), FixedCoefficient()])
def test_bonus_amounts_sum_exactly_to_the_fund(scheme, people, fund):
    people = [dict(p, employee_id=i + 1) for i, p in enumerate(people)]
    s = scheme.load_settings()
    fund = scheme.default_fund(people, s) if fund is None else fund
    try:
        result = scheme.allocate(fund, people, s)
    except ValueError:
        # Only when nobody has a share: every level weighs 0 (KHT, unclassified) or no months.
        assert fund > 0 and all(e["amount"] == 0 for e in scheme.allocate(0, people, s))
        return
    amounts = [r["amount"] for r in result]
    assert sum(amounts) == fund and all(isinstance(a, int) and a >= 0 for a in amounts)
    weights = [exact_weight(scheme, p) for p in people]
    total = sum(weights)
    if total == 0:
        assert fund == 0 and amounts == [0] * len(people)
        return
    for amount, weight in zip(amounts, weights, strict=True):
        assert abs(amount - fund * weight / total) < 1  # largest remainder: within a đồng of the exact share


DEFAULT_WEIGHTS = {"HTXS": Fraction(3, 2), "HTT": Fraction(1), "HT": Fraction(1, 2), "KHT": Fraction(0), None: Fraction(0)}
DEFAULT_COEFFICIENTS = {"HTXS": Fraction(1), "HTT": Fraction(3, 5), "HT": Fraction(3, 10), "KHT": Fraction(0),
                        None: Fraction(0)}


def exact_weight(scheme, p) -> Fraction:
    if isinstance(scheme, Decree73Pool):
        return DEFAULT_WEIGHTS[p["level"]] * p["months_worked"]
    exact = DEFAULT_COEFFICIENTS[p["level"]] * p["base_salary"]
    return Fraction(int(exact + Fraction(1, 2)))  # the fixed amount, rounded half up to a đồng
