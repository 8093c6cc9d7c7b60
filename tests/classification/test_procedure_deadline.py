"""The tenant's deadline (docs/procedure.md "Timing"), on both databases: before it the page
counts the days left; after it opening, steps and the decision are refused (409, in
Vietnamese, nothing written) until the agency's head or the tenant admin lets the agency go
on with a reason, audited with who gave it.

By hand: deadline 15/12/2026 (the default). On 3 December 13 days are left (3 to 15, the
deadline counting); on 15 December one; on 16 December none."""

from __future__ import annotations

from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.classification.models import AgencyEvaluation, EvaluationStep
from core.extensions import db
from core.tenancy import tenant_context
from tests.classification.test_evaluation_pages import page
from tests.classification.test_evaluation_procedure import open_agency, step, url
from tests.work.test_work_pages import csrf
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")
LATE = ("Hạn đánh giá, xếp loại năm 2026 là ngày 15/12/2026 và đã qua: muốn tiếp tục phải được người đứng đầu cơ "
        "quan hoặc Sở Nội vụ cho phép, có nêu lý do.")


def late(client, w: World, who: str, reason: str | None = "Đồng chí Hòa nghỉ ốm đến 18/12"):
    return client.post(url(w, f"/agencies/{w.ids['agency']}/late"), json={"reason": reason} if reason else {},
                       headers=w.h(who))


def counts(app, w: World) -> tuple[int, int]:
    with app.app_context(), tenant_context(w.tenant_id):
        return (db.session.scalar(select(func.count()).select_from(EvaluationStep)),
                db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "evaluation.late_override")))


def test_after_the_deadline_only_a_reasoned_override_lets_the_agency_go_on(clean_app, proc, client, clock):
    w = proc
    r = open_agency(client, w)  # 3 December
    assert r.status_code == 200 and r.get_json()["days_left"] == 13 and r.get_json()["late_reason"] is None
    assert step(client, w, "staff", "staff", "self").status_code == 200
    assert late(client, w, "head").status_code == 409  # before the deadline there is nothing to allow
    clock.set(2026, 12, 15, 16, 0)
    assert client.get(url(w, f"/agencies/{w.ids['agency']}"), headers=w.h("admin")).get_json()["days_left"] == 1
    assert step(client, w, "manager", "staff", "manager").status_code == 200  # the deadline day itself counts

    clock.set(2026, 12, 16, 8, 0)
    r = step(client, w, "manager", "staff", "meeting")
    assert r.status_code == 409 and r.get_json()["code"] == "deadline_passed" and r.get_json()["message"] == LATE
    r = client.post(url(w, f"/agencies/{w.ids['agency']}/decision"), json={"scope": "staff", "confirmation": "AG 2026"},
                    headers=w.h("head"))
    assert r.status_code == 409 and r.get_json()["code"] == "deadline_passed"
    assert open_agency(client, w).status_code == 409  # recalculating too
    # The override: a reason, and the competence of the agency's head or the tenant admin.
    assert late(client, w, "manager").status_code == 403
    assert late(client, w, "staff").status_code == 403
    r = late(client, w, "head", reason=None)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"reason"}
    assert counts(clean_app, w) == (2, 0)  # nothing written by the refusals
    r = late(client, w, "head")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["late_reason"] == "Đồng chí Hòa nghỉ ốm đến 18/12" and body["late_by"].endswith(":head")
    assert body["late_at"].startswith("2026-12-16T01:00") and body["days_left"] == 0
    assert late(client, w, "admin").status_code == 409  # given once
    with clean_app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.late_override")).one()
        assert event.actor.endswith(":head") and event.object_id == f"2026:{w.ids['agency']}"
        assert event.before["late_reason"] is None and event.after["deadline"] == "2026-12-15"
    assert step(client, w, "manager", "staff", "meeting").status_code == 200
    assert counts(clean_app, w) == (3, 1)


