"""Creating tenants (with their communes) and reading and changing their settings."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from vietnam_provinces import Province, VietNamDivisionType, Ward

from core.audit.services import record
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.org.models import PAYING_KINDS, OrgUnit
from core.tenancy import tenant_context
from core.tenants.choices import choice_in_force
from core.tenants.defaults import defaults
from core.tenants.models import (
    BEGINNING,
    COMPONENT_KINDS,
    MAX_CLOSE_AFTER_DAYS,
    MONTH_CLOSE_KIND,
    ComponentChoice,
    Tenant,
)
from core.tenants.signals import component_scheduled

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


def find_tenant(slug: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def active_tenants() -> list[Tenant]:
    """The tenants in service, by name (what a form offers to choose from)."""
    return list(db.session.scalars(select(Tenant).where(Tenant.status == "active").order_by(Tenant.name)))


def all_tenants() -> list[Tenant]:
    """Every tenant, whatever its status, by slug (the platform operator's list)."""
    return list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))


def get_tenant(slug: str) -> Tenant:
    tenant = find_tenant(slug)
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def slug_of(tenant_id: int) -> str:
    """The slug of a tenant known to exist (the caller's own)."""
    return db.session.get(Tenant, tenant_id).slug


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
                    official_code=int(w.code), is_paying_unit=_UNIT_KIND[w.division_type] in PAYING_KINDS)
            for w in communes
        )
        # A new tenant starts on the national rules of the packs' defaults file; the
        # choices are recorded like any other and shown in its settings, so nothing is
        # applied behind anyone's back (and an admin can take any connector away).
        start = defaults()

        def choices(*kinds: str) -> list[ComponentChoice]:
            return [ComponentChoice(kind=c.kind, key=c.key, settings=dict(c.settings), effective_from=c.effective_from)
                    for kind in kinds for c in start.keys(kind)]

        db.session.add_all(choices("scoring_variant"))
        db.session.add(ComponentChoice(kind="import_connectors", key="-",
                                       settings={"keys": list(start.import_connectors)}, effective_from=BEGINNING))
        db.session.add_all(choices("classification_scheme", "bonus_scheme"))
        db.session.flush()
        record("tenant.create", "tenant", tenant.id,
               after={"slug": slug, "name": name, "province_code": province_code, "units": len(communes),
                      "scoring_variant": start.keys("scoring_variant")[-1].key,
                      "classification_scheme": [[c.key, str(c.effective_from)]
                                                for c in start.keys("classification_scheme")],
                      "bonus_scheme": start.keys("bonus_scheme")[-1].key})
    return tenant, len(communes)


# ---------------------------------------------------------------- settings


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
        effective_from = ref.get("effective_from") or BEGINNING
        _schedule(kind, ref["key"], settings, effective_from, version)
        component_scheduled.send(tenant, kind=kind, key=ref["key"], settings=settings, effective_from=effective_from,
                                 version=version)
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


def create_with_admin(slug: str, name: str, province_code: int | None, username: str) -> tuple[Tenant, int, str]:
    """A tenant (create_tenant) and its first tenant admin, in the caller's transaction: a
    province created without one would have nobody to sign in. The admin's temporary
    password is generated, returned once for the operator to hand over, and must be changed
    at the first sign-in. Returns the tenant, the units created and that password."""
    from core.auth.services import create_user, generate_password

    tenant, units = create_tenant(slug, name, province_code)
    password = generate_password()
    with tenant_context(tenant.id):
        user = create_user(username, password, ["tenant_admin"])
        user.must_change_password = True
        record("user.create", "user", user.id, after={"username": username, "roles": user.roles,
                                                      "must_change_password": True})
    return tenant, units, password
