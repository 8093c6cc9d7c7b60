"""What a manager's decision on an item tells its owner: an assignment, a refused
declaration and a finished item sent back for rework each leave one notification for the person concerned (core/notifications),
in the same transaction as the decision and its audit event, so the one is never
committed without the other.

The target is the "Hôm nay" page at the item (`#item-<id>`): an assigned item is open,
so the page shows it from its work date on (today's or carried over); a refused one
stays on its own day's page, so a refusal of an earlier day's declaration has no page
to open and its notice carries the reason itself."""

from __future__ import annotations

from core.extensions import db
from core.notifications.services import notify_each, page_link
from core.org.models import Employee
from core.work import calendar as cal
from core.work.models import WorkItem


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for pybabel; notify() translates it
    return message


ASSIGNED = N_('%(manager)s assigned you "%(title)s" on %(day)s, due on %(deadline)s.')
ASSIGNED_OPEN = N_('%(manager)s assigned you "%(title)s" on %(day)s.')
REFUSED = N_('%(manager)s refused your declaration "%(title)s" of %(day)s: %(reason)s')
RETURNED = N_('%(manager)s sent "%(title)s" of %(day)s back for rework: %(reason)s')


def _name(employee_id: int | None) -> str:
    person = db.session.get(Employee, employee_id) if employee_id is not None else None
    return person.full_name if person is not None else "—"


def at_item(item: WorkItem) -> str:
    """The item on "Hôm nay" (its row's anchor), as a notification's link."""
    return page_link("work_pages.today", anchor=f"item-{item.id}", t=cal.current_tenant().slug)


def assigned(items: list[WorkItem]) -> int:
    """One notification per item a manager assigned (declared for someone else); the items
    a person declared for themself tell nobody. Items without a deadline say so by omission."""
    given = [i for i in items if i.assigned_by_id is not None and i.assigned_by_id != i.employee_id]
    if not given:
        return 0
    added = 0
    for message, group in ((ASSIGNED, [i for i in given if i.deadline is not None]),
                           (ASSIGNED_OPEN, [i for i in given if i.deadline is None])):
        added += notify_each("work.assigned", message, [
            (i.employee_id, {"manager": _name(i.assigned_by_id), "title": i.title,
                             "day": i.work_date.strftime("%d/%m/%Y"),
                             "deadline": i.deadline.strftime("%d/%m/%Y") if i.deadline else ""},
             at_item(i)) for i in group])
    return added


def refused(item: WorkItem) -> int:
    """The owner of a refused declaration is told who refused it and why; the link opens it
    on "Hôm nay" when it is today's (an earlier day's is on no page any more)."""
    link = at_item(item) if item.work_date == cal.local_today() else None
    return notify_each("work.refused", REFUSED, [
        (item.employee_id, {"manager": _name(item.verified_by_id), "title": item.title,
                            "day": item.work_date.strftime("%d/%m/%Y"), "reason": item.verification_note or ""},
         link)])


def returned(item: WorkItem) -> int:
    """The owner of a finished item sent back for rework is told who sent it back and why:
    it costs them a failed review and is open again, so "Hôm nay" shows it (today's or
    carried over) and the link opens it there."""
    return notify_each("work.returned", RETURNED, [
        (item.employee_id, {"manager": _name(item.reviewed_by_id), "title": item.title,
                            "day": item.work_date.strftime("%d/%m/%Y"), "reason": item.review_comment or ""},
         at_item(item))])
