"""Work events: what changed is queued during the transaction and told to plugins after
its commit (`core.unit_of_work.commit()` calls `emit_events`; hookspecs.py says "called
after the commit")."""

from __future__ import annotations

from core.plugins.events import emit
from core.txcache import pending
from core.work.models import WorkItem


def queue_event(item: WorkItem, change: str) -> None:
    """For the commit (core/unit_of_work.py): the item is re-scored (or marked for the
    scorer) before it, and `congvu_work_item_changed` is emitted after it."""
    pending().setdefault("work_events", []).append((item.tenant_id, item.id, change))


def emit_events(events: list[tuple[int, int, str]]) -> None:
    """After the commit: tell plugins what changed (they may read the committed rows)."""
    for tenant_id, item_id, change in events:
        emit("congvu_work_item_changed", tenant_id=tenant_id, item_id=item_id, change=change)
