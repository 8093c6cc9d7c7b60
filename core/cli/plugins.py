"""`congvu plugins …`."""

from __future__ import annotations

import os

import click

from core.cli.base import fail, main


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


def _plugins_new() -> click.Command:
    from core.plugins.scaffold import new_command

    return new_command()


plugins.add_command(_plugins_new())
