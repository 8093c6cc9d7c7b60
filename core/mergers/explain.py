"""What explain shows of a month that a tenant merger's date cuts (core/scoring/sides.py):
each part with the rule that scored it — the tenant, its variant, version, settings and
settings hash, its sums, components, working days and task score — and the weighting
by working days that made the stored number, written out so that a person can redo it
by hand: (32.08 × 11 + 46.67 × 12) ÷ 23 = 912.92 ÷ 23 = 39.69; 39.69 + 24.00 = 63.69.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.scoring.sides import MONTH_RULE, Side, weighted_task


def _num(value: Decimal | float) -> str:
    return f"{Decimal(str(value)):.2f}"


def rule_of(side: Side) -> dict[str, Any]:
    """The rule a side scored by: its tenant and variant (stamp, title, settings)."""
    scheme = side.scheme
    return {"tenant": side.slug, "variant": scheme.stamp(), "title": scheme.variant.title(),
            "description": scheme.variant.description_vi, "settings": scheme.chosen.stored}


def weighting(parts: list[dict], general: float | None) -> dict[str, Any]:
    """The month rule on the stored parts, with its numbers and as a line to recompute."""
    task, counted = weighted_task([(Decimal(str(p["task_score"])), p["working_days"], p["item_count"])
                                   for p in parts])
    terms = [parts[i] for i in counted]
    days = sum(p["working_days"] for p in terms)
    if days:
        weighted = sum((Decimal(str(p["task_score"])) * p["working_days"] for p in terms), Decimal(0))
        inner = " + ".join(f"{_num(p['task_score'])} × {p['working_days']}" for p in terms)
        expression = f"({inner}) ÷ {days} = {_num(weighted)} ÷ {days} = {_num(task)}"
    else:  # no working days on any side (a month of leave): the plain mean of the parts
        weighted = sum((Decimal(str(p["task_score"])) for p in terms), Decimal(0))
        inner = " + ".join(_num(p["task_score"]) for p in terms)
        expression = f"({inner}) ÷ {len(terms)} = {_num(task)}"
    total = task + Decimal(str(general or 0))
    return {"rule": MONTH_RULE,
            "terms": [{"from": p["from"], "to": p["to"], "task_score": p["task_score"],
                       "working_days": p["working_days"]} for p in terms],
            "weighted_sum": float(weighted), "working_days": days, "task_score": float(task),
            "expression": expression,
            "total_expression": f"{_num(task)} + {_num(general or 0)} = {_num(total)}"}


def merger_formula(sides: list[tuple[Side, Any, Any]], stored: Any) -> dict[str, Any]:
    """The formula's `merger` block for a month on more than one side: each part as the
    stored row recorded it (what produced the number), with the rule of its side; a part
    whose settings hash is no longer that side's settings says so (`settings_match`)."""
    recorded = {p["from"]: p for p in ((stored.components or {}).get("merger", {}).get("parts", [])
                                       if stored is not None else [])}
    parts = []
    for side, lo, hi in sides:
        rule = rule_of(side)
        part = recorded.get(lo.isoformat())
        entry = {"from": lo.isoformat(), "to": hi.isoformat(), **rule}
        if part is not None:
            entry |= {"variant": part["variant"], "settings_match":
                      part["variant"]["settings_hash"] == rule["variant"]["settings_hash"],
                      **{k: part[k] for k in ("sums", "components", "working_days", "item_count", "task_score",
                                              "counted")}}
        parts.append(entry)
    scored = bool(recorded) and all("task_score" in p for p in parts)
    general = None if stored is None or stored.general_score is None else float(stored.general_score)
    return {"source": sides[0][0].slug, "effective_date": sides[1][1].isoformat(), "parts": parts,
            "weighting": weighting(parts, general) if scored else None,
            "note": None if scored else "Not yet scored by parts: the month must be recalculated."}
