"""Returns a component's class instead of an instance of it."""

from core.plugins.toolkit import hookimpl
from tests.plugins.wrong_shape import Lone


@hookimpl
def congvu_scoring_variants():
    return [Lone]
