"""Settings forms generated from a component's marshmallow schema, for the admin page
and for API clients that draw their own form (GET …/components).

A schema field may carry ``metadata={"label_vi", "label_en", "description_vi",
"description_en"}``; without them the field's name is its label. A dictionary whose keys
are a fixed set (``fields.Dict(keys=fields.String(validate=OneOf(...)), values=<a
number, text or yes/no>)``) is a "mapping": one input per key, labelled by
``metadata={"key_labels_vi": {key: label}, "key_labels_en": …}`` or by the key itself.
A text field with a fixed set of values (``validate=OneOf(...)``) is a "choice", each
value named by ``metadata={"choice_labels_vi": {value: label}, "choice_labels_en": …}``
or by the value itself. Other lists and nested structures fall back to JSON text.
"""

from __future__ import annotations

import json
import re
import string
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


def _mapping_keys(field: fields.Field) -> list[str] | None:
    """The fixed keys of a dictionary of simple values, or None."""
    if not isinstance(field, fields.Dict) or field.key_field is None or field.value_field is None:
        return None
    one_of = _one_of(field.key_field)
    if one_of is None or _simple_type(field.value_field) is None:
        return None
    return [str(k) for k in one_of.choices]


def _simple_type(field: fields.Field) -> str | None:
    for cls, name in _TYPES:
        if isinstance(field, cls):
            return name
    return None


