"""Province packs: `tenants/<slug>/tenant.toml` and its catalogue files, applied with
`congvu tenant apply tenants/<slug>`.

Applying is idempotent: each entry is compared with what the tenant has and written
only when it differs, so a second apply writes nothing (not even an audit event) and
says so. A pack adds and updates; it never deletes what the tenant made itself.

tenant.toml: slug, name, province_code (creates the communes of a current province),
timezone, morning_cutoff, close_months_after_days (working days after month end at which
the scheduler closes a month; absent: closed by hand), [components] (scoring_variant, classification_scheme,
bonus_scheme as {key, settings, effective_from}; import_connectors as a list),
[catalogue] file names (units, positions, competencies, task_types) and [[calendar]]
days (day, kind day_off|working_day, name).

A unit entry's `paying_unit` marks a paying unit (đơn vị dự toán, Decree 73/2024: the
bonus fund is its own); absent, a commune, ward or special zone is one (each is a level
of the state budget under the Law on the State Budget 2015 as amended) and other units
are not. A position entry's `regime` (cong_chuc, vien_chuc, can_bo, nguoi_lao_dong) is
the regime of whoever holds it when none is recorded for the person: `can_bo` for an
elected office.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from core import unit_of_work
from core.audit.services import record
from core.catalogue import services as catalogue
from core.catalogue.models import BEGINNING, TASK_GROUPS, Competency, NormVersion, TaskType
from core.errors import Invalid
from core.extensions import db
from core.org import services as org
from core.org.models import PAYING_KINDS, POSITION_GROUPS, UNIT_KINDS, JobPosition, OrgUnit
from core.plugins.components import REGIMES
from core.tenancy import tenant_context
from core.tenants import choices
from core.tenants import services as tenants
from core.tenants.models import Tenant
from core.work.models import CALENDAR_KINDS, CalendarDay

COMPONENT_KEYS = ("scoring_variant", "classification_scheme", "bonus_scheme")


@dataclass
class ApplyResult:
    slug: str
    created: bool = False
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


# ---------------------------------------------------------------- reading


def _read_toml(path: Path, what: str) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise Invalid(f"The pack has no {path.name}.", {what: [f"{path} does not exist."]}) from exc
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{path.name} is not valid TOML: {exc}.", {what: [str(exc)]}) from exc


def _require(entry: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in entry]
    if missing:
        raise Invalid(f"{where}: missing {', '.join(missing)}.", {where: [f"Missing {', '.join(missing)}."]})


def load_pack(directory: str | Path) -> dict[str, Any]:
    """The pack as plain data, checked enough that applying it cannot half-fail on shape."""
    root = Path(directory)
    if not root.is_dir():
        raise Invalid(f"{root} is not a pack directory.", {"pack": [f"{root} is not a directory."]})
    pack = _read_toml(root / "tenant.toml", "tenant.toml")
    _require(pack, ("slug", "name"), "tenant.toml")
    files = pack.get("catalogue", {})
    pack["units"] = _read_toml(root / files["units"], "units")["unit"] if "units" in files else []
    pack["positions"] = _read_toml(root / files["positions"], "positions")["position"] if "positions" in files else []
    pack["competencies"] = (_read_toml(root / files["competencies"], "competencies")["competency"]
                            if "competencies" in files else [])
    types = _read_toml(root / files["task_types"], "task_types") if "task_types" in files else {}
    pack["task_types"] = types.get("task_type", [])
    pack["norms_from"] = types.get("effective_from", BEGINNING)
    pack["default_levels"] = types.get("complexity_levels", [])
    _check(pack)
    return pack


def _check(pack: dict) -> None:
    for i, u in enumerate(pack["units"]):
        _require(u, ("code", "name", "kind"), f"units[{i}]")
        if u["kind"] not in UNIT_KINDS:
            raise Invalid(f"units[{i}]: unknown kind {u['kind']}.", {f"units[{i}]": ["Unknown kind."]})
        if not isinstance(u.get("paying_unit", False), bool):
            raise Invalid(f"units[{i}]: paying_unit is true or false.", {f"units[{i}]": ["paying_unit: true or false."]})
    for i, p in enumerate(pack["positions"]):
        _require(p, ("code", "name", "group"), f"positions[{i}]")
        if p["group"] not in POSITION_GROUPS:
            raise Invalid(f"positions[{i}]: unknown group {p['group']}.", {f"positions[{i}]": ["Unknown group."]})
        if p.get("regime") is not None and p["regime"] not in REGIMES:
            raise Invalid(f"positions[{i}]: unknown regime {p['regime']}.", {f"positions[{i}]": ["Unknown regime."]})
    for i, c in enumerate(pack["competencies"]):
        _require(c, ("code", "name"), f"competencies[{i}]")
    for i, t in enumerate(pack["task_types"]):
        _require(t, ("code", "name", "group", "unit_of_measure", "norm_minutes"), f"task_types[{i}]")
        if t["group"] not in TASK_GROUPS:
            raise Invalid(f"task_types[{i}]: unknown group {t['group']}.", {f"task_types[{i}]": ["Unknown group."]})
    for i, d in enumerate(pack.get("calendar", [])):
        _require(d, ("day", "kind"), f"calendar[{i}]")
        if d["kind"] not in CALENDAR_KINDS or not isinstance(d["day"], date):
            raise Invalid(f"calendar[{i}]: a TOML date and a kind of {', '.join(CALENDAR_KINDS)}.",
                          {f"calendar[{i}]": ["Invalid day or kind."]})


# ---------------------------------------------------------------- applying


def apply_pack(directory: str | Path) -> ApplyResult:
    """Create or update the pack's tenant in the caller's transaction."""
    pack = load_pack(directory)
    result = ApplyResult(pack["slug"])
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == pack["slug"]))
    if tenant is None:
        tenant, units = tenants.create_tenant(pack["slug"], pack["name"], pack.get("province_code"))
        result.created = True
        result.changes.append(f"created tenant {tenant.slug} with {units} units")
    elif tenant.status != "active":
        raise Invalid(f"Tenant {tenant.slug} is {tenant.status}; a pack applies only to an active tenant.",
                      {"slug": [f"The tenant is {tenant.status}."]})
    with tenant_context(tenant.id):
        if tenant.name != pack["name"]:
            record("tenant.update", "tenant", tenant.id, before={"name": tenant.name}, after={"name": pack["name"]})
            tenant.name = pack["name"]
            result.changes.append("name")
        _apply_settings(tenant, pack, result)
        _apply_units(pack["units"], result)
        _apply_positions(pack["positions"], result)
        _apply_competencies(pack["competencies"], result)
        _apply_task_types(pack, result)
        _apply_calendar(pack.get("calendar", []), result)
        db.session.flush()
    return result


def _apply_settings(tenant: Tenant, pack: dict, result: ApplyResult) -> None:
    current = tenants.settings_view(tenant)
    wanted: dict[str, Any] = {k: pack[k] for k in ("timezone", "morning_cutoff", "close_months_after_days")
                             if k in pack and pack[k] != current[k]}
    components = pack.get("components", {})
    for kind in COMPONENT_KEYS:
        if kind not in components:
            continue
        ref = dict(components[kind])
        ref.setdefault("settings", {})
        ref["effective_from"] = ref.get("effective_from")
        in_force = choices.choice_in_force(kind, ref["effective_from"] or BEGINNING)
        same_start = in_force is not None and (in_force.effective_from == (ref["effective_from"] or BEGINNING))
        # Compare settings after normalising them as the component would store them,
        # else defaults filled in on the first apply look like a change on the second.
        normalised = _normalise(kind, ref["key"], ref["settings"])
        if not (same_start and in_force.key == ref["key"] and in_force.settings == normalised):
            wanted[kind] = ref
    if "import_connectors" in components and list(components["import_connectors"]) != current["import_connectors"]:
        wanted["import_connectors"] = list(components["import_connectors"])
    if wanted:
        tenants.update_settings(tenant, wanted, _validator())
        result.changes.append("settings: " + ", ".join(sorted(wanted)))


def _validator():
    manager = current_app.extensions.get("congvu_plugins")
    return getattr(manager, "validate_component", None)


def _normalise(kind: str, key: str, settings: dict) -> dict:
    validate = _validator()
    return validate(kind, key, settings) if validate is not None else settings


def _apply_units(units: list[dict], result: ApplyResult) -> None:
    existing = {u.code: u for u in db.session.scalars(select(OrgUnit))}
    for entry in units:  # parents come before their children in a pack
        parent_code = entry.get("parent")
        if parent_code is not None and parent_code not in existing:
            raise Invalid(f"Unit {entry['code']}: parent {parent_code} is not defined before it.",
                          {"units": [f"Unknown parent {parent_code}."]})
        data = {"code": entry["code"], "name": entry["name"], "kind": entry["kind"],
                "parent_id": existing[parent_code].id if parent_code else None,
                "is_paying_unit": entry.get("paying_unit", entry["kind"] in PAYING_KINDS)}
        unit = existing.get(entry["code"])
        if unit is None:
            existing[entry["code"]] = org.create_unit(data)
            result.changes.append(f"unit {entry['code']} created")
            continue
        diff = {k: v for k, v in data.items() if getattr(unit, k) != v}
        if diff:
            org.update_unit(unit, diff)
            result.changes.append(f"unit {entry['code']} updated")


def _apply_positions(positions: list[dict], result: ApplyResult) -> None:
    existing = {p.code: p for p in db.session.scalars(select(JobPosition))}
    for entry in positions:
        data = {"code": entry["code"], "name": entry["name"], "group": entry["group"], "regime": entry.get("regime")}
        position = existing.get(entry["code"])
        if position is None:
            org.create_position(data)
            result.changes.append(f"position {entry['code']} created")
            continue
        diff = {k: v for k, v in data.items() if getattr(position, k) != v}
        if diff:
            org.update_position(position, diff)
            result.changes.append(f"position {entry['code']} updated")


def _apply_competencies(competencies: list[dict], result: ApplyResult) -> None:
    existing = {c.code: c for c in db.session.scalars(select(Competency))}
    for entry in competencies:
        data = {"code": entry["code"], "name": entry["name"], "description": entry.get("description"),
                "max_level": int(entry.get("max_level", 5))}
        competency = existing.get(entry["code"])
        if competency is None:
            catalogue.create_competency(data)
            result.changes.append(f"competency {entry['code']} created")
            continue
        diff = {k: v for k, v in data.items() if getattr(competency, k) != v}
        if diff:
            catalogue.update_competency(competency, diff)
            result.changes.append(f"competency {entry['code']} updated")


def _apply_task_types(pack: dict, result: ApplyResult) -> None:
    existing = {t.code: t for t in db.session.scalars(select(TaskType))}
    position_codes = dict(db.session.execute(select(JobPosition.id, JobPosition.code)).all())
    start = pack["norms_from"]
    norms = catalogue.norms_in_force([t.id for t in existing.values()], start) if existing else {}
    for entry in pack["task_types"]:
        data = {"code": entry["code"], "name": entry["name"], "group": entry["group"],
                "unit_of_measure": entry["unit_of_measure"], "norm_minutes": entry["norm_minutes"],
                "product_weight": entry.get("product_weight", 1),
                "complexity_levels": entry.get("complexity_levels", pack["default_levels"]),
                "position_codes": list(entry.get("position_codes", [])), "effective_from": start}
        tt = existing.get(entry["code"])
        if tt is None:
            catalogue.create_task_type(data)
            result.changes.append(f"task type {entry['code']} created")
            continue
        diff = _task_type_diff(tt, norms.get(tt.id), data, position_codes)
        if diff:
            catalogue.update_task_type(tt, diff, start)
            result.changes.append(f"task type {entry['code']} updated")


def _task_type_diff(tt: TaskType, norm: NormVersion | None, data: dict, position_codes: dict[int, str]) -> dict:
    diff = {k: data[k] for k in ("name", "group", "unit_of_measure") if getattr(tt, k) != data[k]}
    if sorted(position_codes[p.position_id] for p in tt.positions) != sorted(data["position_codes"]):
        diff["position_codes"] = data["position_codes"]
    levels = sorted(({"level": int(x["level"]), "coefficient": float(x["coefficient"])}
                     for x in data["complexity_levels"]), key=lambda x: x["level"])
    same_norm = (norm is not None and norm.norm_minutes == Decimal(str(data["norm_minutes"]))
                 and norm.product_weight == Decimal(str(data["product_weight"]))
                 and list(norm.complexity_levels or []) == levels)
    if not same_norm:
        diff.update({k: data[k] for k in ("norm_minutes", "product_weight", "complexity_levels", "effective_from")})
    return diff


def _apply_calendar(days: list[dict], result: ApplyResult) -> None:
    existing = {d.day: d for d in db.session.scalars(select(CalendarDay))}
    for entry in days:
        row = existing.get(entry["day"])
        name = entry.get("name")
        if row is not None and row.kind == entry["kind"] and row.name == name:
            continue
        before = None if row is None else {"kind": row.kind, "name": row.name}
        if row is None:
            row = CalendarDay(day=entry["day"])
            db.session.add(row)
        row.kind, row.name = entry["kind"], name
        unit_of_work.changed(row)
        db.session.flush()
        record("calendar_day.set", "calendar_day", entry["day"].isoformat(), before=before,
               after={"kind": row.kind, "name": name})
        result.changes.append(f"calendar {entry['day'].isoformat()}")
