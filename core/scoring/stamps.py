"""What a month's stamp meant when it was scored, kept so the month explains itself later.

A stored month records only its variant key, version and settings hash. Once the plugin
is upgraded or uninstalled the code that knew that version's titles, description, labels
and item component names is gone, so the first time a tenant scores with a stamp the
component's own words are written beside it (core/scoring/models.ScoringStamp), once.
Explain reads them back: a closed month shows its own numbers and words, in either
language, also when the plugin is no longer installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.extensions import db
from core.plugins.forms import describe_settings
from core.scoring.models import ScoringStamp
from core.tenancy import current_tenant_id

# Stamps known to be committed, per database and tenant: the hot path (a declaration
# re-scoring a person's month) then writes nothing more. Filled only after the commit
# that wrote or found them, so a rolled-back write is written again next time. A whole
# month's scoring writes regardless (one statement a month), so data restored or
# truncated under a running process gets its words back at the next recalculation.
_known: set[tuple] = set()
_PENDING = "congvu_stamps_pending"


def snapshot(component: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    """A component's words for a stamp: titles, descriptions, item component names and
    labels (its results' and its settings', in Vietnamese and English)."""
    described = {lang: {f["name"]: f for f in describe_settings(component, lang)} for lang in ("vi", "en")}
    settings_labels = {}
    for name, vi in described["vi"].items():
        en = described["en"][name]
        keys = {k["key"]: [k["label"], e["label"]] for k, e in zip(vi.get("mapping_keys") or [],
                                                                  en.get("mapping_keys") or [], strict=False)}
        choices = {c["value"]: [c["label"], e["label"]] for c, e in zip(vi.get("choice_labels") or [],
                                                                      en.get("choice_labels") or [], strict=False)}
        settings_labels[name] = {"label": [vi["label"], en["label"]], **({"keys": keys} if keys else {}),
                                 **({"choices": choices} if choices else {})}
    return {
        "settings": dict(settings), "item_components": list(getattr(component, "item_components", ())),
        "title_vi": component.title_vi, "title_en": component.title_en or component.title_vi,
        "description_vi": component.description_vi or "",
        "description_en": component.description_en or component.description_vi or "",
        "labels": {"results": {k: list(v) for k, v in component.labels.items()}, "settings": settings_labels},
    }


def record(chosen: Any, cached: bool = True) -> None:
    """Keep the words of the current tenant's stamp `chosen` (a ChosenComponent), once:
    an insert that does nothing when another transaction already wrote the same stamp.
    With `cached`, nothing is sent for a stamp this process already saw committed."""
    tid = current_tenant_id()
    if tid is None:
        return
    bind = db.session.get_bind()
    stamp = chosen.stamp()
    known = (str(bind.url), tid, stamp["key"], stamp["version"], stamp["settings_hash"])
    if cached and known in _known:
        return
    row = {"tenant_id": tid, "variant_key": stamp["key"], "variant_version": stamp["version"],
           "settings_hash": stamp["settings_hash"], **snapshot(chosen.component, chosen.stored)}
    from core.timeutil import utcnow

    row["created_at"] = utcnow()
    insert = (pg_insert if bind.dialect.name == "postgresql" else sqlite_insert)(ScoringStamp.__table__)
    db.session.execute(insert.values(**row).on_conflict_do_nothing(
        index_elements=["tenant_id", "variant_key", "variant_version", "settings_hash"]))
    session = db.session()
    held = session.info.get(_PENDING)
    if held is None or held[0] is not session.get_transaction():
        held = session.info[_PENDING] = (session.get_transaction(), set())
    held[1].add(known)


def written(session: Session) -> set[tuple]:
    """The stamps the open transaction wrote (taken: the unit of work is committing it)."""
    held = session.info.pop(_PENDING, None)
    return held[1] if held is not None and held[0] is session.get_transaction() else set()


def remember(known: set[tuple]) -> None:
    """After the commit: those stamps are in the database, the hot path need not send them."""
    _known.update(known)


def find(key: str, version: str, settings_hash: str) -> ScoringStamp | None:
    """The current tenant's words for a stamp, or None (a month scored before they were kept)."""
    return db.session.scalar(select(ScoringStamp).where(
        ScoringStamp.variant_key == key, ScoringStamp.variant_version == version,
        ScoringStamp.settings_hash == settings_hash))


def view(row: ScoringStamp) -> dict[str, Any]:
    """A stored stamp as explain gives it: the stamp and the words kept with it."""
    return {"variant": {"key": row.variant_key, "version": row.variant_version, "settings_hash": row.settings_hash},
            "settings": row.settings, "item_components": row.item_components,
            "title_vi": row.title_vi, "title_en": row.title_en,
            "description_vi": row.description_vi, "description_en": row.description_en, "labels": row.labels}


def live_view(chosen: Any) -> dict[str, Any]:
    """The same for a stamp not stored yet, from the installed component."""
    return {"variant": chosen.stamp(), **snapshot(chosen.component, chosen.stored)}
