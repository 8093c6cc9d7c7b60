"""Bonus per paying unit (Decree 73/2024): the fund is a paying unit's (đơn vị dự toán), a
share may be set aside for ad-hoc bonuses, and the base salary may change within the year
(fund and shares month by month on the base in force). Hand-worked, on both databases.

The base salary of 2,500,000 from July 2026 below is a made-up change for the arithmetic,
not a claim about the law; the national values since 2019 are 1,490,000, 1,800,000 (from
1 July 2023) and 2,340,000 (from 1 July 2024, Decree 73/2024)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.bonus.models import BonusRun
from core.extensions import db
from core.tenancy import tenant_context
from plugins.decree73_bonus import Decree73Pool, FixedCoefficient, parse_schedule
from tests.classification.test_classification_api import TOTALS_2026, listing, run, set_totals
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support",)

RISE = "2024-07-01=2340000; 2026-07-01=2500000"
YEAR = [f"2026-{m:02d}" for m in range(1, 13)]


def person(employee_id: int, level: str, coefficient: str, months: list[str]) -> dict:
    return {"employee_id": employee_id, "level": level, "salary_coefficient": Decimal(coefficient),
            "months_worked": len(months), "base_salary": 2_340_000, "months": months}


# ---------------------------------------------------------------- the scheme, by hand


def test_pool_fund_and_shares_month_by_month_on_the_base_in_force():
    scheme = Decree73Pool()
    s = scheme.load_settings({"base_salary_schedule": RISE})
    people = [person(1, "HTXS", "2.00", YEAR), person(2, "HT", "3.00", YEAR[6:])]
    # p1: 6 × 2,340,000 + 6 × 2,500,000 = 29,040,000 × 2.00 = 58,080,000
    # p2: Jul–Dec 6 × 2,500,000 = 15,000,000 × 3.00 = 45,000,000
    # fund = 10 % × 103,080,000 = 10,308,000
    assert scheme.default_fund(people, s) == 10_308_000
    # weights: 1.5 × 29,040,000 : 0.5 × 15,000,000 = 43,560,000 : 7,500,000 (Σ 51,060,000)
    # p1 10,308,000 × 43,560/51,060 = 8,793,899.06…, p2 × 7,500/51,060 = 1,514,100.94…;
    # floors 10,307,999, the one đồng left to the larger remainder (.94): p2.
    allocations = scheme.allocate(10_308_000, people, s)
    assert [a["amount"] for a in allocations] == [8_793_899, 1_514_101]
    # In months at the scheme's base (2,340,000): p1 29,040,000 ÷ 2,340,000 = 12.4103.
    assert round(allocations[0]["explain"]["base_months"], 4) == 12.4103
    assert allocations[0]["explain"]["months_worked"] == 12.0


def test_one_base_all_year_keeps_the_old_arithmetic():
    # No schedule: each month at base_salary, so the weight is level × months as before (18 = 1.5 × 12).
    scheme = Decree73Pool()
    s = scheme.load_settings()
    people = [person(1, "HTXS", "2.34", YEAR), person(2, "HTT", "3.00", YEAR[:6])]
    # 10 % × 2,340,000 × (2.34 × 12 + 3.00 × 6) = 234,000 × 46.08 = 10,782,720
    assert scheme.default_fund(people, s) == 10_782_720
    allocations = scheme.allocate(10_782_720, people, s)
    assert [a["explain"]["weight"] for a in allocations] == [18.0, 6.0]
    # 18 : 6 → 8,087,040 and 2,695,680.
    assert [a["amount"] for a in allocations] == [8_087_040, 2_695_680]


def test_fixed_coefficient_on_the_mean_base_of_the_months_worked():
    scheme = FixedCoefficient()
    s = scheme.load_settings({"base_salary_schedule": RISE})
    people = [person(1, "HTXS", "2.00", YEAR), person(2, "HTT", "2.00", YEAR[6:])]
    # p1: 1.0 × 29,040,000 ÷ 12 = 2,420,000; p2: 0.6 × 2,500,000 = 1,500,000.
    assert scheme.default_fund(people, s) == 3_920_000
    assert [a["amount"] for a in scheme.allocate(3_920_000, people, s)] == [2_420_000, 1_500_000]


@pytest.mark.parametrize("text", ["2026-13-01=2500000", "2026-07-01=", "2026-07-01=-5", "July=2500000",
                                  "2026-07-01=2500000; 2026-07-15=2600000"])
def test_a_bad_schedule_is_a_settings_error(text):
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as caught:
        Decree73Pool().load_settings({"base_salary_schedule": text})
    assert "base_salary_schedule" in caught.value.messages
    assert parse_schedule("") == []


# ---------------------------------------------------------------- runs per paying unit, through the API


@pytest.fixture
def paying(clean_app, world, client) -> World:
    """The agency AG and a commune XA are paying units; the outsider works in XA.

    With the outsider gone from AG, the quota there allows no HTXS (x ≤ 0.2 × (4 + 1 − x)
    → x = 0): staff, staff2, manager, accountant and admin are HTT, the auditor KHT (45)."""
    h = world.h("admin")
    commune = client.post(world.url("/units"), json={"code": "XA", "name": "Xã An Hải", "kind": "commune",
                                                     "is_paying_unit": True}, headers=h)
    assert commune.status_code == 201 and commune.get_json()["is_paying_unit"] is True
    world.ids["commune"] = commune.get_json()["id"]
    flagged = client.patch(world.url(f"/units/{world.ids['agency']}"), json={"is_paying_unit": True}, headers=h)
    assert flagged.status_code == 200 and flagged.get_json()["is_paying_unit"] is True
    assert client.patch(world.url(f"/employees/{world.ids['outsider']}"), json={"unit_id": world.ids["commune"]},
                        headers=h).status_code == 200
    settings = {"bonus_scheme": {"key": "decree73-pool", "settings": {"base_salary_schedule": RISE},
                                 "effective_from": "2026-01-01"}}
    assert client.patch(world.url("/settings"), json=settings, headers=h).status_code == 200
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    assert client.post(world.url("/classifications/2026/finalize"), headers=h).status_code == 200
    return world


def bonus(client, w: World, **body) -> dict:
    started = client.post(w.url("/bonus-runs"), json={"year": 2026, **body}, headers=w.h("admin"))
    assert started.status_code == 202, started.get_json()
    return client.get(w.url(f"/bonus-runs/{started.get_json()['id']}"), headers=w.h("admin")).get_json()


def test_each_paying_unit_shares_its_own_fund(clean_app, paying, client):
    w = paying
    assert listing(client, w)["staff"]["level"] == "HTT"
    agency = bonus(client, w, paying_unit_id=w.ids["agency"])
    # Six people, each 2.34 × (6 × 2,340,000 + 6 × 2,500,000 = 29,040,000) = 67,953,600;
    # 10 % × 6 × 67,953,600 = 40,772,160, shared by five equal HTT weights: 8,154,432 each.
    assert agency["status"] == "finished" and agency["fund"] == 40_772_160
    assert (agency["paying_unit_id"], agency["adhoc_reserve"], agency["shared"]) == (w.ids["agency"], 0, 40_772_160)
    amounts = {a["employee_id"]: a["amount"] for a in agency["allocations"]}
    assert set(amounts) == {w.ids[n] for n in ("admin", "manager", "staff", "staff2", "accountant", "auditor")}
    assert amounts[w.ids["staff"]] == 8_154_432 and amounts[w.ids["auditor"]] == 0
    assert sum(amounts.values()) == 40_772_160

    # The commune keeps 15 % for ad-hoc bonuses: fund 10 % × 67,953,600 = 6,795,360;
    # reserve ⌊6,795,360 × 0.15⌋ = 1,019,304; the outsider (HTT, alone) gets 5,776,056.
    commune = bonus(client, w, paying_unit_id=w.ids["commune"], adhoc_percent="15")
    assert (commune["fund"], commune["adhoc_percent"], commune["adhoc_reserve"], commune["shared"]) == (
        6_795_360, "15.00", 1_019_304, 5_776_056)
    assert [(a["employee_id"], a["amount"]) for a in commune["allocations"]] == [(w.ids["outsider"], 5_776_056)]

    listed = client.get(w.url("/bonus-runs"), query_string={"year": 2026, "paying_unit_id": w.ids["commune"]},
                        headers=w.h("auditor")).get_json()
    assert [r["id"] for r in listed] == [commune["id"]]
    # Without a paying unit, one fund over the whole tenant as before: 7 × 67,953,600 × 10 %.
    whole = bonus(client, w)
    assert whole["paying_unit_id"] is None and whole["fund"] == 47_567_520
    assert sum(a["amount"] for a in whole["allocations"]) == 47_567_520


def test_bad_paying_unit_or_share_is_422_and_nothing_is_recorded(clean_app, paying, client):
    w, h = paying, paying.h("admin")
    for body, field in (({"paying_unit_id": w.ids["dept"]}, "paying_unit_id"),  # not flagged
                        ({"paying_unit_id": 999_999}, "paying_unit_id"),
                        ({"paying_unit_id": "AG"}, "paying_unit_id"),
                        ({"adhoc_percent": "101"}, "adhoc_percent"),
                        ({"adhoc_percent": "-1"}, "adhoc_percent")):
        r = client.post(w.url("/bonus-runs"), json={"year": 2026, **body}, headers=h)
        assert r.status_code == 422 and field in str(r.get_json()), (body, r.get_json())
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(BonusRun)) == 0
    bad = {"bonus_scheme": {"key": "decree73-pool", "settings": {"base_salary_schedule": "1/7/2026=2500000"},
                            "effective_from": "2026-01-01"}}
    assert client.patch(w.url("/settings"), json=bad, headers=h).status_code == 422


def test_the_province_page_starts_a_run_for_a_paying_unit(clean_app, paying, client):
    from tests.classification.test_classification_pages import page
    from tests.work.test_work_pages import csrf

    w = paying
    html = page(client, w, "/province?year=2026", "admin")
    assert "Đơn vị dự toán" in html and "Xã An Hải" in html and "Dành thưởng đột xuất" in html
    r = client.post(f"/t/{w.slug}/classification/2026/bonus",
                    data={"csrf_token": csrf(html), "fund": "", "paying_unit_id": str(w.ids["commune"]),
                          "adhoc_percent": "15"})
    assert r.status_code in (200, 302)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        run_row = db.session.scalars(select(BonusRun)).one()
        assert (run_row.paying_unit_id, run_row.adhoc_reserve) == (w.ids["commune"], 1_019_304)
    html = page(client, w, f"/bonus/{run_row.id}", "admin")
    assert "Xã An Hải" in html and "1.019.304" in html and "5.776.056" in html
