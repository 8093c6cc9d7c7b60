"""`congvu plugins new NAME`: a new plugin package a vendor can build on.

The package has a scoring variant and a bonus scheme, each with its own version, the
hookimpls, tests that use the conformance kit (core/plugins/testing.py) and the pytest
fixture that scores a generated month through the plugin's entry point
(core/plugins/pytest_plugin.py), and a CI workflow. The generated tests pass as they
are: the scaffold's own test (tests/plugins/test_plugin_sdk.py) installs a fresh package
and runs them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """The name or the target folder cannot be used; nothing was written."""


def package_name(name: str) -> str:
    return "congvu_" + name.replace("-", "_")


def plan(name: str) -> dict[str, str]:
    """The package's files (relative path → text) for plugin ``name``."""
    if not NAME_PATTERN.match(name or "") or len(name) > 60:
        raise ScaffoldError(f"'{name}' is not a plugin name: use lower-case letters, digits and single hyphens, "
                            f"starting with a letter (e.g. acme-points), at most 60 characters.")
    package = package_name(name)
    values = {"name": name, "package": package, "title": name.replace("-", " ").title()}
    return {path.format(**values): text.format(**values) for path, text in _TEMPLATES.items()}


def write(name: str, directory: str | Path | None = None) -> Path:
    """Write the package into ``directory`` (default: ./congvu-NAME); returns the folder.
    Refuses an existing non-empty folder rather than overwrite a vendor's work."""
    files = plan(name)
    root = Path(directory) if directory is not None else Path.cwd() / f"congvu-{name}"
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{root} exists and is not empty; choose another folder with --dir.")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# Templates use str.format: {name}, {package}, {title}; literal braces are doubled.
_TEMPLATES: dict[str, str] = {}

_TEMPLATES["pyproject.toml"] = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "congvu-{name}"
version = "0.1.0"
description = "A congvu plugin: a scoring variant and a bonus scheme"
requires-python = ">=3.11"
# The toolkit's stability promise is per major version (the core's CHANGELOG.md).
dependencies = ["congvu>=0.1,<1"]

[project.optional-dependencies]
test = ["pytest>=8", "hypothesis>=6.100"]

# The plugin's name on the left: the operator enables it in CONGVU_PLUGINS.
[project.entry-points.congvu]
{name} = "{package}.plugin"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

_TEMPLATES["README.md"] = '''# congvu-{name}

A congvu plugin (plugin name `{name}`) with two components, each versioned on its own:

- scoring variant `{name}`: 10 × the complexity coefficient per completed item, less 2
  per missed deadline, as a task score from 0 to 70 (both numbers are settings);
- bonus scheme `{name}-bonus`: the fund shared 2 : 1 : 0.5 : 0 by classification level
  (HTXS, HTT, HT, KHT), to the đồng.

```sh
pip install congvu                     # or a wheel of it: pip install congvu-0.1.0-py3-none-any.whl
pip install -e ".[test]"
python -m pytest
```

Bump a component's `VERSION` whenever its results can change (docs/writing-a-plugin.md
in congvu, "Versions and upgrades"); the distribution's version is separate.
'''

_TEMPLATES["src/{package}/__init__.py"] = '''"""The congvu plugin {name}."""
'''

