"""Dashboards (issue 9), both databases: my month explained, my trend, the general-criteria
proposal, the unit dashboard with drill-down and the manager setting general criteria,
the province dashboard and heat map, jobs with progress, the operator overview; who may
open what (403/404), bad input answered 4xx, and a bounded number of queries."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import event, func, select

from core import unit_of_work
from core.extensions import db
from core.org.models import OrgUnit
from core.scoring.models import GeneralScore, PeriodScore
from core.tenancy import tenant_context
from tests.scoring.test_scoring_engine import finish, month_of_staff, review
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)
PERIOD = "2026-10"


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


@pytest.fixture
def scored(client, w, clock):
    """A month with scores: the staff's four items (one clean, one reworked, one late,
    one open) and two finished items of staff2."""
    items = month_of_staff(client, w)
    clock.set(2026, 10, 15, 9, 0)
    finish(client, w, items[2])
    other = declare(client, w, who="staff2", quantity=2, deadline="2026-10-20")["id"]
    finish(client, w, other, who="staff2")
    review(client, w, other, stars=4)
    return w


def sign_in(client, w, who: str, lang: str = "vi") -> None:
    with client.session_transaction() as session:
        session["_user_id"] = w.principals[who].get_id()
        session["_fresh"] = True
        session["lang"] = lang


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def page(client, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return r.get_data(as_text=True)


# ---------------------------------------------------------------- the employee


def test_my_month_explains_each_item_and_the_formula(client, scored):
    w = scored
    sign_in(client, w, "staff")
    html = page(client, f"/t/{w.slug}/me?period={PERIOD}")
    assert "Tháng của tôi" in html
    assert html.count('class="item"') == 4
    # The formula with its numbers: 75 % quantity, 68.75 % quality and progress → 49.58.
    assert "75" in html and "68,75" in html and "49,58" in html
    assert "Tạm tính" in html  # provisional: the manager has not set the general criteria
    assert "Đề xuất của tôi" in html  # the proposal form
    # The rule's settings, by their labels, include the satisfaction weight (decree335: 0),
    # and the month's parts the mean satisfaction of the reviewed items (all rated 5 → 100 %).
    assert "<li>Tỷ trọng mức độ hài lòng trong điểm nhiệm vụ (0–1): <strong>0</strong></li>" in html
    assert "satisfaction_weight" not in html
    assert "Tỷ lệ hài lòng (%)" in html
    # Each row of the formula opens with a capital, and the rated items behind the
    # satisfaction % are one row (their Σ), not that row again without its Σ.
    assert html.count("số việc được đánh giá mức độ hài lòng</th>") == 1
    assert '<th scope="row">Σ số việc được đánh giá mức độ hài lòng</th>' in html
    assert '<th scope="row">Tỷ lệ đầu việc của bản thân %</th>' in html
    assert "tỷ lệ đầu việc của bản thân" not in html


def test_the_employee_proposes_general_criteria(client, clean_app, scored):
    w = scored
    sign_in(client, w, "staff")
    token = csrf(page(client, f"/t/{w.slug}/me?period={PERIOD}"))
    r = client.post(f"/t/{w.slug}/me/general", data={"csrf_token": token, "period": PERIOD,
                                                     "politics_ethics": "9", "competence_attitude": "8,5",
                                                     "innovation": "7", "comment": "Đề xuất"})
    assert r.status_code == 302
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(GeneralScore).where(GeneralScore.employee_id == w.ids["staff"]))
        assert (float(row.self_politics_ethics), float(row.self_competence_attitude)) == (9.0, 8.5)
        assert row.politics_ethics is None  # a proposal does not set the score
    # Out of range and not a number: refused beside the field, the form as typed, nothing written.
    for bad, message in (("11", "Từ 0 đến 10."), ("abc", "Hãy nhập một số từ 0 đến 10."),
                         ("nan", "Từ 0 đến 10.")):
        r = client.post(f"/t/{w.slug}/me/general", data={"csrf_token": token, "period": PERIOD,
                                                         "politics_ethics": bad, "competence_attitude": "1",
                                                         "innovation": "1", "comment": "Giữ nguyên"})
        html = r.get_data(as_text=True)
        assert r.status_code == 422
        assert f'<p class="field-error" id="g-politics_ethics-err">{message}</p>' in html
        assert html.count('class="field-error"') == 2  # the field's, and one line above the form
        assert f'value="{bad}"' in html and 'value="Giữ nguyên"' in html and 'id="g-innovation" ' in html
        assert html.index('class="field-error" role="alert"') > html.index('id="general"')
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(GeneralScore).where(GeneralScore.employee_id == w.ids["staff"]))
        assert float(row.self_politics_ethics) == 9.0


@pytest.mark.parametrize("by", ["day", "week", "month"])
def test_my_trend_has_a_chart_and_the_same_numbers_in_a_table(client, scored, by):
    w = scored
    sign_in(client, w, "staff")
    html = page(client, f"/t/{w.slug}/me/trend?by={by}&period={PERIOD}")
    assert "data-chart=" in html and "<table" in html
    assert "chart.umd.min.js" in html and "js/charts.js" in html
    # The caption names the month once: the month's label already reads "tháng 10/2026".
    assert "tháng tháng" not in html and ("tháng 10/2026 (thang điểm 70)" in html) == (by in ("day", "week"))
    if by == "month":
        assert "49,58" in html
    if by == "day":
        assert "14/10/2026" in html


@pytest.mark.parametrize("bad", ["2026-13", "abc", "2026-W43", "9999-01", "2026-1", "'%3Cscript%3E"])
def test_a_bad_period_is_a_friendly_4xx(client, scored, bad):
    w = scored
    sign_in(client, w, "admin")
    for path in ("/me", "/me/trend", "/dashboard/unit", "/dashboard/unit/work", "/dashboard/province",
                 "/dashboard/province/heatmap"):
        r = client.get(f"/t/{w.slug}{path}?period={bad}")
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert "YYYY-MM" in r.get_data(as_text=True)


# ---------------------------------------------------------------- the unit


def test_the_unit_dashboard_and_drill_down(client, scored):
    w = scored
    sign_in(client, w, "manager")
    html = page(client, f"/t/{w.slug}/dashboard/unit?period={PERIOD}")
    assert "Bảng điều khiển đơn vị" in html
    assert "Người staff" in html and "Người staff2" in html
    assert "Người outsider" not in html  # another unit, not managed
    assert html.count("data-chart=") == 1  # the histogram, with its table
    assert 'hx-get="/t/' in html and "/dashboard/unit/work" in html  # hours and queues load after
    assert "49,58" in html
    fragment = page(client, f"/t/{w.slug}/dashboard/unit/work?period={PERIOD}")
    assert "<html" not in fragment and fragment.count("data-chart=") == 1 and "14/10/2026" in fragment
    # Queues: staff's open item is overdue; staff2's reviewed item waits for nobody.
    assert re.search(r"Việc quá hạn: <strong>1</strong>", fragment)
    assert "Ai có việc quá hạn" in fragment and 'Người staff: <strong class="error">1</strong>' in fragment
    html = page(client, f"/t/{w.slug}/dashboard/person/{w.ids['staff']}?period={PERIOD}")
    assert "Người staff" in html and "Xác định tiêu chí chung" in html
    page(client, f"/t/{w.slug}/dashboard/person/{w.ids['outsider']}?period={PERIOD}", 404)


def test_the_manager_sets_the_general_criteria_and_the_total_is_final(client, clean_app, scored):
    w = scored
    sign_in(client, w, "manager")
    token = csrf(page(client, f"/t/{w.slug}/dashboard/person/{w.ids['staff']}?period={PERIOD}"))
    r = client.post(f"/t/{w.slug}/dashboard/person/{w.ids['staff']}/general",
                    data={"csrf_token": token, "period": PERIOD, "politics_ethics": "8",
                          "competence_attitude": "9", "innovation": "7"})
    assert r.status_code == 302
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == w.ids["staff"]))
        assert float(row.total) == 73.58 and row.provisional is False
    html = page(client, f"/t/{w.slug}/dashboard/unit?period={PERIOD}")
    assert "73,58" in html
    # The employee cannot set their own; a stranger's form post is refused.
    sign_in(client, w, "staff")
    r = client.post(f"/t/{w.slug}/dashboard/person/{w.ids['staff']}/general",
                    data={"csrf_token": token, "period": PERIOD, "politics_ethics": "10",
                          "competence_attitude": "10", "innovation": "10"})
    assert r.status_code == 403


def test_a_leader_cannot_set_their_own_general_criteria_on_the_page(client, clean_app, scored):
    """The manager leads the unit they are in, so they "manage" themselves: still 403, no row."""
    w = scored
    sign_in(client, w, "manager")
    html = page(client, f"/t/{w.slug}/dashboard/person/{w.ids['manager']}?period={PERIOD}")
    assert f'action="/t/{w.slug}/dashboard/person/{w.ids["manager"]}/general"' not in html
    r = client.post(f"/t/{w.slug}/dashboard/person/{w.ids['manager']}/general",
                    data={"csrf_token": csrf(html), "period": PERIOD, "politics_ethics": "10",
                          "competence_attitude": "10", "innovation": "10"})
    assert r.status_code == 403
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(GeneralScore)
                                 .where(GeneralScore.employee_id == w.ids["manager"])) == 0


# ---------------------------------------------------------------- the province, jobs, operator


def test_the_province_dashboard_ranks_units_from_stored_scores(client, scored):
    w = scored
    sign_in(client, w, "admin")
    html = page(client, f"/t/{w.slug}/dashboard/province?period={PERIOD}")
    assert "Sở Nội vụ" in html and "data-chart=" in html
    assert 'hx-get="/t/' in html and "heatmap" in html
    fragment = page(client, f"/t/{w.slug}/dashboard/province/heatmap?period={PERIOD}")
    assert "<html" not in fragment and "W42" in fragment
    html = page(client, f"/t/{w.slug}/dashboard/province?period={PERIOD}&kind=commune")
    assert "Sở Nội vụ" not in html.split('id="units-h"')[1].split("</table>")[0]
    sign_in(client, w, "auditor")
    page(client, f"/t/{w.slug}/dashboard/province?period={PERIOD}")


def test_jobs_page_starts_a_recalculation_and_shows_its_progress(client, scored):
    w = scored
    sign_in(client, w, "admin")
    token = csrf(page(client, f"/t/{w.slug}/jobs"))
    r = client.post(f"/t/{w.slug}/jobs/recalculate", data={"csrf_token": token, "period": PERIOD})
    assert r.status_code == 302
    html = page(client, f"/t/{w.slug}/jobs")
    assert "Tính lại điểm" in html and "<progress" in html
    job_id = re.search(r'id="job-([0-9a-f-]{36})"', html).group(1)
    bar = page(client, f"/t/{w.slug}/jobs/{job_id}/bar")
    assert "hoàn thành" in bar and 'value="100"' in bar
    assert "hx-trigger" not in bar  # finished: the polling stops
    page(client, f"/t/{w.slug}/jobs/not-a-job/bar", 404)


@pytest.mark.parametrize("who, path, status", [
    ("staff", "/dashboard/unit", 403), ("staff", "/dashboard/province", 403), ("staff", "/jobs", 403),
    ("manager", "/dashboard/province", 403), ("manager", "/dashboard/province/heatmap", 403),
    ("staff", "/dashboard/unit/work", 403),
    ("staff", "/dashboard/person/{manager}", 403), ("manager", "/me", 200), ("auditor", "/me", 200),
    ("auditor", "/dashboard/unit", 200), ("manager", "/jobs", 200),
])
def test_who_may_open_what(client, scored, who, path, status):
    w = scored
    sign_in(client, w, who)
    page(client, f"/t/{w.slug}{path.replace('{manager}', str(w.ids['manager']))}?period={PERIOD}", status)


def test_a_unit_not_mine_is_not_found(client, scored):
    w = scored
    sign_in(client, w, "manager")
    page(client, f"/t/{w.slug}/dashboard/unit?unit_id={w.ids['other']}", 404)
    page(client, f"/t/{w.slug}/dashboard/unit?unit_id=abc", 400)
    page(client, f"/t/{w.slug}/dashboard/unit?unit_id=99999999999999999999", 400)
    page(client, f"/t/{w.slug}/dashboard/person/99999999999999999999", 404)
    page(client, f"/t/{w.slug}/jobs/{'x' * 500}/bar", 404)
    page(client, f"/t/{w.slug}/me/trend?by=year&period=2026-10")  # an unknown grouping falls back to days


def test_the_operator_overview(client, clean_app, scored):
    from core.auth.services import create_operator, principal_for_operator

    with clean_app.app_context():
        session_id = principal_for_operator(create_operator("root", "Operator-Passw0rd-2026")).get_id()
        unit_of_work.commit()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = session_id, True, "vi"
    html = page(client, "/operator/dashboard")
    assert scored.slug in html and "decree335" in html and "Cơ sở dữ liệu" in html
    assert "Người staff" not in html  # no personal data for the operator
    # Which rules each province uses today, by title (one query for all of them).
    row = html.split(f">{scored.slug}</th>", 1)[1].split("</tr>", 1)[0]
    cell = re.search(r'<td class="wrap components"[^>]*>(.*?)</td>', row, re.S).group(1)
    chosen = re.findall(r'<span class="chosen">([^:<]+): ([^<]+)</span>', cell)
    assert [label for label, _title in chosen] == ["Cách chấm điểm", "Cách xếp loại", "Cách chia thưởng"]
    assert all(title != "—" and not title.startswith("decree") for _label, title in chosen), chosen
    sign_in(client, scored, "admin")
    page(client, "/operator/dashboard", 403)


def test_dashboards_use_a_bounded_number_of_queries(client, clean_app, scored):
    """Adding people must not add queries: the pages read grouped aggregates."""
    w = scored

    def count(path: str) -> int:
        with clean_app.app_context():
            engine = db.engine
        n = [0]

        def on_execute(*_args) -> None:
            n[0] += 1

        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            page(client, path)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        return n[0]

    sign_in(client, w, "admin")
    paths = [f"/t/{w.slug}/dashboard/unit?period={PERIOD}&unit_id={w.ids['dept']}",
             f"/t/{w.slug}/dashboard/unit/work?period={PERIOD}&unit_id={w.ids['dept']}",
             f"/t/{w.slug}/dashboard/province?period={PERIOD}"]
    for p in paths:  # the process's first request reads what later ones keep (the tenant's calendar)
        page(client, p)
    before = [count(p) for p in paths]
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from core.org import services as org

        for i in range(15):
            org.create_employee({"code": f"NEW{i}", "full_name": f"Người mới {i}", "unit_id": w.ids["dept"],
                                 "position_code": "CV", "manager_id": w.ids["manager"]})
        unit_of_work.commit()
    for _ in range(3):
        declare(client, w, who="staff2", quantity=1)
    after = [count(p) for p in paths]
    assert after == before, (before, after)


def test_a_stale_month_says_so_and_english_works(client, clean_app, scored):
    from core.scoring.stale import mark_stale

    w = scored
    with clean_app.app_context(), tenant_context(w.tenant_id):
        mark_stale([PERIOD], "Scoring settings changed on 2026-10-20.")
        unit_of_work.commit()
    sign_in(client, w, "staff")
    html = page(client, f"/t/{w.slug}/me?period={PERIOD}")
    assert "Điểm này đã lỗi thời." in html and "Scoring settings changed on 2026-10-20." in html
    sign_in(client, w, "manager", lang="en")
    html = page(client, f"/t/{w.slug}/dashboard/unit?period={PERIOD}&lang=en")
    assert "These scores are out of date." in html and "Unit dashboard" in html
    assert "49.58" in html  # a decimal point in English, a comma in Vietnamese


def test_the_province_shows_the_years_classification_by_unit(client, clean_app, scored):
    """Levels in force (an override beats the computed level), counted under the agency."""
    from core.classification.models import EmployeeClassification

    w = scored
    with clean_app.app_context(), tenant_context(w.tenant_id):
        for who, level, override in (("staff", "HTT", None), ("staff2", "HTXS", "HTT"), ("manager", "HT", None)):
            db.session.add(EmployeeClassification(year=2026, employee_id=w.ids[who], unit_id=w.ids["dept"],
                                                  quota_group=f"{w.ids['agency']}:professional",
                                                  computed_level=level, override_level=override, criteria={}))
        unit_of_work.commit()
    sign_in(client, w, "admin")
    html = page(client, f"/t/{w.slug}/dashboard/province?period={PERIOD}")
    row = html.split('id="units-h"')[1].split("</tr>", 2)[1]
    assert "Sở Nội vụ" in row
    assert re.search(r"HTXS 0</span>\s*<span class=\"band band-HTT\">HTT 2</span>\s*<span class=\"band band-HT\">HT 1",
                     row), row


def test_the_head_of_an_agency_sees_the_province_and_its_trend(client, clean_app, scored):
    from core.org.models import Employee

    w = scored
    sign_in(client, w, "manager")
    page(client, f"/t/{w.slug}/dashboard/province?period={PERIOD}", 403)  # heads a department only
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.get(Employee, w.ids["manager"]).unit_id = w.ids["agency"]
        unit_of_work.commit()
    html = page(client, f"/t/{w.slug}/dashboard/province?period={PERIOD}")
    assert "Tổng điểm tháng trung bình" in html
    trend = html.split('id="trend-h"')[1].split("</table>")[0]
    # Twelve months, written as months are read.
    assert "tháng 10/2026" in trend and "tháng 11/2025" in trend and "tháng 10/2025" not in trend
    assert "Bảng điều khiển toàn tỉnh" in page(client, f"/t/{w.slug}/")  # linked from the home page


def test_bands_and_bins_at_their_edges():
    from core.dashboards.services import bands, histogram
    from core.plugins.components import ScoringVariant

    assert bands([49.99, 50, 69.99, 70, 89.99, 90, 100], ScoringVariant()) == {"HTXS": 2, "HTT": 2, "HT": 2, "KHT": 1}

    class ThreeBands(ScoringVariant):  # another rule's bands: A from 80, B from 40, C below
        total_bands = (("A", 80), ("B", 40), ("C", 0))

    assert bands([0, 39.99, 40, 79.99, 80, 100], ThreeBands()) == {"A": 2, "B": 2, "C": 2}
    counts = [b["count"] for b in histogram([0, 9.99, 10, 49.58, 90, 100])]
    assert counts == [2, 1, 0, 0, 1, 0, 0, 0, 0, 2]  # 100 falls in the last bin, not past it


# ---------------------------------------------------------------- the heat map's stored hours


def _week_hours(app, w) -> set[tuple]:
    from core.dashboards.models import WeekHours

    with app.app_context(), tenant_context(w.tenant_id):
        return {(r.employee_id, r.unit_id, r.period, r.week_start.isoformat(), r.minutes, r.items)
                for r in db.session.scalars(select(WeekHours))}


def _unit_hours(app, w) -> dict[tuple, tuple]:
    """The heat map's sums per unit and week (unit_week_hours), checked against the sum of
    week_hours itself: (unit, period, week) → (minutes, items), cells without items left out."""
    from core.dashboards.models import UnitWeekHours, WeekHours

    with app.app_context(), tenant_context(w.tenant_id):
        kept = {(r.unit_id, r.period, r.week_start.isoformat()): (round(r.minutes, 6), r.items)
                for r in db.session.scalars(select(UnitWeekHours)) if r.items}
        summed = {(unit, period, week.isoformat()): (round(minutes, 6), items)
                  for unit, period, week, minutes, items in db.session.execute(
                      select(WeekHours.unit_id, WeekHours.period, WeekHours.week_start, func.sum(WeekHours.minutes),
                             func.sum(WeekHours.items))
                      .group_by(WeekHours.unit_id, WeekHours.period, WeekHours.week_start))}
    assert kept == summed
    return kept


def _heat(app, w, period: str = PERIOD) -> dict[str, dict[str, float]]:
    from core.dashboards.services import workload_heatmap

    with app.app_context(), tenant_context(w.tenant_id):
        data = workload_heatmap(period, None)
    return {r["name"]: {c["week"][5:]: c["hours"] for c in r["cells"]} for r in data["rows"]}


@pytest.mark.parametrize("variant", ["decree335", "hours-ledger", "deadline-buckets"])
def test_the_heat_map_reads_hours_the_engine_stores_for_every_variant(client, clean_app, w, clock, variant):
    """Credited hours = norm minutes × quantity × complexity coefficient of completed
    items, kept per person and ISO week by the per-item refresh and by a recalculation,
    the same under every variant."""
    if variant != "decree335":
        r = client.patch(w.url("/settings"), json={"scoring_variant": {"key": variant, "settings": {}}},
                         headers=w.h("admin"))
        assert r.status_code == 200, r.get_json()
    # Week 42: staff 10 × 30 min × 1.2 (level 3) = 360; staff2 7 × 60 min = 420; an open item counts nothing.
    a = declare(client, w, who="staff", task_type_code="HT01", quantity=10, complexity_level=3)["id"]
    b = declare(client, w, who="staff2", task_type_code="VB01", quantity=7)["id"]
    declare(client, w, who="staff2", task_type_code="VB01", quantity=5)
    finish(client, w, a)
    finish(client, w, b, who="staff2")
    # Week 43: staff 15 × 30 min × 0.8 (level 1) = 360.
    clock.set(2026, 10, 20, 9, 0)
    c = declare(client, w, who="staff", task_type_code="HT01", quantity=15, complexity_level=1,
                work_date="2026-10-20")["id"]
    finish(client, w, c)
    dept, staff, staff2 = w.ids["dept"], w.ids["staff"], w.ids["staff2"]
    expected = {(staff, dept, PERIOD, "2026-10-12", 360.0, 1), (staff2, dept, PERIOD, "2026-10-12", 420.0, 1),
                (staff, dept, PERIOD, "2026-10-19", 360.0, 1)}
    assert _week_hours(clean_app, w) == expected
    # The per-item refresh added each person's weeks to the unit's: 360 + 420 in week 42.
    sums = {(dept, PERIOD, "2026-10-12"): (780.0, 2), (dept, PERIOD, "2026-10-19"): (360.0, 1)}
    assert _unit_hours(clean_app, w) == sums
    # Seven people in Sở Nội vụ, five working days a week: 13 h / 35 = 0.37 and 6 h / 35 = 0.17.
    heat = {"W40": 0.0, "W41": 0.0, "W42": 0.4, "W43": 0.2, "W44": 0.0}
    assert _heat(clean_app, w) == {"Sở Nội vụ": heat}
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "finished", job
    assert _week_hours(clean_app, w) == expected  # a recalculation writes the same rows
    assert _unit_hours(clean_app, w) == sums
    assert _heat(clean_app, w) == {"Sở Nội vụ": heat}
    # A failed review sends the item back to work: its hours go until it is done again.
    review(client, w, c, passed=False)
    assert _week_hours(clean_app, w) == expected - {(staff, dept, PERIOD, "2026-10-19", 360.0, 1)}
    # ... and leave the unit's week: its cell stays, with nothing in it.
    assert _unit_hours(clean_app, w) == {(dept, PERIOD, "2026-10-12"): (780.0, 2)}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from core.dashboards.models import UnitWeekHours

        emptied = db.session.scalar(select(UnitWeekHours).where(UnitWeekHours.week_start == date(2026, 10, 19)))
        assert (emptied.items, round(emptied.minutes, 6)) == (0, 0.0)
    sign_in(client, w, "admin")
    fragment = page(client, f"/t/{w.slug}/dashboard/province/heatmap?period={PERIOD}")
    assert "<td class=\"heat-1\">0,4</td>" in fragment and "<td class=\"heat-0\">0</td>" in fragment


def test_heat_map_hours_stay_with_the_unit_they_were_worked_in(client, clean_app, w, clock):
    """After a unit merge, October's hours stay under the old agency (even after a
    recalculation of October) and November's go to the commune the people moved to."""
    from core.mergers.units import merge_units
    from core.org import services as org

    with clean_app.app_context(), tenant_context(w.tenant_id):
        org.create_unit({"code": "XA", "name": "Xã An Bình", "kind": "commune"})
        unit_of_work.commit()
    a = declare(client, w, who="staff", task_type_code="HT01", quantity=12, complexity_level=2)["id"]
    finish(client, w, a)  # 360 min in week 42
    clock.set(2026, 11, 2, 9, 0)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        merge_units(["AG-P1"], "XA", date(2026, 11, 1), "test")  # manager, staff, staff2, accountant move
        unit_of_work.commit()
    b = declare(client, w, who="staff", task_type_code="HT01", quantity=12, complexity_level=2,
                work_date="2026-11-02")["id"]
    finish(client, w, b)  # 360 min in week 45
    october = {"Sở Nội vụ": {"W40": 0.0, "W41": 0.0, "W42": 0.2, "W43": 0.0, "W44": 0.0}}  # 6 h / 7 / 5
    assert _heat(clean_app, w) == october
    with clean_app.app_context(), tenant_context(w.tenant_id):
        xa = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "XA"))
    # Each month's hours summed under the unit of its first day: the department, then the commune.
    sums = {(w.ids["dept"], PERIOD, "2026-10-12"): (360.0, 1), (xa, "2026-11", "2026-11-02"): (360.0, 1)}
    assert _unit_hours(clean_app, w) == sums
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202
    assert _heat(clean_app, w) == october
    assert _unit_hours(clean_app, w) == sums
    november = _heat(clean_app, w, "2026-11")
    assert november["Xã An Bình"]["W45"] == 0.3  # 6 h / 4 people / 5 days
    assert november["Sở Nội vụ"]["W45"] == 0.0  # admin, outsider and auditor stayed


