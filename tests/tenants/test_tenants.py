"""Creating tenants: through the API (operator) and the commune-level units it brings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.extensions import db
from core.org.models import JobPosition, OrgUnit
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
    # Each commune-level unit is a budget level of its own: all 65 are paying units.
    with clean_app.app_context(), tenant_context(body["id"]):
        assert db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.is_paying_unit)) == 65


def test_ninh_thuan_pack_flags_its_paying_units(clean_app):
    """The pack's units: the province, its department, the city and six districts carry
    paying_unit = true (9 agencies); its communes and wards are paying units by their
    kind. Applying it again changes nothing."""
    from core.tenants.packs import apply_pack

    pack = Path(__file__).resolve().parents[2] / "tenants" / "ninh-thuan"
    with clean_app.app_context():
        first = apply_pack(pack)
        unit_of_work.commit()
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "ninh-thuan"))
    with clean_app.app_context(), tenant_context(tenant.id):
        rows = db.session.execute(select(OrgUnit.kind, OrgUnit.is_paying_unit, func.count())
                                  .group_by(OrgUnit.kind, OrgUnit.is_paying_unit)).all()
    counts = {(kind, paying): n for kind, paying, n in rows}
    assert counts[("agency", True)] == 9 and ("agency", False) not in counts
    assert all(paying for kind, paying in counts if kind in ("commune", "ward"))
    assert first.changes
    # Elected office-holders are cán bộ: a commune chair with no regime recorded is one; a
    # recorded regime still wins; a Chánh Văn phòng (CV 7415's post) is công chức.
    from core.classification.models import EmployeeRegime
    from core.classification.procedure import regimes_on
    from core.org import services as org

    with clean_app.app_context(), tenant_context(tenant.id):
        positions = dict(db.session.execute(select(JobPosition.code, JobPosition.regime)).all())
        assert [positions[c] for c in ("LD01", "LD02", "LD03", "LD04", "LD05", "LD12")] == [
            "can_bo", "can_bo", "can_bo", "can_bo", None, None]
        unit = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "NT-SNV"))
        chair, other_chair, chief = (org.create_employee({"code": code, "full_name": code, "unit_id": unit,
                                                          "position_code": position})
                                     for code, position in (("E1", "LD01"), ("E2", "LD01"), ("E3", "LD05")))
        db.session.add(EmployeeRegime(employee_id=other_chair.id, regime="cong_chuc", valid_from=date(2026, 1, 1)))
        db.session.flush()
        assert regimes_on([chair.id, other_chair.id, chief.id], date(2026, 6, 30)) == {
            chair.id: "can_bo", other_chair.id: "cong_chuc", chief.id: "cong_chuc"}
        db.session.rollback()
    with clean_app.app_context():
        again = apply_pack(pack)
        db.session.rollback()
    assert again.changes == []


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
    """The choices come from core/tenants/defaults.toml, in the order and with the dates it gives."""
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
