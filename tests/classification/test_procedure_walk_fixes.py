"""Faults of the annual evaluation found walking it as employee, manager, admin and
inspector (both databases): a recalculation reminds only those who owe the self-assessment
and audits who changed level; the form's months evaluated are the months counted; one
appeal per decision; the manager's list of people yet to self-assess; "do bạn thực hiện"."""

from __future__ import annotations

from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.classification.models import ClassificationAppeal
from core.extensions import db
from core.notifications.models import Notification
from core.tenancy import tenant_context
from tests.classification.test_evaluation_pages import page
from tests.classification.test_evaluation_procedure import PEOPLE, open_agency, scores, step
from tests.work.test_work_pages import sign_in

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def _notified(w, kind: str) -> dict[str, list[str]]:
    names = {w.ids[n]: n for n in PEOPLE}
    out: dict[str, list[str]] = {}
    for employee_id, message in db.session.execute(select(Notification.employee_id, Notification.message)
                                                    .where(Notification.kind == kind).order_by(Notification.id)):
        out.setdefault(names[employee_id], []).append(message)
    return out


def test_a_recalculation_reminds_only_who_owes_the_self_assessment_and_audits_each_change(clean_app, proc, client):
    w = proc
    assert open_agency(client, w).status_code == 200
    reminder = "Kỳ đánh giá năm 2026 đã mở: hãy tự đánh giá, tự xếp loại trước ngày 15/12/2026."
    with clean_app.app_context(), tenant_context(w.tenant_id):
        # The five the scheme classifies, not the four it leaves unclassified (no steps wait for them).
        assert _notified(w, "evaluation.open") == {n: [reminder] for n in ("manager", "staff", "staff2", "head",
                                                                           "deputy")}
    assert step(client, w, "staff", "staff", "self").status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        # A late July: staff2 falls to (80 + 50) / 2 = 65, HT; the accountant is classified (60, HT).
        scores(w, {"staff2": 50, "accountant": 60}, "2026-07")
        unit_of_work.commit()
    assert open_agency(client, w).status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        # No second reminder for those already reminded (staff has even self-assessed): only
        # the accountant, who owes the step only now.
        assert _notified(w, "evaluation.open") == {
            **{n: [reminder] for n in ("manager", "staff", "staff2", "head", "deputy")}, "accountant": [reminder]}
        assert _notified(w, "evaluation.recalculated") == {"staff2": [
            "Đánh giá năm 2026 của bạn đã được tính lại: mức gợi ý theo điểm nay là HT (trước là HTT)."]}
        opened = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.open")
                                         .order_by(AuditEvent.id)))
        assert "changed_levels" not in opened[0].after
        assert opened[1].after["recalculated"] is True
        assert opened[1].after["changed_levels"] == [
            {"employee_id": w.ids["staff2"], "full_name": "Người staff2", "before": "HTT", "after": "HT"},
            {"employee_id": w.ids["accountant"], "full_name": "Người accountant", "before": None, "after": "HT"}]


def test_the_audit_page_shows_a_recalculations_changes_and_its_times_in_the_tenants_time(clean_app, proc, client):
    """The inspector read "opened_at 2026-12-03 02:00:00+00:00" (UTC) beside a time column in
    Hồ Chí Minh time: the details now read 03/12/2026 09:00, the stored JSON unchanged."""
    w = proc  # 3 December 2026, 09:00 in Hồ Chí Minh = 02:00 UTC
    assert open_agency(client, w).status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        scores(w, {"staff2": 50}, "2026-07")
        unit_of_work.commit()
    assert open_agency(client, w).status_code == 200
    sign_in(client, w, "auditor")
    html = client.get(f"/t/{w.slug}/admin/audit", query_string={"action": "evaluation.open"}).get_data(as_text=True)
    newest = html[html.index('<td class="details">'):]
    newest = newest[:newest.index("</tr>")]
    assert '<dt><code>opened_at</code></dt><dd><ins><span class="muted">03/12/2026 09:00</span></ins></dd>' in newest
    assert ('<dt><span title="changed_levels">Các mức thay đổi (người: trước → sau)</span></dt><dd><ins>'
            f'<span class="muted">Người staff2 · #{w.ids["staff2"]}: HTT → HT</span></ins></dd>') in newest
    assert "2026-12-03 02:00:00+00:00" in newest  # the stored JSON, as hashed
    assert "02:00</span>" not in newest


