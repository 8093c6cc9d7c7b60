"""One-line text: the names people and units are known by (a person's, a unit's, a task
type's, a login's). A control character in one (U+0001 to U+001F, U+007F to U+009F: a tab,
a line break, an escape pasted from a terminal or an old spreadsheet) or a Unicode line
or paragraph separator (U+2028, U+2029) is invisible on a page yet part of the name: it
breaks the lines of exports and decisions, defeats searches and duplicate checks, and a
line break in a name can forge a second line of a printed list. NUL is refused earlier,
for every field (core/input_limits.py).

The one rule, for the API and the pages (the schemas' `Line` field, which the pages read
through) and for imports (core/imports/values.py `to_text(..., line=True)`). Pure: no web
framework, so the import converters (and so plugins) may use it."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import fields

LINE_MESSAGE = "Remove the tab, line break or other control character: this field is one line of text."
# The same, as the reason an import gives for a cell ("Invalid value '…': <reason>.").
LINE_REASON = "holds a tab, a line break or another control character, and a name is one line of text"
_SEPARATORS = ("\u2028", "\u2029")


def breaks_line(text: str) -> bool:
    """Whether `text` holds a control character or a line/paragraph separator."""
    if text.isprintable():  # the common case, in C: no Cc, Zl or Zp (nor other unprintables)
        return False
    return any(unicodedata.category(c) == "Cc" or c in _SEPARATORS for c in text)


class Line(fields.String):
    """A string field that holds one line of visible text (see the module's docstring)."""

    default_error_messages = {"line": LINE_MESSAGE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if breaks_line(text):
            raise self.make_error("line")
        return text
