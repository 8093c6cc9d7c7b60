"""Monthly or quarterly evaluation periods (docs/procedure.md), on both databases: a tenant or
one agency chooses quarters; its quarters are rolled up from their months, its year from its
quarters — the classification, the scores API, the export and the trend page follow — while
every other agency (and every tenant by default) stays monthly.

Worked by hand for "far" of agency AG2 (Sở Tài chính). Month totals with items (each with a
general score of 25, task = total − 25): January, February, March 60; April 95; June 65.
- Monthly (the default): the year's total is the mean of the five months:
  (60 + 60 + 60 + 95 + 65) ÷ 5 = 340 ÷ 5 = 68.00 → HT (50 to under 70).
- Quarterly: Q1 = (60 + 60 + 60) ÷ 3 = 60.00; Q2 = (95 + 65) ÷ 2 = 80.00 (May has no items
  and does not count), task (70 + 40) ÷ 2 = 55.00, general 25.00; the year is the mean of
  the quarters with items: (60 + 80) ÷ 2 = 70.00 → HTT (70 to under 90). The other agency's
  people are untouched: staff 95 in June stays 95.00."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from core import unit_of_work
from core.classification.models import EmployeeClassification
from core.extensions import db
from core.tenancy import tenant_context
from tests.classification.test_evaluation_procedure import open_agency, scores
from tests.work.test_work_pages import sign_in
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def more_months(app, w: World) -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        for month in ("2026-01", "2026-02", "2026-03"):
            scores(w, {"far": 60}, month)
        scores(w, {"far": 95}, "2026-04")
        unit_of_work.commit()


def classified(app, w: World, name: str) -> tuple[float, str | None]:
    with app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(EmployeeClassification).where(EmployeeClassification.year == 2026,
                                                                     EmployeeClassification.employee_id == w.ids[name]))
        return float(row.total), row.level


def set_periods(client, w: World, **body):
    return client.put(w.url("/evaluation-procedure"), json=body, headers=w.h("admin"))


def test_an_agency_by_quarters_rolls_its_year_up_from_quarters(clean_app, proc, client):
    w = proc
    more_months(clean_app, w)
    # Monthly by default.
    assert client.get(w.url("/evaluation-procedure"), headers=w.h("admin")).get_json()["period"] == "month"
    assert open_agency(client, w, "agency2").status_code == 200
    assert classified(clean_app, w, "far") == (68.0, "HT")
    # Sở Tài chính chooses quarters; recalculating its opening classifies on quarters.
    r = set_periods(client, w, agency_periods={str(w.ids["agency2"]): "quarter"})
    assert r.status_code == 200 and r.get_json()["agency_periods"] == {str(w.ids["agency2"]): "quarter"}
    assert open_agency(client, w, "agency2").status_code == 200
    assert classified(clean_app, w, "far") == (70.0, "HTT")
    assert open_agency(client, w).status_code == 200  # AG stays monthly
    assert classified(clean_app, w, "staff")[0] == 95.0

    # The scores API: far's quarter is the roll-up, general criteria included; staff's is not.
    q2 = client.get(w.url("/scores"), query_string={"period": "2026-Q2", "employee_id": w.ids["far"]},
                    headers=w.h("admin")).get_json()
    assert [(s["total"], s["task_score"], s["general_score"], s["item_count"], s["provisional"]) for s in q2] == \
        [(80.0, 55.0, 25.0, 6, False)]
    assert q2[0]["components"] == {"months": {"2026-04": 95.0, "2026-06": 65.0}}
    other = client.get(w.url("/scores"), query_string={"period": "2026-Q2", "employee_id": w.ids["staff"]},
                       headers=w.h("admin")).get_json()
    assert [s["general_score"] for s in other] == [None]  # scored from the quarter's items, as before
    year = client.get(w.url("/scores"), query_string={"period": "2026", "employee_id": w.ids["far"]},
                      headers=w.h("admin")).get_json()
    assert year[0]["total"] == 70.0 and year[0]["components"]["quarters"] == {"2026-Q1": 60.0, "2026-Q2": 80.0}

    # The export of a quarter: one row per person, rolled up from the months with items.
    r = client.get(w.url("/exports/scores"), query_string={"period": "2026-Q2", "format": "csv"},
                   headers=w.h("admin"))
    assert r.status_code == 200
    rows = {row[0]: row for row in csv.reader(io.StringIO(r.data.decode("utf-8-sig")))}
    assert rows["FAR"][4:9] == ["2026-Q2", "55.0", "25.0", "80.0", "Chính thức"]
    assert rows["STAFF"][4:8] == ["2026-Q2", "70.0", "25.0", "95.0"]  # June alone


def test_a_tenant_by_quarters_and_bad_settings(clean_app, proc, client):
    w = proc
    more_months(clean_app, w)
    for body, field in (({"period": "week"}, "period"), ({"agency_periods": {"999999": "quarter"}}, "agency_periods"),
                        ({"agency_periods": {str(w.ids["agency2"]): "year"}}, "agency_periods"),
                        ({"agency_periods": {str(w.ids["dept"]): "quarter"}}, "agency_periods")):
        r = set_periods(client, w, **body)
        assert r.status_code == 422 and field in r.get_json()["errors"], (body, r.get_json())
    assert client.get(w.url("/evaluation-procedure"), headers=w.h("admin")).get_json()["period"] == "month"
    assert set_periods(client, w, period="quarter").status_code == 200
    assert open_agency(client, w, "agency2").status_code == 200
    assert classified(clean_app, w, "far") == (70.0, "HTT")
    # An agency may keep months under a quarterly tenant.
    assert set_periods(client, w, agency_periods={str(w.ids["agency2"]): "month"}).status_code == 200
    assert open_agency(client, w, "agency2").status_code == 200
    assert classified(clean_app, w, "far") == (68.0, "HT")


def test_the_trend_page_opens_by_quarter_for_a_quarterly_person(clean_app, proc, client):
    w = proc
    more_months(clean_app, w)
    assert set_periods(client, w, period="quarter").status_code == 200
    sign_in(client, w, "far")
    r = client.get(f"/t/{w.slug}/me/trend?period=2026-06")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'aria-current="page">Theo quý</a>' in html
    for label, total in (("Quý III/2025", "—"), ("Quý IV/2025", "—"), ("Quý I/2026", "60"), ("Quý II/2026", "80")):
        assert label in html, label
        row = html[html.index(f'<th scope="row">{label}</th>'):]
        assert row[:row.index("</tr>")].count(total) >= 1, (label, row[:200])


def test_the_unit_and_province_dashboards_follow_the_quarter(clean_app, proc, client):
    """Quarter views (docs/procedure.md): each person's quarter is the mean of their months
    with items. Q2 2026: staff (April 40, June 95) 67.50; staff2 80; manager 75; head 88;
    deputy 72; far (April 95, June 65) 80.
    - Phòng Một (staff, staff2, manager): median 75, mean (67.5 + 80 + 75) ÷ 3 = 74.17
      (June alone: 95, 80, 75 → median 80).
    - Sở Nội vụ (AG, with its department): 67.5, 72, 75, 80, 88 → median 75, mean 382.5 ÷ 5 = 76.50;
      Sở Tài chính: 80. The province: 67.5, 72, 75, 80, 80, 88 → median (75 + 80) ÷ 2 = 77.50;
      bands HT 1 (67.5), HTT 5.
    - The trend: Q1 2026 far alone (60, 60, 60) → 60.00, 1 person; Q2 462.5 ÷ 6 = 77.08, 6 people."""
    from core.dashboards import services as dashboards

    w = proc
    more_months(clean_app, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        scores(w, {"staff": 40}, "2026-04")
        unit_of_work.commit()
        province = dashboards.province_dashboard("2026-Q2", None)
        units = {u["code"]: (u["scored"], u["median"], u["mean"]) for u in province["units"] if u["scored"]}
        assert units == {"AG": (5, 75.0, 76.5), "AG2": (1, 80.0, 80.0)}
        assert (province["people"], province["median"]) == (6, 77.5)
        assert province["bands"] == {"HTXS": 0, "HTT": 5, "HT": 1, "KHT": 0}
        trend = dashboards.province_trend_quarters("2026-Q2", None)
        assert [p["period"] for p in trend] == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4",
                                                "2026-Q1", "2026-Q2"]
        assert [(p["mean"], p["people"]) for p in trend[-2:]] == [(60.0, 1), (77.08, 6)]
        assert trend[0] == {"period": "2024-Q3", "mean": None, "people": 0}
        assert dashboards.shift_period("2026-Q1", -1) == "2025-Q4" and dashboards.shift_period("2026-Q4", 1) == "2027-Q1"
    sign_in(client, w, "admin")
    # A monthly tenant opens on the month; a quarter is shown when asked for.
    html = client.get(f"/t/{w.slug}/dashboard/unit?unit_id={w.ids['dept']}&period=2026-Q2").get_data(as_text=True)
    assert "Quý II/2026" in html and "Phân bố tổng điểm quý" in html and "Cán bộ: hôm nay và từ đầu quý" in html
    assert "74,17" in html and "Theo tháng" in html
    assert "Quý I/2026" in html and "Quý III/2026" in html  # previous and next quarter
    html = client.get(f"/t/{w.slug}/dashboard/unit?unit_id={w.ids['dept']}&period=2026-06").get_data(as_text=True)
    assert "tháng 06/2026" in html and "Phân bố tổng điểm tháng" in html and "Theo quý" in html
    assert client.get(f"/t/{w.slug}/dashboard/unit/work?unit_id={w.ids['dept']}&period=2026-Q2").status_code == 200
    # A quarterly tenant opens both dashboards on this quarter (3 December 2026: Q4).
    assert set_periods(client, w, period="quarter").status_code == 200
    for path in ("unit", "province"):
        r = client.get(f"/t/{w.slug}/dashboard/{path}")
        assert r.status_code == 200 and "Quý IV/2026" in r.get_data(as_text=True), path
    html = client.get(f"/t/{w.slug}/dashboard/province?period=2026-Q2").get_data(as_text=True)
    assert "77,5" in html and "Tổng điểm quý trung bình của tám quý gần nhất" in html and "77,08" in html
    assert client.get(f"/t/{w.slug}/dashboard/province/heatmap?period=2026-Q2").status_code == 200
    # A quarter that does not exist is refused, never a 500.
    for bad in ("2026-Q5", "2026-Q", "1999-Q1"):
        r = client.get(f"/t/{w.slug}/dashboard/province?period={bad}")
        assert 400 <= r.status_code < 500, (bad, r.status_code)


def test_general_criteria_set_for_a_quarter_make_its_general_score(clean_app, proc, client):
    """far (Sở Tài chính, by quarters): Q2's months April 95 (task 70 + general 25) and June 65
    (40 + 25). Before the quarter's criteria: Q2 = 80.00 (the months' means). head2 sets
    politics 9, competence 8, innovation 7 = 24 for Q2: Q2 = task (70 + 40) ÷ 2 = 55.00 + 24 =
    79.00, and the year (Q1 60.00) = (60 + 79) ÷ 2 = 69.50 → HT, where it was 70.00 (HTT)."""
    w = proc
    more_months(clean_app, w)
    assert set_periods(client, w, agency_periods={str(w.ids["agency2"]): "quarter"}).status_code == 200
    quarter = w.url(f"/employees/{w.ids['far']}/general-scores/2026-Q2")
    criteria = {"politics_ethics": 9, "competence_attitude": 8, "innovation": 7}

    def q2() -> tuple:
        [s] = client.get(w.url("/scores"), query_string={"period": "2026-Q2", "employee_id": w.ids["far"]},
                         headers=w.h("admin")).get_json()
        return s["task_score"], s["general_score"], s["total"]

    # far's own proposal for the quarter is only a proposal: the quarter is unchanged.
    r = client.put(f"{quarter}/self", json={**criteria, "innovation": 10}, headers=w.h("far"))
    assert r.status_code == 200 and r.get_json()["proposal"]["innovation"] == 10.0
    assert q2() == (55.0, 25.0, 80.0)
    assert client.put(quarter, json=criteria, headers=w.h("manager")).status_code in (403, 404)  # not far's manager
    r = client.put(quarter, json=criteria, headers=w.h("head2"))
    assert r.status_code == 200 and (r.get_json()["period"], r.get_json()["total"]) == ("2026-Q2", 24.0)
    assert q2() == (55.0, 24.0, 79.0)
    # The quarter's evaluation form prints the quarter's criteria and its total.
    from tests.documents.test_documents_support import flat, pdf_text

    r = client.get(w.url(f"/employees/{w.ids['far']}/evaluation-form"), query_string={"period": "2026-Q2"},
                   headers=w.h("head2"))
    assert r.status_code == 200
    text = flat(pdf_text(r.data))
    assert "QUÝ II NĂM 2026" in text and "79,00" in text and "80,00" not in text
    year = client.get(w.url("/scores"), query_string={"period": "2026", "employee_id": w.ids["far"]},
                      headers=w.h("admin")).get_json()[0]
    assert year["total"] == 69.5 and year["components"]["quarters"] == {"2026-Q1": 60.0, "2026-Q2": 79.0}
    assert open_agency(client, w, "agency2").status_code == 200
    assert classified(clean_app, w, "far") == (69.5, "HT")
    with clean_app.app_context(), tenant_context(w.tenant_id):  # no month row changed
        from core.scoring.models import PeriodScore

        assert [float(t) for t in db.session.scalars(select(PeriodScore.total).where(
            PeriodScore.employee_id == w.ids["far"], PeriodScore.period.in_(["2026-04", "2026-06"]))
            .order_by(PeriodScore.period))] == [95.0, 65.0]
    # A person evaluated by months has no quarter criteria; a quarter that does not exist is refused.
    r = client.put(w.url(f"/employees/{w.ids['staff']}/general-scores/2026-Q2"), json=criteria,
                   headers=w.h("manager"))
    assert r.status_code == 422 and "period" in r.get_json()["errors"]
    assert client.put(w.url(f"/employees/{w.ids['far']}/general-scores/2026-Q5"), json=criteria,
                      headers=w.h("head2")).status_code == 422


def test_the_month_page_sets_the_quarters_general_criteria_for_a_quarterly_person(clean_app, proc, client):
    from tests.work.test_work_pages import csrf

    w = proc
    more_months(clean_app, w)
    assert set_periods(client, w, agency_periods={str(w.ids["agency2"]): "quarter"}).status_code == 200
    sign_in(client, w, "head2")
    page = f"/t/{w.slug}/dashboard/person/{w.ids['far']}"
    html = client.get(f"{page}?period=2026-06").get_data(as_text=True)
    assert "Đánh giá theo quý: tiêu chí chung được chấm một lần cho cả quý" in html
    assert 'name="period" value="2026-Q2"' in html and 'name="month" value="2026-06"' in html
    form = {"csrf_token": csrf(html), "period": "2026-Q2", "month": "2026-06", "politics_ethics": "9",
            "competence_attitude": "8", "innovation": "11", "comment": "Quý II"}
    r = client.post(f"{page}/general", data=form)
    assert r.status_code == 422 and "aria-invalid" in r.get_data(as_text=True)  # 11 is over 10: nothing saved
    r = client.post(f"{page}/general", data={**form, "innovation": "7"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"{page}?period=2026-06#general")
    [q2] = client.get(w.url("/scores"), query_string={"period": "2026-Q2", "employee_id": w.ids["far"]},
                      headers=w.h("admin")).get_json()
    assert (q2["general_score"], q2["total"]) == (24.0, 79.0)  # 55.00 + 24, as worked above
    # The other agency's person stays monthly: the month's own criteria on the same page.
    sign_in(client, w, "manager")
    html = client.get(f"/t/{w.slug}/dashboard/person/{w.ids['staff']}?period=2026-06").get_data(as_text=True)
    assert 'name="period" value="2026-06"' in html and "Đánh giá theo quý" not in html