# ---------------------------------------------------------------- inline progress bars


def _inline(html: str, job_id: str) -> str:
    """The inline bar of a run in a page."""
    start = html.index(f'id="job-inline-{job_id}"')
    return html[html.rindex("<div", 0, start):html.index("</div>\n", html.index("job-done", start))]


def test_recalculating_shows_the_bar_inline_with_a_link_to_the_result(client, scored):
    """On SQLite and without Redis the job runs inline, so the page comes back with the
    bar done; the fragment the bar polls says the same, without a trigger."""
    w = scored
    sign_in(client, w, "admin")
    token = csrf(page(client, f"/t/{w.slug}/jobs"))
    r = client.post(f"/t/{w.slug}/jobs/recalculate", data={"csrf_token": token, "period": PERIOD})
    assert r.status_code == 302
    job_id = re.search(r"job=([0-9a-f-]{36})#job-inline-\1$", r.headers["Location"]).group(1)
    html = page(client, r.headers["Location"])
    bar = _inline(html, job_id)
    assert 'role="status"' in bar and 'value="100"' in bar and "hoàn thành" in bar and "hx-trigger" not in bar
    assert "Đã chấm 5 việc của 7 người." in bar
    assert f'href="/t/{w.slug}/dashboard/province?period={PERIOD}">Xem điểm của tháng</a>' in bar
    fragment = page(client, f"/t/{w.slug}/jobs/{job_id}/bar?inline=1")
    assert "<html" not in fragment and f'id="job-inline-{job_id}"' in fragment and 'value="100"' in fragment
    assert "hx-trigger" not in fragment and "Xem điểm của tháng" in fragment


