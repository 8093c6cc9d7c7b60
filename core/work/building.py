"""One work item's stored values, built by one function for every way an item enters:
a declaration through the API or a page, and a row of a work-items import.

Both paths resolve what they look up their own way (the API asks the catalogue for
one item, the import reads the whole catalogue once) and then hand the facts here, so
the rules below hold for both (docs/domain.md, "Work items"):

- status: given, else done when a completion time is given, else planned;
- declared at: given, else the caller's default (the API: now; an import: midnight
  of the work date in the tenant's zone); completion before declaration is refused;
- planned: declared before the tenant's morning cut-off on the work date;
- reported at: given, else the completion time for a done item;
- missed deadlines: given (an import may carry history), else the rule of the API
  path (`Measure.missed_deadlines`: the deadline passed while the item was open);
- not reported: always derived from completion and report times with the tenant's
  calendar (`Measure.not_reported`), never taken from the caller.

The module stays free of Flask and the ORM so that the import's hot loop pays for a
tuple, not an object: the values come back in `FIELDS` order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

# The stored columns an item is built with, in the order of `item_values`' tuple.
FIELDS = ("employee_id", "task_type_id", "norm_version_id", "title", "work_date", "quantity", "complexity_level",
          "norm_minutes", "product_weight", "complexity_coefficient", "status", "progress", "planned", "role",
          "priority", "deadline", "original_deadline", "missed_deadlines", "declared_at", "completed_at",
          "reported_at", "failed_reviews", "stars", "satisfaction", "exempt", "not_reported")
ONE, CENT = Decimal("1"), Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Norm:
    """The catalogue's answer for one item: its task type and the norm in force."""
    task_type_id: int
    title: str  # the task type's name, the title when none is given
    version_id: int
    minutes: Decimal
    weight: Decimal
    level: int | None
    coefficient: Decimal


@dataclass(slots=True)
class Facts:
    """What the measuring rules read of an item not yet written."""
    status: str
    completed_at: datetime | None
    reported_at: datetime | None
    deadline: date | None
    work_date: date
    missed_before: int = 0


class Rules(Protocol):
    """The measuring rules at one moment (core.work.services.measure.Measure)."""

    def missed_deadlines(self, item: Any) -> int: ...

    def not_reported(self, item: Any) -> bool: ...


class Refused(ValueError):
    """A value the rules refuse, with the column it belongs to."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


def quantity_of(value: Any) -> Decimal:
    if value is None:
        return ONE
    number = value if value.__class__ is Decimal else Decimal(str(value))
    return number.quantize(CENT)


def item_values(values: Mapping[str, Any], employee_id: int, norm: Norm, cutoff: datetime, declared_default: datetime,
                rules: Rules) -> tuple:
    """The item's values in `FIELDS` order. `values` holds what the caller was given
    (work_date required; title, quantity, deadline, status, declared_at, completed_at,
    reported_at, missed_deadlines, role, priority, failed_reviews, stars, satisfaction,
    exempt optional); `cutoff` is the work date's morning cut-off. Raises Refused."""
    get = values.get
    work_date: date = values["work_date"]
    completed, deadline = get("completed_at"), get("deadline")
    status = get("status") or ("done" if completed is not None else "planned")
    declared = get("declared_at") or declared_default
    if completed is not None and completed < declared:
        raise Refused("completed_at", "Before the item was declared.")
    done = status == "done"
    reported = get("reported_at") or (completed if done else None)
    facts = Facts(status, completed, reported, deadline, work_date)
    missed = get("missed_deadlines")
    if missed is None:
        missed = rules.missed_deadlines(facts)
    return (employee_id, norm.task_type_id, norm.version_id, get("title") or norm.title, work_date,
            quantity_of(get("quantity")), norm.level, norm.minutes, norm.weight, norm.coefficient,
            status, 100 if done else 0, declared < cutoff, get("role") or "lead", get("priority") or 1,
            deadline, deadline, missed, declared, completed, reported,
            get("failed_reviews") or 0, get("stars"), get("satisfaction"), bool(get("exempt")),
            rules.not_reported(facts))


def item_fields(values: Mapping[str, Any], employee_id: int, norm: Norm, cutoff: datetime, declared_default: datetime,
                rules: Rules) -> dict[str, Any]:
    """`item_values` as a mapping of column names (for building an ORM row)."""
    return dict(zip(FIELDS, item_values(values, employee_id, norm, cutoff, declared_default, rules), strict=True))
