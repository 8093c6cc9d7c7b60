"""The components a new tenant starts with, read from the tenant packs' defaults file
(core/tenants/defaults.toml), so the national rules are chosen in data, not in the core."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from core.tenants.models import BEGINNING

SINGLE_KINDS = ("scoring_variant", "classification_scheme", "bonus_scheme")
# Package data beside this module: an installed wheel creates tenants too (the packs are optional).
DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.toml"


@dataclass(frozen=True)
class DefaultChoice:
    kind: str
    key: str
    settings: dict
    effective_from: date


@dataclass(frozen=True)
class Defaults:
    choices: tuple[DefaultChoice, ...]  # single-choice kinds, each kind's choices oldest first
    import_connectors: tuple[str, ...]

    def keys(self, kind: str) -> list[DefaultChoice]:
        return [c for c in self.choices if c.kind == kind]


class DefaultsError(RuntimeError):
    """The defaults file is missing or malformed: no tenant can be created until it is fixed."""


def read_defaults(path: Path = DEFAULTS_FILE) -> Defaults:
    """The defaults in `path`, checked for shape (the components themselves are checked
    when a tenant uses them, as any choice is)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DefaultsError(f"The new tenants' components cannot be read from {path}: {exc}") from exc
    components = data.get("components")
    if not isinstance(components, dict):
        raise DefaultsError(f"{path}: no [components] table.")
    choices: list[DefaultChoice] = []
    for kind in SINGLE_KINDS:
        refs = components.get(kind)
        refs = [refs] if isinstance(refs, dict) else refs
        if not isinstance(refs, list) or not refs:
            raise DefaultsError(f"{path}: components.{kind} must be a {{key = …}} or a list of them.")
        found = []
        for ref in refs:
            start = ref.get("effective_from", BEGINNING) if isinstance(ref, dict) else None
            if not (isinstance(ref, dict) and isinstance(ref.get("key"), str) and isinstance(start, date)
                    and isinstance(ref.get("settings", {}), dict)):
                raise DefaultsError(f"{path}: components.{kind}: each choice needs a key, and a date as effective_from.")
            found.append(DefaultChoice(kind, ref["key"], dict(ref.get("settings", {})), start))
        starts = [c.effective_from for c in found]
        if starts != sorted(set(starts)) or starts[0] != BEGINNING:
            raise DefaultsError(f"{path}: components.{kind}: the first choice holds from the beginning "
                                "(no effective_from), the others in date order, one per date.")
        choices += found
    connectors = components.get("import_connectors", [])
    if not isinstance(connectors, list) or not all(isinstance(k, str) for k in connectors):
        raise DefaultsError(f"{path}: components.import_connectors must be a list of connector keys.")
    return Defaults(tuple(choices), tuple(connectors))


@lru_cache(maxsize=1)
def defaults() -> Defaults:
    """The defaults file, read once per process."""
    return read_defaults()