def field_type(field: fields.Field) -> str:
    if _mapping_keys(field) is not None:
        return "mapping"
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
        kind = field_type(field)
        # A mapping's limits and type are its values'.
        value_field = field.value_field if kind == "mapping" else field
        one_of, bounds = _one_of(field), _range(value_field)
        keys = _mapping_keys(field) or []
        key_labels = (meta.get("key_labels_en") if english else meta.get("key_labels_vi")) or \
            meta.get("key_labels_vi") or {}
        out.append({
            "name": field.data_key or name,
            "type": kind,
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
        if kind == "mapping":
            out[-1].update(mapping_keys=[{"key": k, "label": key_labels.get(k, k)} for k in keys],
                           value_type=_simple_type(value_field))
        if kind == "choice":
            words = (meta.get("choice_labels_en") if english else meta.get("choice_labels_vi")) or \
                meta.get("choice_labels_vi") or {}
            out[-1]["choice_labels"] = [{"value": c, "label": words.get(c, str(c))} for c in one_of.choices]
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
        if kind == "mapping":
            entries = {k["key"]: (form.get(f"{prefix}{name}.{k['key']}") or "").strip() for k in spec["mapping_keys"]}
            if spec["value_type"] == "boolean":
                settings[name] = {key: value in ("on", "true", "1", "yes") for key, value in entries.items()}
            elif any(entries.values()):
                # A key left blank is left out, so the schema says which one is missing.
                settings[name] = {key: _decimal_point(value, spec["value_type"]) for key, value in entries.items()
                                  if value}
            continue
        if raw is None or raw.strip() == "":
            continue
        if kind == "json":
            try:
                settings[name] = json.loads(raw)
            except ValueError:
                errors[name] = ["Not valid JSON."]
            continue
        settings[name] = _decimal_point(raw.strip(), kind)
    return settings, errors


def _decimal_point(value: str, kind: str | None) -> str:
    from core.i18n import decimal_input, iso_day

    if kind == "date":
        return iso_day(value) or value
    return decimal_input(value) if kind in ("number", "integer") else value


def form_values(component: Component, stored: Mapping[str, Any] | None) -> dict[str, str]:
    """What each field of the form shows: the stored value, else the default, as text —
    numbers with the reader's decimal mark (0,5 in Vietnamese), as they type them back."""
    from core.i18n import decimal_text

    values = {}
    for spec in describe_settings(component):
        value = (stored or {}).get(spec["name"], spec["default"])
        if spec["type"] == "mapping":
            for k in spec["mapping_keys"]:
                item = (value or {}).get(k["key"]) if isinstance(value, Mapping) else None
                if spec["value_type"] == "boolean":
                    values[f"{spec['name']}.{k['key']}"] = "on" if item else ""
                elif spec["value_type"] in ("number", "integer"):
                    values[f"{spec['name']}.{k['key']}"] = decimal_text(item)
                else:
                    values[f"{spec['name']}.{k['key']}"] = "" if item is None else str(item)
            values[spec["name"]] = ""
        elif spec["type"] == "json":
            values[spec["name"]] = "" if value is None else json.dumps(value, ensure_ascii=False)
        elif spec["type"] == "boolean":
            values[spec["name"]] = "on" if value else ""
        elif spec["type"] in ("number", "integer"):
            values[spec["name"]] = decimal_text(value)
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


def flat_errors(errors: Any) -> list[str]:
    """A field's errors as lines: a mapping's per-key errors read "5: …"."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            for line in flat_errors(value):
                label = "" if key in ("value", "key", "_schema") else f"{key}: "
                lines.append(label + line)
        return lines
    if isinstance(errors, list):
        return [line for value in errors for line in flat_errors(value)]
    return [str(errors)]


_DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")


_VI_MARKS = str.maketrans(",.", ".,")


def setting_text(value: Any, vi: bool, yes: str, no: str) -> str:
    """One setting's value as the reader reads it: decimal commas in Vietnamese, yes/no,
    a mapping as "key: value; …"."""
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        value = Decimal(value)  # schemas store decimals as text ("90.00"): read as a number
    if isinstance(value, int | float | Decimal):
        number = round(float(value), 4)
        # Thousands grouped as the pages' numbers are (core.i18n.num): a base salary of
        # 2340000 reads 2.340.000 in Vietnamese, 2,340,000 in English.
        shown = f"{int(number):,}" if number.is_integer() else f"{number:,.4f}".rstrip("0")
        return shown.translate(_VI_MARKS) if vi else shown
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {setting_text(v, vi, yes, no)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(setting_text(v, vi, yes, no) for v in value)
    return "" if value is None else str(value)


def settings_lines(component: Component, settings: Mapping[str, Any], locale: str,
                   yes: str, no: str) -> list[tuple[str, str]]:
    """Settings as the reader reads them: (label, value) with decimal commas in Vietnamese,
    a mapping as "key label: value; …", a choice by its label; keys the schema does not
    know are shown by name."""
    vi = not str(locale).startswith("en")
    specs = {spec["name"]: spec for spec in describe_settings(component, locale)}
    lines = []
    for name, value in settings.items():
        spec = specs.get(name)
        if spec and spec["type"] == "mapping" and isinstance(value, Mapping):
            labels = {k["key"]: k["label"] for k in spec["mapping_keys"]}
            value = {labels.get(str(k), k): v for k, v in value.items()}
        elif spec and spec["type"] == "choice":
            value = next((c["label"] for c in spec["choice_labels"] if c["value"] == value), value)
        lines.append((spec["label"] if spec else name, setting_text(value, vi, yes, no)))
    return lines


def stored_settings_lines(labels: Mapping[str, Any], settings: Mapping[str, Any], locale: str,
                          yes: str, no: str) -> list[tuple[str, str]]:
    """settings_lines from the labels a scoring stamp kept ({name: {"label": [vi, en],
    "keys": {key: [vi, en]}, "choices": {value: [vi, en]}}}), for a component that may no
    longer be installed."""
    vi = not str(locale).startswith("en")
    lines = []
    for name, value in settings.items():
        spec = labels.get(name) or {}
        keys = spec.get("keys") or {}
        if keys and isinstance(value, Mapping):
            value = {(keys[str(k)][0 if vi else 1] if str(k) in keys else k): v for k, v in value.items()}
        choices = spec.get("choices") or {}
        if isinstance(value, str) and value in choices:  # a choice by its words, as the form named it
            value = choices[value][0 if vi else 1]
        label = spec.get("label")
        lines.append((label[0 if vi else 1] if label else name, setting_text(value, vi, yes, no)))
    return lines


def fill_description(text: str, settings: Mapping[str, Any], locale: str, yes: str, no: str) -> str:
    """A component's description with its ``{setting}`` placeholders filled in with the
    tenant's values ("{points_per_item} điểm mỗi việc" → "0,5 điểm mỗi việc"). The
    manager checked at load that every placeholder names a setting; one that does not
    (a stamp from before the check) is left as written."""
    vi = not str(locale).startswith("en")
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        out.append(setting_text(settings[name], vi, yes, no) if name in settings else "{" + name + "}")
    return "".join(out)


def description_placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders of a description (ValueError when its braces are unbalanced)."""
    return [name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None]
