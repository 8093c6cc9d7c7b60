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
from tests.test_evaluation_procedure import open_agency, scores
from tests.test_work_pages import sign_in
from tests.test_work_support import World

pytest_plugins = ("tests.test_work_support", "tests.test_evaluation_procedure")


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
