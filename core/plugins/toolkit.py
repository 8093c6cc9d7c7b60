"""The one import surface for plugin authors: ``from core.plugins.toolkit import ...``.

Everything named in ``__all__`` is kept stable: it changes only with a deprecation
period announced in docs/plugins.md. Anything else in ``core`` may change at any time,
so a plugin imports nothing else from the core.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Hashable, Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import TypeVar

from marshmallow import Schema, ValidationError, fields, validate

from core.plugins.components import (
    IMPORT_TARGETS,
    KINDS,
    LEVELS,
    PROTECTION_FIELDS,
    REGIMES,
    TARGET_FIELDS,
    TASK_SCORE_MAX,
    Allocation,
    BonusScheme,
    Classification,
    ClassificationScheme,
    Component,
    ImportConnector,
    LiveConnector,
    LivePage,
    NoSettings,
    ParsedRow,
    ParseResult,
    PeriodScore,
    RowError,
    ScoringVariant,
    protection_date_errors,
    round_score,
)
from core.plugins.hookspecs import hookimpl

__all__ = [
    "IMPORT_TARGETS",
    "KINDS",
    "LEVELS",
    "PROTECTION_FIELDS",
    "REGIMES",
    "TARGET_FIELDS",
    "TASK_SCORE_MAX",
    "Allocation",
    "BonusScheme",
    "Classification",
    "ClassificationScheme",
    "Component",
    "ImportConnector",
    "LiveConnector",
    "LivePage",
    "NoSettings",
    "ParseResult",
    "ParsedRow",
    "PeriodScore",
    "RowError",
    "Schema",
    "ScoringVariant",
    "ValidationError",
    "allocate_exact",
    "clamp",
    "fields",
    "hookimpl",
    "is_working_day",
    "period_bounds",
    "public_holidays",
    "read_csv",
    "round_money",
    "round_score",
    "validate",
    "working_days",
    "protection_date_errors",
]

K = TypeVar("K", bound=Hashable)
Number = int | float | Decimal | Fraction | str


# ---------------------------------------------------------------- numbers and money


def _exact(value: Number) -> Fraction:
    # Fractions make shares exact: floats would lose a đồng here and there.
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value)


def round_money(value: Number) -> int:
    """Round an amount of đồng to a whole đồng, halves away from zero (as people do by hand)."""
    exact = _exact(value)
    sign = -1 if exact < 0 else 1
    whole, rest = divmod(abs(exact), 1)
    return sign * (int(whole) + (1 if rest >= Fraction(1, 2) else 0))


def allocate_exact(total: int, weights: Mapping[K, Number]) -> dict[K, int]:
    """Share ``total`` whole units (đồng) in proportion to ``weights`` so the shares sum
    exactly to ``total`` (largest remainder method).

    Each share is the floor of its exact quota; the units left over go one each to the
    largest remainders, ties to the earlier key in ``weights``' order, so the answer is
    deterministic. All weights zero (or no weights) with a positive total is an error,
    since nobody could receive the money.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError("total must be a non-negative int")
    exact = {key: _exact(w) for key, w in weights.items()}
    if any(w < 0 for w in exact.values()):
        raise ValueError("weights must not be negative")
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum == 0:
        if total == 0:
            return dict.fromkeys(exact, 0)
        raise ValueError("cannot share a positive total among zero weights")
    quotas = {key: total * w / weight_sum for key, w in exact.items()}
    shares = {key: int(q) for key, q in quotas.items()}  # floor: quotas are non-negative
    left = total - sum(shares.values())
    # sorted() is stable, so equal remainders keep the weights' order.
    for key in sorted(quotas, key=lambda k: quotas[k] % 1, reverse=True)[:left]:
        shares[key] += 1
    return shares


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return max(low, min(high, value))


# ---------------------------------------------------------------- calendar


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays("VN", years=year))


def public_holidays(start: date, end: date) -> set[date]:
    """Vietnam's public holidays (with observed and substituted days) from ``start`` to ``end`` inclusive."""
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        days.update(d for d in _vn_holidays(year) if start <= d <= end)
    return days


def is_working_day(day: date, extra_days_off: Iterable[date] = ()) -> bool:
    """Monday to Friday, not a public holiday, not one of ``extra_days_off`` (the tenant's own)."""
    return day.weekday() < 5 and day not in _vn_holidays(day.year) and day not in set(extra_days_off)


def working_days(start: date, end: date, extra_days_off: Iterable[date] = ()) -> int:
    """The number of working days from ``start`` to ``end`` inclusive (0 when end < start).

    ``extra_days_off``: the tenant's own holidays and the employee's approved leave.
    """
    if end < start:
        return 0
    off = set(extra_days_off) | public_holidays(start, end)
    count, day = 0, start
    while day <= end:
        if day.weekday() < 5 and day not in off:
            count += 1
        day += timedelta(days=1)
    return count


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])(?:-(\d{2}))?|Q([1-4])|W(\d{2})))?$")


def period_bounds(period: str) -> tuple[date, date]:
    """The first and last day of an API period: ``2026-10``, ``2026-Q4``, ``2026``,
    ``2026-W43`` (ISO week) or ``2026-10-27``. Raises ValueError for anything else."""
    match = _PERIOD.match(period or "")
    if not match:
        raise ValueError(f"not a period: {period!r}")
    year, month, day, quarter, week = match.groups()
    y = int(year)
    if day:
        d = date(y, int(month), int(day))  # ValueError for 2026-02-30
        return d, d
    if month:
        m = int(month)
        return date(y, m, 1), date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    if quarter:
        first = 3 * int(quarter) - 2
        return date(y, first, 1), date(y + (first + 2) // 12, (first + 2) % 12 + 1, 1) - timedelta(days=1)
    if week:
        start = date.fromisocalendar(y, int(week), 1)  # ValueError for week 54
        return start, start + timedelta(days=6)
    return date(y, 1, 1), date(y, 12, 31)


# ---------------------------------------------------------------- files


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
