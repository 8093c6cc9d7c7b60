"""Work events: what changed is queued during the transaction and told to plugins after
its commit (`core.unit_of_work.commit()` calls `emit_events`; hookspecs.py says "called
after the commit")."""

from __future__ import annotations

from datetime import date

from core.plugins.events import emit
from core.txcache import pending
from core.work.models import WorkItem

# (tenant, item id, change, (person, work date) as queued): the person and date let the
# scoring marks be made without reading back an item written outside the session
# (a declaration's Core INSERT, core/work/services/declaring.py).
WorkEvent = tuple[int, int, str, tuple[int, date]]


def queue_event(item: WorkItem, change: str) -> None:
    """For the commit (core/unit_of_work.py): the item is re-scored (or marked for the
    scorer) before it, and `congvu_work_item_changed` is emitted after it."""
    pending().setdefault("work_events", []).append((item.tenant_id, item.id, change, (item.employee_id, item.work_date)))


def emit_events(events: list[WorkEvent]) -> None:
    """After the commit: tell plugins what changed (they may read the committed rows)."""
    for tenant_id, item_id, change, _ in events:
        emit("congvu_work_item_changed", tenant_id=tenant_id, item_id=item_id, change=change)
