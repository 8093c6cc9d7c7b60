"""Loading plugins: order, allow-list, tenant-local modules and every way a plugin can
be wrong (no database needed)."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pluggy
import pytest
from click.testing import CliRunner

from core.plugins import hookspecs
from core.plugins import manager as manager_module
from core.plugins.manager import PluginLoadError, PluginManager, parse_allow_list

HERE = Path(__file__).resolve().parents[1]
TEST_TENANTS = HERE / "plugins" / "tenants"
VENDOR = "vendor-example"


def fake_ep(name: str, module: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=module, group="congvu")


@pytest.fixture
def installed(monkeypatch):
    """Pretend these test modules are installed distributions (besides the real ones)."""
    real = manager_module.entry_points_of_group

    def install(**modules: str) -> None:
        extra = [fake_ep(name, module) for name, module in modules.items()]
        monkeypatch.setattr(manager_module, "entry_points_of_group", lambda group="congvu": real(group) + extra)

    return install


def load(allow=None, tenants_dir=None, builtins=None, strict=True) -> PluginManager:
    return PluginManager(allow, tenants_dir, builtins).load(strict=strict)


# ---------------------------------------------------------------- discovery


def test_vendor_example_is_installed_and_found_by_its_entry_point():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="congvu")}
    assert names.get(VENDOR) == "congvu_vendor_example.plugin", (
        "examples/vendor-plugin is not pip-installed in this environment: run `make install`")
    m = load()
    record = m.plugins[VENDOR]
    assert record.loaded and record.origin == "installed" and record.version == "1.0.0"
    assert {(c.kind, c.key) for c in record.components} == {
        ("scoring_variant", "points-per-product"), ("import_connector", "products-csv"),
        ("live_connector", "products-api")}
    assert m.registered("scoring_variant", "points-per-product", "any-tenant").plugin == VENDOR


def test_allow_list_leaving_a_plugin_out_does_not_import_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "congvu_vendor_example.plugin", raising=False)
    m = load(allow="someone-else-not-installed", strict=False)
    record = m.plugins[VENDOR]
    assert not record.loaded and not record.enabled and "CONGVU_PLUGINS" in record.error
    assert record.components == [] and m.components == {}
    assert "congvu_vendor_example.plugin" not in sys.modules  # installed is not enabled: never imported
    assert any("someone-else-not-installed" in p and "not installed" in p for p in m.problems)


def test_allow_list_naming_a_plugin_loads_it():
    m = load(allow=f" {VENDOR} ,")
    assert m.plugins[VENDOR].loaded and ("scoring_variant", "points-per-product") in m.components


def test_allow_list_parsing():
    assert parse_allow_list(None) is None
    assert parse_allow_list("a, b,,c ") == ["a", "b", "c"]
    assert parse_allow_list("none") == [] and parse_allow_list(["x"]) == ["x"]


def test_builtins_load_first_and_ignore_the_allow_list():
    m = load(allow="none", builtins="tests.plugins.builtins")
    assert list(m.plugins)[0] == "first" and m.plugins["first"].origin == "builtin"
    assert "_private" not in m.plugins  # helpers are not plugins
    assert m.registered("bonus_scheme", "test-level-weights", None).plugin == "first"
    assert not m.plugins[VENDOR].loaded


def test_tenant_local_plugin_only_for_its_tenant():
    m = load(tenants_dir=TEST_TENANTS)
    record = m.plugins["tenant:tinh-a"]
    assert record.loaded and record.origin == "tenant" and record.tenant == "tinh-a"
    assert m.registered("scoring_variant", "tinh-a-done-items", "tinh-a") is not None
    assert m.registered("scoring_variant", "tinh-a-done-items", "tinh-b") is None
    assert m.registered("scoring_variant", "tinh-a-done-items", None) is None
    assert [r.component.key for r in m.available("scoring_variant", "tinh-b")] == ["points-per-product"]
    listed = m.list_plugins("en", "tinh-b", everything=False)
    assert "tenant:tinh-a" not in {p["name"] for p in listed}  # other tenants' plugins stay private


# ---------------------------------------------------------------- failures stop start-up


def test_broken_plugin_stops_start_up_naming_it(installed):
    installed(broken="tests.plugins.broken")
    with pytest.raises(PluginLoadError) as exc:
        load()
    message = str(exc.value)
    assert "plugin 'broken'" in message and "tests.plugins.broken" in message
    assert "RuntimeError: this plugin is broken on purpose" in message and "broken.py" in message


def test_broken_plugin_left_out_of_the_allow_list_is_harmless(installed):
    installed(broken="tests.plugins.broken")
    m = load(allow=VENDOR)
    assert m.plugins["broken"].enabled is False and m.plugins[VENDOR].loaded


def test_broken_tenant_local_plugin_stops_start_up(tmp_path):
    (tmp_path / "tinh-x").mkdir()
    (tmp_path / "tinh-x" / "plugin.py").write_text("import no_such_module_anywhere\n")
    with pytest.raises(PluginLoadError, match=r"plugin 'tenant:tinh-x'.*ModuleNotFoundError"):
        load(tenants_dir=tmp_path)


def test_misspelled_hookimpl_is_caught_by_check_pending():
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    import tests.plugins.misspelled as misspelled

    pm.register(misspelled)
    with pytest.raises(pluggy.PluginValidationError, match="congvu_scoring_variant"):
        pm.check_pending()


def test_misspelled_hookimpl_stops_start_up(installed):
    installed(misspelled="tests.plugins.misspelled", unmarked="tests.plugins.misspelled_unmarked")
    m = load(strict=False)
    assert not m.plugins["misspelled"].loaded and "congvu_scoring_variant" in m.plugins["misspelled"].error
    # Unmarked functions named congvu_* are hookimpls too, so their typos are caught as well.
    assert not m.plugins["unmarked"].loaded and "congvu_import_conectors" in m.plugins["unmarked"].error
    assert m.plugins[VENDOR].loaded
    with pytest.raises(PluginLoadError, match="misspelled hook name"):
        load()


def test_hookimpl_with_default_parameter_is_refused(installed):
    installed(defaulted="tests.plugins.defaulted")
    with pytest.raises(PluginLoadError, match=r"plugin 'defaulted'.*default-valued parameters \['change'\]"):
        load()


def test_duplicate_kind_and_key_stops_start_up(installed):
    installed(duplicate="tests.plugins.duplicate")
    with pytest.raises(PluginLoadError, match=r"scoring variant 'points-per-product' is also provided by plugin "
                                              r"'vendor-example'"):
        load()
    m = load(strict=False)
    assert m.registered("scoring_variant", "points-per-product", None).plugin == VENDOR  # the first one stays


def test_malformed_component_stops_start_up(installed):
    installed(malformed="tests.plugins.malformed")
    with pytest.raises(PluginLoadError, match=r"plugin 'malformed'.*key must be"):
        load()


def test_raising_registration_hook_is_reported_against_its_plugin(installed):
    installed(raising="tests.plugins.raising")
    with pytest.raises(PluginLoadError, match=r"plugin 'raising'.*congvu_bonus_schemes\(\) raised ValueError"):
        load()


def test_a_component_instead_of_a_list_is_a_load_error_naming_the_plugin(installed):
    installed(**{"wrong-shape": "tests.plugins.wrong_shape"})
    with pytest.raises(PluginLoadError) as exc:
        load()
    assert exc.value.problems == [
        "plugin 'wrong-shape' (entry point tests.plugins.wrong_shape): congvu_scoring_variants() returned "
        "<Lone scoring_variant:test-lone 1.0.0>, not a list of components (return [Lone()])"]
    m = load(strict=False)  # leniently, the others load and this one is reported
    assert not m.plugins["wrong-shape"].loaded and m.plugins[VENDOR].loaded
    assert m.registered("scoring_variant", "test-lone", None) is None


def test_a_class_instead_of_a_component_is_a_load_error_naming_the_plugin(installed):
    installed(**{"not-component": "tests.plugins.not_component"})
    with pytest.raises(PluginLoadError) as exc:
        load()
    assert exc.value.problems == [
        "plugin 'not-component' (entry point tests.plugins.not_component): congvu_scoring_variants() returned "
        "the class Lone: a class, not an instance (return [Lone()])"]


def test_labels_must_be_pairs_of_texts(installed):
    installed(**{"bad-labels": "tests.plugins.bad_labels"})
    with pytest.raises(PluginLoadError, match=r"plugin 'bad-labels'.*labels must map each key to a \(Vietnamese, "
                                              r"English\) pair"):
        load()


def test_a_vendors_result_keys_are_named_in_the_readers_language():
    """The example vendor's variant names its keys and settings; a month keeps them with its
    stamp and pages show them through rule_words and factor_label: the month's words for
    what its rule computed, the core's for the item fields, the key itself otherwise."""
    from core import create_app
    from core.dashboards.views import factor_label, rule_words
    from core.scoring.stamps import snapshot

    variant = load().registered("scoring_variant", "points-per-product", None).component
    words = snapshot(variant, variant.default_settings())
    assert words["labels"]["results"]["attainment_pct"] == ["tỷ lệ đạt chỉ tiêu", "target attained %"]
    assert words["labels"]["settings"]["late_penalty"] == {
        "label": ["Mức trừ mỗi lần trễ hạn", "Deduction per missed deadline"]}
    formula = {"title": words["title_vi"], "title_en": words["title_en"], "labels": words["labels"],
               "settings": {"late_penalty": 0.25}, "description": "", "description_en": ""}
    app = create_app({"TESTING": True, "CONGVU_DATABASE_URL": "sqlite://"})
    for lang, expected, setting in (("vi", "tỷ lệ đạt chỉ tiêu", ("Mức trừ mỗi lần trễ hạn", "0,25")),
                                    ("en", "target attained %", ("Deduction per missed deadline", "0.25"))):
        with app.test_request_context(f"/?lang={lang}", headers={"Accept-Language": lang}):
            from flask import session

            session["lang"] = lang
            rule = rule_words(formula, lang)
            assert rule["settings"] == [setting]
            assert factor_label("attainment_pct", rule["labels"]) == expected
            assert factor_label("made_up_key", rule["labels"]) == "made up key"
            assert factor_label("quantity") == ("số lượng" if lang == "vi" else "quantity")  # the core's label


