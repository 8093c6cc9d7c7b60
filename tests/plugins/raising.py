"""A registration hook that raises: the plugin is reported, not the whole server's traceback."""

from core.plugins.toolkit import hookimpl


@hookimpl
def congvu_bonus_schemes():
    raise ValueError("cannot read my configuration")