_TEMPLATES["src/{package}/scoring.py"] = '''"""Scoring variant {name}: points per completed item, less a penalty per missed
deadline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.plugins.toolkit import TASK_SCORE_MAX, PeriodScore, Schema, ScoringVariant, clamp, fields, validate

# This component's own version: bump it when its results can change.
VERSION = "0.1.0"


class Settings(Schema):
    points_per_item = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=70), metadata={{
        "label_vi": "Điểm mỗi việc hoàn thành (nhân hệ số phức tạp)",
        "label_en": "Points per completed item (times the complexity coefficient)"}})
    deadline_penalty = fields.Float(load_default=2.0, validate=validate.Range(min=0, max=70), metadata={{
        "label_vi": "Điểm trừ mỗi lần trễ hạn", "label_en": "Points off per missed deadline"}})


class Points(ScoringVariant):
    key = "{name}"
    version = VERSION
    title_vi = "Điểm theo việc hoàn thành ({title})"
    title_en = "Points per completed item ({title})"
    settings_schema = Settings
    item_components = ("points", "missed")
    labels = {{"points": ("điểm việc hoàn thành", "points for completed items"),
              "missed": ("số lần trễ hạn", "missed deadlines"),
              "penalty": ("điểm trừ trễ hạn", "points off for missed deadlines")}}

    def score_items(self, items: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[dict[str, float]]:
        out = []
        for item in items:
            done = item["status"] == "done"
            points = settings["points_per_item"] * float(item["complexity_coefficient"]) if done else 0.0
            missed = 0 if item["exempt"] else int(item["missed_deadlines"] or 0)
            out.append({{"points": round(points, 6), "missed": missed}})
        return out

    def period_score(self, sums: Mapping[str, float], settings: Mapping[str, Any],
                     facts: Mapping[str, Any]) -> PeriodScore:
        penalty = settings["deadline_penalty"] * float(sums["missed"])
        # The cap is the variant's to keep: a week, a month and a quarter all end in 0–70.
        task = clamp(float(sums["points"]) - penalty, 0.0, TASK_SCORE_MAX)
        return {{"task_score": round(task, 2),
                "components": {{"points": round(float(sums["points"]), 4), "penalty": round(penalty, 4)}},
                "provisional": False}}
'''

_TEMPLATES["src/{package}/bonus.py"] = '''"""Bonus scheme {name}-bonus: the fund shared by classification level, to the đồng."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.plugins.toolkit import Allocation, BonusScheme, Schema, allocate_exact, fields, validate

# This component's own version, separate from the scoring variant's.
VERSION = "0.1.0"
WEIGHTS = {{"HTXS": 2.0, "HTT": 1.0, "HT": 0.5, "KHT": 0.0}}


class Settings(Schema):
    fund_per_person = fields.Integer(load_default=1_000_000, validate=validate.Range(min=0, max=1_000_000_000),
                                     metadata={{"label_vi": "Quỹ mặc định mỗi người (đồng)",
                                               "label_en": "Default fund per person (đồng)"}})


class ByLevel(BonusScheme):
    key = "{name}-bonus"
    version = VERSION
    title_vi = "Thưởng theo mức xếp loại 2 : 1 : 0,5 : 0 ({title})"
    title_en = "Bonus by level 2 : 1 : 0.5 : 0 ({title})"
    settings_schema = Settings

    def default_fund(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> int:
        return settings["fund_per_person"] * len(people)

    def allocate(self, fund: int, people: Sequence[Mapping[str, Any]],
                 settings: Mapping[str, Any]) -> list[Allocation]:
        weights = {{p["employee_id"]: WEIGHTS.get(p["level"] or "", 0.0) for p in people}}
        if fund and not any(weights.values()):
            # The whole fund must be shared; with no level earning a share, equally.
            weights = dict.fromkeys(weights, 1.0)
        shares = allocate_exact(fund, weights) if people else {{}}
        return [{{"employee_id": p["employee_id"], "amount": shares[p["employee_id"]]}} for p in people]
'''

_TEMPLATES["src/{package}/plugin.py"] = '''"""The hookimpls of the plugin {name}: what congvu loads through the entry point."""

from __future__ import annotations

from core.plugins.toolkit import hookimpl

from {package}.bonus import ByLevel
from {package}.scoring import Points


@hookimpl
def congvu_scoring_variants():
    return [Points()]


@hookimpl
def congvu_bonus_schemes():
    return [ByLevel()]
'''

