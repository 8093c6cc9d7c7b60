"""The "Văn bản, biểu mẫu" page (both databases), in Vietnamese: downloads, field errors
beside the field with what was typed kept, the signed decision's upload and the templates."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import select

from core.documents import docx as docx_templates
from core.documents.models import DocumentTemplate, IssuedDecision
from core.extensions import db
from core.tenancy import tenant_context
from tests.documents.test_documents_support import HEAD_EMAIL, HEAD_NAME, STAFF_NAME, flat, sign, template_without
from tests.work.test_work_pages import csrf, sign_in

pytest_plugins = ("tests.work.test_work_support", "tests.documents.test_documents_support")


def get(client, w, path: str, who: str, **query):
    sign_in(client, w, who)
    return client.get(f"/t/{w.slug}/documents{path}", query_string=query)


def test_the_page_offers_what_the_role_allows(clean_app, docs, client):
    html = get(client, docs, "", "staff").get_data(as_text=True)
    assert "Văn bản, biểu mẫu" in html and "Phiếu đánh giá" in html and "Phiếu xếp loại hằng năm" in html
    assert "Mã cán bộ" not in html and "Quyết định xếp loại của cơ quan" not in html and "Mẫu Word" not in html
    html = get(client, docs, "", "admin").get_data(as_text=True)
    assert "Mã cán bộ (để trống: chính mình)" in html and "Sở Nội vụ" in html and "Mẫu Word" in html
    home = client.get(f"/t/{docs.slug}/").get_data(as_text=True)
    assert "Văn bản, biểu mẫu" in home


def test_downloads_and_errors_beside_the_field(clean_app, docs, client):
    r = get(client, docs, "/classification-form", "staff", year="2026")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = flat("\n".join(p.extract_text() for p in PdfReader(BytesIO(r.data)).pages))
    assert STAFF_NAME in text and "Hoàn thành xuất sắc nhiệm vụ" in text

    bad = get(client, docs, "/evaluation-form", "manager", code="STAFF", period="2026-13", format="docx")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="ev-period-err"' in html and 'value="2026-13"' in html and 'value="STAFF"' in html
    assert '<option value="docx" selected>' in html
    nobody = get(client, docs, "/classification-form", "manager", code="OUTSIDER", year="2026")
    assert nobody.status_code == 422
    assert "Không có người này trong số những người bạn được xem." in nobody.get_data(as_text=True)
    ok = get(client, docs, "/evaluation-form", "manager", code="STAFF", period="2026-06", format="docx")
    assert ok.status_code == 200 and ok.mimetype.endswith("wordprocessingml.document")
    assert get(client, docs, "/decision", "staff", unit_id=str(docs.ids["agency"]), year="2026").status_code == 403
    year = get(client, docs, "/decision", "admin", unit_id=str(docs.ids["agency"]), year="20x6")
    assert year.status_code == 422 and 'id="de-year-err"' in year.get_data(as_text=True)


def test_the_head_uploads_the_signed_decision_on_the_page(clean_app, docs, client, trusting):
    issued = get(client, docs, "/decision", "head", unit_id=str(docs.ids["agency"]), year="2026", number="7")
    assert issued.status_code == 200
    html = get(client, docs, "", "head").get_data(as_text=True)
    url = f"/t/{docs.slug}/documents/decision/signed"
    changed = sign(issued.data, trusting.person(HEAD_NAME, HEAD_EMAIL)) + b"\n%"
    r = client.post(url, data={"csrf_token": csrf(html), "unit_id": str(docs.ids["agency"]), "year": "2026",
                               "file": (BytesIO(changed), "qd.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="up-file-err"' in page and "Văn bản đã bị thay đổi sau khi ký." in page
    signed = sign(issued.data, trusting.person(HEAD_NAME, HEAD_EMAIL))
    r = client.post(url, data={"csrf_token": csrf(html), "unit_id": str(docs.ids["agency"]), "year": "2026",
                               "file": (BytesIO(signed), "qd.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 302
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        assert db.session.scalars(select(IssuedDecision.status)).all() == ["signed"]
    back = get(client, docs, "/decision/signed", "auditor", unit_id=str(docs.ids["agency"]), year="2026")
    assert back.status_code == 200 and back.data == signed


def test_the_admin_replaces_a_template_and_a_bad_one_is_refused(clean_app, docs, client):
    html = get(client, docs, "", "admin").get_data(as_text=True)
    url = f"/t/{docs.slug}/documents/templates/classification_form"
    bad = client.post(url, data={"csrf_token": csrf(html),
                                 "file": (BytesIO(template_without("classification_form", "level_label")), "mau.docx")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert 'id="tpl-classification_form-err"' in bad.get_data(as_text=True)
    assert "Missing placeholders: {{ level_label }}." in bad.get_data(as_text=True)
    good = client.post(url, data={"csrf_token": csrf(html), "file": (
        BytesIO(docx_templates.default_template("classification_form")), "mau.docx")},
        content_type="multipart/form-data")
    assert good.status_code == 302
    with clean_app.app_context(), tenant_context(docs.tenant_id):
        assert db.session.scalars(select(DocumentTemplate.filename)).all() == ["mau.docx"]
    html = get(client, docs, "", "admin").get_data(as_text=True)
    assert "Mẫu riêng của đơn vị (mau.docx)." in html
    assert client.post(url + "/reset", data={"csrf_token": csrf(html)}).status_code == 302
    sign_in(client, docs, "manager")
    assert client.post(url, data={"csrf_token": csrf(html)}).status_code == 403
