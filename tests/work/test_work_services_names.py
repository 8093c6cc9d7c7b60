"""Every reference to the work services resolves: `from core.work.services import X`,
`services.X` after `from core.work import services`, imports from its modules, and
the dotted strings tests hand to monkeypatch. The services are a package of modules
(core/work/services/); a name moved between them, or dropped from the package's
re-exports, fails here instead of at the first request that reaches it."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "core.work.services"
SCANNED = ("core", "plugins", "tests", "bench", "examples")
DOTTED = re.compile(r"\bcore\.work\.services(?:\.\w+)+")


def _sources() -> list[Path]:
    own = Path(__file__).resolve()  # its strings name what is missing on purpose
    return [p for top in SCANNED for p in (ROOT / top).rglob("*.py") if "build" not in p.parts and p != own]


def _resolves(dotted: str) -> bool:
    """A module, or an attribute of the longest importable module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def _references(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}  # a local name bound to the package or one of its modules
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE or node.module.startswith(PACKAGE + "."):
                for a in node.names:
                    found.append((node.lineno, f"{node.module}.{a.name}"))
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif node.module == "core.work":
                for a in node.names:
                    if a.name == "services":
                        aliases[a.asname or a.name] = PACKAGE
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, m) for m in DOTTED.findall(node.value)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            target = aliases[node.value.id]
            if _is_module(target):  # `services.declare`, `leaves.get_leave`; not a function's attributes
                found.append((node.lineno, f"{target}.{node.attr}"))
    return found


def _is_module(dotted: str) -> bool:
    try:
        importlib.import_module(dotted)
        return True
    except ModuleNotFoundError:
        return False


def test_every_reference_to_the_work_services_resolves():
    checked, broken = 0, []
    for path in _sources():
        if "core.work" not in path.read_text(encoding="utf-8"):
            continue
        for line, dotted in _references(path):
            checked += 1
            if not _resolves(dotted):
                broken.append(f"{path.relative_to(ROOT)}:{line}: {dotted}")
    assert broken == []
    assert checked > 100  # the scan found the API's, the pages' and the tests' uses


def test_the_check_catches_a_name_that_is_not_there():
    assert _resolves("core.work.services.declare")
    assert _resolves("core.work.services.events.emit")
    assert not _resolves("core.work.services.emit")  # moved to the events module
    assert not _resolves("core.work.services.no_such_name")
