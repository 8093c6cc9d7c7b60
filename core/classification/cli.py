"""`congvu classify --tenant SLUG --year YEAR` (api.md, "Command line")."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext


@click.command("classify")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--year", required=True, type=int, help="The year to classify, e.g. 2026.")
@with_appcontext
def classify(tenant_slug: str, year: int) -> None:
    """Classify a year (the draft managers then review; a job on RQ when Redis is set)."""
    from core.classification import services
    from core.cli.base import fail, one_line, tenant_or_fail
    from core.errors import ServiceError
    from core.extensions import db
    from core.jobs.models import JobRun
    from core.jobs.runner import submit
    from core.tenancy import tenant_context

    tenant_row = tenant_or_fail(tenant_slug)
    with tenant_context(tenant_row.id):
        try:
            services.check_runnable(year)
        except ServiceError as exc:
            fail(one_line(exc))
        run = submit("classification", str(year), {"year": year}, "cli")
        while run.status in ("queued", "running"):  # on RQ: follow the job from the database
            time.sleep(0.5)
            db.session.expire_all()
            run = db.session.get(JobRun, run.id)
    if run.status != "finished":
        fail(f"classification of {year} failed: {run.error}")
    result = run.result or {}
    levels = ", ".join(f"{k} {v}" for k, v in (result.get("levels") or {}).items())
    click.echo(f"classified {year} for {tenant_slug} with {result.get('scheme', {}).get('key')}: "
               f"{result.get('people', 0)} people ({levels}); {result.get('demoted_by_quota', 0)} demoted by quota "
               f"(job {run.id})")
