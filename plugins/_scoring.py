"""Shared by the built-in scoring variants (not a plugin: modules starting with _ are not loaded)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_score(value: float, places: int = 2) -> float:
    """Round half up, as a person checking by hand would (Python's round() goes to even)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))
