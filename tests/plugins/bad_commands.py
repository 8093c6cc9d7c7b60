"""Its command hook raises: the CLI's own commands (and --help) must still work."""

from core.plugins.toolkit import hookimpl


@hookimpl
def congvu_register_commands(cli):
    raise RuntimeError("no commands today")
