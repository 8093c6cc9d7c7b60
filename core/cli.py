"""The `congvu` command (a Flask CLI group). Exit codes: 0 success, 1 failure with a
one-line reason on stderr, 2 usage."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core import create_app, unit_of_work
from core.errors import ServiceError
from core.extensions import db


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def one_line(exc: ServiceError) -> str:
    details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.errors.items())
    return f"{exc.message} ({details})" if details else exc.message


def transactional(fn: Callable) -> Callable:
    """Run a command in one transaction: all of it, or nothing and a one-line reason."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            unit_of_work.commit()
            return result
        except ServiceError as exc:
            unit_of_work.rollback()
            fail(one_line(exc))
        except SQLAlchemyError as exc:
            unit_of_work.rollback()
            fail(f"database error: {str(exc).splitlines()[0]}")

    return wrapper


class CongvuGroup(FlaskGroup):
    """The command group, with the commands plugins add through `congvu_register_commands`."""

    def _plugin_commands(self) -> None:
        if getattr(self, "_plugins_added", False):
            return
        self._plugins_added = True
        from core.plugins.manager import PluginManager

        # Lenient: a broken plugin must not take `congvu --help` or `congvu plugins list`
        # (which reports it) down with it; whatever still fails is said on stderr and the
        # core's commands stay usable.
        try:
            PluginManager.from_config({"CONGVU_PLUGINS": os.environ.get("CONGVU_PLUGINS") or None}).load(
                strict=False).register_commands(self)
        except Exception as exc:  # noqa: BLE001 - any plugin's failure; the core's commands go on
            problems = getattr(exc, "problems", None)  # PluginLoadError: each plugin at fault
            first = "; ".join(problems) if problems else (str(exc).splitlines() or [type(exc).__name__])[0]
            click.echo(f"warning: plugin commands left out: {first} (see `congvu plugins list`)", err=True)

    def get_command(self, ctx, name):
        self._plugin_commands()
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        self._plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=CongvuGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """congvu — KPI Công vụ."""


def _tenant_or_fail(slug: str):
    from core.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        fail(f"no tenant '{slug}'")
    return tenant


# ---------------------------------------------------------------- tenant


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
    from pathlib import Path

    from core.tenants.backup import export_tenant

    tenant_row = _tenant_or_fail(tenant_slug)
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


# ---------------------------------------------------------------- user


@main.group()
def user() -> None:
    """Create logins."""