def test_every_problem_is_reported_at_once(installed):
    installed(broken="tests.plugins.broken", malformed="tests.plugins.malformed")
    with pytest.raises(PluginLoadError) as exc:
        load()
    assert len(exc.value.problems) == 2


# ---------------------------------------------------------------- command line


def _cli(env: dict[str, str]):
    from core import cli

    # A fresh group each time: plugin commands are added once per process otherwise.
    cli.main._plugins_added = False
    return CliRunner().invoke(cli.main, ["plugins", "list"], env=env)


def test_plugins_list_shows_installed_plugins_and_components():
    result = _cli({"CONGVU_PLUGINS": ""})
    assert result.exit_code == 0, result.output
    assert "vendor-example\t1.0.0\tinstalled\tloaded" in result.output
    assert "scoring_variant\tpoints-per-product\t1.0.0\tĐiểm theo sản phẩm quy đổi" in result.output
    assert "import_connector\tproducts-csv" in result.output


def test_plugins_list_shows_failures_and_exits_1(installed):
    installed(broken="tests.plugins.broken")
    result = _cli({})
    assert result.exit_code == 1
    assert "broken\t-\tinstalled\tFAILED" in result.output
    assert "RuntimeError: this plugin is broken on purpose" in result.output


def test_plugins_list_with_allow_list(installed):
    result = _cli({"CONGVU_PLUGINS": "none"})
    assert result.exit_code == 0
    assert "vendor-example\t1.0.0\tinstalled\tdisabled" in result.output


