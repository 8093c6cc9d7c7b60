"""The daily work loop: declaring, assigning, updating, completing, extending,
reviewing, exempting and verifying work items, and the rules they are measured by.

One module per job:
- `declaring`: declaring and assigning items, one at a time or as a batch;
- `progress`: updating an item (progress, status, result) and extending its deadline;
- `reviews`: a manager's review, exemption and verification of an item;
- `queues`: the manager's queue, the item list and a unit's day;
- `glance`: the home page's counts of a person's day and of what waits for a manager;
- `long_days`: the 12-hour rule of a person's own plan, and the 8-hour line managers see;
- `measure`: the measuring rules (missed deadlines, not reported) and the nightly sweep;
- `item_views`: an item as readers and the audit chain see it;
- `access`: who may see and change which item;
- `periods`, `settings`: closed months and the tenant's work settings;
- `leave`, `calendar_days`: leave records, holidays and working-day counts;
- `events`: the work events told to plugins after the commit;
- `notices`: what an assignment or a refused declaration tells the person (a notification).

Services raise `core.errors` exceptions before writing anything. Each change writes
an audit event in the same transaction and queues `congvu_work_item_changed`, which
`core.unit_of_work.commit()` emits after the commit (hookspecs.py says "called after the
commit").

The names below are the work package's service API, used by its API and pages
(`from core.work import services`, then `services.declare`): re-exported here so that
they need not know which module holds what. Helpers shared between these modules are
imported from the module that owns them.
"""

from __future__ import annotations

from core.work.services.access import get_item, visible_items_clause
from core.work.services.calendar_days import (
    calendar_day_view,
    delete_calendar_day,
    get_calendar_day,
    set_calendar_day,
    working_days_view,
)
from core.work.services.declaring import declare, declare_batch
from core.work.services.glance import DayGlance, day_glance, waiting_for_manager
from core.work.services.item_views import view, views
from core.work.services.leave import create_leave, delete_leave, get_leave, leave_query, leave_view
from core.work.services.long_days import (
    FULL_DAY_MINUTES,
    LONG_DAY_MINUTES,
    check_long_days,
    day_loads,
    day_plans,
    overloaded,
    planned_minutes,
)
from core.work.services.measure import Measure, sweep
from core.work.services.periods import close_period
from core.work.services.progress import extend_deadline, extensions, update_item
from core.work.services.queues import items_query, managed_items_clause, queue, unit_day
from core.work.services.reviews import exempt, review, verify
from core.work.services.settings import settings_view, update_work_settings, work_settings

__all__ = [
    "DayGlance", "day_glance", "waiting_for_manager",
    "FULL_DAY_MINUTES", "LONG_DAY_MINUTES", "Measure", "calendar_day_view", "check_long_days", "close_period", "create_leave",
    "day_loads", "day_plans", "declare",
    "declare_batch", "delete_calendar_day", "delete_leave", "exempt", "extend_deadline", "extensions",
    "get_calendar_day", "get_item", "get_leave", "items_query", "leave_query", "leave_view", "managed_items_clause",
    "overloaded", "planned_minutes", "queue", "review", "set_calendar_day", "settings_view", "sweep", "unit_day",
    "update_item", "update_work_settings", "verify", "view", "views", "visible_items_clause", "work_settings",
    "working_days_view",
]
