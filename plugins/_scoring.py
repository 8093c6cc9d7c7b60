"""Shared by the built-in scoring variants (not a plugin: modules starting with _ are not loaded)."""

from __future__ import annotations

from typing import Any

# The core's rounding of task scores (half up), re-exported for the built-in variants.
from core.plugins.toolkit import round_score as round_score

# Satisfaction (1–5, the citizen's or the assigner's rating) as points out of 100, like stars.
SATISFACTION_POINTS_PER_STEP = 20.0
SATISFACTION_COMPONENTS = ("satisfaction_items", "satisfaction_points")
# How the pages name the satisfaction numbers (each variant's `labels` include these).
SATISFACTION_LABELS = {
    "satisfaction_items": ("số việc được đánh giá mức độ hài lòng", "rated items (satisfaction)"),
    "satisfaction_points": ("điểm hài lòng", "satisfaction points"),
    "satisfaction_pct": ("Tỷ lệ hài lòng (%)", "Satisfaction %"),
}


def satisfaction_field(default: float, reason_en: str):
    """The share of the task % that the mean satisfaction takes (0 = not counted)."""
    from core.plugins.toolkit import fields, validate
    return fields.Float(load_default=default, validate=validate.Range(min=0, max=1), metadata={
        "label_vi": "Tỷ trọng mức độ hài lòng trong điểm nhiệm vụ (0–1)",
        "label_en": "Share of satisfaction in the task score (0–1)", "reason_en": reason_en})


def satisfaction_item(item: Any) -> dict[str, float]:
    """A completed item with a rating counts its rating × 20 points; others count nothing."""
    rating = item.get("satisfaction")
    if item.get("status") != "done" or rating is None:
        return {"satisfaction_items": 0, "satisfaction_points": 0.0}
    return {"satisfaction_items": 1, "satisfaction_points": SATISFACTION_POINTS_PER_STEP * int(rating)}


def satisfaction_item_sql(item: Any) -> dict[str, Any]:
    from core.plugins.toolkit import num, when
    rated = item.is_done() & item.satisfaction.is_not(None)
    return {"satisfaction_items": when(rated, 1),
            "satisfaction_points": when(rated, num(SATISFACTION_POINTS_PER_STEP) * item.satisfaction)}


def with_satisfaction(task_pct: float, sums: Any, settings: Any) -> tuple[float, dict[str, float]]:
    """task % = (1 − share) × task % + share × mean satisfaction points, when some item is rated;
    with no rated item the share falls back to the rest, so nobody loses points for lack of ratings."""
    share = float(settings.get("satisfaction_weight") or 0.0)
    rated = int(sums.get("satisfaction_items", 0) or 0)
    if rated <= 0:
        return task_pct, {"satisfaction_items": 0}
    mean = float(sums.get("satisfaction_points", 0)) / rated
    components = {"satisfaction_items": rated, "satisfaction_pct": round(mean, 4)}
    if share <= 0:
        return task_pct, components
    return (1 - share) * task_pct + share * mean, components
