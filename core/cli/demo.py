"""`congvu demo` (the demo province) and `congvu generate` (a synthetic province for benchmarks)."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core.cli.base import fail, main, transactional
from core.extensions import db


@main.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when any tenant exists.")
@click.option("--without-work", is_flag=True, help="People only: no catalogue, no month of work.")
@with_appcontext
@transactional
def demo(if_empty: bool, without_work: bool) -> None:
    """A demo Khánh Hòa with its communes, departments, people and logins."""
    from core.demo import DEMO_PASSWORD, build_demo
    from core.tenants.models import Tenant

    if if_empty and db.session.scalar(select(Tenant.id).limit(1)) is not None:
        click.echo("demo: the database already has tenants; nothing done")
        return
    logins = build_demo(with_work=not without_work)
    click.echo(f"Demo tenant khanh-hoa created. Logins (password for all: {DEMO_PASSWORD}):")
    for role, username in logins:
        click.echo(f"  {role:<14} {username}")


@main.command()
@click.option("--tenant", "tenant_slug", required=True, help="The slug of the new tenant.")
@click.option("--employees", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--months", type=click.IntRange(1, 24), default=1, show_default=True)
@click.option("--first-month", default=None, help="YYYY-MM of the first month (default: last month).")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Connections writing items at once on PostgreSQL (default: the CPU count); each block of "
                   "people is then committed on its own. 1: everything in one transaction.")
@with_appcontext
@transactional
def generate(tenant_slug: str, employees: int, months: int, first_month: str | None, seed: int,
             workers: int | None) -> None:
    """A synthetic tenant with people and months of work items, for load tests."""
    import time
    from datetime import date, timedelta

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.generate import PASSWORD
    from core.generate import generate as build

    if first_month:
        try:
            start = date(int(first_month[:4]), int(first_month[5:7]), 1)
        except ValueError:
            fail("--first-month must be YYYY-MM")
    else:
        start = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    began = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        tasks: dict[str, object] = {}
        finished: dict[str, float] = {}  # when each stage ended, for the line on where the time went

        def show(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)
            if done >= total:
                finished[stage] = time.perf_counter()

        result = build(tenant_slug, employees, months, start, seed, show, workers or os.cpu_count() or 1)
    ended, last, stages = time.perf_counter(), began, []
    for stage, at in finished.items():
        stages.append(f"{stage} {at - last:.1f} s")
        last = at
    click.echo(f"stages: {'; '.join(stages)}; commit {ended - last:.1f} s")
    click.echo(f"generated {tenant_slug}: {result.employees} employees in {result.units} units, "
               f"{result.items} work items from {start:%Y-%m} in {ended - began:.1f} s "
               f"(logins nv000001…, password {PASSWORD})")
