"""Request bodies the app refuses before any view reads them: JSON that cannot be text
(a lone UTF-16 surrogate such as `"\\ud800"`, which no database or log can encode; a NUL
character `"\\u0000"`, which PostgreSQL's text cannot hold and SQLite would keep, so a
province could not move between them) or that
nests deeper than `CONGVU_JSON_MAX_DEPTH` (64 by default; ~50,000 levels would exhaust
the parser's recursion). Both are a 400 in the contract's error format, never a 500.

Runs after the tenant hooks (core/hooks.py), so another tenant's URL stays a 404 whatever
its body."""

from __future__ import annotations

import json

from flask import Flask, current_app, request

from core.errors import abort

BODY_FIELD = "_body"
NUL_MESSAGE = "The text contains a NUL character (\\u0000), which no field can hold."


def _problem(value: object, max_depth: int) -> str | None:
    """Why a parsed JSON document is refused, walking it without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "The JSON text contains an invalid character (a lone UTF-16 surrogate such as \\ud800)."
            if "\x00" in item:
                return NUL_MESSAGE
        elif isinstance(item, (list, dict)):
            if depth > max_depth:
                return f"The JSON nests deeper than {max_depth} levels."
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def check_json_body() -> None:
    if not request.is_json or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    max_depth = int(current_app.config["CONGVU_JSON_MAX_DEPTH"])
    try:
        document = json.loads(raw)
    except RecursionError:
        problem: str | None = f"The JSON nests deeper than {max_depth} levels."
    except ValueError:  # not JSON, or not UTF-8: webargs answers that with its own 400
        return
    else:
        problem = _problem(document, max_depth)
    if problem:
        abort(400, problem, {BODY_FIELD: [problem]}, code="bad_json")


def check_form_body() -> None:
    """A page's form field with a NUL character: refused as in JSON, before any form reads
    it (a name typed with one was stored on SQLite, and would reach PostgreSQL's text)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.mimetype not in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return
    # A multipart part without a name (or with one werkzeug cannot read) comes back keyed None.
    if any("\x00" in (key or "") or "\x00" in (value or "") for key, value in request.form.items(multi=True)):
        abort(400, NUL_MESSAGE, {BODY_FIELD: [NUL_MESSAGE]}, code="bad_form")


def init_app(app: Flask) -> None:
    app.before_request(check_json_body)
    app.before_request(check_form_body)
