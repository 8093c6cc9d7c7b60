"""Plugins through the API: the contract's plugin list, tenants choosing components by
key with validated, effective-dated settings, and missing components (both databases)."""

from __future__ import annotations

import importlib.metadata
from datetime import date

import pytest
from sqlalchemy import delete as sa_delete
from sqlalchemy import func, select

from core import unit_of_work
from core.extensions import db
from core.plugins import manager as manager_module
from core.plugins.components import Component
from core.plugins.manager import ComponentMissing, PluginLoadError
from core.plugins.testing import SAMPLE_FACTS, sample_item
from core.tenancy import tenant_context
from core.tenants import choices as tenant_choices
from core.tenants import services as tenant_services
from core.tenants.models import ComponentChoice
from tests.conftest import make_app
from tests.factories import build_world, make_operator

pytest_plugins = ("tests.plugins.support",)

VARIANT = {"key": "points-per-product", "settings": {"target_points_per_day": 2}}

# What create_tenant chooses for a new tenant (the national rule).
NEW_TENANT_DEFAULT = {"key": "decree335", "version": None, "settings": {}, "effective_from": None}


def settings_url(world) -> str:
    return f"/api/v1/tenants/{world.slug}/settings"


def patch(client, world, body, who="admin"):
    return client.patch(settings_url(world), json=body, headers=world.headers(who))


# ---------------------------------------------------------------- GET /api/v1/plugins


def test_plugin_list_has_the_contract_shape(client):
    token = make_operator(client.application, client)
    response = client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["X-Total-Count"] == str(len(body))
    for plugin in body:
        assert {"name", "version", "loaded", "error", "components"} <= set(plugin)
        for component in plugin["components"]:
            assert {"kind", "key", "version", "title"} <= set(component)
    vendor = next(p for p in body if p["name"] == "vendor-example")
    assert (vendor["version"], vendor["loaded"], vendor["error"]) == ("1.0.0", True, None)
    assert {(c["kind"], c["key"], c["version"], c["title"]) for c in vendor["components"]} == {
        ("scoring_variant", "points-per-product", "1.0.0", "Điểm theo sản phẩm quy đổi"),
        ("import_connector", "products-csv", "1.0.0", "Nhật ký sản phẩm (CSV)"),
        ("live_connector", "products-api", "1.0.0", "Nhật ký sản phẩm (API)"),
    }
    english = client.get("/api/v1/plugins?lang=en", headers={"Authorization": f"Bearer {token}"}).get_json()
    titles = {c["title"] for p in english for c in p["components"]}
    assert "Points per converted product" in titles


def test_plugin_list_needs_a_login_and_is_in_openapi(client):
    assert client.get("/api/v1/plugins").status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/plugins" in spec["paths"] and "/api/v1/tenants/{t}/components" in spec["paths"]


def test_plugin_list_shows_disabled_plugins_and_why(clean_app, backend, tmp_path_factory):
    other = make_app(backend, tmp_path_factory, CONGVU_PLUGINS="none")
    client = other.test_client()
    token = make_operator(other, client)
    body = client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {token}"}).get_json()
    vendor = next(p for p in body if p["name"] == "vendor-example")
    assert vendor["loaded"] is False and vendor["components"] == []
    assert "CONGVU_PLUGINS" in vendor["error"]
    with other.app_context():
        assert ("scoring_variant", "points-per-product") not in other.extensions["congvu_plugins"].components
        db.session.remove()
        db.engine.dispose()


def test_tenant_users_do_not_see_other_tenants_local_plugins(pclient, plugin_app):
    a, b = build_world(plugin_app, "tinh-a", pclient), build_world(plugin_app, "tinh-b", pclient)
    seen_by_a = {p["name"] for p in pclient.get("/api/v1/plugins", headers=a.headers("staff")).get_json()}
    seen_by_b = {p["name"] for p in pclient.get("/api/v1/plugins", headers=b.headers("staff")).get_json()}
    assert "tenant:tinh-a" in seen_by_a and "tenant:tinh-a" not in seen_by_b
    assert {"vendor-example", "test-schemes", "recorder"} <= seen_by_b


