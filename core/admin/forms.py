"""Plain HTML forms read through the API's own marshmallow schemas, so a page and the API
accept and refuse exactly the same input; errors come back per field, in the reader's
language, for the template to show beside each field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from core.errors import ServiceError
from core.i18n import decimal_input, iso_day
from core.messages import bound_text, localise

# What the services and schemas answer, so pages can show them translated (and
# extraction keeps them); marshmallow's generic messages are in core.messages.
SERVICE_MESSAGES = (
    _l("A unit with this code exists."), _l("No such unit in this tenant."), _l("This would make a cycle."),
    _l("A position with this code exists."), _l("An employee with this code exists."),
    _l("No such position in this tenant."), _l("No such employee in this tenant."),
    _l("This username is taken in this tenant."), _l("Required with a username."),
    _l("Required with a password."), _l("Create a login first."), _l("This is your own login."),
    _l("A task type with this code exists."), _l("Use 1–64 letters, digits, '.', '_' or '-'."),
    _l("Use a date between 1970 and 2099."), _l("The end date is before the start date."),
    _l("Not a valid email address."), _l("Already closed."), _l("Not closed."),
    _l("A competency with this code exists."), _l("Move its employees first."),
    _l("Move or delete its sub-units first."), _l("Reassign its employees first."),
    _l("Work items refer to it."), _l("Tick the box to confirm."), _l("Lower the positions' levels first."),
    _l("A unit cannot merge into itself."), _l("A unit merge takes effect today or earlier; submit it on its day."),
    _l("The target is inside one of the source units."),
)
# Names of nested fields (rows of a list) as the form labels them.
NESTED_LABELS = {"level": _l("Complexity level"), "coefficient": _l("Coefficient")}
# marshmallow's Range with an exclusive minimum and inclusive maximum, which the shared
# table (core.messages) reads as two exclusive bounds.
_OPEN_CLOSED = re.compile(r"^Must be greater than (?!or equal to )(.+) and less than or equal to (.+)\.$")
# Service messages that carry a value.
_WITH_VALUE = (
    (re.compile(r"^No such position: (.+)\.$"), _l("No such position: %(value)s.")),
    (re.compile(r"^Level (\d+) is given twice\.$"), _l("Level %(value)s is given twice.")),
    (re.compile(r"^No such unit: (.+)\.$"), _l("No such unit: %(value)s.")),
)


def message(text: str) -> str:
    """One message in the reader's language: marshmallow's by pattern, the services' by the catalogue."""
    locale = str(get_locale() or "vi")
    if text == "Not a valid date.":  # a page's day box is typed dd/mm/yyyy (the API's is ISO)
        return gettext("Use the format dd/mm/yyyy.")
    bounds = _OPEN_CLOSED.match(text)
    if bounds:
        return gettext("Must be greater than %(min)s and at most %(max)s.", min=bound_text(bounds[1], locale),
                       max=bound_text(bounds[2], locale))
    for pattern, translated in _WITH_VALUE:
        found = pattern.match(text)
        if found:
            return str(translated) % {"value": found[1]}
    localised = localise(text, locale)
    return localised if localised != text else gettext(text)


def flatten(errors: Any, prefix: str = "") -> list[str]:
    """Nested marshmallow errors (lists of rows) as readable lines: "Row 2 – coefficient: …"."""
    if isinstance(errors, Mapping):
        out: list[str] = []
        for key, value in errors.items():
            if isinstance(key, int):
                label = gettext("Row %(n)s", n=key + 1)
            elif key == "_schema":
                label = ""
            else:
                label = str(NESTED_LABELS.get(key, key))
            inner = f"{prefix} – {label}" if prefix and label else (prefix or label)
            out.extend(flatten(value, inner))
        return out
    if isinstance(errors, list | tuple):
        return [line for value in errors for line in flatten(value, prefix)]
    text = message(str(errors))
    return [f"{prefix}: {text}" if prefix else text]


def field_errors(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """{field: [message, …]} with nested structures flattened and every text translated."""
    out: dict[str, list[str]] = {}
    for name, value in errors.items():
        name = "_" if name == "_schema" else name  # a whole-form error shows above the form
        if isinstance(value, Mapping):
            out[name] = flatten(value, "")
        else:
            out[name] = [message(str(m)) for m in (value if isinstance(value, list | tuple) else [value])]
    return out


def raw_input(schema: Schema, form: MultiDict, only: Iterable[str] | None = None) -> dict[str, Any]:
    """The form as the schema expects it: lists from repeated fields, ticked boxes as
    booleans, an empty box as null where the field allows it, else as absent (so a
    required field reports itself missing)."""
    names = list(only) if only is not None else [n for n, f in schema.fields.items() if not f.dump_only]
    data: dict[str, Any] = {}
    for name in names:
        field = schema.fields[name]
        if isinstance(field, fields.List):
            data[name] = [v.strip() for v in form.getlist(name) if v.strip()]
        elif isinstance(field, fields.Boolean):
            data[name] = bool(form.get(name))
        else:
            value = form.get(name, "").strip()
            if value == "":
                if field.allow_none:
                    data[name] = None
            else:
                if isinstance(field, fields.Number):
                    value = decimal_input(value)  # Vietnamese writes 1,5 for one and a half
                elif isinstance(field, fields.Date):
                    value = iso_day(value) or value  # typed dd/mm/yyyy; the schema reads ISO
                data[name] = value
    return data


def load(schema: Schema, data: Mapping[str, Any]) -> tuple[dict, dict[str, list[str]]]:
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        return {}, field_errors(exc.messages if isinstance(exc.messages, Mapping) else {"_": exc.messages})


def load_with_checks(schema: Schema, data: Mapping[str, Any],
                     checks: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> tuple[dict, dict[str, list[str]]]:
    """The form through its schema and, on the fields that passed it, the service's own
    checks (a code in use, an unknown reference…): every error of the form in one answer,
    the schema's first where both speak of a field. The data is {} when anything is wrong."""
    try:
        loaded, errors = schema.load(data), {}
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, Mapping) else {"_": exc.messages}
        loaded, errors = (exc.valid_data if isinstance(exc.valid_data, Mapping) else {}), field_errors(messages)
    for name, messages in field_errors(checks(loaded)).items():
        errors.setdefault(name, messages)
    return ({} if errors else loaded), errors


def service_errors(exc: ServiceError) -> dict[str, list[str]]:
    """A service's refusal as field errors; one without fields under "_" (shown above the form)."""
    errors = field_errors(exc.errors) if exc.errors else {}
    return errors or {"_": [message(exc.message)]}
