"""The admin page that picks components and edits their settings (both databases)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from sqlalchemy import delete, select

from core import unit_of_work
from core.auth.models import User
from core.auth.services import principal_for_user
from core.extensions import db
from core.tenancy import tenant_context
from tests.factories import build_world

pytest_plugins = ("tests.plugins.support",)

PLUGINS = Path(__file__).resolve().parents[2] / "core" / "plugins"

# What create_tenant chooses for a new tenant (the national rule).
NEW_TENANT_DEFAULT = {"key": "decree335", "version": None, "settings": {}, "effective_from": None}


def sign_in(app, client, world, username: str) -> None:
    """A page session for `username` (the login page itself is tested elsewhere)."""
    with app.app_context(), tenant_context(world.tenant_id):
        session_id = principal_for_user(db.session.scalar(select(User).where(User.username == username))).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def admin(pclient, plugin_app):
    world = build_world(plugin_app, "tinh-a", pclient)
    sign_in(plugin_app, pclient, world, "admin")
    return world


def settings(client, world):
    return client.get(f"/api/v1/tenants/{world.slug}/settings", headers=world.headers("admin")).get_json()


def test_overview_lists_what_may_be_chosen(pclient, admin):
    page = pclient.get("/t/tinh-a/admin/components")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cách chấm điểm" in html and "Điểm theo sản phẩm quy đổi" in html
    assert "Số việc hoàn thành (riêng Tỉnh A)" in html  # its own tenant-local variant
    assert 'value="products-csv"' in html


def test_form_is_generated_from_the_schema(pclient, admin):
    page = pclient.get("/t/tinh-a/admin/components/scoring_variant/points-per-product")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("target_points_per_day", "late_penalty", "rework_penalty", "support_share"):
        assert f'name="s.{name}"' in html
    assert "Chỉ tiêu điểm mỗi ngày làm việc" in html and 'value="8"' in html
    assert "Mặc định: 8" in html and "từ 0,1 đến 1.000" in html


def test_invalid_form_shows_vietnamese_messages_and_saves_nothing(pclient, admin):
    url = "/t/tinh-a/admin/components/scoring_variant/points-per-product"
    token = csrf(pclient.get(url).get_data(as_text=True))
    response = pclient.post(url, data={"csrf_token": token, "s.target_points_per_day": "0",
                                       "s.late_penalty": "nhiều", "effective_from": "2026-13-01"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Chưa lưu gì" in html
    assert "Phải từ 0,1 đến 1.000." in html and "Phải là số." in html
    assert "Nhập ngày theo dạng dd/mm/yyyy." in html
    assert 'value="nhiều"' in html  # what was typed comes back to be corrected
    assert settings(pclient, admin)["scoring_variant"] == NEW_TENANT_DEFAULT


def test_valid_form_saves_the_choice_from_a_date(pclient, admin):
    url = "/t/tinh-a/admin/components/scoring_variant/points-per-product"
    token = csrf(pclient.get(url).get_data(as_text=True))
    response = pclient.post(url, data={"csrf_token": token, "s.target_points_per_day": "5",
                                       "effective_from": "2099-01-01"})
    assert response.status_code == 302 and "saved=scoring_variant" in response.headers["Location"]
    # Scheduled for 2099: not in force today, and in the plan with its complete settings.
    assert settings(pclient, admin)["scoring_variant"] == NEW_TENANT_DEFAULT
    view = pclient.get("/api/v1/tenants/tinh-a/components", headers=admin.headers("admin")).get_json()
    default, choice = view["schedule"]["scoring_variant"]
    assert default["key"] == "decree335" and default["effective_from"] is None
    assert choice["key"] == "points-per-product" and choice["effective_from"] == "2099-01-01"
    assert choice["settings"]["target_points_per_day"] == 5.0 and choice["settings"]["late_penalty"] == 0.25
    overview = pclient.get("/t/tinh-a/admin/components?saved=scoring_variant").get_data(as_text=True)
    assert "Đã lưu." in overview and "01/01/2099" in overview

    token = csrf(pclient.get(url).get_data(as_text=True))
    assert pclient.post(url, data={"csrf_token": token}).status_code == 302  # defaults, from the beginning
    assert settings(pclient, admin)["scoring_variant"]["settings"]["target_points_per_day"] == 8.0
    # A decimal comma, as Vietnamese writes it, is a decimal point.
    assert pclient.post(url, data={"csrf_token": token, "s.support_share": "0,4"}).status_code == 302
    assert settings(pclient, admin)["scoring_variant"]["settings"]["support_share"] == 0.4


def test_form_without_csrf_token_is_refused(pclient, admin):
    response = pclient.post("/t/tinh-a/admin/components/scoring_variant/points-per-product",
                            data={"s.target_points_per_day": "5"})
    assert response.status_code == 400
    assert settings(pclient, admin)["scoring_variant"] == NEW_TENANT_DEFAULT


def test_connectors_are_ticked_on_and_off(pclient, admin):
    token = csrf(pclient.get("/t/tinh-a/admin/components").get_data(as_text=True))
    response = pclient.post("/t/tinh-a/admin/components/import-connectors",
                            data={"csrf_token": token, "connector": ["products-csv"]})
    assert response.status_code == 302
    assert settings(pclient, admin)["import_connectors"] == ["products-csv"]
    pclient.post("/t/tinh-a/admin/components/import-connectors", data={"csrf_token": token})
    assert settings(pclient, admin)["import_connectors"] == []


def test_missing_component_is_a_warning_on_the_page(pclient, plugin_app, admin):
    from core.tenants.models import ComponentChoice

    with plugin_app.app_context(), tenant_context(admin.tenant_id):
        # A new tenant starts on decree73-pool; replace that choice with one not installed.
        db.session.execute(delete(ComponentChoice).where(ComponentChoice.kind == "bonus_scheme"))
        db.session.add(ComponentChoice(kind="bonus_scheme", key="uninstalled-bonus", settings={}))
        unit_of_work.commit()
    html = pclient.get("/t/tinh-a/admin/components").get_data(as_text=True)
    assert "Thành phần không dùng được" in html and "uninstalled-bonus" in html
    assert "chưa được cài đặt hoặc chưa được bật" in html


def test_another_tenants_component_and_people_are_refused(pclient, plugin_app, admin):
    assert pclient.get("/t/tinh-a/admin/components/scoring_variant/no-such").status_code == 404
    other = build_world(plugin_app, "tinh-b")
    assert pclient.get("/t/tinh-b/admin/components").status_code == 404  # admin of tinh-a
    sign_in(plugin_app, pclient, other, "admin")
    assert pclient.get("/t/tinh-b/admin/components/scoring_variant/tinh-a-done-items").status_code == 404
    sign_in(plugin_app, pclient, other, "staff")
    assert pclient.get("/t/tinh-b/admin/components").status_code == 403
    sign_in(plugin_app, pclient, other, "auditor")
    html = pclient.get("/t/tinh-b/admin/components").get_data(as_text=True)
    assert "Chọn và sửa thiết lập" not in html  # auditors read, never edit
    assert pclient.get("/t/tinh-b/admin/components/scoring_variant/points-per-product").status_code == 403


def test_english_page(pclient, admin):
    html = pclient.get("/t/tinh-a/admin/components?lang=en").get_data(as_text=True)
    assert "Scoring, classification, bonus and import components" in html and "Points per converted product" in html


def test_every_page_text_has_a_vietnamese_translation():
    with open(PLUGINS / "translations" / "vi" / "LC_MESSAGES" / "plugins.mo", "rb") as mo:
        catalog = read_mo(mo)
    sources = "".join(p.read_text(encoding="utf-8") for p in (PLUGINS / "templates" / "plugins").glob("*.html"))
    sources += (PLUGINS / "views.py").read_text(encoding="utf-8")
    texts = set(re.findall(r'\bt\("([^"]+)"', sources)) | set(re.findall(r'_t\("([^"]+)"', sources))
    untranslated = sorted(t for t in texts if not (catalog.get(t) and catalog.get(t).string))
    assert texts and untranslated == [], "add to plugins.po and run pybabel compile -d core/plugins/translations -D plugins"


def test_a_mapping_setting_is_one_input_per_key(pclient, admin):
    """Hours ledger's star factors (a dict with fixed keys) are five labelled inputs, not JSON;
    a bad value is shown beside the field, and the overview shows the settings by label."""
    url = "/t/tinh-a/admin/components/scoring_variant/hours-ledger"
    html = pclient.get(url).get_data(as_text=True)
    assert "<textarea" not in html
    for star, factor in (("5", "1"), ("4", "0,9"), ("3", "0,75"), ("2", "0,5"), ("1", "0")):
        assert f'<label for="s-star_factors-{star}">{star} sao</label>' in html
        assert f'name="s.star_factors.{star}" value="{factor}"' in html
    form = {"csrf_token": csrf(html), "s.hours_per_day": "8", "s.star_factors.5": "1", "s.star_factors.4": "0,8",
            "s.star_factors.3": "0,6", "s.star_factors.2": "9", "s.star_factors.1": "0"}
    bad = pclient.post(url, data=form)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    error = re.search(r'<p class="error" id="s-star_factors-err">([^<]*)</p>', page).group(1)
    assert error == "2: Phải từ 0 đến 1,5."
    assert 'name="s.star_factors.4" value="0,8"' in page  # what was typed stays
    form["s.star_factors.2"] = "0,4"
    assert pclient.post(url, data=form).status_code == 302
    overview = pclient.get("/t/tinh-a/admin/components").get_data(as_text=True)
    assert "Hệ số chất lượng theo số sao: <strong>5 sao: 1; 4 sao: 0,8; 3 sao: 0,6; 2 sao: 0,4; 1 sao: 0</strong>" \
        in overview
    assert "Số giờ chuẩn mỗi ngày: <strong>8</strong>" in overview


def test_decimals_read_with_a_comma_and_typed_either_way(pclient, admin):
    """A Vietnamese admin reads 0,25 in the box, may type 0,4 or 0.4, and a number that is
    not one is refused in Vietnamese beside its field, what was typed kept."""
    url = "/t/tinh-a/admin/components/scoring_variant/points-per-product"
    html = pclient.get(url).get_data(as_text=True)
    assert 'name="s.late_penalty" value="0,25"' in html and 'name="s.target_points_per_day" value="8"' in html
    token = csrf(html)
    assert pclient.post(url, data={"csrf_token": token, "s.late_penalty": "0.3", "s.support_share": "0,45",
                                   "s.target_points_per_day": "1.000,0"}).status_code == 302
    stored = settings(pclient, admin)["scoring_variant"]["settings"]
    assert (stored["late_penalty"], stored["support_share"], stored["target_points_per_day"]) == (0.3, 0.45, 1000.0)
    html = pclient.get(url).get_data(as_text=True)
    assert 'name="s.late_penalty" value="0,3"' in html and 'name="s.support_share" value="0,45"' in html
    bad = pclient.post(url, data={"csrf_token": token, "s.late_penalty": "0,2,5"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert re.search(r'<p class="error" id="s-late_penalty-err">([^<]*)</p>', page).group(1) == "Phải là số."
    assert 'name="s.late_penalty" value="0,2,5"' in page
    assert settings(pclient, admin)["scoring_variant"]["settings"]["late_penalty"] == 0.3