def test_start_up_fails_naming_a_broken_plugin(app, backend, tmp_path_factory, monkeypatch):
    real = manager_module.entry_points_of_group
    broken = importlib.metadata.EntryPoint(name="broken", value="tests.plugins.broken", group="congvu")
    monkeypatch.setattr(manager_module, "entry_points_of_group", lambda group="congvu": [*real(group), broken])
    with pytest.raises(PluginLoadError, match=r"plugin 'broken' \(entry point tests.plugins.broken\): failed to "
                                              r"import: RuntimeError: this plugin is broken on purpose"):
        make_app(backend, tmp_path_factory)


# ---------------------------------------------------------------- choosing components


def test_tenant_selects_vendor_variant_and_its_scores_use_it(client, clean_app):
    world = build_world(clean_app, "tinh-a", client)
    response = patch(client, world, {"scoring_variant": VARIANT})
    assert response.status_code == 200, response.get_json()
    chosen = response.get_json()["scoring_variant"]
    assert chosen["key"] == "points-per-product"
    # The stored settings are complete: defaults are filled in, so a later default change
    # in the plugin does not silently change this tenant's scores.
    assert chosen["settings"] == {"target_points_per_day": 2.0, "late_penalty": 0.25, "rework_penalty": 0.25,
                                  "support_share": 0.5}
    assert client.get(settings_url(world), headers=world.headers("admin")).get_json()["scoring_variant"] == chosen

    with clean_app.app_context(), tenant_context(world.tenant_id):
        used = tenant_choices.component_for("scoring_variant", date(2026, 10, 31))
        assert used.component.key == "points-per-product" and used.settings["target_points_per_day"] == 2.0
        items = [sample_item(id=1, quantity=3), sample_item(id=2, missed_deadlines=1),
                 sample_item(id=3, status="in_progress", completed_at=None)]
        scores = used.component.score_items(items, used.settings)
        sums = {name: sum(s[name] for s in scores) for name in used.component.item_components}
        result = used.component.period_score(sums, used.settings, {**SAMPLE_FACTS, "working_days": 2})
        # 3 + 2 × 0.75 = 4.5 points against 2 per day × 2 days: above target, full 70.
        assert sums == {"points": 4.5, "completed": 2, "late": 1} and result["task_score"] == 70.0
        assert used.stamp() == {"key": "points-per-product", "version": "1.0.0",
                                "settings_hash": Component.settings_hash(chosen["settings"])}


def test_invalid_settings_answer_422_with_field_errors_and_save_nothing(client, clean_app):
    world = build_world(clean_app, "tinh-a", client)
    assert patch(client, world, {"scoring_variant": VARIANT}).status_code == 200
    before = client.get(settings_url(world), headers=world.headers("admin")).get_json()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        rows_before = db.session.scalar(select(func.count()).select_from(ComponentChoice))

    response = patch(client, world, {
        "morning_cutoff": "07:30",
        "scoring_variant": {"key": "points-per-product",
                            "settings": {"target_points_per_day": -1, "late_penalty": "lots", "colour": "red"}},
    })
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    errors = body["errors"]["scoring_variant"]["settings"]
    assert set(errors) == {"target_points_per_day", "late_penalty", "colour"}
    assert errors["colour"] == ["Unknown field."]

    assert client.get(settings_url(world), headers=world.headers("admin")).get_json() == before
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(ComponentChoice)) == rows_before