def test_a_running_job_polls_every_second_until_it_is_done(client, clean_app, scored):
    from core.jobs.models import JobRun

    w = scored
    run_id = "00000000-0000-4000-8000-000000000009"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.add(JobRun(id=run_id, key="recalculation:2026-09", kind="recalculation", scope="2026-09",
                              params={"period": "2026-09"}, requested_by="user:admin", status="running",
                              done=3, total=4, stage="scoring"))
        unit_of_work.commit()
    sign_in(client, w, "admin")
    fragment = page(client, f"/t/{w.slug}/jobs/{run_id}/bar?inline=1")
    assert 'hx-trigger="every 1s"' in fragment and 'value="75"' in fragment and "3/4 · đang chấm điểm" in fragment
    assert f'hx-get="/t/{w.slug}/jobs/{run_id}/bar?inline=1"' in fragment and "job-done" not in fragment
    html = page(client, f"/t/{w.slug}/jobs?job={run_id}")
    assert f'id="job-inline-{run_id}"' in html and 'hx-trigger="every 1s"' in html
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.get(JobRun, run_id)
        row.status, row.done, row.result = "finished", 4, {"period": "2026-09", "items": 4, "employees": 2}
        unit_of_work.commit()
    fragment = page(client, f"/t/{w.slug}/jobs/{run_id}/bar?inline=1")
    assert "hx-trigger" not in fragment and 'value="100"' in fragment and "Đã chấm 4 việc của 2 người." in fragment
    # A manager sees only the runs they started; no one sees another tenant's.
    sign_in(client, w, "manager")
    page(client, f"/t/{w.slug}/jobs/{run_id}/bar?inline=1", 404)
    assert "job-inline" not in page(client, f"/t/{w.slug}/jobs?job={run_id}")
    other = build(clean_app, "tinh-khac")
    sign_in(client, other, "admin")
    page(client, f"/t/{other.slug}/jobs/{run_id}/bar?inline=1", 404)
    assert "job-inline" not in page(client, f"/t/{other.slug}/jobs?job={run_id}")
    assert "job-inline" not in page(client, f"/t/{other.slug}/jobs?job={'x' * 400}")


