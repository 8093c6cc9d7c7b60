"""The `congvu` command group and what every command shares: a one-line failure, one
transaction per command, the tenant named by a slug."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps

import click
from flask.cli import FlaskGroup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core import create_app, unit_of_work
from core.errors import ServiceError
from core.extensions import db


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def require_rls_key() -> None:
    """A process that serves tenants on PostgreSQL starts only if it can sign its RLS
    settings (core/tenancy/rls.py); otherwise one line and exit 1."""
    from core.tenancy import rls

    try:
        rls.require_key()
    except rls.KeyUnavailable as exc:
        fail(f"congvu cannot start: {exc}")


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


# Long-running processes: what they write is done by requests, jobs and schedules that
# name their own actor ("user:N:login", "… via job …", "scheduler"), never the command
# that started them.
DAEMONS = frozenset({"run", "worker", "schedule", "scorer", "webhooks"})
# Not refused for a suspended tenant. The daemons pass it by themselves (they take
# "active" tenants only, core/jobs/runner.py); `shell` and `db` are the operator at work
# on the installation. Everything else that enters a suspended tenant's context is
# refused (see refuse_suspended_tenant).
UNGUARDED = DAEMONS | {"shell", "db", "routes"}
# The operator's commands that a suspension must not stop: giving it back, handing its
# data back, and checking (and sealing) its audit log.
OPERATOR_COMMANDS = frozenset({"tenant suspend", "tenant resume", "tenant export", "tenant list",
                               "audit verify", "audit checkpoint"})


def command_path() -> str:
    """The running subcommand's words after `congvu`, e.g. "tenant resume"."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def refuse_suspended_tenant(tenant_id: int) -> None:
    """Entering a suspended tenant's context from a command: one line and exit 1, before
    anything is read or written for it. One check for every command — imports, logins,
    recalculations, classification, packs, plugins' own commands — because each of them
    reaches the tenant's data through tenant_context (row-level security needs it)."""
    path = command_path()
    if path in OPERATOR_COMMANDS:
        return
    ctx = click.get_current_context(silent=True)
    # A command enters its tenant many times (a generated province, a job run inline):
    # one read per tenant and command is enough.
    seen: set[int] = ctx.meta.setdefault("congvu.tenants_in_use", set()) if ctx is not None else set()
    if tenant_id in seen:
        return
    from core.tenants.models import Tenant
    from core.tenants.suspension import since_text

    with db.session.no_autoflush:
        tenant = db.session.get(Tenant, tenant_id, execution_options={"congvu_unscoped": True})
    if tenant is None or tenant.status != "suspended":
        seen.add(tenant_id)
        return
    unit_of_work.rollback()
    fail(f"tenant {tenant.slug} is suspended since {since_text(tenant)}: `congvu {path}` changes nothing "
         f"until the operator resumes it (congvu tenant resume {tenant.slug})")


@click.group(cls=CongvuGroup, create_app=create_app, add_version_option=False)
@click.pass_context
def main(ctx: click.Context) -> None:
    """congvu — KPI Công vụ."""
    # Whatever a command writes is audited as `cli` (a job it starts as "cli via job …"):
    # outside a request and a job the log would otherwise say `system`, which tells an
    # inspector nothing about who changed the data.
    if ctx.invoked_subcommand not in DAEMONS:
        from core.audit.services import acting_outside_requests

        ctx.with_resource(acting_outside_requests("cli"))
    if ctx.invoked_subcommand not in UNGUARDED:
        from core.tenancy.context import checking_tenant_entry

        ctx.with_resource(checking_tenant_entry(refuse_suspended_tenant))


def tenant_or_fail(slug: str):
    from core.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        fail(f"no tenant '{slug}'")
    return tenant


