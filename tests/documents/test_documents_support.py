"""The world of the document tests: the classified tenant with its agency head, a
throwaway certification authority, and helpers shared by tests/test_documents*.py (no tests here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select

from core import unit_of_work
from core.auth.models import User
from core.auth.services import issue_token, principal_for_user
from core.documents import docx as docx_templates
from core.documents import signing
from core.documents.models import IssuedDecision
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.classification.test_classification_api import TOTALS_2026, run, set_totals
from tests.work.test_work_support import World, _password_hash

STAFF_NAME = "Nguyễn Văn Đức"
HEAD_NAME = "Trần Thị Hương"
HEAD_EMAIL = "huong.tt@snv.example.vn"


@pytest.fixture
def docs(clean_app, world, client) -> World:
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.get(Employee, world.ids["staff"]).full_name = STAFF_NAME
        unit_of_work.commit()
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        user = User(username="giamdoc", password_hash=_password_hash())
        user.roles = ["employee", "manager"]
        head = org.create_employee({"code": "GD", "full_name": HEAD_NAME, "unit_id": world.ids["agency"],
                                    "position_code": "CV", "is_leader": True, "email": HEAD_EMAIL})
        head.user = user
        db.session.flush()
        world.ids["head"] = head.id
        world.principals["head"] = principal_for_user(user)
        world.tokens["head"] = issue_token(world.principals["head"], 3600)[0]
        unit_of_work.commit()
    return world


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def docx_text(content: bytes) -> str:
    doc = Document(BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


class ThrowawayCA:
    """A throwaway root CA and the personal certificates it issues."""

    def __init__(self, name: str = "CA thử nghiệm congvu") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                  key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                  key_cert_sign=True, crl_sign=True, encipher_only=False,
                                                  decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def person(self, common_name: str, email: str | None = None) -> bytes:
        """A PKCS#12 file (no passphrase) with the person's key and certificate."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if email:
            attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .sign(self.key, hashes.SHA256()))
        return pkcs12.serialize_key_and_certificates(b"signer", key, cert, [self.cert],
                                                     serialization.NoEncryption())


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA()


@pytest.fixture
def trusting(clean_app, ca, monkeypatch) -> ThrowawayCA:
    monkeypatch.setitem(clean_app.config, "CONGVU_SIGNING_TRUST_ROOTS", ca.pem)
    return ca


def sign(pdf: bytes, p12: bytes) -> bytes:
    return signing.sign(pdf, signing.pkcs12_signer(p12))


def upload(client, w: World, content: bytes, who: str = "head"):
    return client.post(w.url(f"/units/{w.ids['agency']}/decision/signed"), query_string={"year": 2026},
                       data={"file": (BytesIO(content), "quyet-dinh.pdf")}, headers=w.h(who),
                       content_type="multipart/form-data")


def status_of(app, w: World) -> list[str]:
    with app.app_context(), tenant_context(w.tenant_id):
        return [d.status for d in db.session.scalars(select(IssuedDecision).order_by(IssuedDecision.id))]


def template_without(kind: str, placeholder: str) -> bytes:
    doc = Document(BytesIO(docx_templates.default_template(kind)))
    for p in doc.paragraphs:
        for run_ in p.runs:
            run_.text = run_.text.replace("{{ " + placeholder + " }}", "")
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def put_template(client, w: World, kind: str, content: bytes, who: str = "admin"):
    return client.put(w.url(f"/document-templates/{kind}"), data={"file": (BytesIO(content), "mau.docx")},
                      headers=w.h(who), content_type="multipart/form-data")