def test_unknown_component_is_422(client, clean_app):
    world = build_world(clean_app, "tinh-a", client)
    before = client.get(settings_url(world), headers=world.headers("admin")).get_json()
    response = patch(client, world, {"bonus_scheme": {"key": "no-such-scheme"}})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "bonus_scheme": {"key": ["No bonus scheme 'no-such-scheme' is available to this tenant."]}}
    response = patch(client, world, {"import_connectors": ["products-csv", "nope"]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "import_connectors": ["No import connector 'nope' is available to this tenant."]}
    assert client.get(settings_url(world), headers=world.headers("admin")).get_json() == before  # nothing saved


def test_only_a_tenant_admin_changes_settings(client, clean_app):
    a, b = build_world(clean_app, "tinh-a", client), build_world(clean_app, "tinh-b", client)
    assert patch(client, a, {"scoring_variant": VARIANT}, who="staff").status_code == 403
    response = client.patch(settings_url(a), json={"scoring_variant": VARIANT}, headers=b.headers("admin"))
    assert response.status_code == 404


def test_tenant_local_component_is_not_selectable_by_another_tenant(pclient, plugin_app):
    a, b = build_world(plugin_app, "tinh-a", pclient), build_world(plugin_app, "tinh-b", pclient)
    local = {"scoring_variant": {"key": "tinh-a-done-items"}}
    refused = patch(pclient, b, local)
    assert refused.status_code == 422
    # Answered exactly like a component that does not exist: nothing about tinh-a leaks.
    assert refused.get_json()["errors"] == {
        "scoring_variant": {"key": ["No scoring variant 'tinh-a-done-items' is available to this tenant."]}}
    assert patch(pclient, b, {"scoring_variant": {"key": "no-such"}}).get_json()["errors"]["scoring_variant"] == {
        "key": ["No scoring variant 'no-such' is available to this tenant."]}
    accepted = patch(pclient, a, local)
    assert accepted.status_code == 200 and accepted.get_json()["scoring_variant"]["key"] == "tinh-a-done-items"
    assert pclient.get(settings_url(b), headers=b.headers("admin")).get_json()["scoring_variant"] == NEW_TENANT_DEFAULT


def test_import_connectors_are_chosen_by_key(client, clean_app):
    world = build_world(clean_app, "tinh-a", client)
    response = patch(client, world, {"import_connectors": ["products-csv", "products-csv"]})
    assert response.status_code == 200 and response.get_json()["import_connectors"] == ["products-csv"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert tenant_choices.connector_for("products-csv").component.target == "work_items"
        with pytest.raises(tenant_services.Invalid, match="not enabled"):
            tenant_choices.connector_for("staff-csv")


# ---------------------------------------------------------------- effective dating


def test_a_change_is_scheduled_from_a_date_and_each_period_uses_the_one_in_force(pclient, plugin_app):
    world = build_world(plugin_app, "tinh-a", pclient)
    old = {"key": "test-thresholds", "settings": {"htxs_from": 95}}
    new = {"key": "test-thresholds", "settings": {"htxs_from": 90}, "effective_from": "2026-01-01"}
    assert patch(pclient, world, {"classification_scheme": old}).status_code == 200
    assert patch(pclient, world, {"classification_scheme": new}).status_code == 200
    assert patch(pclient, world, {"scoring_variant": VARIANT}).status_code == 200
    local = {"key": "tinh-a-done-items", "effective_from": "2026-07-01"}
    assert patch(pclient, world, {"scoring_variant": local}).status_code == 200

    with plugin_app.app_context(), tenant_context(world.tenant_id):
        def in_force(kind, day):
            return tenant_choices.component_for(kind, day)

        assert in_force("classification_scheme", date(2025, 12, 31)).settings["htxs_from"] == 95
        assert in_force("classification_scheme", date(2026, 1, 1)).settings["htxs_from"] == 90
        assert in_force("scoring_variant", date(2026, 6, 30)).component.key == "points-per-product"
        chosen = in_force("scoring_variant", date(2026, 7, 1))
        assert chosen.component.key == "tinh-a-done-items" and chosen.effective_from == date(2026, 7, 1)

    view = pclient.get(f"/api/v1/tenants/{world.slug}/components", headers=world.headers("admin")).get_json()
    assert [(c["key"], c["effective_from"]) for c in view["schedule"]["scoring_variant"]] == [
        ("points-per-product", None), ("tinh-a-done-items", "2026-07-01")]
    assert [c["settings"]["htxs_from"] for c in view["schedule"]["classification_scheme"]] == [95.0, 90.0]
    assert view["warnings"] == []


# ---------------------------------------------------------------- missing components


def test_missing_component_is_a_clear_error_when_scoring_and_a_warning_for_the_admin(client, clean_app):
    world = build_world(clean_app, "tinh-a", client)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        # A new tenant starts on decree335; take that choice away to see "none chosen".
        db.session.execute(sa_delete(ComponentChoice).where(ComponentChoice.kind == "scoring_variant"))
        with pytest.raises(ComponentMissing) as none_chosen:
            tenant_choices.component_for("scoring_variant", date(2026, 10, 1))
        assert none_chosen.value.code == "component_not_chosen"
        # As if the vendor's package had been uninstalled after the tenant chose it.
        db.session.add(ComponentChoice(kind="scoring_variant", key="uninstalled-variant", settings={"x": 1}))
        db.session.add(ComponentChoice(kind="bonus_scheme", key="uninstalled-bonus", settings={},
                                       effective_from=date(2027, 1, 1)))
        unit_of_work.commit()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        with pytest.raises(ComponentMissing, match="scoring variant 'uninstalled-variant' chosen by tenant "
                                                   "'tinh-a' is not installed") as missing:
            tenant_choices.component_for("scoring_variant", date(2026, 10, 1))
        assert missing.value.status == 409 and missing.value.code == "component_missing"

    view = client.get("/api/v1/tenants/tinh-a/components", headers=world.headers("admin")).get_json()
    assert {(w["kind"], w["key"], w["effective_from"], w["code"]) for w in view["warnings"]} == {
        ("scoring_variant", "uninstalled-variant", None, "component_missing"),
        ("bonus_scheme", "uninstalled-bonus", "2027-01-01", "component_missing")}
    assert [c["usable"] for c in view["schedule"]["scoring_variant"]] == [False]
    # Nothing is lost: the choice and its settings are still there to be fixed or restored.
    settings = client.get(settings_url(world), headers=world.headers("admin")).get_json()
    assert settings["scoring_variant"] == {"key": "uninstalled-variant", "version": None, "settings": {"x": 1},
                                         "effective_from": None}


def test_stored_settings_a_component_no_longer_accepts_are_reported(client, clean_app):
    world = build_world(clean_app, "tinh-a", client)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.execute(sa_delete(ComponentChoice).where(ComponentChoice.kind == "scoring_variant"))
        db.session.add(ComponentChoice(kind="scoring_variant", key="points-per-product",
                                       settings={"target_points_per_day": -3}))
        unit_of_work.commit()
        with pytest.raises(ComponentMissing) as exc:
            tenant_choices.component_for("scoring_variant", date(2026, 10, 1))
        assert exc.value.code == "component_settings_invalid"
        assert "target_points_per_day" in exc.value.errors["scoring_variant"]["settings"]


# ---------------------------------------------------------------- GET …/components


def test_components_view_lists_what_the_tenant_may_choose(pclient, plugin_app):
    a, b = build_world(plugin_app, "tinh-a", pclient), build_world(plugin_app, "tinh-b", pclient)
    view = pclient.get("/api/v1/tenants/tinh-b/components", headers=b.headers("auditor")).get_json()
    keys_b = [c["key"] for c in view["available"]["scoring_variant"]]
    assert "points-per-product" in keys_b and "tinh-a-done-items" not in keys_b and keys_b == sorted(keys_b)
    assert "test-thresholds" in [c["key"] for c in view["available"]["classification_scheme"]]
    variant = next(c for c in view["available"]["scoring_variant"] if c["key"] == "points-per-product")
    assert variant["plugin"] == "vendor-example" and variant["defaults"]["target_points_per_day"] == 8.0
    target = next(f for f in variant["settings_fields"] if f["name"] == "target_points_per_day")
    assert target == {"name": "target_points_per_day", "type": "number", "required": False, "default": 8.0,
                      "choices": None, "minimum": 0.1, "maximum": 1000, "label": "Chỉ tiêu điểm mỗi ngày làm việc",
                      "description": "Số sản phẩm quy đổi cần đạt mỗi ngày để được 70 điểm."}
    keys_a = [c["key"] for c in pclient.get("/api/v1/tenants/tinh-a/components",
                                            headers=a.headers("admin")).get_json()["available"]["scoring_variant"]]
    assert sorted(keys_a) == sorted([*keys_b, "tinh-a-done-items"])
    assert pclient.get("/api/v1/tenants/tinh-b/components", headers=b.headers("staff")).status_code == 403
    assert pclient.get("/api/v1/tenants/tinh-b/components", headers=a.headers("admin")).status_code == 404
