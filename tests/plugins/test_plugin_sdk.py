"""The vendor's SDK: the toolkit as a pure façade, the test kit's probes and plugin check,
`congvu plugins new` producing a package that installs and passes its own tests, and the
core building as a library."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from core import PROJECT_ROOT
from core.plugins import toolkit
from core.plugins.scaffold import plan
from core.plugins.testing import ConformanceError, check_component, check_plugin, probe_component
from core.plugins.toolkit import TASK_SCORE_MAX, BonusScheme, Schema, ScoringVariant, clamp, fields, hookimpl, validate

PYTHON = sys.executable


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 600):
    return subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------- the façade


def test_the_toolkit_its_components_and_the_kit_import_no_flask():
    modules = ["core.plugins.toolkit", "core.plugins.testing", "congvu_vendor_example.plugin",
               *(f"plugins.{p.stem}" for p in sorted((PROJECT_ROOT / "plugins").glob("*.py"))
                 if p.stem != "__init__")]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(sorted(m for m in sys.modules if m == 'flask' or m.startswith('flask.')))\n"
            + "from core import create_app\nprint(create_app.__module__, 'flask' in sys.modules)\n")
    done = _run([PYTHON, "-c", code], cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "core.app True"]


def test_the_toolkit_defines_nothing_and_reexports_core_modules():
    tree = ast.parse((PROJECT_ROOT / "core" / "plugins" / "toolkit.py").read_text(encoding="utf-8"))
    assert [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Assign)
            and not (isinstance(n, ast.Assign) and n.targets[0].id == "__all__")] == []
    assert len(toolkit.__all__) == len(set(toolkit.__all__))
    for name in toolkit.__all__:
        value = getattr(toolkit, name)
        assert getattr(value, "__module__", "") != "core.plugins.toolkit", name
    # The SQL item helpers and the import readers are part of it.
    assert {"SqlItem", "num", "when", "greatest", "least", "int_or", "iter_table", "iter_jsonl", "sniff",
            "cell_text", "FileRejected", "column_for_header", "to_date", "to_decimal"} <= set(toolkit.__all__)


def _core_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if node.module == "core.plugins" else node.module for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [n for n in names if n == "core" or n.startswith("core.")]
    return found


def test_plugins_examples_and_the_scaffold_import_only_the_toolkit(tmp_path):
    (tmp_path / "scaffold").mkdir()
    for relative, text in plan("acme-points").items():
        (tmp_path / "scaffold" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "scaffold" / relative).write_text(text, encoding="utf-8")
    sources = [*(PROJECT_ROOT / "plugins").glob("*.py"), *(PROJECT_ROOT / "examples").rglob("*.py"),
               *(tmp_path / "scaffold").rglob("*.py")]
    assert len(sources) > 12
    wrong = {}
    for path in sources:
        allowed = {"core.plugins.toolkit"} | ({"core.plugins.testing"} if "tests" in path.parts else set())
        bad = [name for name in _core_imports(path) if name not in allowed]
        if bad:
            wrong[str(path)] = bad
    assert wrong == {}


# ---------------------------------------------------------------- the kit


class Settings(Schema):
    points_per_item = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=70))


class Uncapped(ScoringVariant):
    """10 points per completed item, and no cap: the sample items' 6 done items make 60."""

    key, version, title_vi, title_en = "uncapped", "1.0.0", "Không chặn trên", "Uncapped"
    settings_schema = Settings
    item_components = ("points",)

    def score_items(self, items, settings):
        return [{"points": settings["points_per_item"] if i["status"] == "done" else 0.0} for i in items]

    def period_score(self, sums, settings, facts):
        return {"task_score": max(0.0, sums["points"]), "components": {}, "provisional": False}


class Capped(Uncapped):
    def period_score(self, sums, settings, facts):
        return {"task_score": clamp(sums["points"], 0.0, TASK_SCORE_MAX), "components": {}, "provisional": False}


def test_an_uncapped_variant_passes_the_sample_check_but_not_the_probe():
    check_component(Uncapped())  # the 8 sample items: 6 done × 10 = 60, inside 0–70
    with pytest.raises(ConformanceError, match=r"task score of .* outside 0–70"):
        probe_component(Uncapped(), max_examples=30)
    probe_component(Capped(), max_examples=30)


class Unbounded(Schema):
    points_per_item = fields.Float(load_default=10.0)


class Negative(Schema):
    points_per_item = fields.Float(load_default=10.0, validate=validate.Range(min=-100, max=70))


def test_the_probe_refuses_settings_the_component_cannot_use():
    class TakesAnything(Capped):
        settings_schema = Unbounded

    class TakesNegatives(Uncapped):
        settings_schema = Negative

        def period_score(self, sums, settings, facts):  # capped above only: settings below 0 go below 0
            return {"task_score": min(TASK_SCORE_MAX, sums["points"]), "components": {}, "provisional": False}

    with pytest.raises(ConformanceError, match="setting 'points_per_item' accepts any number"):
        probe_component(TakesAnything())
    # −100 a done item gives a negative task score, which the core would refuse at run time.
    with pytest.raises(ConformanceError, match=r"task score of -"):
        probe_component(TakesNegatives(), max_examples=30)


class Fund(Schema):
    per_person = fields.Integer(load_default=1000, validate=validate.Range(min=0, max=10**6))