def test_an_import_started_from_its_page_shows_the_bar(client, clean_app, scored):
    w = scored
    sign_in(client, w, "admin")
    html = page(client, f"/t/{w.slug}/admin/imports")
    from tests.imports.test_imports import csv_bytes, staff_rows

    rows = staff_rows(3)  # two valid rows and one whose unit does not exist
    rows[3][2] = "KHONG-CO"
    csv = csv_bytes(rows)
    r = client.post(f"/t/{w.slug}/admin/imports", content_type="multipart/form-data",
                    data={"csrf_token": csrf(html), "connector": "staff-csv", "dry_run": "1",
                          "file": (io.BytesIO(csv), "s.csv")})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    job_id = re.search(r"job=([0-9a-f-]{36})", r.headers["Location"]).group(1)
    bar = _inline(page(client, r.headers["Location"]), job_id)
    assert 'value="100"' in bar and "hx-trigger" not in bar and "Chạy thử: 2/3 dòng hợp lệ, chưa ghi gì." in bar
    # The page shows the result under its bar: the bar links to it only where the result is
    # not on the page yet (the fragment polled while the import ran).
    assert "Xem kết quả nhập" not in bar
    polled = client.get(f"/t/{w.slug}/jobs/{job_id}/bar?inline=1").get_data(as_text=True)
    assert f'href="/t/{w.slug}/admin/imports?job={job_id}">Xem kết quả nhập</a>' in polled


