"""The tenant's component choices: which scoring variant, classification and bonus
scheme and import connectors the current tenant uses on a day, and what an admin must
fix among them. Read by scoring, classification, bonus and imports; written by the
tenants' settings (core/tenants/services.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select

from core.errors import Invalid
from core.extensions import db
from core.tenants.models import BEGINNING, ComponentChoice
from core.work.calendar import local_today


def choice_in_force(kind: str, on: date | None = None) -> ComponentChoice | None:
    """The tenant's component of `kind` in force on `on` (the tenant's today by default)."""
    on = on or local_today()
    return db.session.scalar(_CHOICE_IN_FORCE, {"kind": kind, "on": on})


# Built once: every write that scores asks it (tenant-scoped at execution like any ORM statement).
_CHOICE_IN_FORCE = (select(ComponentChoice)
                    .where(ComponentChoice.kind == bindparam("kind"), ComponentChoice.effective_from <= bindparam("on"))
                    .order_by(ComponentChoice.effective_from.desc()).limit(1))


# The plugin manager knows what is installed; these say what the current tenant chose.


def schedule(kind: str) -> list[ComponentChoice]:
    """Every choice of `kind` the current tenant made, oldest first (the effective-dated plan)."""
    return list(db.session.scalars(
        select(ComponentChoice).where(ComponentChoice.kind == kind).order_by(ComponentChoice.effective_from)))


def component_for(kind: str, on: date | None = None):
    """The component of `kind` ("scoring_variant", "classification_scheme" or
    "bonus_scheme") the current tenant uses on `on` (today by default), with its settings
    loaded: a `core.plugins.manager.ChosenComponent`.

    Raises ComponentMissing (409) when the tenant chose none for that day or chose one
    that is not installed, not enabled or no longer accepts its stored settings — never
    a silent default, which would change the tenant's results without anyone noticing.
    """
    from core.plugins.manager import KIND_LABEL, ComponentMissing, current_manager, current_tenant_slug

    if kind not in ("scoring_variant", "classification_scheme", "bonus_scheme"):
        raise ValueError(f"not a single-choice component kind: {kind}")
    choice = choice_in_force(kind, on)
    if choice is None:
        raise ComponentMissing(
            f"No {KIND_LABEL[kind]} is chosen for {on or local_today()}; choose one in the tenant's settings.",
            {kind: {"key": ["Not chosen."]}}, code="component_not_chosen")
    effective = None if choice.effective_from == BEGINNING else choice.effective_from
    return current_manager().choose(kind, choice.key, choice.settings, current_tenant_slug(), effective,
                                    choice.version)


def connector_for(key: str):
    """The import connector `key` with its default settings, if the current tenant enabled it
    (else Invalid) and it is installed (else ComponentMissing)."""
    from core.plugins.manager import current_manager, current_tenant_slug

    choice = choice_in_force("import_connectors")
    if key not in (choice.settings.get("keys", []) if choice else []):
        raise Invalid(f"The import connector '{key}' is not enabled for this tenant.",
                      {"connector": [f"'{key}' is not one of the tenant's import connectors."]})
    return current_manager().choose("import_connector", key, {}, current_tenant_slug())


def component_warnings() -> list[dict]:
    """What an admin must fix: every scheduled choice whose component cannot be used
    (not installed, not enabled, or stored settings it no longer accepts), and every
    adopted version no longer installed (the newest is used meanwhile)."""
    from core.plugins.manager import KIND_LABEL, ComponentMissing, current_manager, current_tenant_slug

    manager, slug, warnings = current_manager(), current_tenant_slug(), []
    for kind in ("scoring_variant", "classification_scheme", "bonus_scheme"):
        for choice in schedule(kind):
            effective = None if choice.effective_from == BEGINNING else choice.effective_from
            try:
                chosen = manager.choose(kind, choice.key, choice.settings, slug, effective, choice.version)
            except ComponentMissing as exc:
                warnings.append({"kind": kind, "key": choice.key, "effective_from": effective,
                                 "code": exc.code, "message": exc.message})
                continue
            if choice.version and chosen.component.version != choice.version:
                warnings.append({
                    "kind": kind, "key": choice.key, "effective_from": effective, "code": "component_version_missing",
                    "adopted": choice.version,
                    "message": f"Version {choice.version} of the {KIND_LABEL[kind]} '{choice.key}' adopted by "
                               f"this tenant is no longer installed; version {chosen.component.version} is used "
                               f"instead (open months are recalculated with it). Adopt an installed version to "
                               f"confirm."})
    choice = choice_in_force("import_connectors")
    for key in choice.settings.get("keys", []) if choice else []:
        if manager.registered("import_connector", key, slug) is None:
            warnings.append({"kind": "import_connector", "key": key, "effective_from": None,
                             "code": "component_missing",
                             "message": f"The import connector '{key}' is not installed or not enabled."})
    return warnings