class LosesADong(BonusScheme):
    key, version, title_vi, title_en = "loses-a-dong", "1.0.0", "Mất một đồng", "Loses a đồng"
    settings_schema = Fund

    def default_fund(self, people, settings):
        return settings["per_person"] * len(people)

    def allocate(self, fund, people, settings):
        return [{"employee_id": p["employee_id"], "amount": fund // len(people)} for p in people]


def test_the_probe_finds_a_bonus_scheme_that_does_not_share_the_whole_fund():
    with pytest.raises(ConformanceError, match="not to the fund"):
        probe_component(LosesADong(), max_examples=50, shrink=False)


def _plugin(**hooks) -> SimpleNamespace:
    return SimpleNamespace(**hooks)


def test_check_plugin_loads_as_the_server_does():
    assert [c.key for c in check_plugin(_plugin(congvu_scoring_variants=hookimpl(lambda: [Capped()])))] == ["uncapped"]


@pytest.mark.parametrize(("hooks", "message"), [
    ({"congvu_scoring_variant": lambda: [Capped()]}, "unknown hook 'congvu_scoring_variant'"),
    ({"congvu_work_item_changed": lambda tenant_id, item_id, change, extra: None}, "extra"),
    ({"congvu_period_closed": lambda tenant_id, period="2026-10": None}, "default-valued parameters"),
    ({"congvu_scoring_variants": lambda: Capped()}, "not a list of components (return [Capped()])"),
    ({"congvu_scoring_variants": lambda: [Capped]}, "a class, not an instance"),
])
def test_check_plugin_names_what_would_stop_start_up(hooks, message):
    with pytest.raises(ConformanceError) as exc:
        check_plugin(_plugin(**{name: hookimpl(fn) for name, fn in hooks.items()}))
    assert message in str(exc.value)
    assert "plugin-under-test" in str(exc.value)


# ---------------------------------------------------------------- the scaffold


def test_plugins_new_refuses_bad_names_and_folders_in_use(tmp_path):
    from core.cli import main

    result = CliRunner().invoke(main, ["plugins", "new", "Acme_Points", "--dir", str(tmp_path / "a")])
    assert result.exit_code == 1 and "not a plugin name" in result.output
    assert not (tmp_path / "a").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mine.txt").write_text("a vendor's work")
    result = CliRunner().invoke(main, ["plugins", "new", "acme", "--dir", str(tmp_path / "b")])
    assert result.exit_code == 1 and "is not empty" in result.output
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["mine.txt"]


def test_plugins_new_writes_a_package_that_installs_and_passes_its_own_tests(tmp_path):
    from core.cli import main

    package = tmp_path / "congvu-acme-points"
    result = CliRunner().invoke(main, ["plugins", "new", "acme-points", "--dir", str(package)])
    assert result.exit_code == 0, result.output
    files = {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()}
    assert files == {"pyproject.toml", "README.md", ".gitignore", ".github/workflows/ci.yml",
                     "src/congvu_acme_points/__init__.py", "src/congvu_acme_points/plugin.py",
                     "src/congvu_acme_points/scoring.py", "src/congvu_acme_points/bonus.py",
                     "tests/test_congvu_acme_points.py"}
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points.congvu]\nacme-points = "congvu_acme_points.plugin"' in pyproject
    for component in ("scoring.py", "bonus.py"):  # each component carries its own version
        assert 'VERSION = "0.1.0"' in (package / "src" / "congvu_acme_points" / component).read_text()
    assert "python -m pytest" in (package / ".github" / "workflows" / "ci.yml").read_text()

    # A real install (not on sys.path by hand): the entry point is found through its dist-info.
    target = tmp_path / "site"
    done = _run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                 "--target", str(target), str(package)])
    assert done.returncode == 0, done.stderr
    assert (target / "congvu_acme_points-0.1.0.dist-info" / "entry_points.txt").exists()
    done = _run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package,
                env={"PYTHONPATH": str(target)})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout


# ---------------------------------------------------------------- the core as a library


def test_the_core_builds_as_a_wheel_with_types_the_kit_and_its_pytest_plugin(tmp_path):
    # From a copy: the build compiles the catalogues into its source tree as well (setup.py).
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("core", "plugins"):
        shutil.copytree(PROJECT_ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    done = _run([PYTHON, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
                 str(tmp_path / "dist"), str(source)], timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("congvu-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"core/py.typed", "core/plugins/toolkit.py", "core/plugins/testing.py", "core/plugins/pytest_plugin.py",
            "core/plugins/scaffold.py", "core/money.py", "core/periods.py",
            "core/translations/vi/LC_MESSAGES/messages.mo"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]\ncongvu = core.plugins.pytest_plugin" in text
    assert "[console_scripts]\ncongvu = core.cli:main" in text
    # The migrations ship inside the package: an installed wheel migrates a database
    # with no source tree anywhere near it.
    assert {"core/migrations/env.py", "core/migrations/alembic.ini",
            "core/migrations/versions/0001_foundation.py"} <= names
    site = tmp_path / "site"
    done = _run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)])
    assert done.returncode == 0, done.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import sys, core; from core.cli import main; print(core.__file__, flush=True); "
              "sys.argv = ['congvu', 'db', 'upgrade']; main()")
    done = _run([PYTHON, "-c", script], cwd=elsewhere, timeout=300,
                env={"PYTHONPATH": str(site), "CONGVU_PLUGINS": "none",
                     "CONGVU_DATABASE_URL": f"sqlite:///{tmp_path / 'installed.db'}"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.startswith(str(site / "core" / "__init__.py")), done.stdout[:500]
    import sqlite3

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    with sqlite3.connect(tmp_path / "installed.db") as conn:
        versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "core" / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert versions == [(head,)]
