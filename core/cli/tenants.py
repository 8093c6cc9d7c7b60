"""`congvu tenant …`: create, list, suspend, resume, apply a pack, merge, export, import, restore."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core import unit_of_work
from core.cli.base import fail, main, one_line, tenant_or_fail, transactional
from core.errors import ServiceError
from core.extensions import db


@main.group()
def tenant() -> None:
    """Create and list tenants."""


@tenant.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--province-code", type=int, default=None, help="Creates the province's commune-level units.")
@with_appcontext
@transactional
def tenant_create(slug: str, name: str, province_code: int | None) -> None:
    """Create a tenant (and, with --province-code, its communes)."""
    from marshmallow import ValidationError

    from core.tenants.schemas import TenantSchema
    from core.tenants.services import create_tenant

    try:
        TenantSchema().load({"slug": slug, "name": name, "province_code": province_code})
    except ValidationError as exc:
        fail("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.messages.items()))
    tenant_row, units = create_tenant(slug, name, province_code)
    click.echo(f"created tenant {tenant_row.slug} (id {tenant_row.id}) with {units} units")


@tenant.command("list")
@with_appcontext
def tenant_list() -> None:
    """List tenants."""
    from core.tenants.models import Tenant

    for t in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
        click.echo(f"{t.slug}\t{t.name}\t{t.province_code or ''}\t{t.status}")


@tenant.command("suspend")
@click.argument("slug")
@click.option("--reason", required=True, help="Why (kept in the tenant's audit log; its people see the date only).")
@with_appcontext
@transactional
def tenant_suspend(slug: str, reason: str) -> None:
    """Suspend a tenant: its pages, API and logins answer 423, its schedule stops; nothing is deleted."""
    from core.tenants.suspension import suspend

    tenant_or_fail(slug)
    row = suspend(slug, reason)
    click.echo(f"suspended tenant {row.slug} since {row.suspended_at.isoformat()}")


@tenant.command("resume")
@click.argument("slug")
@with_appcontext
def tenant_resume(slug: str) -> None:
    """Give a suspended tenant back, as it was; the jobs refused while it was suspended run again."""
    from core.jobs.runner import send

    tenant_id, requeued = _resume(slug)
    send(tenant_id, requeued)  # once committed: a worker must find them queued
    click.echo(f"resumed tenant {slug}" + (f"; {len(requeued)} jobs refused while suspended queued again"
                                          if requeued else ""))


@transactional
def _resume(slug: str) -> tuple[int, list[str]]:
    from core.tenants.suspension import resume

    tenant_or_fail(slug)
    row, requeued = resume(slug)
    return row.id, requeued


@tenant.command("apply")
@click.argument("pack", type=click.Path(file_okay=False))
@with_appcontext
@transactional
def tenant_apply(pack: str) -> None:
    """Create or update a tenant from its pack (tenants/<slug>); a second apply changes nothing."""
    from core.tenants.packs import apply_pack

    result = apply_pack(pack)
    if not result.changed:
        click.echo(f"tenant {result.slug}: no changes (the pack is already applied)")
        return
    click.echo(f"tenant {result.slug}: {len(result.changes)} changes")
    for change in result.changes:
        click.echo(f"  {change}")


@tenant.command("merge")
@click.option("--source", required=True, help="The tenant that merges (it becomes read-only).")
@click.option("--into", "into", required=True, help="The tenant it merges into.")
@click.option("--effective", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--mapping", "mapping_file", required=True, type=click.Path(dir_okay=False),
              help="JSON: {units|positions|task_types: {source code: target code or null}, prefix}.")
@click.option("--dry-run", is_flag=True, help="Report the plan and every conflict; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report (with the suggested mapping) as JSON.")
@with_appcontext
def tenant_merge(source: str, into: str, effective, mapping_file: str, dry_run: bool, as_json: bool) -> None:
    """Merge a tenant into another, in one transaction, after a full export of the source."""
    import json

    from core.mergers.services import commit_merge

    try:
        with open(mapping_file, encoding="utf-8") as fh:
            mapping = json.load(fh)
    except OSError as exc:
        fail(f"cannot read the mapping file: {exc.strerror}")
    except ValueError as exc:
        fail(f"the mapping file is not valid JSON: {exc}")
    try:
        result = commit_merge(source, into, effective.date(), mapping, dry_run)
    except ServiceError as exc:
        unit_of_work.rollback()
        fail(one_line(exc))
    except SQLAlchemyError as exc:
        unit_of_work.rollback()
        fail(f"database error: {str(exc).splitlines()[0]}")
    if result.get("already_merged"):
        click.echo(f"{source} is already merged into {into}: nothing to do")
        return
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        _merge_summary(result)
    if result["blocked"]:
        fail(f"the merger is blocked by {len(result['conflicts'])} conflicts; nothing was written")
    if dry_run:
        click.echo("dry run: nothing was written" + (
            f"; {len(result['conflicts'])} conflicts would block the commit" if result["conflicts"] else ""))
        if result["conflicts"]:
            sys.exit(1)


def _merge_summary(result: dict, shown: int = 30) -> None:
    counts = result.get("moved") or result["counts"]
    verb = "moved" if result.get("moved") else "would move"
    click.echo(f"{result['source']} -> {result['into']} from {result['effective_date']}: {verb} "
               + ", ".join(f"{table} {n}" for table, n in sorted(counts.items()) if n))
    click.echo("catalogue: " + "; ".join(f"{kind} {c['mapped']} mapped, {c['moved']} moved"
                                         for kind, c in result["catalogue"].items()))
    if result.get("export"):
        click.echo(f"export of {result['source']}: {result['export']}")
    for conflict in result["conflicts"][:shown]:
        click.echo(f"conflict: {conflict['message']}", err=True)
    if len(result["conflicts"]) > shown:
        click.echo(f"… and {len(result['conflicts']) - shown} more conflicts (--json lists them all)", err=True)


@tenant.command("restore")
@click.argument("export_dir", type=click.Path(file_okay=False, exists=True))
@with_appcontext
@transactional
def tenant_restore(export_dir: str) -> None:
    """Restore a tenant from its export (written before a merger) into a database without it."""
    from core.mergers.export import restore_tenant

    result = restore_tenant(export_dir)
    rows = sum(result["counts"].values())
    click.echo(f"restored tenant {result['slug']} (id {result['tenant_id']}): {rows} rows")
    _sequences_behind(result["sequences_behind"])


def _sequences_behind(tables: list[str]) -> None:
    if tables:
        click.echo("run as the database owner to advance the id sequences of: " + ", ".join(tables), err=True)


def _table_progress(label: str):
    """A rich progress bar over an export's tables, and the callback that moves it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[table]}"), transient=False)
    task_id = bar.add_task(label, total=None, table="")

    def show(table: str, done: int, total: int, rows: int) -> None:
        bar.update(task_id, completed=done, total=total, table=f"{table}: {rows} rows")

    return bar, show


