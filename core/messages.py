"""English messages shown in the reader's language, through the message catalogue.

Services, the import pipeline and connectors write their messages in English (the
API's source language; an import report is stored with its job, in English), often
with values in them: "The period 2026-11 is closed.", "Duplicate of row 7.". A page
shows them through `localise`: a message that is a msgid of the catalogue is looked up
as it is; otherwise it is matched against the catalogue's msgids with placeholders
("The period %(period)s is closed."), and the translation of the one that matches is
filled with the values found — months and dates in them written the reader's way.
So every such text is translated in messages.po, like the pages' own strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MIN_LITERAL = 8
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")
_ISO_MONTH = re.compile(r"^'?(\d{4})-(\d{2})'?$")
_ISO_DAY = re.compile(r"^'?(\d{4})-(\d{2})-(\d{2})'?$")


def _pattern(msgid: str) -> tuple[str, re.Pattern[str]] | None:
    """The regular expression a msgid with placeholders matches, and its literal prefix."""
    parts, seen, last = [], set(), 0
    for match in _PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[last:match.start()]))
        name = match.group(1)
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>-?\\d+)" if match.group(2) == "d" else f"(?P<{name}>.+?)")
        last = match.end()
    if not seen:
        return None
    parts.append(re.escape(msgid[last:]))
    return msgid[:_PLACEHOLDER.search(msgid).start()], re.compile("".join(parts), re.DOTALL)


_TEMPLATES: dict[int, tuple[dict, list[tuple[str, re.Pattern[str], str]]]] = {}


def _templates(catalog: dict) -> list[tuple[str, re.Pattern[str], str]]:
    """The catalogue's msgids with placeholders as patterns, made once per loaded catalogue
    (the entry keeps the catalogue alive, so its id is not reused)."""
    cached = _TEMPLATES.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    out = []
    for msgid in catalog:
        found = _pattern(msgid) if isinstance(msgid, str) and "%(" in msgid else None
        # Too little literal text ("%(month)s/%(year)s") would match any message.
        if found is not None and len(_PLACEHOLDER.sub("", msgid).strip()) >= MIN_LITERAL:
            out.append((found[0], found[1], msgid))
    # The most specific first: the longest literal text.
    out.sort(key=lambda t: -len(_PLACEHOLDER.sub("", t[2])))
    _TEMPLATES[id(catalog)] = (catalog, out)
    return out


def _catalog(translations: Any) -> dict:
    catalog = getattr(translations, "_catalog", None)
    return catalog if isinstance(catalog, dict) else {}


def _shown(value: str, locale: str) -> str:
    """A value found in a message, as the reader writes it: months and days."""
    from core.i18n import day_label, month_label

    if (m := _ISO_MONTH.match(value)) is not None:
        return month_label(f"{m.group(1)}-{m.group(2)}", locale)
    if (m := _ISO_DAY.match(value)) is not None:
        return day_label(f"{m.group(1)}-{m.group(2)}-{m.group(3)}")
    return value


# A range's limits are numbers to read ("Phải từ 0,1 đến 1.000."), unlike the other
# values a message carries (codes, which keep their digits as written).
_BOUNDS = ("min", "max", "hours")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def bound_text(value: str, locale: str) -> str:
    if locale.startswith("en") or not _NUMBER.fullmatch(value):
        return value
    from core.i18n import _grouped

    return _grouped(value.rstrip("0").rstrip(".") if "." in value else value, vi=True)


def _inner(value: str, translations: Any, catalog: dict, locale: str) -> str:
    shown = _shown(value, locale)
    if shown != value:
        return shown
    return _match(value, translations, catalog, locale, depth=1)


def _match(text: str, translations: Any, catalog: dict, locale: str, depth: int = 0) -> str:
    for prefix, pattern, msgid in _templates(catalog):
        if not text.startswith(prefix):
            continue
        found = pattern.fullmatch(text)
        if found is not None:
            # Values that are messages of the catalogue ("done", "not a number", "must be
            # at least 1") are translated too, one level deep.
            values = {k: translations.gettext(v) if v in catalog else
                      _inner(v, translations, catalog, locale) if depth == 0 else _shown(v, locale)
                      for k, v in found.groupdict().items()}
            values.update({k: bound_text(values[k], locale) for k in _BOUNDS if k in values})
            try:
                return translations.gettext(msgid) % values
            except (KeyError, ValueError, TypeError):
                return text
    return text


def localise(message: Any, locale: str | None = None) -> str:
    """`message` in the reader's language (the request's locale, or `locale`), when the
    catalogue knows it; otherwise as written (a plugin may write Vietnamese already)."""
    from flask_babel import force_locale, get_locale, get_translations

    if message is None:
        return ""
    text = str(message)
    if locale is not None and str(get_locale() or "") != str(locale):
        with force_locale(locale):
            return localise(text, None)
    locale = str(get_locale() or "vi")
    if not text:
        return text
    translations = get_translations()
    catalog = _catalog(translations)
    if text in catalog:
        # English too: its catalogue rewords a few library messages ("The CSRF token has
        # expired.") in words a person can act on; every other msgid reads as it is.
        return translations.gettext(text)
    if locale.startswith("en"):
        return text
    return _match(text, translations, catalog, locale)


def localise_errors(errors: Any, locale: str | None = None) -> Any:
    """The same structure (dicts, lists) with every message localised."""
    if isinstance(errors, Mapping):
        return {key: localise_errors(value, locale) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [localise_errors(value, locale) for value in errors]
    return localise(errors, locale)


def error_text(exc: Any) -> str:
    """A service error as one line for a page's notice: its message and the field
    messages that say more than it, each once, in the reader's language."""
    message = localise(getattr(exc, "message", "") or str(exc))
    parts = [message] if message else []
    for value in (getattr(exc, "errors", None) or {}).values():
        for item in (value if isinstance(value, list | tuple) else [value]):
            if isinstance(item, Mapping):
                continue
            shown = localise(item)
            if shown and shown not in parts:
                parts.append(shown)
    return " ".join(parts)
