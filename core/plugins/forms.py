"""Settings forms generated from a component's marshmallow schema, for the admin page
and for API clients that draw their own form (GET …/components).

A schema field may carry ``metadata={"label_vi", "label_en", "description_vi",
"description_en"}``; without them the field's name is its label.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from marshmallow import fields, missing, validate

from core.messages import localise
from core.plugins.components import Component

# Most specific first: Integer is a Number, Time is not a String, and so on.
_TYPES: list[tuple[type[fields.Field], str]] = [
    (fields.Boolean, "boolean"),
    (fields.Integer, "integer"),
    (fields.Number, "number"),
    (fields.Date, "date"),
    (fields.Time, "time"),
    (fields.DateTime, "datetime"),
    (fields.String, "string"),
]


def field_type(field: fields.Field) -> str:
    for cls, name in _TYPES:
        if isinstance(field, cls):
            if name == "string" and _one_of(field) is not None:
                return "choice"
            return name
    return "json"  # lists, dicts, nested schemas: edited as JSON text


def _one_of(field: fields.Field) -> validate.OneOf | None:
    return next((v for v in field.validators if isinstance(v, validate.OneOf)), None)


def _range(field: fields.Field) -> validate.Range | None:
    return next((v for v in field.validators if isinstance(v, validate.Range)), None)


def _jsonable(value: Any) -> Any:
    if callable(value):
        value = value()
    if value is missing:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return value


def describe_settings(component: Component, locale: str = "vi") -> list[dict[str, Any]]:
    """One description per settings field: name, type, default, limits, label, description."""
    english = str(locale).startswith("en")
    out = []
    for name, field in component.settings_schema().fields.items():
        if field.dump_only:
            continue
        meta = field.metadata
        one_of, bounds = _one_of(field), _range(field)
        out.append({
            "name": field.data_key or name,
            "type": field_type(field),
            "required": bool(field.required),
            "default": _jsonable(field.load_default),
            "choices": list(one_of.choices) if one_of is not None else None,
            "minimum": _jsonable(bounds.min) if bounds is not None else None,
            "maximum": _jsonable(bounds.max) if bounds is not None else None,
            "label": (meta.get("label_en") if english else meta.get("label_vi")) or meta.get("label_vi")
                     or meta.get("label_en") or name,
            "description": (meta.get("description_en") if english else meta.get("description_vi"))
                           or meta.get("description_vi") or meta.get("description_en"),
        })
    return out


def settings_from_form(component: Component, form: Mapping[str, str], prefix: str = "s.") -> tuple[dict, dict]:
    """The settings a submitted form holds (field ``<prefix><name>``), ready for the
    schema to validate, and the errors of fields that cannot even be read (bad JSON).

    A blank field is left out so its default applies; an unticked checkbox is False.
    """
    settings: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in describe_settings(component):
        name, kind = spec["name"], spec["type"]
        raw = form.get(prefix + name)
        if kind == "boolean":
            settings[name] = raw in ("on", "true", "1", "yes")
            continue
        if raw is None or raw.strip() == "":
            continue
        if kind == "json":
            try:
                settings[name] = json.loads(raw)
            except ValueError:
                errors[name] = ["Not valid JSON."]
            continue
        value = raw.strip()
        if kind in ("number", "integer") and "," in value and "." not in value:
            value = value.replace(",", ".")  # Vietnamese writes 0,5 for one half
        settings[name] = value
    return settings, errors


def form_values(component: Component, stored: Mapping[str, Any] | None) -> dict[str, str]:
    """What each field of the form shows: the stored value, else the default, as text."""
    values = {}
    for spec in describe_settings(component):
        value = (stored or {}).get(spec["name"], spec["default"])
        if spec["type"] == "json":
            values[spec["name"]] = "" if value is None else json.dumps(value, ensure_ascii=False)
        elif spec["type"] == "boolean":
            values[spec["name"]] = "on" if value else ""
        else:
            values[spec["name"]] = "" if value is None else str(value)
    return values


def localise_errors(errors: Any, locale: str) -> Any:
    """The same error structure (dicts, lists) with every message localised (marshmallow's
    messages are English; the admin page speaks the admin's language)."""
    if isinstance(errors, dict):
        return {key: localise_errors(value, locale) for key, value in errors.items()}
    if isinstance(errors, list):
        return [localise_errors(value, locale) for value in errors]
    return localise(str(errors), locale)
