"""A month in progress is scored to date (docs/scoring.md): the working days so far and
the items due so far, labelled "tạm tính đến dd/mm" with no level until the month ends;
the stored month row keeps measuring the whole month. Both databases.

The clock starts on Wednesday 14 Oct 2026, 07:30 in Hồ Chí Minh.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.extensions import db
from core.scoring.models import PeriodScore
from core.tenancy import tenant_context
from tests.dashboards.test_dashboards import page, sign_in
from tests.scoring.test_scoring_engine import finish
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)


@pytest.fixture
def october(clean_app, client, clock):
    """Staff's October, seen on the 14th (decree335; HT01 weighs 1 per unit, VB01 1.5):
    counted to date — A 1 Oct ×2 done, B 5 Oct ×1 open and past its day, E 7 Oct VB01 done
    before its deadline of the 20th; not yet due — C today, D deadline the 20th, F the 20th."""
    w = build(clean_app)
    a = declare(client, w, work_date="2026-10-01", quantity=2)["id"]
    declare(client, w, work_date="2026-10-05", quantity=1)
    declare(client, w, work_date="2026-10-14", quantity=1)
    declare(client, w, work_date="2026-10-06", quantity=1, deadline="2026-10-20")
    e = declare(client, w, task_type_code="VB01", work_date="2026-10-07", quantity=1, deadline="2026-10-20")["id"]
    declare(client, w, work_date="2026-10-20", quantity=1)
    finish(client, w, a)
    finish(client, w, e)
    return w


def test_the_rule_by_hand(clean_app, october):
    from core.dashboards.to_date import month_to_date

    w = october
    with clean_app.app_context(), tenant_context(w.tenant_id):
        now = month_to_date(w.ids["staff"], "2026-10", date(2026, 10, 14))
        stored = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == w.ids["staff"],
                                                             PeriodScore.period == "2026-10"))
        # 1, 2, 5–9, 12–14 October: ten working days so far.
        assert now["working_days"] == 10 and now["item_count"] == 3
        # Assigned to date 2 + 1 + 1.5 = 4.5, done 3.5: 77.78 % of each part → 70 × 3.5 / 4.5.
        assert now["sums"]["assigned"] == 4.5 and now["sums"]["quantity"] == 3.5
        assert now["components"]["quantity_pct"] == 77.7778
        assert now["task_score"] == 54.44 and now["total"] == 54.44 and now["general_score"] is None
        # The stored row still measures the whole month: 3.5 of 7.5 → 70 × 3.5 / 7.5.
        assert (float(stored.task_score), stored.item_count, stored.working_days) == (32.67, 6, 22)
        # Not a month in progress: nothing to date.
        assert month_to_date(w.ids["staff"], "2026-09", date(2026, 10, 14)) is None
        assert month_to_date(w.ids["staff"], "2026-10", date(2026, 11, 2)) is None


def test_a_leaders_unit_part_is_judged_on_the_members_to_date(clean_app, client, october):
    from core.dashboards.to_date import month_to_date

    w = october
    with clean_app.app_context(), tenant_context(w.tenant_id):
        lead = month_to_date(w.ids["manager"], "2026-10", date(2026, 10, 14))
    # No own items (0 %); the members: staff at 54.44 + 0 general (< 50? no → "all pass" 100 %),
    # staff2 and the accountant with nothing (0 < 50 → someone is KHT: 50 %); organising:
    # of the members' 3 items counted, 2 on time → 66.67 %. (0 + 50 + 66.6667) / 3 = 38.8889 %.
    assert lead["components"]["unit_results_pct"] == 50.0
    assert lead["components"]["organising_pct"] == 66.6667
    assert lead["task_score"] == 27.22  # 70 × 0.388889


def test_the_page_says_to_date_and_shows_no_level_until_the_month_ends(client, clock, october):
    w = october
    sign_in(client, w, "staff")
    html = page(client, f"/t/{w.slug}/me?period=2026-10")
    assert "tạm tính đến 14/10" in html
    assert "54,44" in html and "32,67" not in html
    assert 'class="band' not in html
    clock.set(2026, 11, 2, 8, 0)
    html = page(client, f"/t/{w.slug}/me?period=2026-10")
    assert "tạm tính đến" not in html
    assert "32,67" in html and '<span class="band band-KHT">KHT</span>' in html
