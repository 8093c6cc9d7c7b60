"""Exact money: shares of a fund in whole đồng that add up to the fund, and rounding as
people do it by hand. Pure (no framework, no database), so plugins use it through the
toolkit (core/plugins/toolkit.py) and the core uses it directly."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
Number = int | float | Decimal | Fraction | str


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