def test_a_classification_run_shows_the_bar_on_the_province_page(client, clean_app, scored, clock):
    w = scored
    clock.set(2026, 12, 10, 9, 0)  # the year's run counts finished months: October is one by December
    sign_in(client, w, "admin")
    html = page(client, f"/t/{w.slug}/classification/province?year=2026")
    r = client.post(f"/t/{w.slug}/classification/2026/run", data={"csrf_token": csrf(html)})
    assert r.status_code == 302
    job_id = re.search(r"job=([0-9a-f-]{36})", r.headers["Location"]).group(1)
    html = page(client, r.headers["Location"])
    bar = _inline(html, job_id)
    assert 'value="100"' in bar and "Xếp loại" in bar and "Đã xếp loại 7 người." in bar
    assert "Đã thực hiện." in html.split('class="flashes"', 1)[1].split("</div>", 1)[0]  # the flash, as before
    r = client.post(f"/t/{w.slug}/classification/2026/finalize", data={"csrf_token": csrf(html), "confirm": "yes"})
    assert r.status_code == 302 and "job=" not in r.headers["Location"]  # no job: no bar
    # Locking says what it did and what comes next, not a bare "Done.".
    flashes = page(client, r.headers["Location"]).split('class="flashes"', 1)[1].split("</div>", 1)[0]
    assert ("Kết quả xếp loại năm 2026 đã được phê duyệt chính thức: các mức xếp loại đã khóa và mọi người được "
            "xếp loại đã nhận thông báo. Có thể chia thưởng ở phần bên dưới.") in flashes
    assert "Đã thực hiện." not in flashes
    r = client.post(f"/t/{w.slug}/classification/2026/bonus", data={"csrf_token": csrf(html), "fund": "1.000.000"})
    job_id = re.search(r"job=([0-9a-f-]{36})", r.headers["Location"]).group(1)
    bar = _inline(page(client, r.headers["Location"]), job_id)
    assert 'value="100"' in bar and "7 người được chia quỹ thưởng." in bar
    assert re.search(rf'href="/t/{w.slug}/classification/bonus/\d+">Xem đợt chia thưởng</a>', bar)


