"""The evaluation procedure's documents (docs/procedure.md, docs/documents.md), on both
databases: the agency's decision and each person's annual form printed from what the
procedure decided, the notice linking the form, and the signed decision — verified against
the person who took the decision step — marking that step signed.

Worked by hand on the procedure's world (tests/classification/test_evaluation_procedure.py): agency AG
"Sở Nội vụ", opened 3 December 2026 09:00; the meeting proposes staff HTXS, staff2 and
manager HTT; the head "Người head" decides the staff on 3 December: 3 people, HTXS 1, HTT 2.
The appeal window is 15 days: to 18/12/2026."""

from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.auth.services import issue_token, principal_for_user
from core.classification.models import EvaluationDecision
from core.documents.models import IssuedDecision
from core.extensions import db
from core.notifications.models import Notification
from core.tenancy import tenant_context
from tests.classification.test_evaluation_pages import page
from tests.classification.test_evaluation_procedure import open_agency, step, url
from tests.documents.test_documents_support import flat, pdf_text, sign
from tests.work.test_work_pages import csrf
from tests.work.test_work_support import World, _password_hash

pytest_plugins = ("tests.work.test_work_support",
                  "tests.documents.test_documents_support",
                  "tests.classification.test_evaluation_procedure")
HEAD = "Người head"


