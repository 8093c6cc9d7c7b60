"""Returns a component whose key is not a key and a connector that is not a connector."""

from core.plugins.toolkit import ImportConnector, hookimpl


class BadKey(ImportConnector):
    key = "Bad Key!"
    version = "1"
    title_vi = "Sai"
    title_en = "Bad"
    target = "work_items"
    columns = ("a",)


@hookimpl
def congvu_import_connectors():
    return [BadKey()]