def test_the_operators_merger_bar(client, clean_app, scored):
    from core.auth.services import create_operator, principal_for_operator
    from core.jobs.models import JobRun

    w = scored
    with clean_app.app_context(), tenant_context(w.tenant_id):
        for run_id, kind in (("00000000-0000-4000-8000-00000000000a", "tenant_merge"),
                             ("00000000-0000-4000-8000-00000000000b", "recalculation")):
            db.session.add(JobRun(id=run_id, key=f"{kind}:x", kind=kind, scope="tinh-cu:dry", params={},
                                  requested_by="operator:root", status="running", done=1, total=2))
        unit_of_work.commit()
    with clean_app.app_context():
        session_id = principal_for_operator(create_operator("root", "Operator-Passw0rd-2026")).get_id()
        unit_of_work.commit()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = session_id, True, "vi"
    fragment = page(client, f"/operator/merges/{w.slug}/00000000-0000-4000-8000-00000000000a/bar")
    assert 'hx-trigger="every 1s"' in fragment and 'value="50"' in fragment and "Sáp nhập" in fragment
    page(client, f"/operator/merges/{w.slug}/00000000-0000-4000-8000-00000000000b/bar", 404)  # not a merger
    page(client, "/operator/merges/no-such/00000000-0000-4000-8000-00000000000a/bar", 404)
    sign_in(client, w, "admin")
    page(client, f"/operator/merges/{w.slug}/00000000-0000-4000-8000-00000000000a/bar", 403)


