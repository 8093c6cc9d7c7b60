"""Heads and deputies under decree335 (issue 20 item 1): the leader formula's named
criteria and their settings, the evaluator's leadership score, and deputies scored on the
field they are assigned — end to end on SQLite and PostgreSQL, worked by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.scoring.models import PeriodScore
from core.tenancy import tenant_context
from tests.scoring.test_scoring_engine import finish, score_of
from tests.work.test_work_support import build, declare

PERIOD = "2026-10"


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


def put_in_charge(client, w, expect=201, **body):
    body = {"deputy_id": w.ids["staff2"], "start_date": "2026-10-01"} | body
    r = client.post(w.url("/deputy-fields"), json=body, headers=w.h("admin"))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def done_item(client, w, who):
    item = declare(client, w, who=who, task_type_code="VB01", quantity=1)["id"]
    finish(client, w, item, who=who)
    return item


def snapshot(app, w):
    with app.app_context(), tenant_context(w.tenant_id):
        return sorted((r.employee_id, str(r.task_score), str(r.total), r.provisional, r.components.get("leader_pct"))
                      for r in db.session.scalars(select(PeriodScore).where(PeriodScore.period == PERIOD)))


def test_a_deputy_is_scored_on_the_field_assigned(clean_app, client, w):
    # staff2 (not a head) is put in charge of unit "other" (outsider) and of the accountant.
    put_in_charge(client, w, unit_id=w.ids["other"])
    put_in_charge(client, w, member_id=w.ids["accountant"])
    done_item(client, w, "outsider")
    open_item = declare(client, w, who="outsider", task_type_code="VB01", quantity=1)["id"]
    done_item(client, w, "accountant")
    done_item(client, w, "staff2")
    # outsider: 1 of 2 equal items done → 50 % → 70 × 0.5 = 35.00 < 50: KHT.
    # accountant: 1 of 1 → 70.00. The field: unit results 50 (someone KHT); items on time
    # 2 of 3 → 66.67 %. staff2's own 100 %: (100 + 50 + 66.67) ÷ 3 = 72.22 % → 70 × 0.7222 = 50.56.
    s = score_of(client, w, who="staff2")
    c = s["components"]
    assert (c["own_pct"], c["unit_results_pct"], c["organising_pct"]) == (100.0, 50.0, 66.6667)
    assert (c["leadership_pct"], c["leader_pct"], s["task_score"]) == (66.6667, 72.2222, 50.56)
    # The evaluator (staff2's manager) scores leadership and organisation 90 %, which takes
    # the on-time stand-in's place: (100 + 50 + 90) ÷ 3 = 80 % → 56.00; + general 8 + 9 + 7 = 80.00.
    r = client.put(w.url(f"/employees/{w.ids['staff2']}/general-scores/{PERIOD}"), headers=w.h("manager"),
                   json={"politics_ethics": 8, "competence_attitude": 9, "innovation": 7, "leadership": 90})
    assert r.status_code == 200 and r.get_json()["leadership"] == 90.0
    s = score_of(client, w, who="staff2")
    assert (s["components"]["leadership_pct"], s["task_score"], s["total"]) == (90.0, 56.0, 80.0)
    # A change in the field re-scores the deputy: outsider finishes the other item → 70.00,
    # nobody KHT → unit 100; (100 + 100 + 90) ÷ 3 = 96.67 % → 70 × 0.96667 = 67.67; + 24 = 91.67.
    finish(client, w, open_item, who="outsider")
    s = score_of(client, w, who="staff2")
    assert (s["components"]["unit_results_pct"], s["task_score"], s["total"]) == (100.0, 67.67, 91.67)
    # The head of the department: staff has no work (0.00, KHT) → unit 50; its items on time:
    # staff2's 1 and the accountant's 1 of 2 → 100 %; own: none → 0. (0 + 50 + 100) ÷ 3 = 50 % → 35.00.
    head = score_of(client, w, who="manager")
    assert (head["components"]["unit_results_pct"], head["components"]["organising_pct"]) == (50.0, 100.0)
    assert head["task_score"] == 35.0
    incremental = snapshot(clean_app, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from core.scoring import engine

        engine.recalculate(PERIOD)
        unit_of_work.commit()
    assert [r for r in snapshot(clean_app, w) if r[0] in {i[0] for i in incremental}] == incremental


def test_ending_a_field_scores_the_deputy_as_staff_again(clean_app, client, w):
    field = put_in_charge(client, w, unit_id=w.ids["other"])
    declare(client, w, who="outsider", task_type_code="VB01", quantity=1)
    done_item(client, w, "staff2")
    # outsider 0 of 1 → 0.00, KHT → unit 50; on time 0 of 1 → 0: (100 + 50 + 0) ÷ 3 = 50 % → 35.00.
    assert score_of(client, w, who="staff2")["task_score"] == 35.0
    r = client.patch(w.url(f"/deputy-fields/{field['id']}"), json={"end_date": "2026-09-30"}, headers=w.h("admin"))
    assert r.status_code == 422 and "end_date" in r.get_json()["errors"]  # before its start
    # Deleted (entered by mistake): the month holds no field, so staff2 is scored as staff → 70.00.
    r = client.delete(w.url(f"/deputy-fields/{field['id']}"), headers=w.h("admin"))
    assert r.status_code == 204
    s = score_of(client, w, who="staff2")
    assert s["task_score"] == 70.0 and "leader_pct" not in s["components"]


def test_deputy_fields_refuse_bad_input_and_are_audited(clean_app, client, w):
    both = put_in_charge(client, w, expect=422, unit_id=w.ids["other"], member_id=w.ids["staff"])
    assert "unit_id" in both["errors"]
    assert "member_id" in put_in_charge(client, w, expect=422, member_id=w.ids["staff2"])["errors"]
    assert "end_date" in put_in_charge(client, w, expect=422, unit_id=w.ids["other"],
                                       end_date="2026-09-01")["errors"]
    assert "unit_id" in put_in_charge(client, w, expect=422, unit_id=999999)["errors"]
    r = client.post(w.url("/deputy-fields"), json={"deputy_id": w.ids["staff2"], "unit_id": w.ids["other"],
                                                   "start_date": "2026-10-01"}, headers=w.h("manager"))
    assert r.status_code == 403
    made = put_in_charge(client, w, unit_id=w.ids["other"])
    listed = client.get(w.url(f"/deputy-fields?deputy_id={w.ids['staff2']}"), headers=w.h("auditor")).get_json()
    assert [f["id"] for f in listed] == [made["id"]]
    with clean_app.app_context(), tenant_context(w.tenant_id):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deputy_field.create")).all()
        assert [(e.object_id, e.actor) for e in events] == [(str(made["id"]), w.principals["admin"].actor)]
    # Another tenant's field answers as a missing one does.
    other = build(clean_app, slug="tinh-x")
    assert client.delete(other.url(f"/deputy-fields/{made['id']}"), headers=other.h("admin")).status_code == 404


def test_a_deputys_month_to_date_is_judged_on_the_field(clean_app, client, w):
    from datetime import date

    from core.dashboards.to_date import month_to_date

    put_in_charge(client, w, unit_id=w.ids["other"])
    done_item(client, w, "outsider")
    declare(client, w, who="outsider", task_type_code="VB01", quantity=1, work_date="2026-10-13")  # due yesterday
    done_item(client, w, "staff2")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        seen = month_to_date(w.ids["staff2"], PERIOD, date(2026, 10, 14))
    # To 14 October: outsider 1 of 2 due → 35.00, KHT → unit 50; on time 1 of 2 → 50;
    # own 100: (100 + 50 + 50) ÷ 3 = 66.67 % → 70 × 0.6667 = 46.67.
    assert (seen["components"]["unit_results_pct"], seen["components"]["organising_pct"]) == (50.0, 50.0)
    assert seen["task_score"] == 46.67


def test_explain_shows_the_leader_settings_and_criteria(clean_app, client, w):
    from tests.admin.test_admin_pages import sign_in

    put_in_charge(client, w, unit_id=w.ids["other"])
    done_item(client, w, "outsider")
    done_item(client, w, "staff2")
    r = client.put(w.url(f"/employees/{w.ids['staff2']}/general-scores/{PERIOD}"), headers=w.h("manager"),
                   json={"politics_ethics": 8, "competence_attitude": 9, "innovation": 7, "leadership": 85})
    assert r.status_code == 200
    body = client.get(w.url(f"/employees/{w.ids['staff2']}/scores/{PERIOD}/explain"), headers=w.h("manager")).get_json()
    settings = body["formula"]["settings"]
    assert (settings["leader_own_weight"], settings["leader_unit_weight"], settings["leader_leadership_weight"],
            settings["leader_leadership_source"]) == (1.0, 1.0, 1.0, "evaluator_else_on_time")
    # Own 100, unit 100 (outsider 70.00), leadership 85: (100 + 100 + 85) ÷ 3 = 95 % → 66.50.
    c = body["formula"]["components"]
    assert (c["unit_results_pct"], c["leadership_pct"], c["leader_pct"], body["formula"]["task_score"]) == (
        100.0, 85.0, 95.0, 66.5)
    assert body["formula"]["general"]["leadership"] == 85.0
    sign_in(clean_app, client, w, "manager")
    page = client.get(f"/t/{w.slug}/dashboard/person/{w.ids['staff2']}?period={PERIOD}").get_data(as_text=True)
    # The variant's label of its number, and the setting by its label, not its key.
    # (the formula's row opens with a capital)
    assert "Năng lực lãnh đạo, tổ chức thực hiện %" in page and "leader_leadership_source" not in page
    assert "Lãnh đạo: nguồn điểm tiêu chí năng lực lãnh đạo, tổ chức thực hiện" in page
    # Its value in words, as the settings form names it, never the code.
    assert "Người đánh giá chấm; chưa chấm thì lấy tỷ lệ việc của đơn vị đúng hạn" in page
    assert "evaluator_else_on_time" not in page
    assert "Năng lực lãnh đạo, quản lý, tổ chức thực hiện (cấp trưởng, cấp phó)" in page  # the evaluator's field


def test_a_head_counts_a_deputy_among_their_people_by_the_deputys_own_work(clean_app, client, w):
    # staff2 (in the department) is a deputy over unit "other", where outsider's one item
    # is open: staff2's month row is their field's — own 100, unit 50, on time 0 →
    # 50 % → 35.00, under 50. Their own work alone is 1 of 1 → 70.00.
    put_in_charge(client, w, unit_id=w.ids["other"])
    declare(client, w, who="outsider", task_type_code="VB01", quantity=1)
    done_item(client, w, "staff2")
    assert score_of(client, w, who="staff2")["task_score"] == 35.0
    # The head refreshed by the others' work (staff2 untouched): staff, staff2 (own 70.00)
    # and accountant all ≥ 50 → unit 100, had the stored 35.00 been read, 50. Items on time
    # 3 of 3 → 100; own none → 0: (0 + 100 + 100) ÷ 3 = 66.67 % → 46.67.
    done_item(client, w, "accountant")
    done_item(client, w, "staff")
    head = score_of(client, w, who="manager")
    assert (head["components"]["unit_results_pct"], head["task_score"]) == (100.0, 46.67)
    incremental = snapshot(clean_app, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from core.scoring import engine

        engine.recalculate(PERIOD)
        unit_of_work.commit()
    assert [r for r in snapshot(clean_app, w) if r[0] in {i[0] for i in incremental}] == incremental