def test_opening_after_the_deadline_needs_the_reason_with_it(clean_app, proc, client, clock):
    w = proc
    clock.set(2027, 1, 5, 9, 0)  # the year is over: all twelve months count, the deadline has passed
    r = open_agency(client, w)
    assert r.status_code == 409 and r.get_json()["message"] == LATE
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(AgencyEvaluation)) == 0
    r = client.post(url(w, f"/agencies/{w.ids['agency']}/open"), json={"late_reason": "Sáp nhập đơn vị tháng 12"},
                    headers=w.h("staff"))
    assert r.status_code == 403  # the reason does not widen who may open
    r = client.post(url(w, f"/agencies/{w.ids['agency']}/open"), json={"late_reason": "Sáp nhập đơn vị tháng 12"},
                    headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["late_reason"] == "Sáp nhập đơn vị tháng 12" and len(r.get_json()["months"]) == 12
    assert step(client, w, "staff", "staff", "self").status_code == 200


def test_a_later_tenant_deadline_moves_the_refusal(clean_app, proc, client, clock):
    w = proc
    r = client.put(w.url("/evaluation-procedure"), json={"deadline": "12-20"}, headers=w.h("admin"))
    assert r.status_code == 200
    open_agency(client, w)
    clock.set(2026, 12, 16, 9, 0)
    assert step(client, w, "staff", "staff", "self").status_code == 200
    clock.set(2026, 12, 21, 9, 0)
    r = step(client, w, "manager", "staff", "manager")
    assert r.status_code == 409 and "20/12/2026" in r.get_json()["message"]


def test_the_page_counts_the_days_left_then_offers_the_override(clean_app, proc, client, clock):
    w = proc
    open_agency(client, w)
    html = page(client, w, "head")
    assert "Còn 13 ngày đến hạn đánh giá, xếp loại (15/12/2026)." in html
    assert "Lý do tiếp tục sau hạn" not in html
    clock.set(2026, 12, 16, 9, 0)
    html = page(client, w, "head")
    assert "Đã quá hạn đánh giá, xếp loại (15/12/2026)" in html and "Cho phép tiếp tục" in html
    r = client.post(f"/t/{w.slug}/evaluation/late?year=2026",
                    data={"csrf_token": csrf(html), "agency_id": w.ids["agency"], "reason": "  "})
    assert r.status_code == 422 and "Bắt buộc." in r.get_data(as_text=True)
    r = client.post(f"/t/{w.slug}/evaluation/late?year=2026",
                    data={"csrf_token": csrf(html), "agency_id": w.ids["agency"], "reason": "Nghỉ ốm"})
    assert r.status_code == 302
    with clean_app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.late_override")).one()
        assert event.actor.endswith(":head") and event.after["late_reason"] == "Nghỉ ốm"
    html = page(client, w, "head")
    assert "tiếp tục sau hạn: Nghỉ ốm" in html and "Cho phép tiếp tục" not in html
    # The staff member sees the deadline passed, and (allowed) may still take their step.
    assert "Đã quá hạn" in page(client, w, "staff")
    assert step(client, w, "staff", "staff", "self").status_code == 200


def test_the_tenant_admin_sets_the_deadline_and_period_on_the_page(clean_app, proc, client):
    w = proc
    html = page(client, w, "admin")
    assert 'id="settings-deadline"' in html and 'value="15"' in html
    form = {"csrf_token": csrf(html), "deadline_day": "32", "appeal_days": "10", "period": "quarter"}
    r = client.post(f"/t/{w.slug}/evaluation/settings?year=2026", data=form)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Hạn chót là một ngày của tháng 12" in html and 'value="32"' in html  # beside the field, kept
    assert client.get(w.url("/evaluation-procedure"), headers=w.h("admin")).get_json()["deadline"] == "12-15"
    r = client.post(f"/t/{w.slug}/evaluation/settings?year=2026", data={**form, "deadline_day": "20"})
    assert r.status_code == 302
    saved = client.get(w.url("/evaluation-procedure"), headers=w.h("admin")).get_json()
    assert (saved["deadline"], saved["appeal_days"], saved["period"]) == ("12-20", 10, "quarter")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.procedure")).one()
        assert event.actor.endswith(":admin") and event.after["deadline"] == "12-20"
    html = page(client, w, "head")
    assert 'id="settings"' not in html
    r = client.post(f"/t/{w.slug}/evaluation/settings?year=2026", data={**form, "csrf_token": csrf(html)})
    assert r.status_code == 403
