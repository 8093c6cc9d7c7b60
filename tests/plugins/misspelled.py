"""A marked hookimpl whose name matches no hookspec: check_pending() must catch it."""

from core.plugins.toolkit import hookimpl


@hookimpl
def congvu_scoring_variant():  # the hook is congvu_scoring_variants
    return []
