"""What the work pages read from a typed form: a day as dd/mm/yyyy, a number with the
reader's decimal mark, and the work services' English field messages in the page's
language. Shared by "Hôm nay" (views.py) and the manager's pages (manager_views.py)."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import ServiceError
from core.i18n import day_input, decimal_input, num


def parse_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    day = day_input(value)
    if day is None:
        raise ServiceError(_("Invalid date."), {field: [_("Use the format dd/mm/yyyy.")]})
    return day


def parse_number(value: str | None, field: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        # The reader's decimal mark: "1,5" is one and a half, as the admin's number boxes read it.
        number = float(decimal_input(value))
    except ValueError as exc:
        raise ServiceError(_("Invalid number."), {field: [_("Enter a number.")]}) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ServiceError(_("Invalid number."), {field: [_("Enter a number.")]})
    return number


# Messages of the work services (English, as the API answers them) shown beside a field.
FIELD_MESSAGES = {
    "No such task type.": _l("No such task type."),
    "Must be greater than 0.": _l("Must be greater than 0."),
    "The deadline is before the work date.": _l("The deadline is before the work date."),
    "Not in the catalogue of the employee's position.": _l("Not in the catalogue of your position."),
    "No norm in force on this date.": _l("This task type has no norm on this date."),
    "Give a reason for sending it back.": _l("Give a reason for sending it back."),
    "Required: you have no employee record.": _l("Your login has no employee record."),
}


_CEILING = re.compile(r"At most ([0-9.]+) per item for this task type\.")
_FIRST_NORM = re.compile(r"Nothing of this task type can be declared before (\d{4}-\d{2}-\d{2})\.")


def field_message(message: str) -> str:
    """A work service's English field message in the page's language; the numbers and days
    it names (the type's ceiling, the first day of its norms) are read back out of it."""
    known = FIELD_MESSAGES.get(message)
    if known is not None:
        return str(known)
    if ceiling := _CEILING.fullmatch(message):
        return ceiling_message(float(ceiling.group(1)))
    if first := _FIRST_NORM.fullmatch(message):
        return _("The work date must be %(day)s or later: nothing of this task type can be declared before it.",
                 day=date.fromisoformat(first.group(1)).strftime("%d/%m/%Y"))
    if "closed" in message:
        return _("This month is closed: nothing can be declared in it.")
    return _(message)


def ceiling_message(ceiling: float) -> str:
    """The one wording of the catalogue's per-item ceiling, on every form that takes a quantity."""
    return _("At most %(max)s per item for this task type.", max=num(ceiling))


