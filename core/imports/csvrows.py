"""A small CSV reader for import connectors: a header row in any column order, comma or
semicolon, row numbers as a spreadsheet shows them. Pure, offered to plugins through
the toolkit; the core's own imports stream through core/imports/readers.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from core.plugins.components import RowError


def read_csv(data: bytes, columns: Iterable[str] = ()) -> tuple[list[dict[str, str]], list[RowError], list[str]]:
    """Read a UTF-8 CSV (a spreadsheet's byte-order mark allowed, comma or semicolon
    separated) with a header row in any column order.

    Returns the rows as dicts (row numbers as a spreadsheet shows them in ``"_row"``),
    the errors, and the header's columns that are not in ``columns`` (reported, not
    fatal). Header names are trimmed and lower-cased. Rows that are entirely empty are
    skipped.
    """
    errors: list[RowError] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [{"row": None, "column": None, "message": f"The file is not UTF-8 text (byte {exc.start})."}], []
    if not text.strip():
        return [], [], []
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        return [], [{"row": 1, "column": None, "message": f"Unreadable header: {exc}."}], []
    known = set(columns)
    extra = [h for h in header if known and h not in known]
    duplicates = sorted({h for h in header if header.count(h) > 1 and h})
    for name in duplicates:
        errors.append({"row": 1, "column": name, "message": "The column appears more than once."})
    rows: list[dict[str, str]] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                errors.append({"row": number, "column": None,
                               "message": f"The row has {len(cells)} cells but the header has {len(header)}."})
                continue
            row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
            row["_row"] = number  # type: ignore[assignment]
            rows.append(row)
    except csv.Error as exc:
        errors.append({"row": reader.line_num, "column": None, "message": f"Unreadable CSV: {exc}."})
    return rows, errors, extra
