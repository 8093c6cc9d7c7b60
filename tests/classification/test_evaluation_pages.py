"""The evaluation procedure's page (both databases), in Vietnamese: what waits for me first,
a refused step shows its error beside the field and keeps what was typed (422, nothing
written), another tenant's page is 404."""

from __future__ import annotations

from sqlalchemy import func, select

from core.classification.models import EmployeeClassification, EvaluationStep
from core.extensions import db
from core.tenancy import tenant_context
from tests.classification.test_evaluation_procedure import open_agency, step
from tests.work.test_work_pages import csrf, sign_in
from tests.work.test_work_support import build

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def page(client, w, who: str) -> str:
    sign_in(client, w, who)
    r = client.get(f"/t/{w.slug}/evaluation?year=2026")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def test_waiting_steps_first_and_errors_beside_the_field(clean_app, proc, client):
    w = proc
    open_agency(client, w)
    html = page(client, w, "staff")
    assert "Việc chờ tôi" in html and html.index("Việc chờ tôi") < html.index("Đánh giá của tôi")
    assert "tự đánh giá" in html and "Gợi ý theo điểm" in html
    r = client.post(f"/t/{w.slug}/evaluation/step?year=2026",
                    data={"csrf_token": csrf(html), "employee_id": w.ids["staff"], "step": "self", "level": "HTXS",
                          "comment": "   "})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    form = html[html.index(f'id="step-{w.ids["staff"]}-self"'):]
    assert '<span class="error" role="alert">Bắt buộc.</span>' in form[:form.index("</form>")]
    assert "<option selected value=\"HTXS\">HTXS</option>" in form[:form.index("</form>")]  # what was chosen is kept
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(EvaluationStep)) == 0
    r = client.post(f"/t/{w.slug}/evaluation/step?year=2026",
                    data={"csrf_token": csrf(html), "employee_id": w.ids["staff"], "step": "self", "level": "HTXS",
                          "comment": "Vượt khối lượng"})
    assert r.status_code == 302
    # The manager now sees the proposal to make, with the self-assessment beside it.
    html = page(client, w, "manager")
    assert "nhận xét, đề xuất của người quản lý" in html and "HTXS · Vượt khối lượng" in html
    assert "Gửi đề xuất" in html


def test_a_meeting_with_more_votes_than_people_keeps_the_numbers(clean_app, proc, client):
    w = proc
    open_agency(client, w)
    step(client, w, "staff", "staff", "self")
    step(client, w, "manager", "staff", "manager")
    html = page(client, w, "manager")
    r = client.post(f"/t/{w.slug}/evaluation/step?year=2026",
                    data={"csrf_token": csrf(html), "employee_id": w.ids["staff"], "step": "meeting", "level": "HTT",
                          "comment": "Họp đơn vị", "meeting_date": "08/12/2026", "attendees": "3", "votes_for": "3",
                          "votes_against": "2"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Số phiếu nhiều hơn số người dự họp." in html and 'value="08/12/2026"' in html and 'value="3"' in html


def test_the_decision_form_and_another_tenants_page(clean_app, proc, client):
    w = proc
    open_agency(client, w)
    html = page(client, w, "head")
    assert "Để xác nhận, gõ AG 2026" in html and "Các mức xếp loại sau sẽ được chốt:" in html
    other = build(clean_app, "tinh-khac")
    sign_in(client, other, "staff")
    assert client.get(f"/t/{w.slug}/evaluation?year=2026").status_code == 404


def test_my_classification_points_a_person_under_the_procedure_to_the_evaluation(clean_app, proc, client):
    """'Xếp loại của tôi' of a decided person whose agency runs the procedure: no draft's appeal
    date (the window is the decision's) and no stored 'Decision N' reason as a manager's change,
    but the way to the evaluation page, where the decision and the appeal are."""
    w = proc
    assert open_agency(client, w).status_code == 200
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head"), ("deputy", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            level = "HT" if (name, kind) == ("staff", "meeting") else "HTT"  # the decision differs from the scores'
            assert step(client, w, who, name, kind, level=level).status_code == 200, (name, kind)
    r = client.post(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision"),
                    json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h("head"))
    assert r.status_code == 201, r.get_json()
    with clean_app.app_context(), tenant_context(w.tenant_id):  # stored in Vietnamese, the record's number
        assert db.session.scalar(select(EmployeeClassification.override_reason).where(
            EmployeeClassification.employee_id == w.ids["staff"])) == f"Quyết định #{r.get_json()['id']}"
    sign_in(client, w, "staff")
    html = client.get(f"/t/{w.slug}/classification?year=2026").get_data(as_text=True)
    assert 'id="under-procedure"' in html
    assert f'href="/t/{w.slug}/evaluation?year=2026">Mở trang đánh giá cuối năm →</a>' in html
    assert "Decision" not in html and "Hạn khiếu nại" not in html
    # On the evaluation page the agency's deadline is for those who still act: a decided
    # person reads their decision and appeal window, not "Còn N ngày đến hạn".
    decided = page(client, w, "staff")
    assert 'id="deadline"' not in decided and 'id="appeal-until"' in decided
    assert "<li>Tự đánh giá: <strong>HTT</strong>" in decided  # a line opens with a capital
    assert 'id="deadline"' in page(client, w, "head")
