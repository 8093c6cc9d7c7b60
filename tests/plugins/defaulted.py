"""A hookimpl with a default-valued parameter, which pluggy would never pass."""

from core.plugins.toolkit import hookimpl


@hookimpl
def congvu_work_item_changed(tenant_id, item_id, change="updated"):
    return None
