"""Official documents: the forms and the agency's decision as PDF (text read back with
pypdf) and DOCX (opened with python-docx), a tenant's templates checked at upload, and a
decision signed (PAdES, a throwaway CA made here) and uploaded back — on both databases.

The world's classification of 2026 (tests/classification/test_classification_api.py, worked by hand):
staff HTXS (95), staff2, manager, accountant, admin, outsider HTT, auditor KHT; all seven
counted in the agency "Sở Nội vụ". Its head, Trần Thị Hương, joins after the run (a head
is decided by the level above, so she is not on the agency's list)."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.documents import docx as docx_templates
from core.documents import signing
from core.documents.models import IssuedDecision
from core.errors import Invalid
from core.extensions import db
from core.scoring.models import GeneralScore
from core.tenancy import tenant_context
from tests.classification.test_classification_api import override
from tests.documents.test_documents_support import (
    HEAD_EMAIL,
    HEAD_NAME,
    STAFF_NAME,
    ThrowawayCA,
    docx_text,
    flat,
    pdf_text,
    put_template,
    sign,
    status_of,
    template_without,
    upload,
)
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support", "tests.documents.test_documents_support")


# ---------------------------------------------------------------- forms


def test_classification_form_pdf_names_the_person_and_the_level(clean_app, docs, client):
    r = client.get(docs.url(f"/employees/{docs.ids['staff']}/classification-form"), query_string={"year": 2026},
                   headers=docs.h("staff"))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "phieu-xep-loai-STAFF-2026.pdf" in r.headers["Content-Disposition"]
    text = flat(pdf_text(r.data))
    assert STAFF_NAME in text
    assert "Xếp loại: Hoàn thành xuất sắc nhiệm vụ (HTXS)" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "SỞ NỘI VỤ" in text and "tinh-w, ngày 14 tháng 10 năm 2026" in text
    assert "Tổng điểm bình quân năm 95,00" in text and "kết quả dự kiến" in text
    # The fonts are embedded (subsets), so the glyphs print the same everywhere.
    fonts = [f.get_object() for f in PdfReader(BytesIO(r.data)).pages[0]["/Resources"]["/Font"].values()]
    embedded = {str(f["/BaseFont"]).split("+")[1] for f in fonts
                if f["/Subtype"] == "/TrueType" and "/FontFile2" in f["/FontDescriptor"].get_object()}
    assert embedded == {"DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic"}
    # The one other font is ReportLab's page default, one of the 14 every reader has; no text uses it.
    assert [str(f["/BaseFont"]) for f in fonts if f["/Subtype"] != "/TrueType"] == ["/Helvetica"]


def test_classification_form_docx_opens_with_python_docx(clean_app, docs, client):
    r = client.get(docs.url(f"/employees/{docs.ids['auditor']}/classification-form"),
                   query_string={"year": 2026, "format": "docx"}, headers=docs.h("admin"))
    assert r.status_code == 200 and r.mimetype.endswith("wordprocessingml.document")
    text = docx_text(r.data)
    assert "Họ và tên: Người auditor" in text
    assert "Xếp loại: Không hoàn thành nhiệm vụ (KHT) — kết quả dự kiến." in text
    assert "{{" not in text and "{%" not in text


def test_evaluation_form_has_the_self_part_and_the_managers_part(clean_app, docs, client):
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        db.session.add(GeneralScore(employee_id=docs.ids["staff"], period="2026-06",
                                    self_politics_ethics=Decimal("9.5"), self_competence_attitude=Decimal("9"),
                                    self_innovation=Decimal("8"), self_comment="Hoàn thành đúng hạn mọi hồ sơ",
                                    politics_ethics=Decimal("9"), competence_attitude=Decimal("8.5"),
                                    innovation=Decimal("7.5"), comment="Cần chủ động hơn"))
        unit_of_work.commit()
    r = client.get(docs.url(f"/employees/{docs.ids['staff']}/evaluation-form"), query_string={"period": "2026-06"},
                   headers=docs.h("manager"))
    assert r.status_code == 200
    text = flat(pdf_text(r.data))
    assert "PHIẾU ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG THÁNG 06 NĂM 2026" in text
    assert STAFF_NAME in text and "Kỳ đánh giá: tháng 06 năm 2026" in text
    # set_totals wrote task 70 + general 25 = 95 for June, 3 items.
    assert "06/2026 3 70,00 25,00 95,00" in text and "Tổng điểm của kỳ: 95,00" in text
    part1, part2 = text.split("I. PHẦN CÁ NHÂN TỰ ĐÁNH GIÁ")[1].split("II. PHẦN ĐÁNH GIÁ CỦA NGƯỜI QUẢN LÝ TRỰC TIẾP")
    assert "10 9,50" in part1 and "10 9,00" in part1 and "10 8,00" in part1
    assert "Tự nhận xét: Hoàn thành đúng hạn mọi hồ sơ" in part1
    assert "10 9,00" in part2 and "10 8,50" in part2 and "10 7,50" in part2
    assert "Nhận xét, đề xuất: Cần chủ động hơn" in part2 and "Người manager" in part2

    # A quarter: April and May have no score; the period's total is the mean of months with items.
    q = client.get(docs.url(f"/employees/{docs.ids['staff']}/evaluation-form"),
                   query_string={"period": "2026-Q2", "format": "docx"}, headers=docs.h("staff"))
    assert q.status_code == 200
    text = docx_text(q.data)
    assert "Kỳ đánh giá: quý II năm 2026" in text and "Tổng điểm của kỳ: 95,00" in text
    assert [line for line in text.splitlines() if re.fullmatch(r"0[456]/2026", line)] == \
        ["04/2026", "05/2026", "06/2026"]


def test_who_may_download_which_form(clean_app, docs, client):
    def get(who: str, name: str, **query):
        path = f"/employees/{docs.ids[name]}/classification-form"
        return client.get(docs.url(path), query_string={"year": 2026, **query}, headers=docs.h(who)).status_code

    assert get("staff", "staff") == 200
    assert get("staff", "staff2") == 404  # another person's form: as if it did not exist
    assert get("manager", "accountant") == 200  # a person the manager manages
    assert get("manager", "outsider") == 404
    assert get("admin", "outsider") == 200 and get("auditor", "staff") == 200
    assert get("staff", "staff", format="odt") == 422
    assert get("staff", "staff", year=1999) == 422
    assert get("admin", "head") == 404  # the head joined after the run: no classification of 2026
    bad = client.get(docs.url(f"/employees/{docs.ids['staff']}/evaluation-form"), query_string={"period": "2026-13"},
                     headers=docs.h("staff"))
    assert bad.status_code == 422, bad.get_json()
    assert bad.get_json()["errors"] == {"period": ["Use YYYY-MM for a month or YYYY-Qn for a quarter."]}


# ---------------------------------------------------------------- the decision


def decision(client, w: World, who: str = "admin", **query):
    return client.get(w.url(f"/units/{w.ids['agency']}/decision"), query_string={"year": 2026, **query},
                      headers=w.h(who))


def test_decision_pdf_in_the_national_format_with_its_list(clean_app, docs, client):
    r = decision(client, docs, number="12")
    assert r.status_code == 200
    text = flat(pdf_text(r.data))
    assert "UBND TỈNH TINH-W" in text and "SỞ NỘI VỤ" in text and "Số: 12/QĐ-SNV" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "QUYẾT ĐỊNH" in text and HEAD_NAME in text
    assert ("đối với 7 người của Sở Nội vụ (danh sách kèm theo), trong đó: Hoàn thành xuất sắc nhiệm vụ: 1; "
            "Hoàn thành tốt nhiệm vụ: 5; Hoàn thành nhiệm vụ: 0; Không hoàn thành nhiệm vụ: 1.") in text
    # The list: by unit, then by given name in Vietnamese order (Đức after accountant: đ follows d).
    attached = pdf_text(r.data).split("DANH SÁCH")[1]
    assert "(Kèm theo Quyết định số 12/QĐ-SNV ngày 14 tháng 10 năm 2026 của Sở Nội vụ)" in flat(attached)
    names = re.findall(r"^(Người \w+|Nguyễn Văn Đức)$", attached, re.M)
    assert names == ["Người outsider", "Người accountant", STAFF_NAME, "Người manager", "Người staff2",
                     "Người admin", "Người auditor"]
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        issued = db.session.scalars(select(IssuedDecision)).one()
        assert (issued.number, issued.status, issued.decider_id, issued.size) == ("12", "issued", docs.ids["head"],
                                                                                   len(r.data))

    d = decision(client, docs, format="docx")
    assert d.status_code == 200
    text = docx_text(d.data)
    assert "Số:       /QĐ-SNV" in text and STAFF_NAME in text and "Hoàn thành xuất sắc nhiệm vụ" in text


def test_who_may_have_the_decision(clean_app, docs, client):
    assert decision(client, docs, who="head").status_code == 200
    assert decision(client, docs, who="manager").status_code == 200  # a manager in the agency
    assert decision(client, docs, who="auditor").status_code == 200
    assert decision(client, docs, who="staff").status_code == 403
    assert decision(client, docs, number="12a").status_code == 422
    dept = client.get(docs.url(f"/units/{docs.ids['dept']}/decision"), query_string={"year": 2026},
                      headers=docs.h("admin"))
    assert dept.status_code == 422 and "unit_id" in dept.get_json()["errors"]
    assert decision(client, docs, year=2025).status_code == 404
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        # The auditor's copy is for reading: only copies that may be signed are recorded.
        assert len(db.session.scalars(select(IssuedDecision)).all()) == 2


# ---------------------------------------------------------------- signatures


def test_a_pades_signature_by_the_head_verifies_and_marks_the_decision_signed(clean_app, docs, client, trusting):
    issued = decision(client, docs, number="12").data
    signed = sign(issued, trusting.person(HEAD_NAME, HEAD_EMAIL))
    assert signed.startswith(issued)  # an incremental update: the issued bytes come first

    found = signing.verify(signed, signing.trust_roots(trusting.pem))
    assert found.common_name == HEAD_NAME and found.emails == (HEAD_EMAIL,)

    r = upload(client, docs, signed)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "signed" and body["signer_id"] == docs.ids["head"] and body["number"] == "12"
    assert f"Common Name: {HEAD_NAME}" in body["signer_subject"]
    back = client.get(docs.url(f"/units/{docs.ids['agency']}/decision/signed"), query_string={"year": 2026},
                      headers=docs.h("auditor"))
    assert back.status_code == 200 and back.data == signed
    listed = client.get(docs.url(f"/units/{docs.ids['agency']}/decisions"), query_string={"year": 2026},
                        headers=docs.h("admin")).get_json()
    assert [d["status"] for d in listed] == ["signed"]
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "decision.sign")).one()
        assert event.before["status"] == "issued" and event.after["status"] == "signed"
    again = upload(client, docs, signed, who="admin")
    assert again.status_code == 409


def test_a_byte_changed_after_signing_fails(clean_app, docs, client, trusting):
    issued = decision(client, docs).data
    signed = sign(issued, trusting.person(HEAD_NAME, HEAD_EMAIL))
    signature_at = signed.index(b"/Contents <") + len(b"/Contents <")
    # A byte of the list (inside the issued part), a digit of the signing time (the signing
    # revision), one of the signature, one of its zero padding, and a byte appended after it.
    list_at = signed.index(b"/Type /Page") + 2
    revision_at = signed.rindex(b"/M (D") + 12
    padding_at = signed.rindex(b"/ByteRange") - 40
    assert signed[padding_at:padding_at + 1] == b"0" and signed[revision_at:revision_at + 1].isdigit()
    for changed in (signed[:list_at] + b"X" + signed[list_at + 1:],
                    signed[:revision_at] + bytes([signed[revision_at] ^ 1]) + signed[revision_at + 1:],
                    signed[:padding_at] + b"1" + signed[padding_at + 1:],
                    signed[:signature_at + 100] + (b"0" if signed[signature_at + 100:signature_at + 101] != b"0" else b"1")
                    + signed[signature_at + 101:],
                    signed + b"\n%"):
        with pytest.raises(Invalid):
            signing.verify(changed, signing.trust_roots(trusting.pem))
        r = upload(client, docs, changed)
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["errors"]["file"]
    assert status_of(clean_app, docs) == ["issued"]
    assert upload(client, docs, signed).status_code == 201  # the untouched file still passes


def test_a_signature_by_someone_else_or_an_unknown_ca_is_refused(clean_app, docs, client, trusting):
    issued = decision(client, docs).data
    other = upload(client, docs, sign(issued, trusting.person("Lê Văn Khác")))
    assert other.status_code == 422
    assert other.get_json()["errors"]["file"] == ["The signer is not the agency's deciding person.",
                                                  "Common Name: Lê Văn Khác, Country: VN"]
    wrong_mail = upload(client, docs, sign(issued, trusting.person(HEAD_NAME, "someone@else.example")))
    assert wrong_mail.status_code == 422
    stranger = upload(client, docs, sign(issued, ThrowawayCA("CA lạ").person(HEAD_NAME, HEAD_EMAIL)))
    assert stranger.status_code == 422 and "trusted" in stranger.get_json()["errors"]["file"][0]
    unsigned = upload(client, docs, issued)
    assert unsigned.status_code == 422
    assert upload(client, docs, b"not a pdf").status_code == 422
    # A PDF signed by the head but not issued here.
    foreign = upload(client, docs, sign(decision(client, docs, who="auditor", number="99").data,
                                        trusting.person(HEAD_NAME, HEAD_EMAIL)))
    assert foreign.status_code == 422
    assert status_of(clean_app, docs) == ["issued"]


def test_only_the_head_or_the_admin_uploads_and_the_list_must_be_current(clean_app, docs, client, trusting):
    issued = decision(client, docs).data
    signed = sign(issued, trusting.person(HEAD_NAME, HEAD_EMAIL))
    assert upload(client, docs, signed, who="manager").status_code == 403
    assert upload(client, docs, signed, who="staff").status_code == 403
    assert upload(client, docs, signed, who="auditor").status_code == 403
    assert override(client, docs, "staff2", level="HT", reason="Chậm báo cáo quý III").status_code == 200
    stale = upload(client, docs, signed, who="admin")
    assert stale.status_code == 409
    assert status_of(clean_app, docs) == ["issued"]


def test_trust_roots_are_refused_when_none_is_configured(clean_app, docs, client, ca):
    issued = decision(client, docs).data
    r = upload(client, docs, sign(issued, ca.person(HEAD_NAME, HEAD_EMAIL)))
    assert r.status_code == 422 and "CONGVU_SIGNING_TRUST_ROOTS" in r.get_json()["errors"]["file"][0]


# ---------------------------------------------------------------- templates


def test_a_template_missing_a_placeholder_is_refused_at_upload(clean_app, docs, client):
    r = put_template(client, docs, "classification_form", template_without("classification_form", "level_label"))
    assert r.status_code == 422
    assert r.get_json()["errors"]["file"] == ["Missing placeholders: {{ level_label }}."]
    doc = Document(BytesIO(docx_templates.default_template("decision")))
    doc.add_paragraph("{{ signer_phone }}")
    out = BytesIO()
    doc.save(out)
    unknown = put_template(client, docs, "decision", out.getvalue())
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"]["file"] == ["Unknown placeholders: {{ signer_phone }}."]
    assert put_template(client, docs, "decision", b"PK not a docx").status_code == 422
    doc = Document(BytesIO(docx_templates.default_template("decision")))
    doc.add_paragraph("{{ rows.upper() }}")  # parses, names only provided things, fails when printed
    out = BytesIO()
    doc.save(out)
    broken = put_template(client, docs, "decision", out.getvalue())
    assert broken.status_code == 422 and broken.get_json()["message"] == "The template does not print."
    assert put_template(client, docs, "letter", docx_templates.default_template("decision")).status_code == 404
    assert put_template(client, docs, "decision", docx_templates.default_template("decision"),
                        who="manager").status_code == 403
    listed = client.get(docs.url("/document-templates"), headers=docs.h("admin")).get_json()
    assert [(t["kind"], t["custom"]) for t in listed] == [("evaluation_form", False), ("classification_form", False),
                                                          ("decision", False)]


def test_a_tenants_own_template_prints_and_can_be_reset(clean_app, docs, client):
    doc = Document(BytesIO(docx_templates.default_template("classification_form")))
    doc.add_paragraph("Mẫu riêng của tỉnh: {{ name }} — {{ level }}")
    out = BytesIO()
    doc.save(out)
    r = put_template(client, docs, "classification_form", out.getvalue())
    assert r.status_code == 200 and r.get_json()["custom"] is True
    form = client.get(docs.url(f"/employees/{docs.ids['staff']}/classification-form"),
                      query_string={"year": 2026, "format": "docx"}, headers=docs.h("staff"))
    assert f"Mẫu riêng của tỉnh: {STAFF_NAME} — HTXS" in docx_text(form.data)
    got = client.get(docs.url("/document-templates/classification_form"), headers=docs.h("admin"))
    assert got.status_code == 200 and got.data == out.getvalue()
    assert client.delete(docs.url("/document-templates/classification_form"), headers=docs.h("admin")).status_code == 204
    assert client.delete(docs.url("/document-templates/classification_form"), headers=docs.h("admin")).status_code == 404
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("document_template.%"))
                                     .order_by(AuditEvent.id)).all()
        assert actions == ["document_template.upload", "document_template.reset"]


def test_the_signers_name_matches_with_or_without_diacritics():
    from core.documents.services import signer_matches

    head = ("Trần Thị  Hương", "Huong.TT@snv.example.vn")

    def cert(cn: str, *emails: str) -> signing.Signature:
        return signing.Signature(common_name=cn, emails=emails, subject=f"Common Name: {cn}")

    assert signer_matches(cert("Trần Thị Hương"), *head)
    assert signer_matches(cert("TRẦN THỊ HƯƠNG", "huong.tt@snv.example.vn"), *head)
    assert signer_matches(cert("TRAN THI HUONG"), *head)  # a CA that writes names without diacritics
    assert not signer_matches(cert("Trần Thị Hường"), *head)  # another tone: another name
    assert not signer_matches(cert("Tran Thi Huong", "other@snv.example.vn"), *head)
    assert not signer_matches(cert("Trần Thị"), *head)
    assert not signer_matches(cert(""), "", None)  # nobody named: nobody matches
    assert signer_matches(cert("Đỗ Văn An"), "Đỗ Văn An", None) and signer_matches(cert("DO VAN AN"), "Đỗ Văn An", None)