def decide_staff(client, w) -> int:
    """AG's staff through every step, then the head's decision: its id."""
    assert open_agency(client, w).status_code == 200
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head"), ("deputy", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            assert step(client, w, who, name, kind).status_code == 200, (name, kind)
    r = client.post(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision"),
                    json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h("head"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_one_appeal_per_decision_the_page_shows_its_resolution_instead_of_the_form(clean_app, proc, client, clock):
    w = proc
    decide_staff(client, w)
    appeal = w.url(f"/evaluations/2026/employees/{w.ids['staff2']}/appeal")
    r = client.post(appeal, json={"reason": "Thiếu sáng kiến đã công nhận"}, headers=w.h("staff2"))
    assert r.status_code == 201
    clock.set(2026, 12, 5, 10, 30)
    r = client.post(w.url(f"/appeals/{r.get_json()['id']}/resolve"),
                    json={"decision": "rejected", "reason": "Sáng kiến chưa được Hội đồng công nhận"}, headers=w.h("head"))
    assert r.status_code == 200
    clock.set(2026, 12, 6, 9, 0)  # still within the 15 days
    html = page(client, w, "staff2")
    assert 'id="appeal"' not in html and f'action="/t/{w.slug}/evaluation/appeal' not in html
    assert "<strong>không được chấp nhận</strong>: Sáng kiến chưa được Hội đồng công nhận" in html  # the resolution
    assert ('<p class="notice" id="appeal-settled">Khiếu nại của bạn đối với quyết định này đã được Người head giải '
            'quyết lúc 05/12/2026 10:30 (xem trên).') in html
    # The API refuses a second appeal to the same decider, with the reason and where to go.
    r = client.post(appeal, json={"reason": "Khiếu nại lại"}, headers=w.h("staff2"))
    assert r.status_code == 409 and r.get_json()["code"] == "appeal_settled"
    assert r.get_json()["message"].startswith(
        "Khiếu nại của bạn đối với quyết định này đã được giải quyết ngày 05/12/2026; người đã quyết định không")
    # Someone who has not appealed still may.
    assert 'id="appeal"' in page(client, w, "staff")
    # The home page no longer offers the appeal either (the decided level stays until the window ends).
    sign_in(client, w, "staff2")
    home = client.get(f"/t/{w.slug}/").get_data(as_text=True)
    assert 'data-testid="evaluation-decided"' in home and "Bạn có thể khiếu nại đến hết ngày" not in home
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(ClassificationAppeal)) == 1


def test_the_annual_form_counts_the_months_the_level_rests_on(clean_app, proc, client):
    """Opened in December, January–November count: the form said "Số tháng công tác được đánh
    giá 12" (the months employed) for a person who started in June with items in June, July
    and August. It now says 3 — basis's months, which the annual total averages (December's
    provisional month does not count)."""
    from datetime import date

    from core.classification.basis import basis
    from core.org.models import Employee
    from tests.documents.test_documents_support import flat, pdf_text

    w = proc
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.get(Employee, w.ids["staff"]).start_date = date(2026, 6, 1)
        scores(w, {"staff": 90}, "2026-07")
        scores(w, {"staff": 85}, "2026-08")
        unit_of_work.commit()
    assert open_agency(client, w).status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        b = basis(2026, {w.ids["staff"]: w.ids["agency"]})[w.ids["staff"]]
        assert [m["period"] for m in b["months"]] == ["2026-06", "2026-07", "2026-08"]
    for fmt in ("pdf", "docx"):
        r = client.get(w.url(f"/employees/{w.ids['staff']}/classification-form"),
                       query_string={"year": 2026, "format": fmt}, headers=w.h("staff"))
        assert r.status_code == 200
        text = flat(pdf_text(r.data)) if fmt == "pdf" else docx_text(r.data)
        assert "Số tháng công tác được đánh giá 3" in text.replace(":", ""), fmt


def docx_text(data: bytes) -> str:
    from io import BytesIO

    from docx import Document

    doc = Document(BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return " ".join(" ".join(parts).split())


def _not_assessed(html: str) -> str:
    if 'id="not-assessed"' not in html:
        return ""
    part = html[html.index('id="not-assessed"'):]
    return part[:part.index("</section>")]


def test_a_manager_sees_who_has_not_self_assessed_yet_in_one_query(clean_app, proc, client):
    """The manager had no list of their people still owing the first step. Now the page
    names them (linked to each person's page) with the count; the accountant, whom the scheme
    does not classify, owes nothing; the list costs one statement whatever the team's size."""
    from core.classification import procedure
    from core.org.models import Employee
    from tests.work.test_work_support import count_queries

    w = proc
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.get(Employee, w.ids["staff"]).full_name = "Lê Thị Hương"
        db.session.get(Employee, w.ids["staff2"]).full_name = "Trần Văn Hải"
        unit_of_work.commit()
    assert 'id="not-assessed"' not in page(client, w, "manager")  # nothing open yet
    assert open_agency(client, w).status_code == 200
    section = _not_assessed(page(client, w, "manager"))
    assert "Nhân sự tôi quản lý chưa tự đánh giá <span class=\"count\">(2)</span>" in section
    # By given name in the Vietnamese alphabet: Hải (a) before Hương (ư).
    assert (f'<li><a href="/t/{w.slug}/dashboard/person/{w.ids["staff2"]}">Trần Văn Hải</a> <span class="muted">'
            f'(STAFF2)</span></li><li><a href="/t/{w.slug}/dashboard/person/{w.ids["staff"]}">Lê Thị Hương</a> '
            '<span class="muted">(STAFF)</span></li>') in section
    assert "accountant" not in section
    assert step(client, w, "staff", "staff", "self").status_code == 200
    section = _not_assessed(page(client, w, "manager"))
    assert '<span class="count">(1)</span>' in section and "Lê Thị Hương</a>" not in section
    assert "Trần Văn Hải</a>" in section
    # The head's own reports: the manager and the deputy.
    section = _not_assessed(page(client, w, "head"))
    assert '<span class="count">(2)</span>' in section and "Người manager</a>" in section
    assert "Người deputy</a>" in section
    assert _not_assessed(page(client, w, "staff")) == ""  # nobody reports to staff
    assert step(client, w, "staff2", "staff2", "self").status_code == 200
    assert "Mọi người đều đã tự đánh giá." in _not_assessed(page(client, w, "manager"))
    with clean_app.app_context(), tenant_context(w.tenant_id):
        org = procedure.Org(2026)
        with count_queries(clean_app) as statements:
            found = procedure.not_self_assessed(w.principals["head"], 2026, org, ["self", "manager", "decision"])
        assert [p["full_name"] for p in found] == ["Người deputy", "Người manager"]
        assert len([s for s in statements if "set_config(" not in s]) == 1, statements
