"""Creating tenants (with their communes) and reading and changing their settings."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select
from vietnam_provinces import Province, VietNamDivisionType, Ward

from core.audit.services import record
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.org.models import OrgUnit
from core.tenancy import tenant_context
from core.tenants.models import (
    BEGINNING,
    COMPONENT_KINDS,
    MAX_CLOSE_AFTER_DAYS,
    MONTH_CLOSE_KIND,
    ComponentChoice,
    Tenant,
)

DEFAULT_SCORING_VARIANT = "decree335"
# The built-in connectors (plugins/imports.py) a new tenant may use from the start.
DEFAULT_IMPORT_CONNECTORS = ["staff-xlsx", "staff-csv", "catalogue-xlsx", "work-items-csv", "one-stop-dossiers"]
# Classification follows the law in force for the year classified: Decree 90/2020 before
# 2026, Decree 335/2025 from 1 January 2026 (domain.md, "Classification").
DEFAULT_CLASSIFICATION_SCHEMES = (("decree90", BEGINNING), ("decree335", date(2026, 1, 1)))
DEFAULT_BONUS_SCHEME = "decree73-pool"

_UNIT_KIND = {
    VietNamDivisionType.XA: "commune",
    VietNamDivisionType.PHUONG: "ward",
    VietNamDivisionType.DAC_KHU: "special_zone",
}


def tenant_view(tenant: Tenant, units_created: int | None = None) -> dict:
    merged_into = db.session.get(Tenant, tenant.merged_into_id).slug if tenant.merged_into_id else None
    view = {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "province_code": tenant.province_code,
            "status": tenant.status, "merged_into": merged_into}
    if units_created is not None:
        view["units_created"] = units_created
    return view


def get_tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def province_communes(province_code: int) -> list[Ward]:
    """The commune-level units of a current province; Invalid for an unknown code."""
    try:
        Province.from_code(province_code)
    except ValueError as exc:
        raise Invalid(f"Unknown province code {province_code}.",
                      {"province_code": [f"No current province has code {province_code}."]}) from exc
    return sorted(Ward.iter_by_province(province_code), key=lambda w: int(w.code))


def create_tenant(slug: str, name: str, province_code: int | None = None) -> tuple[Tenant, int]:
    """Create a tenant and, given a province code, its commune-level units, in the
    caller's transaction. Returns the tenant and the number of units created."""
    communes = province_communes(province_code) if province_code is not None else []
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict("Duplicate tenant slug.", {"slug": ["A tenant with this slug exists."]})
    tenant = Tenant(slug=slug, name=name, province_code=province_code)
    db.session.add(tenant)
    db.session.flush()
    with tenant_context(tenant.id):
        db.session.add_all(
            OrgUnit(code=str(int(w.code)), name=w.name, kind=_UNIT_KIND[w.division_type],
                    official_code=int(w.code))
            for w in communes
        )
        # A new tenant starts on the national rule; the choice is recorded like any other
        # and shown in its settings, so nothing is applied behind anyone's back.
        db.session.add(ComponentChoice(kind="scoring_variant", key=DEFAULT_SCORING_VARIANT, settings={},
                                       effective_from=BEGINNING))
        # Likewise the built-in import connectors: enabled and listed in the settings,
        # where an admin can take any of them away.
        db.session.add(ComponentChoice(kind="import_connectors", key="-",
                                       settings={"keys": list(DEFAULT_IMPORT_CONNECTORS)}, effective_from=BEGINNING))
        db.session.add_all(ComponentChoice(kind="classification_scheme", key=key, settings={}, effective_from=start)
                           for key, start in DEFAULT_CLASSIFICATION_SCHEMES)
        db.session.add(ComponentChoice(kind="bonus_scheme", key=DEFAULT_BONUS_SCHEME, settings={},
                                       effective_from=BEGINNING))
        db.session.flush()
        record("tenant.create", "tenant", tenant.id,
               after={"slug": slug, "name": name, "province_code": province_code, "units": len(communes),
                      "scoring_variant": DEFAULT_SCORING_VARIANT,
                      "classification_scheme": [[k, str(d)] for k, d in DEFAULT_CLASSIFICATION_SCHEMES],
                      "bonus_scheme": DEFAULT_BONUS_SCHEME})
    return tenant, len(communes)


# ---------------------------------------------------------------- settings


def choice_in_force(kind: str, on: date | None = None) -> ComponentChoice | None:
    """The tenant's component of `kind` in force on `on` (today by default)."""
    on = on or date.today()
    return db.session.scalar(_CHOICE_IN_FORCE, {"kind": kind, "on": on})