def decide_staff(client, w: World) -> dict:
    assert open_agency(client, w).status_code == 200
    assert step(client, w, "staff", "staff", "self", level="HTXS", comment="Vượt 30% khối lượng").status_code == 200
    assert step(client, w, "manager", "staff", "manager", level="HTXS", comment="Đề nghị HTXS").status_code == 200
    assert step(client, w, "manager", "staff", "meeting", level="HTXS", votes_for=5, votes_against=0).status_code == 200
    for name, manager in (("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", manager), ("meeting", manager)):
            assert step(client, w, who, name, kind).status_code == 200, (name, kind)
    r = client.post(url(w, f"/agencies/{w.ids['agency']}/decision"), json={"scope": "staff", "confirmation": "AG 2026"},
                    headers=w.h("head"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def decision_pdf(client, w: World, who: str = "head", **query):
    return client.get(w.url(f"/units/{w.ids['agency']}/decision"), query_string={"year": 2026, **query},
                      headers=w.h(who))


def upload(client, w: World, content: bytes, who: str = "head"):
    return client.post(w.url(f"/units/{w.ids['agency']}/decision/signed"), query_string={"year": 2026},
                       data={"file": (BytesIO(content), "quyet-dinh.pdf")}, headers=w.h(who),
                       content_type="multipart/form-data")


def agency_decisions(client, w: World) -> list[dict]:
    r = client.get(url(w, f"/agencies/{w.ids['agency']}"), headers=w.h("admin"))
    return r.get_json()["decisions"]


def test_the_decision_document_is_printed_from_the_decision_taken(clean_app, proc, client):
    w = proc
    assert open_agency(client, w).status_code == 200
    r = decision_pdf(client, w)  # open, not decided: there is nothing to print yet
    assert r.status_code == 409 and r.get_json()["code"] == "not_decided"
    decided = decide_staff(client, w)
    r = decision_pdf(client, w, number="7")
    assert r.status_code == 200, r.get_json()
    text = flat(pdf_text(r.data))
    assert "Số: 7/QĐ-SNV" in text and "Khánh" not in text
    assert "ngày 03 tháng 12 năm 2026" in text  # the day of the decision, not of the print
    assert "xếp loại chất lượng công chức, viên chức năm 2026" in text
    assert ("đối với 3 người của Sở Nội vụ (danh sách kèm theo), trong đó: Hoàn thành xuất sắc nhiệm vụ: 1; "
            "Hoàn thành tốt nhiệm vụ: 2; Hoàn thành nhiệm vụ: 0; Không hoàn thành nhiệm vụ: 0.") in text
    assert HEAD in text
    # The list: the decided people only (not those the scheme left unclassified), all three in
    # Phòng Một, by given name: manager, staff, staff2.
    attached = pdf_text(r.data).split("DANH SÁCH")[1]
    assert re.findall(r"^Người \w+$", attached, re.M) == ["Người manager", "Người staff", "Người staff2"]
    assert "Người staff Chuyên viên Phòng Một 95,00 Hoàn thành xuất sắc nhiệm vụ" in flat(attached)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        issued = db.session.scalars(select(IssuedDecision)).one()
        assert (issued.decision_id, issued.decider_id, issued.number) == (decided["id"], w.ids["head"], "7")
    # The leaders' decision is not taken yet: 409, not the staff's list under another name.
    assert decision_pdf(client, w, who="admin", scope="leaders").status_code == 409
    assert decision_pdf(client, w, scope="everyone").status_code == 422


def test_the_notice_links_the_persons_form_with_the_decided_level(clean_app, proc, client):
    w = proc
    decide_staff(client, w)
    decision_pdf(client, w, number="7")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        link = db.session.scalar(select(Notification.link).where(
            Notification.employee_id == w.ids["staff"], Notification.kind == "evaluation.decided"))
    assert link == "/documents/classification-form?year=2026&format=pdf"
    r = client.get(w.url(f"/employees/{w.ids['staff']}/classification-form"), query_string={"year": 2026},
                   headers=w.h("staff"))
    assert r.status_code == 200
    text = flat(pdf_text(r.data))
    assert "Người staff" in text
    assert "Tự xếp loại: HTXS. Vượt 30% khối lượng" in text
    assert "Đề xuất xếp loại: HTXS. Đề nghị HTXS" in text
    assert "Họp tập thể ngày 08/12/2026: 5 người dự, 5 tán thành, 0 không tán thành; đề nghị HTXS." in text
    assert "Xếp loại: Hoàn thành xuất sắc nhiệm vụ (HTXS) — kết quả chính thức." in text
    assert ("Thông báo: theo Quyết định số 7/QĐ-SNV ngày 03/12/2026 của Sở Nội vụ, kết quả xếp loại năm 2026 của "
            "ông/bà là Hoàn thành xuất sắc nhiệm vụ. Ông/bà có quyền khiếu nại đến hết ngày 18/12/2026.") in text


def test_the_signed_decision_must_be_signed_by_the_decider_and_marks_the_step_signed(
        clean_app, proc, client, trusting, clock):
    w = proc
    decided = decide_staff(client, w)
    first = decision_pdf(client, w, number="7").data
    second = decision_pdf(client, w, number="8").data
    # Signed by someone else (the manager who proposed): 422, nothing changes.
    r = upload(client, w, sign(first, trusting.person("Người manager")))
    assert r.status_code == 422
    assert r.get_json()["errors"]["file"][0] == "The signer is not the agency's deciding person."
    assert not agency_decisions(client, w)[0]["signed"]
    # Only the decider or the tenant admin uploads.
    assert upload(client, w, sign(first, trusting.person(HEAD)), who="manager").status_code == 403
    clock.set(2026, 12, 4, 10, 30)
    r = upload(client, w, sign(first, trusting.person(HEAD)))
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["decision_id"], r.get_json()["signer_id"]) == (decided["id"], w.ids["head"])
    made = agency_decisions(client, w)[0]
    assert made["signed"] and made["signer_id"] == w.ids["head"] and made["decider_id"] == w.ids["head"]
    assert made["signed_at"].startswith("2026-12-04T03:30")  # 10:30 in Hồ Chí Minh time
    assert made["signed_by"].endswith(":head") and "Common Name: Người head" in made["signer_subject"]
    person = client.get(url(w, f"/employees/{w.ids['staff']}"), headers=w.h("staff")).get_json()
    assert person["decision"]["signed"] is True
    with clean_app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.sign")).one()
        assert event.actor.endswith(":head") and event.object_id == str(decided["id"])
        assert (event.before["signed"], event.after["signed"]) == (False, True)
    # The other copy of the same decision: already signed.
    assert upload(client, w, sign(second, trusting.person(HEAD))).status_code == 409
    # Reopened: a copy of the old decision is refused, and the decision can be printed only once taken again.
    r = client.post(url(w, f"/agencies/{w.ids['agency']}/reopen"), json={"scope": "staff", "reason": "Sai số liệu"},
                    headers=w.h("head"))
    assert r.status_code == 200
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(IssuedDecision.__table__.update().values(status="issued"))
        unit_of_work.commit()
    r = upload(client, w, sign(second, trusting.person(HEAD)))
    assert r.status_code == 409 and "reopened" in r.get_json()["message"]
    assert decision_pdf(client, w).status_code == 409
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.get(EvaluationDecision, decided["id"]).status == "reopened"


def test_uploading_on_the_evaluation_page_names_the_decider(clean_app, proc, client, trusting):
    w = proc
    decided = decide_staff(client, w)
    issued = decision_pdf(client, w, number="7").data
    html = page(client, w, "head")
    assert f'id="decision-{w.ids["agency"]}-staff"' in html and "chưa ký số" in html
    form = {"csrf_token": csrf(html), "agency_id": w.ids["agency"]}
    r = client.post(f"/t/{w.slug}/evaluation/signed?year=2026", content_type="multipart/form-data",
                    data={**form, "file": (BytesIO(sign(issued, trusting.person("Người manager"))), "qd.pdf")})
    assert r.status_code == 422
    assert "Người ký không phải người có thẩm quyền quyết định của cơ quan." in r.get_data(as_text=True)
    r = client.post(f"/t/{w.slug}/evaluation/signed?year=2026", content_type="multipart/form-data",
                    data={**form, "file": (BytesIO(sign(issued, trusting.person(HEAD))), "qd.pdf")})
    assert r.status_code == 302
    assert "Đã ký số: Người head, 03/12/2026 09:00" in page(client, w, "head")
    assert "Đã ký số: Người head, 03/12/2026 09:00" in page(client, w, "staff")  # under "my evaluation"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.sign")).one()
        assert event.actor.endswith(":head") and event.object_id == str(decided["id"])


def test_the_leaders_decision_names_a_real_signatory_when_the_admin_login_has_no_staff_record(
        clean_app, proc, client, trusting):
    """The Sở Nội vụ decides an agency's head and deputies for the provincial people's
    committee through a login of its own, with no staff record: the decision then names the
    procedure's configured signatory, its PDF prints them and only their certificate signs it."""
    w = proc
    with clean_app.app_context(), tenant_context(w.tenant_id):
        user = User(username="snv", password_hash=_password_hash())
        user.roles = ["tenant_admin"]
        db.session.add(user)
        unit_of_work.commit()
        w.principals["snv"] = principal_for_user(user)
        w.tokens["snv"] = issue_token(w.principals["snv"], 3600)[0]
        unit_of_work.commit()
    assert open_agency(client, w, who="head").status_code == 200
    for kind in ("self", "manager", "meeting"):
        assert step(client, w, {"self": "head"}.get(kind, "admin"), "head", kind).status_code == 200
        assert step(client, w, {"self": "deputy"}.get(kind, "head"), "deputy", kind, level="HT").status_code == 200
    decision = url(w, f"/agencies/{w.ids['agency']}/decision")
    body = {"scope": "leaders", "confirmation": "AG 2026"}
    # No staff record and no signatory configured: nobody to name in the signature block, 409.
    r = client.post(decision, json=body, headers=w.h("snv"))
    assert r.status_code == 409 and r.get_json()["code"] == "no_signatory"
    assert r.get_json()["message"].startswith("Quyết định phải ghi rõ người ký")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalars(select(EvaluationDecision)).all() == []
    # A signatory is a named person with a title: a name alone is 422 and nothing is stored.
    settings = w.url("/evaluation-procedure")
    r = client.put(settings, json={"leaders_signatory": {"full_name": "Nguyễn Tấn Tuân"}}, headers=w.h("snv"))
    assert r.status_code == 422 and "leaders_signatory.title" in r.get_json()["errors"]
    assert client.get(settings, headers=w.h("snv")).get_json()["leaders_signatory"] is None
    signatory = {"full_name": "Nguyễn  Tấn Tuân", "title": "Chủ tịch Ủy ban nhân dân tỉnh",
                 "email": "Tuan.NT@khanhhoa.gov.vn"}
    r = client.put(settings, json={"leaders_signatory": signatory}, headers=w.h("snv"))
    assert r.status_code == 200 and r.get_json()["leaders_signatory"] == {
        "full_name": "Nguyễn Tấn Tuân", "title": "Chủ tịch Ủy ban nhân dân tỉnh", "email": "tuan.nt@khanhhoa.gov.vn"}
    r = client.post(decision, json=body, headers=w.h("snv"))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert (made["decider_id"], made["decider_name"], made["decider_title"]) == (
        None, "Nguyễn Tấn Tuân", "Chủ tịch Ủy ban nhân dân tỉnh")
    issued = decision_pdf(client, w, who="snv", scope="leaders", number="3")
    assert issued.status_code == 200
    text = flat(pdf_text(issued.data))
    assert "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH" in text and "Nguyễn Tấn Tuân" in text
    # The clerk who keyed the decision in, or the committee's chairman with another e-mail: refused.
    for p12 in (trusting.person("Người admin"), trusting.person("Nguyễn Tấn Tuân", "tuan@other.example.vn")):
        r = upload(client, w, sign(issued.data, p12), who="snv")
        assert r.status_code == 422 and r.get_json()["errors"]["file"][0] == \
            "The signer is not the agency's deciding person."
    # The signatory's certificate, written without diacritics as some CAs do: accepted.
    r = upload(client, w, sign(issued.data, trusting.person("NGUYEN TAN TUAN", "tuan.nt@khanhhoa.gov.vn")),
               who="snv")
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["decision_id"], r.get_json()["signer_id"]) == (made["id"], None)
    leaders = [d for d in agency_decisions(client, w) if d["scope"] == "leaders"][0]
    assert leaders["signed"] and "NGUYEN TAN TUAN" in leaders["signer_subject"]
    assert "Đã ký số: Nguyễn Tấn Tuân" in page(client, w, "snv")
    assert "Đã ký số: Nguyễn Tấn Tuân" in page(client, w, "head")  # under the head's own evaluation


