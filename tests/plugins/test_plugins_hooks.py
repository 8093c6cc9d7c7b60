"""Every hookspec is documented (a heading with its exact signature, and an example) and
has a test named after it; the tests named after the hooks follow."""

from __future__ import annotations

import inspect
import re
from datetime import date
from pathlib import Path

import pytest

from core.plugins import hookspecs
from core.plugins.events import emit
from core.plugins.testing import check_component, sample_people
from core.tenancy import tenant_context

pytest_plugins = ("tests.plugins.support",)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
CSV = (b"external_id,employee_code,product_code,work_date,quantity\n"
       b"X-1,NV01,SP-1,2026-10-05,2\n")


def hook_names() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items()
                  if n.startswith("congvu_") and hasattr(f, hookspecs.PROJECT + "_spec"))


def signature(name: str) -> str:
    params = inspect.signature(getattr(hookspecs, name)).parameters
    return f"{name}({', '.join(params)})"


def doc_sections() -> dict[str, str]:
    """Heading text → the section under it."""
    text = DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_congvu_live_connectors():
    """The built-ins register through the hook; a live connector naming no import connector
    is a load error naming the plugin."""
    from core.plugins.manager import PluginManager, check_component
    from plugins.live import OneStopApi, RestJson

    m = PluginManager(None, None).load()
    assert {k for (kind, k) in m.components if kind == "live_connector"} >= {"rest-json", "one-stop-api"}
    assert m.registered("live_connector", "one-stop-api", None).plugin == "live"
    assert OneStopApi().import_connector_for(OneStopApi().load_settings()) == "one-stop-dossiers"
    assert RestJson().import_connector_for(RestJson().load_settings({"import_connector": "staff-csv"})) == \
        "staff-csv"

    class Nowhere(OneStopApi):
        key = "nowhere"
        import_connector = ""

    assert check_component(Nowhere(), "live_connector") == \
        "import_connector must name the import connector its records go through"


def test_there_are_hooks_to_check():
    assert len(hook_names()) == 10


@pytest.mark.parametrize("name", hook_names())
def test_hook_has_a_heading_with_its_exact_signature_and_an_example(name):
    sections = doc_sections()
    heading = signature(name)
    assert heading in sections, f"docs/plugins.md needs a heading '### {heading}'"
    body = sections[heading]
    example = re.search(r"```python\n(.*?)```", body, flags=re.DOTALL)
    assert example, f"docs/plugins.md: '{heading}' needs a python example"
    assert "@hookimpl" in example.group(1) and f"def {name}(" in example.group(1), (
        f"docs/plugins.md: the example under '{heading}' must implement {name}")


def test_docs_describe_no_hook_that_does_not_exist():
    documented = {h.split("(")[0] for h in doc_sections() if h.startswith("congvu_")}
    assert documented == set(hook_names())


@pytest.mark.parametrize("name", hook_names())
def test_hook_has_a_test_named_after_it(name):
    sources = "".join(p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.glob("test_plugins*.py")))
    assert re.search(rf"^def test_{name}(_\w+)?\(", sources, flags=re.MULTILINE), (
        f"write a test named test_{name} in tests/test_plugins*.py")


# ---------------------------------------------------------------- one test per hook


def _components(app, kind):
    return [reg.component for (k, _), reg in app.extensions["congvu_plugins"].components.items() if k == kind]


def test_congvu_scoring_variants(plugin_app):
    variants = _components(plugin_app, "scoring_variant")
    assert {"points-per-product", "tinh-a-done-items"} <= {v.key for v in variants}  # and the built-ins
    for variant in variants:
        check_component(variant)


def _by_key(app, kind, key):
    return next(c for c in _components(app, kind) if c.key == key)


def test_congvu_classification_schemes(plugin_app):
    for scheme in _components(plugin_app, "classification_scheme"):  # the built-ins too
        check_component(scheme)
    result = check_component(_by_key(plugin_app, "classification_scheme", "test-thresholds"))
    assert [r["level"] for r in result] == ["HTXS", "HTT", "HTT", "KHT", "KHT", None, "HTXS", "HTXS"]


def test_congvu_bonus_schemes(plugin_app):
    for other in _components(plugin_app, "bonus_scheme"):
        check_component(other)
    scheme = _by_key(plugin_app, "bonus_scheme", "test-level-weights")
    default_run, *_ = check_component(scheme, fund=100_000_001)
    assert sum(a["amount"] for a in default_run) == 100_000_001
    # Weights by level × months: the KHT person and the unclassified one get nothing.
    assert [a["amount"] for a in default_run][4:6] == [0, 0]
    assert scheme.default_fund(sample_people(), scheme.load_settings({})) > 0


def test_congvu_import_connectors(plugin_app):
    for other in _components(plugin_app, "import_connector"):
        check_component(other)
    result = check_component(_by_key(plugin_app, "import_connector", "products-csv"), sample=CSV)
    assert result["rows"][0]["values"]["task_type_code"] == "SP-1"


def test_congvu_work_item_changed(plugin_app):
    from tests.plugins.recorder import CALLS

    CALLS.clear()
    with plugin_app.app_context(), tenant_context(7):
        emit("congvu_work_item_changed", tenant_id=7, item_id=42, change="completed")
    assert CALLS == [("congvu_work_item_changed", {"tenant_id": 7, "item_id": 42, "change": "completed"})]


def test_congvu_period_closed(plugin_app):
    from tests.plugins.recorder import CALLS

    CALLS.clear()
    with plugin_app.app_context():
        emit("congvu_period_closed", tenant_id=7, period="2026-10")
    assert CALLS == [("congvu_period_closed", {"tenant_id": 7, "period": "2026-10"})]


def test_congvu_tenants_merged(plugin_app):
    from tests.plugins.recorder import CALLS

    CALLS.clear()
    with plugin_app.app_context():
        emit("congvu_tenants_merged", source_tenant_id=2, target_tenant_id=1, effective_date=date(2025, 7, 1))
    assert CALLS == [("congvu_tenants_merged", {"source_tenant_id": 2, "target_tenant_id": 1,
                                                "effective_date": date(2025, 7, 1)})]


def test_congvu_register_blueprints(plugin_app, app):
    assert plugin_app.test_client().get("/recorder-plugin/ping").get_json() == {"pong": True}
    assert app.test_client().get("/recorder-plugin/ping").status_code == 404  # not loaded there


def test_event_hooks_without_a_plugin_are_a_no_op(app):
    with app.app_context():
        assert emit("congvu_period_closed", tenant_id=1, period="2026-10") == []
