"""Item components as SQL expressions: the optional fast path of a scoring variant.

A full recalculation of a province is millions of items. Building a dict per item and
calling Python for each costs about 25 µs an item, so a variant may also describe its
item components as SQL expressions over the item's columns
(``ScoringVariant.item_components_sql``); the core then scores the whole month with one
``INSERT … SELECT`` on PostgreSQL. The Python ``score_items`` stays the definition: the
test kit checks that both give the same numbers, bit for bit, on random items.

To be bit-identical the expressions must do the same IEEE double operations in the same
order as the Python code: numbers are cast to double precision (as ``float()`` does),
settings enter as double literals (``num``), and nothing is rounded on either side.
Expressions are built from plain data (the settings) — still no database access here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, case, cast, false, func, literal
from sqlalchemy.sql.elements import ColumnElement

# The fields a variant may use, as in ScoringVariant's docstring; numbers come as double.
NUMERIC_FIELDS = ("quantity", "product_weight", "norm_minutes", "complexity_coefficient")
PLAIN_FIELDS = ("status", "planned", "role", "priority", "deadline", "failed_reviews", "missed_deadlines",
                "stars", "satisfaction", "exempt", "complexity_level", "work_date", "not_reported")


class SqlItem:
    """The columns of one work item, as SQL expressions named like the item dict's keys.

    ``completed_on`` is the completion date in the tenant's time zone, ``as_of`` the
    date unfinished items are judged on, ``report_late`` whether a completed item's
    result came after the reporting deadline — as in the dict the Python path scores.
    """

    def __init__(self, columns: dict[str, Any], timezone: str, as_of: date):
        for name in NUMERIC_FIELDS:
            setattr(self, name, cast(columns[name], Float))
        for name in PLAIN_FIELDS:
            setattr(self, name, columns[name])
        self.task_type_code = columns["task_type_code"]
        self.group = columns["group"]
        self.completed_on = cast(func.timezone(timezone, columns["completed_at"]), Date)
        self.as_of = literal(as_of, Date)
        self.report_late = (columns["not_reported"].is_(True)) & (columns["status"] == "done")

    def is_done(self) -> ColumnElement[bool]:
        return self.status == "done"


def num(value: Any) -> ColumnElement[float]:
    """A setting or constant as a double literal (never integer arithmetic in SQL)."""
    return literal(float(value), Float)


def greatest(a: Any, b: Any) -> ColumnElement[float]:
    """max(a, b) as Python computes it (the first when equal)."""
    return case((a >= b, a), else_=b)


def least(a: Any, b: Any) -> ColumnElement[float]:
    return case((a <= b, a), else_=b)


def when(condition: Any, value: Any, otherwise: Any = 0.0) -> ColumnElement[float]:
    """`value if condition else otherwise`, with a NULL condition counting as false."""
    other = otherwise if isinstance(otherwise, ColumnElement) else num(otherwise)
    val = value if isinstance(value, ColumnElement) else num(value)
    return case((func.coalesce(condition, false()), val), else_=other)


def int_or(value: Any, default: int) -> ColumnElement[int]:
    """`int(x or default)` for a nullable integer column."""
    return func.coalesce(value, default)