_TEMPLATES["tests/test_{package}.py"] = '''"""The plugin's own tests: the conformance kit, extremes, hand-worked numbers, and a
month scored through the entry point by a throwaway congvu."""

from __future__ import annotations

from decimal import Decimal

from core.plugins.testing import (
    check_component,
    check_plugin,
    probe_component,
    sample_item,
    sample_people,
)

from {package} import plugin
from {package}.bonus import ByLevel
from {package}.scoring import Points


def test_the_hookimpls_and_components_load_as_congvu_loads_them():
    components = check_plugin(plugin)
    assert sorted(c.key for c in components) == ["{name}", "{name}-bonus"]


def test_components_conform():
    check_component(Points())
    check_component(Points(), settings={{"points_per_item": 0, "deadline_penalty": 70}})
    check_component(ByLevel())


def test_every_accepted_setting_and_extreme_item_stays_in_bounds():
    probe_component(Points())
    probe_component(ByLevel())


def test_points_worked_by_hand():
    variant, settings = Points(), Points().load_settings({{}})
    items = [sample_item(complexity_coefficient=Decimal("1.2")),       # 10 × 1.2 = 12 points
             sample_item(missed_deadlines=2),                         # 10 points, 2 missed
             sample_item(missed_deadlines=1, exempt=True),            # 10 points, exempt: 0 missed
             sample_item(status="in_progress", completed_at=None)]    # 0 points
    scored = variant.score_items(items, settings)
    assert scored == [{{"points": 12.0, "missed": 0}}, {{"points": 10.0, "missed": 2}},
                      {{"points": 10.0, "missed": 0}}, {{"points": 0.0, "missed": 0}}]
    # 32 points − 2 × 2 = 28
    assert variant.period_score({{"points": 32.0, "missed": 2}}, settings, {{}})["task_score"] == 28.0
    # 9 items of 10 points: 90, capped at 70
    assert variant.period_score({{"points": 90.0, "missed": 0}}, settings, {{}})["task_score"] == 70.0


def test_bonus_shared_2_1_half_0_to_the_dong():
    scheme = ByLevel()
    people = [dict(p, level=level) for p, level in zip(sample_people(), ["HTXS", "HTT", "HT", "KHT"], strict=False)]
    # weights 2 + 1 + 0.5 + 0 = 3.5 for 1,000,001 đồng: quotas 571,429.14, 285,714.57, 142,857.29, 0;
    # the floors sum to 1,000,000 and the last đồng goes to the largest remainder (.57, HTT)
    amounts = [a["amount"] for a in scheme.allocate(1_000_001, people, scheme.load_settings({{}}))]
    assert amounts == [571_429, 285_715, 142_857, 0] and sum(amounts) == 1_000_001


def test_a_generated_month_scored_through_the_entry_point(congvu_month):
    month = congvu_month("{name}", scoring_variant="{name}")
    assert month.variant["key"] == "{name}" and month.variant["version"] == "0.1.0"
    assert month.scores and all(0 <= s["task_score"] <= 70 for s in month.scores)
'''

_TEMPLATES[".github/workflows/ci.yml"] = '''name: tests
on: [push, pull_request]

jobs:
  test:
    runs-on: ubuntu-latest
    env:
      # Where congvu comes from: a package index name, or a wheel or sdist built from the
      # congvu repository (`python -m build` there) and published where CI can reach it.
      CONGVU_PACKAGE: ${{{{ vars.CONGVU_PACKAGE || 'congvu' }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python -m pip install --upgrade pip
      - run: python -m pip install "$CONGVU_PACKAGE" -e ".[test]"
      - run: python -m pytest -q
'''

_TEMPLATES[".gitignore"] = '''__pycache__/
*.egg-info/
build/
dist/
.venv/
'''


def new_command() -> Any:
    """The click command `congvu plugins new NAME [--dir D]` (registered by core/cli/plugins.py)."""
    import click

    @click.command("new")
    @click.argument("name")
    @click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Where to write the package (default: ./congvu-NAME); must not exist or be empty.")
    def new(name: str, directory: Path | None) -> None:
        """Write a new plugin package NAME: a scoring variant and a bonus scheme, each with its
        own version, the entry point, tests using congvu's test kit, and a CI workflow."""
        try:
            root = write(name, directory)
        except ScaffoldError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"wrote {root} (plugin '{name}', package {package_name(name)})")
        click.echo(f"next: pip install -e '{root}[test]' && python -m pytest {root}")

    return new