def test_congvu_register_commands(installed):
    installed(recorder="tests.plugins.recorder")
    from core import cli

    cli.main._plugins_added = False
    try:
        result = CliRunner().invoke(cli.main, ["recorder-hello"], env={})
        assert result.exit_code == 0, result.output
        assert "hello from the recorder plugin" in result.output
    finally:
        cli.main.commands.pop("recorder-hello", None)
        cli.main._plugins_added = False


def _help(env: dict[str, str]):
    from core import cli

    cli.main._plugins_added = False
    try:
        return CliRunner().invoke(cli.main, ["--help"], env=env)
    finally:
        cli.main._plugins_added = False


def test_help_works_whatever_the_plugins_return(installed):
    installed(**{"wrong-shape": "tests.plugins.wrong_shape", "not-component": "tests.plugins.not_component"})
    result = _help({})
    assert result.exit_code == 0, result.output
    assert "congvu — KPI Công vụ." in result.output and "plugins" in result.output and "tenant" in result.output
    listed = _cli({})  # and `plugins list` names them
    assert listed.exit_code == 1
    assert "wrong-shape\t-\tinstalled\tFAILED" in listed.output
    assert "not a list of components (return [Lone()])" in listed.output


def test_help_works_when_a_plugin_command_hook_raises(installed):
    installed(**{"bad-commands": "tests.plugins.bad_commands"})
    result = _help({})
    assert result.exit_code == 0, result.output
    assert "tenant" in result.output
    assert ("warning: plugin commands left out: plugin 'bad-commands' failed in congvu_register_commands: "
            "RuntimeError: no commands today") in result.output