def test_the_signatory_is_set_on_the_evaluation_page_with_errors_beside_the_fields(clean_app, proc, client):
    w = proc
    html = page(client, w, "admin")
    form = {"csrf_token": csrf(html), "deadline_day": "15", "appeal_days": "15", "period": "month"}
    r = client.post(f"/t/{w.slug}/evaluation/settings?year=2026",
                    data={**form, "signatory_name": "Nguyễn Tấn Tuân", "signatory_email": "khong-phai-thu"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Cần có chức vụ của người ký" in html and "Không phải địa chỉ e-mail." in html
    assert client.get(w.url("/evaluation-procedure"), headers=w.h("admin")).get_json()["leaders_signatory"] is None
    r = client.post(f"/t/{w.slug}/evaluation/settings?year=2026",
                    data={**form, "signatory_name": "Nguyễn Tấn Tuân", "signatory_title": "Chủ tịch UBND tỉnh"})
    assert r.status_code == 302
    assert client.get(w.url("/evaluation-procedure"), headers=w.h("admin")).get_json()["leaders_signatory"] == {
        "full_name": "Nguyễn Tấn Tuân", "title": "Chủ tịch UBND tỉnh", "email": None}
    assert 'value="Nguyễn Tấn Tuân"' in page(client, w, "admin")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.procedure")).one()
        assert event.actor.endswith(":admin") and event.after["leaders_signatory"]["full_name"] == "Nguyễn Tấn Tuân"


def test_the_form_of_a_person_the_quota_moved_down_says_so(clean_app, proc, client):
    """staff's 95 is HTXS by the bands but HTT by the quota (AG's professional group has
    room for no HTXS): the form's level by score says why, beside the decided level."""
    w = proc
    decide_staff(client, w)
    r = client.get(w.url(f"/employees/{w.ids['staff']}/classification-form"), query_string={"year": 2026},
                   headers=w.h("staff"))
    assert r.status_code == 200
    text = flat(pdf_text(r.data))
    assert ("Mức xếp loại theo điểm HTT (tổng điểm đạt HTXS; chuyển xuống HTT theo tỷ lệ khống chế HTXS của cơ "
            "quan và nhóm vị trí việc làm)") in text
    r = client.get(w.url(f"/employees/{w.ids['staff2']}/classification-form"), query_string={"year": 2026},
                   headers=w.h("staff2"))
    assert r.status_code == 200 and "tỷ lệ khống chế" not in flat(pdf_text(r.data))  # 80: HTT by its band
