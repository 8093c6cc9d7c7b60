"""Creating tenants: through the API (operator) and the commune-level units it brings."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.org.models import OrgUnit
from core.tenancy import tenant_context, unscoped
from core.tenants.defaults import DefaultsError, read_defaults
from core.tenants.models import BEGINNING, ComponentChoice, Tenant
from tests.factories import make_operator


def tenant_count(app) -> tuple[int, int]:
    with app.app_context(), unscoped():
        return (db.session.scalar(select(func.count()).select_from(Tenant)),
                db.session.scalar(select(func.count()).select_from(OrgUnit)))


def test_operator_creates_khanh_hoa_with_its_65_units(clean_app, client):
    token = make_operator(clean_app, client)
    response = client.post("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"},
                           json={"slug": "khanh-hoa", "name": "Tỉnh Khánh Hòa", "province_code": 56})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["units_created"] == 65 and body["status"] == "active" and body["merged_into"] is None
    with clean_app.app_context(), tenant_context(body["id"]):
        kinds = dict(db.session.execute(select(OrgUnit.kind, func.count()).group_by(OrgUnit.kind)).all())
        nha_trang = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "Phường Nha Trang"))
    assert kinds == {"commune": 48, "ward": 16, "special_zone": 1}
    assert nha_trang.official_code == 22366 and nha_trang.code == "22366"


def test_unknown_province_creates_nothing(clean_app, client):
    token = make_operator(clean_app, client)
    response = client.post("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"},
                           json={"slug": "nowhere", "name": "Không có", "province_code": 999})
    assert response.status_code == 422
    assert "province_code" in response.get_json()["errors"]
    assert tenant_count(clean_app) == (0, 0)


def test_duplicate_slug_and_bad_slug(clean_app, client):
    token = make_operator(clean_app, client)
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/tenants", headers=h, json={"slug": "hue", "name": "Huế"}).status_code == 201
    dup = client.post("/api/v1/tenants", headers=h, json={"slug": "hue", "name": "Huế 2", "province_code": 46})
    assert dup.status_code == 409 and "slug" in dup.get_json()["errors"]
    bad = client.post("/api/v1/tenants", headers=h, json={"slug": "Huế!", "name": "x"})
    assert bad.status_code == 422 and "slug" in bad.get_json()["errors"]
    assert tenant_count(clean_app) == (1, 0)


def test_every_current_province_code_is_accepted(clean_app):
    from vietnam_provinces import Province

    from core.tenants.services import province_communes

    with clean_app.app_context():
        total = sum(len(province_communes(int(p.code))) for p in Province.iter_all())
    assert total == 3321


def test_a_new_tenant_starts_with_the_packs_default_components(clean_app, client):
    """The choices come from tenants/defaults.toml, in the order and with the dates it gives."""
    token = make_operator(clean_app, client)
    response = client.post("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"},
                           json={"slug": "tinh-moi", "name": "Tỉnh Mới"})
    assert response.status_code == 201, response.get_json()
    with clean_app.app_context(), tenant_context(response.get_json()["id"]):
        rows = db.session.execute(select(ComponentChoice.kind, ComponentChoice.key, ComponentChoice.effective_from,
                                         ComponentChoice.settings).order_by(ComponentChoice.id)).all()
    assert [tuple(r) for r in rows] == [
        ("scoring_variant", "decree335", BEGINNING, {}),
        ("import_connectors", "-", BEGINNING,
         {"keys": ["staff-xlsx", "staff-csv", "catalogue-xlsx", "work-items-csv", "one-stop-dossiers"]}),
        ("classification_scheme", "decree90", BEGINNING, {}),
        ("classification_scheme", "decree335", date(2026, 1, 1), {}),
        ("bonus_scheme", "decree73-pool", BEGINNING, {}),
    ]
    assert [c.key for c in read_defaults().keys("classification_scheme")] == ["decree90", "decree335"]


def test_a_malformed_defaults_file_is_named_with_its_fault(tmp_path):
    with pytest.raises(DefaultsError, match="cannot be read"):
        read_defaults(tmp_path / "missing.toml")
    bad = tmp_path / "defaults.toml"
    bad.write_text('[components]\nscoring_variant = { key = "a" }\nbonus_scheme = { key = "b" }\n')
    with pytest.raises(DefaultsError, match="components.classification_scheme must be"):
        read_defaults(bad)
    bad.write_text('[components]\nscoring_variant = [{ key = "a", effective_from = 2026-01-01 }]\n'
                   'classification_scheme = { key = "c" }\nbonus_scheme = { key = "b" }\n')
    with pytest.raises(DefaultsError, match="the first choice holds from the beginning"):
        read_defaults(bad)