@pytest.mark.parametrize("problem, message", [
    ("unknown", "description_vi shows {diem}, which is not one of its settings (points)"),
    ("formatted", "description_en formats {points}; write {points} alone"),
    ("twice", "scoring variant 'test-bad-versions' is registered twice with version 1.0.0"),
])
def test_descriptions_show_settings_and_versions_are_registered_once(installed, monkeypatch, problem, message):
    import tests.plugins.bad_versions as plugin

    monkeypatch.setattr(plugin, "PROBLEM", problem)
    installed(**{"bad-versions": "tests.plugins.bad_versions"})
    with pytest.raises(PluginLoadError) as exc:
        load()
    assert len(exc.value.problems) == 1 and "plugin 'bad-versions'" in exc.value.problems[0]
    assert message in exc.value.problems[0]


def test_several_versions_of_a_component_side_by_side_newest_first(tmp_path):
    """tests/plugins/upgradable.py registers 1.0.0 and 1.1.0 of one variant: the newest is
    what a tenant gets by default, the other is there for a tenant that adopted it."""
    import shutil

    from core.plugins.manager import version_order

    (tmp_path / "tinh-up").mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "plugins" / "upgradable.py", tmp_path / "tinh-up" / "plugin.py")
    m = PluginManager(allow_list="none", tenants_dir=tmp_path).load()
    assert m.versions("scoring_variant", "test-upgradable", "tinh-up") == ["1.1.0", "1.0.0"]
    assert m.registered("scoring_variant", "test-upgradable", "tinh-up").component.version == "1.1.0"
    assert m.registered("scoring_variant", "test-upgradable", "tinh-up", "1.0.0").component.version == "1.0.0"
    assert m.registered("scoring_variant", "test-upgradable", "tinh-up", "0.9") is None
    assert m.versions("scoring_variant", "test-upgradable", "tinh-b") == []  # a tenant-local plugin
    chosen = m.choose("scoring_variant", "test-upgradable", {}, "tinh-up", None, "2.0.0")
    assert chosen.component.version == "1.1.0"  # an adopted version gone: the newest scores
    assert sorted(["1.10.0", "2", "1.9.0", "1.9.1"], key=version_order) == ["1.9.0", "1.9.1", "1.10.0", "2"]
