"""`congvu webhooks deliver`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.cli.base import main


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
