"""Live sources: a tenant's admin points a live connector at another system's API; the
scheduler (or a person) pulls it. A pull reads pages from the stored cursor, writes the
records as a CSV file with the import connector's columns and runs the ordinary import
on it — the same checks, row/column errors and all-or-nothing writer as an uploaded
file. The cursor moves only after the import committed; a run that fails (the remote
times out, answers 500 after the retries or sends a malformed page, or a row is wrong)
changes nothing and the next pull starts from the same place. A crash between the
import's commit and the cursor's leaves the records to be read again, which is harmless:
imports update by key."""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from core import outbound, unit_of_work
from core.audit.services import record
from core.errors import Invalid, NotFound
from core.extensions import db
from core.imports.http import PullFailed, get_json
from core.imports.models import LiveSource
from core.jobs.models import JobRun
from core.jobs.runner import submit, task
from core.timeutil import utcnow

log = logging.getLogger(__name__)

KIND = "live_import"
MAX_PAGES = 100  # per run; a longer backlog continues at the next run, from the cursor
FIELDS = ("name", "connector", "settings", "enabled", "every_minutes")


def _component(key: str):
    from core.plugins.manager import current_manager, current_tenant_slug

    registered = current_manager().registered("live_connector", key, current_tenant_slug())
    if registered is None:
        raise Invalid(f"No live connector '{key}' is available to this tenant.",
                      {"connector": [f"'{key}' is not available."]})
    return registered.component


def _checked(key: str, settings: dict | None) -> dict:
    """The stored form of `settings` for connector `key`, or Invalid with field errors."""
    from core.tenants.choices import connector_for

    component = _component(key)
    try:
        stored = component.normalise_settings(settings or {})
        loaded = component.load_settings(stored)
    except ValidationError as exc:
        raise Invalid("The connector's settings are invalid.", {"settings": exc.messages}) from None
    errors = {k: list(v) for k, v in component.settings_errors(loaded).items()}
    if loaded.get("url") and "url" not in errors:
        try:
            outbound.check(loaded["url"])
        except outbound.UnsafeUrl as exc:
            errors["url"] = [str(exc)]
    try:
        connector_for(component.import_connector_for(loaded))  # enabled for this tenant
    except Invalid as exc:
        errors["import_connector"] = [exc.message]
    if errors:
        raise Invalid("The connector's settings are invalid.", {"settings": errors})
    return stored


def view(source: LiveSource) -> dict:
    return {k: getattr(source, k) for k in FIELDS}


def find_source(live_source_id: int) -> LiveSource | None:
    """A live source of the current tenant (the tenant filter hides the others), or None."""
    return db.session.get(LiveSource, live_source_id)


def sources() -> list[LiveSource]:
    return list(db.session.scalars(select(LiveSource).order_by(LiveSource.id)))


def create(data: dict, actor: str) -> LiveSource:
    source = LiveSource(name=data["name"].strip(), connector=data["connector"],
                        settings=_checked(data["connector"], data.get("settings")),
                        enabled=data.get("enabled", True), every_minutes=data.get("every_minutes", 60),
                        next_run_at=utcnow(), created_by=actor)
    db.session.add(source)
    db.session.flush()
    record("live_source.create", "live_source", source.id, after=view(source))
    return source


def update(source: LiveSource, data: dict) -> LiveSource:
    before = view(source)
    if "settings" in data:
        source.settings = _checked(source.connector, {**source.settings, **data["settings"]})
    for key in ("name", "enabled", "every_minutes"):
        if key in data:
            setattr(source, key, data[key].strip() if key == "name" else data[key])
    record("live_source.update", "live_source", source.id, before=before, after=view(source))
    return source


def start(source: LiveSource, actor: str) -> JobRun:
    """A pull of `source` as a job (one at a time per source)."""
    run = submit(KIND, f"source-{source.id}", {"source_id": source.id}, actor)
    return run


def runs(source: LiveSource, limit: int = 50) -> list[JobRun]:
    return list(db.session.scalars(select(JobRun).where(JobRun.kind == KIND, JobRun.scope == f"source-{source.id}")
                                   .order_by(JobRun.created_at.desc(), JobRun.id.desc()).limit(limit)))


def due(now=None) -> list[int]:
    now = now or utcnow()
    return list(db.session.scalars(select(LiveSource.id).where(
        LiveSource.enabled.is_(True), (LiveSource.next_run_at.is_(None)) | (LiveSource.next_run_at <= now))
        .order_by(LiveSource.id)))


def pull_due(actor: str) -> list[str]:
    """Start a pull of every source of the tenant that is due; returns the job ids."""
    started = []
    for source_id in due():
        source = db.session.get(LiveSource, source_id)
        source.next_run_at = utcnow() + timedelta(minutes=source.every_minutes)
        unit_of_work.commit()
        started.append(start(source, actor).id)
    return started


def _csv(records: list[dict[str, Any]], columns: tuple[str, ...]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in records:
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in columns])
    handle = tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False)
    with handle:
        handle.write(out.getvalue().encode("utf-8"))
    return Path(handle.name)


@task(KIND, queue="imports", timeout=3600)
def pull(progress, source_id: int) -> dict:
    from core.imports.services import run_import
    from core.tenants.choices import connector_for

    source = db.session.get(LiveSource, source_id)
    if source is None:
        raise NotFound(f"Live source {source_id} not found.")
    component = _component(source.connector)
    settings = component.load_settings(source.settings)
    import_key = component.import_connector_for(settings)
    columns = tuple(connector_for(import_key).component.columns)
    start_cursor = cursor = source.cursor
    records: list[dict[str, Any]] = []
    pages = 0
    try:
        while pages < MAX_PAGES:
            page = component.fetch_page(get_json, settings, cursor)
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                raise PullFailed(f"The live connector '{source.connector}' returned no records list.")
            records.extend(page["records"])
            pages += 1
            cursor = page.get("cursor") or cursor
            progress(pages, pages + (1 if page.get("more") else 0), "reading")
            if not page.get("more"):
                break
    except (PullFailed, ValueError) as exc:
        _remember_error(source_id, str(exc))
        raise PullFailed(str(exc)) from None
    result: dict[str, Any] = {"pages": pages, "records": len(records), "cursor_from": start_cursor}
    if records:
        path = _csv(records, columns)
        try:
            result.update(run_import(import_key, path, filename=f"{source.name} ({source.connector})"))
        finally:
            path.unlink(missing_ok=True)
    written = not result.get("errors") and not result.get("errors_total")
    source = db.session.get(LiveSource, source_id)
    if written:
        source.cursor, source.last_error = cursor, None
    else:
        source.last_error = "Rows with errors: nothing was written; the next pull starts from the same place."
    unit_of_work.commit()
    result.update(cursor=source.cursor, cursor_advanced=written and cursor != start_cursor)
    return result


def _remember_error(source_id: int, message: str) -> None:
    db.session.rollback()
    source = db.session.get(LiveSource, source_id)
    source.last_error = message[:500]
    unit_of_work.commit()
