"""Records event hooks, adds a command and a blueprint: what an integration plugin does."""

from __future__ import annotations

import click
from flask import Blueprint

from core.plugins.toolkit import hookimpl

CALLS: list[tuple[str, dict]] = []


@hookimpl
def congvu_work_item_changed(tenant_id, item_id, change):
    CALLS.append(("congvu_work_item_changed", {"tenant_id": tenant_id, "item_id": item_id, "change": change}))


@hookimpl
def congvu_period_closed(tenant_id, period):
    CALLS.append(("congvu_period_closed", {"tenant_id": tenant_id, "period": period}))


@hookimpl
def congvu_tenants_merged(source_tenant_id, target_tenant_id, effective_date):
    CALLS.append(("congvu_tenants_merged", {"source_tenant_id": source_tenant_id,
                                            "target_tenant_id": target_tenant_id,
                                            "effective_date": effective_date}))


@hookimpl
def congvu_register_commands(cli):
    @cli.command("recorder-hello")
    def hello():
        """Say hello (test plugin)."""
        click.echo("hello from the recorder plugin")


@hookimpl
def congvu_register_blueprints(app):
    pages = Blueprint("recorder_plugin", __name__)

    @pages.get("/recorder-plugin/ping")
    def ping():
        return {"pong": True}

    app.register_blueprint(pages)
