"""Why a suggested level is what it is (both databases): the evaluation page shows the person
— and the manager who proposes a level — the months the agency counts with their scores, the
months still without general criteria (their totals are the task score alone, up to 30 points
short), and the rules with their versions; the API's person view carries the same basis."""

from __future__ import annotations

from decimal import Decimal

from core import unit_of_work
from core.extensions import db
from core.org.models import Employee
from core.scoring.models import PeriodScore
from core.tenancy import tenant_context
from core.work.models import ClosedPeriod
from tests.classification.test_evaluation_pages import page
from tests.classification.test_evaluation_procedure import open_agency, step

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def _september_without_general(clean_app, w) -> None:
    """staff2: June 80 (task 55 + general 25) and September 60, task score only."""
    with clean_app.app_context(), tenant_context(w.tenant_id):
        e = db.session.get(Employee, w.ids["staff2"])
        db.session.add(PeriodScore(
            employee_id=e.id, unit_id=e.unit_id, period="2026-09", item_count=4, working_days=21,
            task_score=Decimal(60), general_score=None, total=Decimal(60), components={}, sums={},
            variant_key="decree335", variant_version="1.3.0", settings_hash="x", provisional=True))
        unit_of_work.commit()


def test_the_person_sees_the_months_the_missing_criteria_and_the_rules(clean_app, proc, client):
    w = proc
    _september_without_general(clean_app, w)
    assert open_agency(client, w).status_code == 200
    html = page(client, w, "staff2")
    why = html[html.index('id="why-level"'):]
    why = why[:why.index("</div>")]
    # (80 + 60) ÷ 2 = 70.00: HTT, with September's general criteria still to come.
    assert "Gợi ý theo điểm: <strong>HTT</strong> (70)" in html
    assert "(tháng 01/2026 – tháng 11/2026)" in why
    assert f'<a href="/t/{w.slug}/me?period=2026-06">tháng 06/2026</a>' in why
    assert f'<a href="/t/{w.slug}/me?period=2026-09">tháng 09/2026</a>' in why
    assert '<td data-label="Tiêu chí chung"><span class="tag">chưa chấm</span></td>' in why
    assert '<td data-label="Tổng điểm"><strong>60</strong> <span class="muted">(tạm tính)</span></td>' in why
    assert "Tháng 09/2026 chưa có điểm tiêu chí chung (tối đa 30 điểm mỗi tháng)" in why
    assert "(HTXS từ 90, HTT từ 70, HT từ 50)" in why and "phiên bản 1.1.0" in why
    assert "điểm tính theo" in why and "phiên bản 1.3.0" in why
    # The manager proposing staff2's level reads the same warning beside the form.
    assert step(client, w, "staff2", "staff2", "self").status_code == 200
    html = page(client, w, "manager")
    item = html[html.index(f'id="step-{w.ids["staff2"]}-manager"'):]
    item = item[:item.index("<form")]
    assert "Điểm cả năm theo các tháng được tính: 70 · Gợi ý theo điểm: <strong>HTT</strong></span>" in item
    assert "Tháng 09/2026 chưa có điểm tiêu chí chung" in item


def test_the_api_person_view_carries_the_basis(clean_app, proc, client):
    w = proc
    _september_without_general(clean_app, w)
    assert open_agency(client, w).status_code == 200
    r = client.get(w.url(f"/evaluations/2026/employees/{w.ids['staff2']}"), headers=w.h("staff2"))
    assert r.status_code == 200, r.get_json()
    basis = r.get_json()["basis"]
    assert basis["counted"] == [f"2026-{m:02d}" for m in range(1, 12)]
    assert basis["months"] == [
        {"period": "2026-06", "task_score": 55.0, "general_score": 25.0, "total": 80.0, "provisional": False},
        {"period": "2026-09", "task_score": 60.0, "general_score": None, "total": 60.0, "provisional": True}]
    assert basis["level"] == "HTT" and basis["demoted_by_quota"] is False
    assert basis["mean"] == 70.0 and basis["no_general"] == basis["no_general_open"] == ["2026-09"]
    assert basis["no_general_closed"] == []
    assert basis["variant"] == {"key": "decree335", "version": "1.3.0"}
    assert basis["scheme"] == {"key": "decree335", "version": "1.1.0", "quota_percent": 20.0, "bands": [
        {"level": "HTXS", "from": 90.0}, {"level": "HTT", "from": 70.0}, {"level": "HT", "from": 50.0}]}


