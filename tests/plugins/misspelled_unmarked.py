"""An unmarked congvu_* function with a typo: pluggy alone would ignore it silently."""


def congvu_import_conectors():  # the hook is congvu_import_connectors
    return []
