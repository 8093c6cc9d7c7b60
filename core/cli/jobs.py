"""`congvu worker`, `congvu schedule` and `congvu import`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from core.cli.base import fail, main, one_line, require_rls_key, tenant_or_fail
from core.errors import ServiceError
from core.extensions import db


@main.command()
@click.option("--queues", default="scoring,imports,default", show_default=True,
              help="Queues to serve, by workload, comma-separated.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--metrics-port", type=int, default=None, envvar="CONGVU_WORKER_METRICS_PORT",
              help="Serve Prometheus metrics (job durations) on this port; needs PROMETHEUS_MULTIPROC_DIR.")
@with_appcontext
def worker(queues: str, burst: bool, metrics_port: int | None) -> None:
    """An RQ worker that runs jobs inside this app (needs CONGVU_REDIS_URL)."""
    from flask import current_app

    from core.jobs.runner import start_worker

    if not current_app.config.get("CONGVU_REDIS_URL"):
        fail("CONGVU_REDIS_URL is not set: without Redis, jobs run inline and no worker is needed")
    require_rls_key()
    start_worker(current_app._get_current_object(), [q.strip() for q in queues.split(",") if q.strip()], burst,
                 metrics_port)


@main.command()
@click.option("--now", "now_", is_flag=True, help="Enqueue every scheduled job once, now, and exit.")
@with_appcontext
def schedule(now_: bool) -> None:
    """RQ's cron scheduler: the nightly jobs (overdue items, stale months) and the
    sweeper of abandoned runs, put on the queues for `congvu worker` (needs CONGVU_REDIS_URL)."""
    from flask import current_app
    from redis import Redis

    from core.jobs.schedule import build_scheduler, enqueue_now

    url = current_app.config.get("CONGVU_REDIS_URL")
    if not url:
        fail("CONGVU_REDIS_URL is not set: scheduled jobs run on RQ workers")
    require_rls_key()
    app, conn = current_app._get_current_object(), Redis.from_url(url)
    if now_:
        for job_id in enqueue_now(app, conn):
            click.echo(f"enqueued {job_id}")
        return
    build_scheduler(app, conn).start()


@main.command("import")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--connector", required=True, help="An import connector the tenant enabled, e.g. staff-xlsx.")
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; write nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@with_appcontext
def import_command(tenant_slug: str, connector: str, dry_run: bool, file: str) -> None:
    """Import FILE through a connector, all or nothing (a job on RQ when Redis is set)."""
    import time

    from core.imports.api import enabled_connector
    from core.jobs.models import JobRun
    from core.jobs.runner import active_run, submit
    from core.tenancy import tenant_context

    tenant_row = tenant_or_fail(tenant_slug)
    path = str(Path(file).resolve())
    with tenant_context(tenant_row.id):
        try:
            enabled_connector(connector)
        except ServiceError as exc:
            fail(one_line(exc))
        if active_run("import", connector) is not None:
            fail(f"an import with '{connector}' is already running for {tenant_slug}")
        # The worker reads the file where it is: on RQ across hosts, give a shared path.
        run = submit("import", connector, {"connector": connector, "path": path, "dry_run": dry_run,
                                           "filename": Path(file).name, "actor": "cli", "discard": False}, "cli")
        while run.status in ("queued", "running"):
            time.sleep(0.5)
            db.session.expire_all()
            run = db.session.get(JobRun, run.id)
    if run.status != "finished":
        fail(f"import failed: {run.error}")
    result = run.result or {}
    changes = result.get("changes", {})
    for error in result.get("errors", [])[:20]:
        click.echo(f"row {error.get('row') or '-'}, {error.get('column') or '-'}: {error['message']}", err=True)
    summary = (f"{result.get('rows_total', 0)} rows, {result.get('rows_valid', 0)} valid, "
               f"{changes.get('new', 0)} new, {changes.get('updated', 0)} updated, "
               f"{changes.get('unchanged', 0)} unchanged")
    if result.get("errors_total"):
        fail(f"{result['errors_total']} error(s); nothing was written ({summary})")
    verb = "would write" if dry_run else "wrote"
    click.echo(f"{connector} for {tenant_slug}: {summary}; {verb} {changes.get('new', 0) + changes.get('updated', 0)} "
               f"rows (job {run.id})")