def test_a_closed_month_without_criteria_says_it_must_be_reopened(clean_app, proc, client):
    """A closed month refuses general criteria (409): the person is not told the manager will
    set them, but that the month has to be reopened first."""
    w = proc
    _september_without_general(clean_app, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.add(ClosedPeriod(period="2026-09"))
        unit_of_work.commit()
    assert open_agency(client, w).status_code == 200
    html = page(client, w, "staff2")
    why = html[html.index('id="why-level"'):]
    why = why[:why.index("</div>")]
    assert ("Tháng 09/2026 đã khóa sổ mà chưa có điểm tiêu chí chung (tối đa 30 điểm mỗi tháng): tổng điểm chỉ là "
            "điểm nhiệm vụ. Chỉ chấm được tiêu chí chung khi Sở Nội vụ mở lại tháng") in why
    assert "chưa có điểm tiêu chí chung (tối đa" not in why.replace("khóa sổ mà chưa có điểm tiêu chí chung (tối đa", "")


def test_the_decider_sees_who_lacks_general_criteria_before_freezing(clean_app, proc, client):
    w = proc
    _september_without_general(clean_app, w)
    assert open_agency(client, w).status_code == 200
    html = page(client, w, "head")
    item = html[html.index(f'id="decide-{w.ids["agency"]}-staff"'):]
    item = item[:item.index("<form")]
    assert (f'<span class="tag" id="no-general-{w.ids["staff2"]}">chưa chấm tiêu chí chung: tháng 09/2026</span>'
            in item)
    assert f'id="no-general-{w.ids["staff"]}"' not in item  # June has its criteria; December is not counted


def test_a_level_the_quota_lowered_says_so(clean_app, proc, client):
    """staff's 95 is above HTXS's 90, yet HTT: within AG's professional group the quota allows
    no HTXS (x ≤ 0.2 × (5 − x) has no x ≥ 1), and the page says why, with the tenant's ratio."""
    w = proc
    assert open_agency(client, w).status_code == 200
    html = page(client, w, "staff")
    assert "Gợi ý theo điểm: <strong>HTT</strong> (95)" in html
    assert ('<p class="notice" id="quota">Chuyển từ HTXS xuống HTT theo tỷ lệ khống chế của cơ quan và nhóm vị trí '
            'việc làm. Số HTXS không quá 20% số HTT; người có tổng điểm thấp hơn được chuyển trước.</p>') in html
    assert 'id="quota"' not in page(client, w, "staff2")
    # The manager proposing staff's level reads the same reason beside the form.
    assert step(client, w, "staff", "staff", "self").status_code == 200
    html = page(client, w, "manager")
    item = html[html.index(f'id="step-{w.ids["staff"]}-manager"'):]
    assert ("Điểm cả năm theo các tháng được tính: 95 · Gợi ý theo điểm: <strong>HTT</strong> "
            "(chuyển từ HTXS xuống HTT theo tỷ lệ khống chế)</span>") in item[:item.index("<form")]


def test_the_decider_sees_a_quota_the_meetings_broke(clean_app, proc, client):
    """The scheme moved staff's 95 down to HTT (no HTXS fits AG's professional group), but the
    meeting proposes HTXS again: the head's preview says the decision would breach the quota,
    with the figures — 1 HTXS for staff2, manager, head and deputy's 4 HTT, at most 0."""
    w = proc
    assert open_agency(client, w).status_code == 200
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            level = "HTXS" if name == "staff" else "HTT"
            assert step(client, w, who, name, kind, level=level).status_code == 200, (name, kind)
    r = client.get(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision-preview"),
                   query_string={"scope": "staff"}, headers=w.h("head"))
    assert r.get_json()["quota_breaches"] == [
        {"group": "professional", "regime": "cong_chuc", "htxs": 1, "htt": 4, "allowed": 0, "percent": 20.0}]
    html = page(client, w, "head")
    assert (f'id="quota-breach-{w.ids["agency"]}-professional">Vượt tỷ lệ khống chế: trong nhóm Chuyên môn, nghiệp vụ, '
            "quyết định này để 1 HTXS trên 4 HTT; HTXS không quá 20% số HTT, tức tối đa 0 HTXS.</p>") in html
    # A warning, not a refusal: the head answers for the decision. Once it froze staff's HTXS,
    # the leaders' decision (head and deputy, HTT as the scheme suggests) counts it too.
    r = client.post(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision"),
                    json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h("head"))
    assert r.status_code == 201, r.get_json()
    r = client.get(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision-preview"),
                   query_string={"scope": "leaders"}, headers=w.h("admin"))
    assert r.status_code == 200 and r.get_json()["quota_breaches"] == [
        {"group": "professional", "regime": "cong_chuc", "htxs": 1, "htt": 4, "allowed": 0, "percent": 20.0}]


def test_the_head_lowers_a_proposed_level_on_the_page_with_a_reason(clean_app, proc, client):
    """The meeting proposes HTXS against the quota; the head decides HTT for staff on the
    page: without a reason 422 with the error beside that person's field and nothing decided,
    with one the decision freezes HTT and the step keeps the reason."""
    from sqlalchemy import select

    from core.classification.models import EvaluationDecision, EvaluationStep
    from tests.work.test_work_pages import csrf

    w = proc
    assert open_agency(client, w).status_code == 200
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            assert step(client, w, who, name, kind, level="HTXS" if name == "staff" else "HTT").status_code == 200
    html = page(client, w, "head")
    form = f"decide-{w.ids['agency']}-staff"
    assert f'<details id="{form}-changes" open>' in html  # the quota is broken: the changes are shown
    data = {"csrf_token": csrf(html), "agency_id": w.ids["agency"], "scope": "staff", "confirmation": "AG 2026",
            f"level-{w.ids['staff']}": "HTT", f"reason-{w.ids['staff']}": " "}
    r = client.post(f"/t/{w.slug}/evaluation/decide?year=2026", data=data)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    field = body[body.index(f'id="{form}-reason-{w.ids["staff"]}"'):]
    assert '<span class="error" role="alert">Bắt buộc.</span>' in field[:field.index("</fieldset>")]
    assert '<option value="HTT" selected>HTT</option>' in body[body.index(f'id="{form}-level-{w.ids["staff"]}"'):][:300]
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(EvaluationDecision.id)) is None
    data[f"reason-{w.ids['staff']}"] = "Giữ tỷ lệ HTXS của nhóm chuyên môn"
    r = client.post(f"/t/{w.slug}/evaluation/decide?year=2026", data=data)
    assert r.status_code == 302
    with clean_app.app_context(), tenant_context(w.tenant_id):
        decided = db.session.scalar(select(EvaluationStep).where(EvaluationStep.step == "decision",
                                                                 EvaluationStep.employee_id == w.ids["staff"]))
        assert (decided.level, decided.comment) == ("HTT", "Giữ tỷ lệ HTXS của nhóm chuyên môn")
