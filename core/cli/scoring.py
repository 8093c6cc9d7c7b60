"""`congvu recalc` and `congvu scorer`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.cli.base import fail, main, one_line, require_rls_key, tenant_or_fail
from core.errors import ServiceError
from core.extensions import db


@main.command()
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--period", required=True, help="A month, e.g. 2026-10.")
@with_appcontext
def recalc(tenant_slug: str, period: str) -> None:
    """Recalculate a month's scores, with a progress bar (a job on RQ when Redis is set)."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.jobs.models import JobRun
    from core.jobs.runner import submit
    from core.scoring import kernel
    from core.tenancy import tenant_context

    tenant_row = tenant_or_fail(tenant_slug)
    with tenant_context(tenant_row.id):
        try:
            kernel.parse_month(period)
        except ServiceError as exc:
            fail(one_line(exc))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as bar:
            task_id = bar.add_task(f"recalc {tenant_slug} {period}", total=None)

            def show(done: int, total: int, stage: str | None) -> None:
                bar.update(task_id, completed=done, total=total or None)

            run = submit("recalculation", period, {"period": period}, "cli", listener=show)
            while run.status in ("queued", "running"):  # on RQ: follow the job from the database
                time.sleep(0.5)
                db.session.expire_all()
                run = db.session.get(JobRun, run.id)
                show(run.done, run.total, run.stage)
    if run.status != "finished":
        fail(f"recalculation of {period} failed: {run.error}")
    result = run.result or {}
    click.echo(f"recalculated {period} for {tenant_slug}: {result.get('items', 0)} items, "
               f"{result.get('employees', 0)} people (job {run.id})")


@main.command()
@click.option("--once", is_flag=True, help="Drain what is marked now, then exit.")
@click.option("--interval", type=float, default=0.5, show_default=True,
              help="Seconds between passes (after one that found nothing).")
@click.option("--settle", type=float, default=None,
              help="Seconds to wait after a pass that took marks, so that marks made meanwhile "
                   "coalesce: a person who declares several items in that time is re-scored once "
                   "(default: CONGVU_SCORER_SETTLE_MS).")
@with_appcontext
def scorer(once: bool, interval: float, settle: float | None) -> None:
    """Drain every tenant's scoring marks (CONGVU_SCORING=deferred) in a loop: the scorer
    without RQ, or beside RQ's scorer jobs after Redis was down (docs/scaling.md)."""
    import time

    from core.scoring import scorer as scoring

    require_rls_key()
    settle = scoring.settle_seconds() if settle is None else settle
    while True:
        taken = scoring.drain_all()
        db.session.remove()
        if once:
            click.echo(f"{taken} marks taken")
            return
        time.sleep(interval if not taken else settle)