# Built once: every write that scores asks it (tenant-scoped at execution like any ORM statement).
_CHOICE_IN_FORCE = (select(ComponentChoice)
                    .where(ComponentChoice.kind == bindparam("kind"), ComponentChoice.effective_from <= bindparam("on"))
                    .order_by(ComponentChoice.effective_from.desc()).limit(1))


def settings_view(tenant: Tenant, on: date | None = None) -> dict:
    view: dict = {"morning_cutoff": tenant.morning_cutoff, "timezone": tenant.timezone}
    for kind in COMPONENT_KINDS:
        choice = choice_in_force(kind, on)
        if kind == "import_connectors":
            view[kind] = list(choice.settings.get("keys", [])) if choice else []
        else:
            view[kind] = ({"key": choice.key, "version": choice.version, "settings": choice.settings,
                           "effective_from": None if choice.effective_from == BEGINNING else choice.effective_from}
                          if choice else None)
    view["close_months_after_days"] = close_months_after_days()
    return view


def close_months_after_days() -> int | None:
    """After how many working days past its end the current tenant's month is closed by
    the scheduler; None when the tenant closes its months by hand (the default)."""
    choice = db.session.scalar(select(ComponentChoice).where(ComponentChoice.kind == MONTH_CLOSE_KIND)
                               .order_by(ComponentChoice.effective_from.desc()).limit(1))
    return choice.settings.get("after_working_days") if choice else None


def _check_close_after(value) -> int | None:
    # The API's schema checks this too; a pack (tenant.toml) reaches here unchecked.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CLOSE_AFTER_DAYS:
        raise Invalid(f"close_months_after_days must be a whole number from 1 to {MAX_CLOSE_AFTER_DAYS}, or null.",
                      {"close_months_after_days": [f"Use a whole number from 1 to {MAX_CLOSE_AFTER_DAYS}, or null."]})
    return value


def update_settings(tenant: Tenant, data: dict, validate_component=None) -> dict:
    """Apply a settings change; `validate_component(kind, key, settings, version=None)`
    returns the normalised settings or raises Invalid (the plugin manager provides it).
    A component's `version` pins the one the tenant adopts (null: the newest installed)."""
    before = settings_view(tenant)
    close_after = _check_close_after(data["close_months_after_days"]) if "close_months_after_days" in data else None
    if "timezone" in data:
        try:
            ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise Invalid("Unknown time zone.", {"timezone": ["Not a known IANA time zone."]}) from exc
        tenant.timezone = data["timezone"]
    if "morning_cutoff" in data:
        tenant.morning_cutoff = data["morning_cutoff"]
    for kind in ("scoring_variant", "classification_scheme", "bonus_scheme"):
        ref = data.get(kind)
        if ref is None:
            continue
        settings, version = ref.get("settings") or {}, ref.get("version") or None
        if validate_component is not None:
            settings = (validate_component(kind, ref["key"], settings, version=version) if version
                        else validate_component(kind, ref["key"], settings))
        _schedule(kind, ref["key"], settings, ref.get("effective_from") or BEGINNING, version)
        if kind == "scoring_variant":
            from core.scoring.services import mark_stale_from

            adopted = f" {version}" if version else ""
            mark_stale_from(ref.get("effective_from") or BEGINNING,
                            f"Scoring settings changed ({ref['key']}{adopted}); recalculate to apply them.")
    if "import_connectors" in data:
        keys = list(dict.fromkeys(data["import_connectors"]))
        if validate_component is not None:
            for key in keys:
                validate_component("import_connector", key, {})
        _schedule("import_connectors", "-", {"keys": keys}, BEGINNING)
    if "close_months_after_days" in data:
        _schedule(MONTH_CLOSE_KIND, "-", {"after_working_days": close_after}, BEGINNING)
    db.session.flush()
    after = settings_view(tenant)
    record("settings.update", "tenant", tenant.id, before=before, after=after)
    return after


def _schedule(kind: str, key: str, settings: dict, effective_from: date, version: str | None = None) -> None:
    choice = db.session.scalar(select(ComponentChoice).where(
        ComponentChoice.kind == kind, ComponentChoice.effective_from == effective_from))
    if choice is None:
        choice = ComponentChoice(kind=kind, effective_from=effective_from)
        db.session.add(choice)
    choice.key, choice.settings, choice.version = key, settings, version


# ---------------------------------------------------------------- components in force
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
            f"No {KIND_LABEL[kind]} is chosen for {on or date.today()}; choose one in the tenant's settings.",
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