@user.command("create")
@click.option("--tenant", "tenant_slug", help="The tenant of the user.")
@click.option("--operator", is_flag=True, help="A platform operator (no tenant).")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(["employee", "manager", "tenant_admin", "auditor"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
@transactional
def user_create(tenant_slug: str | None, operator: bool, username: str, roles: tuple[str, ...],
                password_stdin: bool) -> None:
    """Create a tenant user or a platform operator."""
    from core.audit.services import record
    from core.auth.models import Operator, User
    from core.auth.services import PasswordRejected, create_operator, create_user
    from core.tenancy import tenant_context

    if operator == bool(tenant_slug):
        raise click.UsageError("give exactly one of --tenant and --operator")
    if not password_stdin:
        raise click.UsageError("--password-stdin is required (passwords never go on the command line)")
    password = sys.stdin.readline().rstrip("\r\n")
    username = unicodedata.normalize("NFC", username)  # logins are stored NFC
    try:
        if operator:
            if db.session.scalar(select(Operator.id).where(Operator.username == username)):
                fail(f"operator '{username}' exists")
            create_operator(username, password)
            click.echo(f"created operator {username}")
            return
        tenant_row = _tenant_or_fail(tenant_slug)
        with tenant_context(tenant_row.id):
            if db.session.scalar(select(User.id).where(User.username == username)):
                fail(f"user '{username}' exists in {tenant_slug}")
            new = create_user(username, password, list(roles) or ["employee"])
            record("user.create", "user", new.id, after={"username": username, "roles": new.roles}, actor="cli")
            click.echo(f"created user {username} in {tenant_slug} with roles {','.join(new.roles)}")
    except PasswordRejected as exc:
        fail(" ".join(exc.problems))


# ---------------------------------------------------------------- demo


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


# ---------------------------------------------------------------- audit


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
    (re-hashed) history all fail, with the reason on the last line."""
    from core.audit.services import verify
    from core.mergers.services import merged_sources
    from core.tenancy import tenant_context, unscoped

    tenant_row = _tenant_or_fail(tenant_slug)
    with tenant_context(tenant_row.id):
        result = verify(tenant_row.id, extra)
    unanchored = [] if result.anchor else [tenant_slug]
    # The chains of tenants merged into this one stay as they were (docs/mergers.md).
    with unscoped():
        for merged in merged_sources(tenant_row.id):
            with tenant_context(merged.id):
                part = verify(merged.id, extra)
            result.ok, result.count = result.ok and part.ok, result.count + part.count
            result.problems += [f"{merged.slug}: {p}" for p in part.problems]
            unanchored += [] if part.anchor else [merged.slug]
    if not result.ok:
        for problem in result.problems[1:20]:
            click.echo(problem, err=True)
        fail(f"audit log of {tenant_slug} is broken: {result.problems[0]} "
             f"({len(result.problems)} problems in {result.count} events)")
    anchored = (f", head seq {result.anchor.seq} matches the checkpoint of {result.anchor.at}" if result.anchor
                else "")
    click.echo(f"audit chain of {tenant_slug} intact: {result.count} events{anchored}")
    if unanchored:
        click.echo(f"warning: no signed checkpoint yet for {', '.join(unanchored)}: a cut tail would go unseen "
                   "(run `congvu audit checkpoint`)", err=True)


@main.group()
def webhooks() -> None:
    """Outbound webhooks."""


@webhooks.command("deliver")
@with_appcontext
def webhooks_deliver() -> None:
    """Send every tenant's due webhook deliveries now (the scheduler does it each minute)."""
    from core.webhooks.delivery import deliver_all

    result = deliver_all()
    totals = {k: sum(r[k] for r in result.values()) for k in ("delivered", "retry", "failed")}
    click.echo(f"webhooks: {totals['delivered']} delivered, {totals['retry']} to retry, "
               f"{totals['failed']} given up, in {len(result)} tenant(s)")


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
        rows = [_tenant_or_fail(tenant_slug)]
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


# ---------------------------------------------------------------- plugins


@main.group()
def plugins() -> None:
    """Installed plugins and their components."""


@plugins.command("list", with_appcontext=False)
def plugins_list() -> None:
    """Every installed plugin, whether it loads (and why not), and its components.

    Reads the allow-list CONGVU_PLUGINS like the server does; exits 1 when the server
    would refuse to start because of a plugin.
    """
    from core.plugins.manager import PluginManager

    manager = PluginManager.from_config({"CONGVU_PLUGINS": os.environ.get("CONGVU_PLUGINS") or None}).load(strict=False)
    for item in manager.list_plugins("en"):
        state = "loaded" if item["loaded"] else ("disabled" if not item["enabled"] else "FAILED")
        click.echo(f"{item['name']}\t{item['version'] or '-'}\t{item['origin']}\t{state}")
        if item["error"]:
            click.echo(f"    {item['error']}")
        for c in item["components"]:
            click.echo(f"    {c['kind']}\t{c['key']}\t{c['version']}\t{c['title_vi']} / {c['title_en']}")
    if manager.problems:
        fail(f"{len(manager.problems)} plugin problem(s) would stop the server: {manager.problems[0]}")


# ---------------------------------------------------------------- scores and jobs


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
    from core.scoring import engine
    from core.tenancy import tenant_context

    tenant_row = _tenant_or_fail(tenant_slug)
    with tenant_context(tenant_row.id):
        try:
            engine.parse_month(period)
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
    start_worker(current_app._get_current_object(), [q.strip() for q in queues.split(",") if q.strip()], burst,
                 metrics_port)


@main.command()
@click.option("--once", is_flag=True, help="Drain what is marked now, then exit.")
@click.option("--interval", type=float, default=0.5, show_default=True,
              help="Seconds to wait after a pass that found nothing.")
@with_appcontext
def scorer(once: bool, interval: float) -> None:
    """Drain every tenant's scoring marks (CONGVU_SCORING=deferred) in a loop: the scorer
    without RQ, or beside RQ's scorer jobs after Redis was down (docs/scaling.md)."""
    import time

    from core.scoring import scorer as scoring

    while True:
        taken = scoring.drain_all()
        db.session.remove()
        if once:
            click.echo(f"{taken} marks taken")
            return
        if not taken:
            time.sleep(interval)


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
    from pathlib import Path

    from core.imports.api import enabled_connector
    from core.jobs.models import JobRun
    from core.jobs.runner import active_run, submit
    from core.tenancy import tenant_context

    tenant_row = _tenant_or_fail(tenant_slug)
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
    import os
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


from core.classification.cli import classify  # noqa: E402 - registered after the group exists

main.add_command(classify)
