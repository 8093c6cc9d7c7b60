"""docs/writing-a-plugin.md against the code: every item field a variant receives, every
hook and every component attribute or method the core reads is documented, the kit's
sample item carries every field, and the docs point nowhere outside the repository."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from core import PROJECT_ROOT
from core.plugins import components, hookspecs
from core.plugins.sql import NUMERIC_FIELDS, PLAIN_FIELDS
from core.plugins.testing import sample_item, sample_items

GUIDE = (PROJECT_ROOT / "docs" / "writing-a-plugin.md").read_text(encoding="utf-8")
BASES = (components.Component, components.ScoringVariant, components.ClassificationScheme,
         components.BonusScheme, components.ImportConnector, components.LiveConnector)


def _section(title: str) -> str:
    start = GUIDE.index(title)
    following = re.search(r"^#{2,3} ", GUIDE[start + len(title):], re.M)
    return GUIDE[start: start + len(title) + following.start()] if following else GUIDE[start:]


def _named(text: str) -> set[str]:
    """Every name written as code: `name` or `name(args)`."""
    return {m.group(1) for m in re.finditer(r"`([A-Za-z_][A-Za-z0-9_]*)(?:\([^`]*\))?`", text)}


def item_fields() -> set[str]:
    """The keys of the dict the core scores, from the core's own code (the columns it reads
    and what item_facts derives from them)."""
    from core.scoring.kernel import ITEM_COLUMNS, item_facts

    row = {column.key: None for column in ITEM_COLUMNS}
    row.update(status="done", not_reported=True, completed_at=datetime(2026, 10, 5, 9, tzinfo=UTC))
    tenant = SimpleNamespace(timezone="Asia/Ho_Chi_Minh")
    return set(item_facts(SimpleNamespace(_mapping=row), tenant, date(2026, 10, 31)))


def test_every_item_field_is_in_the_guides_table():
    fields = item_fields()
    # What the engine gives today, so a field added to the core shows up here and in the guide.
    assert {"as_of", "completed_on", "report_late", "not_reported", "complexity_level", "employee_id"} <= fields
    table = {m.group(1) for m in re.finditer(r"^\| `(\w+)` \|", _section("### Item fields"), re.M)}
    assert fields - table == set(), "item fields missing from docs/writing-a-plugin.md's table"
    assert table - fields == set(), "the table names fields the core does not give"


def test_the_sql_item_offers_only_documented_fields():
    sql_fields = set(NUMERIC_FIELDS) | set(PLAIN_FIELDS) | {"task_type_code", "group", "completed_on", "as_of",
                                                              "report_late"}
    assert sql_fields <= item_fields()


def test_the_kits_sample_item_carries_every_field_with_the_derived_ones_consistent():
    assert set(sample_item()) == item_fields()
    late = sample_item(not_reported=True)
    assert late["report_late"] is True and sample_item()["report_late"] is False
    # 09:00 UTC is 16:00 in Vietnam, the same day; 20:00 UTC is the next day there.
    assert sample_item()["completed_on"] == date(2026, 10, 5)
    assert sample_item(completed_at=datetime(2026, 10, 5, 20, tzinfo=UTC))["completed_on"] == date(2026, 10, 6)
    assert sample_item(status="in_progress", completed_at=None)["completed_on"] is None
    assert all(set(item) == item_fields() for item in sample_items())
    assert any(item["report_late"] for item in sample_items())


def test_every_hook_is_in_the_reference():
    reference = _named(_section("## Reference: every hook, attribute and method"))
    hooks = {name for name in vars(hookspecs) if name.startswith(hookspecs.PROJECT + "_")}
    assert len(hooks) == 10
    assert hooks - reference == set()
    # A hook is written with its parentheses; `congvu_vendor_example` is a package.
    documented_hooks = set(re.findall(r"`(congvu_\w+)\(", GUIDE))
    assert documented_hooks - hooks == set(), "the guide names hooks that do not exist"


@pytest.mark.parametrize("base", BASES, ids=lambda b: b.__name__)
def test_every_component_attribute_and_method_is_in_the_reference(base):
    reference = _named(_section("## Reference: every hook, attribute and method"))
    public = {name for name in vars(base) if not name.startswith("_")}
    assert public, base
    assert public - reference == set()


def test_per_day_and_adjust_day_are_part_of_the_variant_contract():
    variant = components.ScoringVariant()
    assert variant.per_day is False
    assert variant.adjust_day({"points": 3.0}, {}) == {"points": 3.0}


def test_repository_docs_point_nowhere_outside_it():
    roots = [PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").rglob("*.md"),
             *(PROJECT_ROOT / "core").rglob("*.py"), *(PROJECT_ROOT / "plugins").rglob("*.py"),
             *(p for p in (PROJECT_ROOT / "examples").rglob("*") if p.suffix in (".py", ".md", ".toml"))]
    offenders = [str(p.relative_to(PROJECT_ROOT)) for p in roots
                 if re.search(r"\.\./shared|shared/docs", p.read_text(encoding="utf-8"))]
    assert offenders == []
    # Relative links in the docs resolve inside the repository.
    broken = []
    for doc in [PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (doc.parent / target).resolve()
            if not path.exists() or PROJECT_ROOT.resolve() not in path.parents:
                broken.append(f"{doc.name} → {target}")
    assert broken == []


def test_the_guide_names_the_files_it_points_at():
    for path in re.findall(r"`((?:core|tests|examples|plugins)/[\w/.-]+\.py)`", GUIDE):
        assert (PROJECT_ROOT / path).exists() or Path(path).name.startswith("test_"), path