@tenant.command("export")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="A new or empty folder for the files and manifest.json.")
@with_appcontext
@transactional
def tenant_export(tenant_slug: str, out: str) -> None:
    """Write a whole tenant (its row and every tenant table) as JSON lines with a manifest
    (row counts, SHA-256 per file, schema revision), read from one snapshot."""
    import time

    from core.tenants.backup import export_tenant

    tenant_row = tenant_or_fail(tenant_slug)
    tenant_id = tenant_row.id
    unit_of_work.rollback()  # the export's own transaction: every table from one snapshot
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    began = time.perf_counter()
    bar, show = _table_progress(f"export {tenant_slug}")
    try:
        with bar:
            manifest = export_tenant(tenant_id, tenant_slug, Path(out), show)
    except OSError as exc:
        fail(f"cannot write the export to {out}: {exc.strerror or exc}")
    rows = sum(manifest["counts"].values())
    click.echo(f"exported tenant {tenant_slug} (id {tenant_id}): {rows} rows in {len(manifest['files'])} files "
               f"to {manifest['path']} in {time.perf_counter() - began:.1f} s (schema {manifest['schema_revision']})")


@tenant.command("import")
@click.argument("export_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--as", "as_slug", default=None, help="Another slug for the tenant on this database.")
@with_appcontext
@transactional
def tenant_import(export_dir: str, as_slug: str | None) -> None:
    """Import a tenant written by `tenant export`, ids included, in one transaction; refuses
    (writing nothing) when the slug, the tenant or any id is taken, the schema revision
    differs, or a file fails its checksum."""
    import time

    from core.tenants.backup import import_tenant

    if as_slug is not None:
        from marshmallow import ValidationError

        from core.tenants.schemas import TenantSchema

        try:
            TenantSchema().load({"slug": as_slug, "name": as_slug}, partial=True)
        except ValidationError as exc:
            fail("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.messages.items()))
    began = time.perf_counter()
    bar, show = _table_progress("import")
    with bar:
        result = import_tenant(export_dir, as_slug=as_slug, progress=show)
    rows = sum(result["counts"].values())
    click.echo(f"imported tenant {result['slug']} (id {result['tenant_id']}): {rows} rows "
               f"in {time.perf_counter() - began:.1f} s")
    _sequences_behind(result["sequences_behind"])