def test_two_refreshes_that_cross_weeks_of_one_unit_do_not_deadlock(clean_app, w, backend):
    """admin and auditor (Sở Nội vụ, no leader above them: nothing else orders their
    refreshes) each finish an item in the week where only the other had hours: admin
    had week 41 and adds week 42, auditor had week 42 and adds week 41. Each refresh
    takes its old rows out of the unit's cells, then puts its new rows in; both must go
    through (no deadlock) and leave the cells the sums of week_hours: 2 items a week."""
    import threading

    from sqlalchemy import event as sa_event

    from core.scoring import engine
    from core.work.models import WorkItem
    from tests.scoring.test_scoring_properties import add_items, use_variant

    if backend.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    spec = {"quantity": 1, "failed_reviews": 0, "missed_deadlines": 0, "stars": 5, "exempt": False, "planned": True,
            "deadline_offset": None, "finish_offset": 0, "late_report": False, "priority": 1, "role": "lead"}
    with clean_app.app_context(), tenant_context(w.tenant_id):
        use_variant(w.tenant_id, "decree335")
        _, _, admins, auditors = add_items(w, [spec | {"who": "admin", "day": 5, "status": "done"},
                                               spec | {"who": "auditor", "day": 12, "status": "done"},
                                               spec | {"who": "admin", "day": 12, "status": "in_progress"},
                                               spec | {"who": "auditor", "day": 5, "status": "in_progress"}])
        engine.recalculate(PERIOD)
        unit_of_work.commit()
        bind = db.engine

    # Both refreshes hold their old cells before either puts its new rows in (or, when
    # the first one's statement makes the second wait, the first goes on after 2 s).
    out: set[str] = set()
    both_out = threading.Condition()

    def after(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name.startswith("refresh-") and "DELETE FROM week_hours" in statement:
            with both_out:
                out.add(threading.current_thread().name)
                both_out.notify_all()
                both_out.wait_for(lambda: len(out) == 2, timeout=2)

    errors: list = []

    def finish_and_refresh(item_id: int) -> None:
        try:
            with clean_app.app_context(), tenant_context(w.tenant_id):
                item = db.session.get(WorkItem, item_id)
                item.status, item.completed_at = "done", item.declared_at
                db.session.flush()
                engine.refresh_items([item_id])
                unit_of_work.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    sa_event.listen(bind, "after_cursor_execute", after)
    try:
        threads = [threading.Thread(target=finish_and_refresh, args=(i,), name=f"refresh-{i}")
                   for i in (admins, auditors)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sa_event.remove(bind, "after_cursor_execute", after)
    assert errors == []
    agency = w.ids["agency"]
    assert _unit_hours(clean_app, w) == {(agency, PERIOD, "2026-10-05"): (144.0, 2),  # 2 × 60 min × 1.2
                                         (agency, PERIOD, "2026-10-12"): (144.0, 2)}


def test_the_evaluator_scores_a_leaders_leadership_on_the_page(client, clean_app, scored):
    """Optional, 0–100: a wrong value is shown beside its field and nothing is saved."""
    w = scored
    sign_in(client, w, "manager")
    url = f"/t/{w.slug}/dashboard/person/{w.ids['staff']}"
    token = csrf(page(client, f"{url}?period={PERIOD}"))
    general = {"csrf_token": token, "period": PERIOD, "politics_ethics": "8", "competence_attitude": "9",
               "innovation": "7"}
    r = client.post(f"{url}/general", data=general | {"leadership": "150"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="g-leadership-err">Nhập một số từ 0 đến 100, hoặc để trống.' in html
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(GeneralScore)) == 0
    assert client.post(f"{url}/general", data=general | {"leadership": "87,5"}).status_code == 302
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert float(db.session.scalar(select(GeneralScore.leadership))) == 87.5
    # Shown beside the general criteria (staff is no head: it plays no part in their month).
    assert "87,5 %" in page(client, f"{url}?period={PERIOD}")
