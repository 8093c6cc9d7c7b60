"""A built-in stand-in: provides the bonus scheme of tests/plugins/schemes.py."""

from core.plugins.toolkit import hookimpl
from tests.plugins.schemes import LevelWeights


@hookimpl
def congvu_bonus_schemes():
    return [LevelWeights()]
