"""`congvu audit verify` and `congvu audit checkpoint`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core.cli.base import fail, main, tenant_or_fail
from core.extensions import db


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--checkpoints", "extra", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="More checkpoints: a log file, an export folder or its manifest.json, a checkpoint file.")
@with_appcontext
def audit_verify(tenant_slug: str, extra: tuple[Path, ...]) -> None:
    """Check the tenant's audit chain, and the table against its newest signed checkpoint:
    an edited, removed or reordered event, a cut tail, a wiped log and a rewritten
    (re-hashed) history all fail, with the reason on the last line. Each problem is
    printed as it is found (a chain broken at its start has one per event: millions in a
    province's year), and only the first are kept in memory."""
    from core.audit.services import verify
    from core.mergers.services import merged_sources
    from core.tenancy import tenant_context, unscoped

    def told(prefix: str):
        return lambda problem: click.echo(prefix + problem, err=True)

    tenant_row = tenant_or_fail(tenant_slug)
    with tenant_context(tenant_row.id):
        result = verify(tenant_row.id, extra, on_problem=told(""))
    unanchored = [] if result.anchor else [tenant_slug]
    # The chains of tenants merged into this one stay as they were (docs/mergers.md).
    with unscoped():
        for merged in merged_sources(tenant_row.id):
            with tenant_context(merged.id):
                part = verify(merged.id, extra, on_problem=told(f"{merged.slug}: "))
            result.ok, result.count = result.ok and part.ok, result.count + part.count
            result.problem_count += part.problem_count
            if not result.problems:
                result.problems = [f"{merged.slug}: {p}" for p in part.problems[:1]]
            unanchored += [] if part.anchor else [merged.slug]
    if not result.ok:
        fail(f"audit log of {tenant_slug} is broken: {result.problems[0]} "
             f"({result.problem_count} problems in {result.count} events)")
    anchored = (f", head seq {result.anchor.seq} matches the checkpoint of {result.anchor.at}" if result.anchor
                else "")
    click.echo(f"audit chain of {tenant_slug} intact: {result.count} events{anchored}")
    if unanchored:
        click.echo(f"warning: no signed checkpoint yet for {', '.join(unanchored)}: a cut tail would go unseen "
                   "(run `congvu audit checkpoint`)", err=True)


@audit.command("checkpoint")
@click.option("--tenant", "tenant_slug", help="One tenant (default: every tenant).")
@with_appcontext
def audit_checkpoint(tenant_slug: str | None) -> None:
    """Sign a checkpoint of each tenant's audit head now (after upgrading, for the chains
    written before checkpoints existed). A broken chain is refused, not anchored."""
    from core.audit.services import checkpoint_now, verify_chain
    from core.tenancy import tenant_context, unscoped
    from core.tenants.models import Tenant

    if tenant_slug:
        rows = [tenant_or_fail(tenant_slug)]
    else:
        with unscoped():
            rows = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    broken = []
    for row in rows:
        with tenant_context(row.id):
            checked = verify_chain(row.id)
            if not checked.ok:
                broken.append(row.slug)
                click.echo(f"{row.slug}: chain broken, not anchored: {checked.problems[0]}", err=True)
                continue
            made = checkpoint_now(row.id)
        click.echo(f"{row.slug}: checkpoint at seq {made.seq} ({made.count} events)")
    if broken:
        fail(f"{len(broken)} broken chains: {', '.join(broken)}")
