"""`congvu rls …`: PostgreSQL row-level security's signing key (rotate, retire, status)."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from core.cli.base import fail, main


@main.group()
def rls() -> None:
    """PostgreSQL row-level security's signing key (docs/security.md): run as the owner
    (CONGVU_DATABASE_OWNER_URL)."""


def _owner_url() -> str:
    from flask import current_app

    url = current_app.config.get("CONGVU_DATABASE_OWNER_URL") or current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        fail("row-level security and its key exist on PostgreSQL only")
    return url


def _key_command(action: Callable[[], dict]) -> dict:
    from core.tenancy import rls as tenancy_rls

    try:
        return action()
    except tenancy_rls.RotationRefused as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"database error (run as the owner, CONGVU_DATABASE_OWNER_URL): {str(exc).splitlines()[0]}")
    raise AssertionError("unreachable")


def _actor(actor: str | None) -> str:
    import getpass

    return f"cli:{actor or getpass.getuser()}"


@rls.command("rotate-key")
@click.option("--actor", default=None, help="Who rotates (recorded); the login of this shell by default.")
@with_appcontext
def rls_rotate_key(actor: str | None) -> None:
    """A new signing key; the current one stays accepted until `retire-previous-key`."""
    from core.tenancy import rls as tenancy_rls

    done = _key_command(lambda: tenancy_rls.rotate_key(_owner_url(), _actor(actor)))
    click.echo(f"rotated: key {done['fingerprint']} is current, {done['previous']} still accepted; restart every "
               "web, worker, scheduler and scorer process, then run `congvu rls retire-previous-key`")


@rls.command("retire-previous-key")
@click.option("--actor", default=None, help="Who retires it (recorded); the login of this shell by default.")
@with_appcontext
def rls_retire_previous_key(actor: str | None) -> None:
    """Stop accepting the key before the last rotation (every process restarted since)."""
    from core.tenancy import rls as tenancy_rls

    done = _key_command(lambda: tenancy_rls.rotate_key(_owner_url(), _actor(actor), retire=True))
    click.echo(f"retired: key {done['fingerprint']} is no longer accepted")


@rls.command("status")
@with_appcontext
def rls_status() -> None:
    """The current key's fingerprint, a previous key still accepted, the last rotations."""
    from core.tenancy import rls as tenancy_rls

    status = _key_command(lambda: tenancy_rls.key_status(_owner_url()))
    click.echo(f"current key {status['current']}; previous key accepted: {status['previous'] or 'none'}")
    for at, action, who, named in status["log"]:
        click.echo(f"{at:%Y-%m-%d %H:%M:%S%z} {action} {named} by {who}")
