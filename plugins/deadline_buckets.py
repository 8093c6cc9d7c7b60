"""Built-in scoring variant ``deadline-buckets``: one-stop-shop counters (domain.md).

completion points by finish date against the deadline (≥3 days early 115 … more than 3
days late 0), quality points = stars × 20, item score = their mean, item weight = role
weight × priority; task % = min(100, weighted mean); task score = 70 × task % ÷ 100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, case, or_

from core.plugins.toolkit import (
    TASK_SCORE_MAX,
    PeriodScore,
    Schema,
    ScoringVariant,
    SqlItem,
    fields,
    hookimpl,
    int_or,
    num,
    validate,
    when,
)
from plugins._scoring import (
    SATISFACTION_COMPONENTS,
    SATISFACTION_LABELS,
    round_score,
    satisfaction_field,
    satisfaction_item,
    satisfaction_item_sql,
    with_satisfaction,
)

# The version stamped on every score it produces: bump it whenever a number can change
# (docs/plugins.md, "Versions of the built-in components", says what each version scores).
VERSION = "1.2.0"


# Points of a bucket: a negative one would make a negative task score, which the core refuses.
POINTS = validate.Range(min=0, max=1000)


class DeadlineBucketsSettings(Schema):
    lead_weight = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=10), metadata={
        "label_vi": "Trọng số người chủ trì", "label_en": "Weight of the lead"})
    support_weight = fields.Float(load_default=0.3, validate=validate.Range(min=0, max=10), metadata={
        "label_vi": "Trọng số người phối hợp", "label_en": "Weight of a supporting role"})
    # Points by days early (positive) or late (negative); beyond the table: early → the
    # first entry, late → 0.
    early_3 = fields.Float(load_default=115.0, validate=POINTS,
                           metadata={"label_vi": "Sớm ≥ 3 ngày", "label_en": "≥ 3 days early"})
    early_2 = fields.Float(load_default=110.0, validate=POINTS, metadata={"label_vi": "Sớm 2 ngày", "label_en": "2 days early"})
    early_1 = fields.Float(load_default=105.0, validate=POINTS, metadata={"label_vi": "Sớm 1 ngày", "label_en": "1 day early"})
    on_time = fields.Float(load_default=100.0, validate=POINTS, metadata={"label_vi": "Đúng hạn", "label_en": "On the day"})
    late_1 = fields.Float(load_default=90.0, validate=POINTS, metadata={"label_vi": "Trễ 1 ngày", "label_en": "1 day late"})
    late_2 = fields.Float(load_default=75.0, validate=POINTS, metadata={"label_vi": "Trễ 2 ngày", "label_en": "2 days late"})
    late_3 = fields.Float(load_default=50.0, validate=POINTS, metadata={"label_vi": "Trễ 3 ngày", "label_en": "3 days late"})
    # 0.2: one-stop counters serve citizens directly and are judged on their satisfaction
    # (the citizen's rating of each dossier); a fifth of the task score (product rule).
    satisfaction_weight = satisfaction_field(0.2, "Counters serve citizens, who rate each dossier")


def completion_points(days_early: int, s: Mapping[str, Any]) -> float:
    if days_early >= 3:
        return s["early_3"]
    table = {2: s["early_2"], 1: s["early_1"], 0: s["on_time"], -1: s["late_1"], -2: s["late_2"], -3: s["late_3"]}
    return table.get(days_early, 0.0)


class DeadlineBuckets(ScoringVariant):
    """Days early or late against the deadline, and the citizen's or assigner's stars."""

    key = "deadline-buckets"
    version = VERSION
    title_vi = "Theo mốc thời hạn (bộ phận một cửa)"
    title_en = "Deadline buckets (one-stop-shop counters)"
    description_vi = "Điểm hoàn thành theo số ngày sớm/trễ so với hạn và điểm chất lượng theo số sao."
    description_en = "Completion points by days early or late, and quality points by stars."
    settings_schema = DeadlineBucketsSettings
    item_components = ("weight", "weighted_score", "unrated_weight", "counted_items", *SATISFACTION_COMPONENTS)
    labels = {
        "weight": ("trọng số", "weight"),
        "weighted_score": ("điểm theo trọng số", "weighted score"),
        "unrated_weight": ("trọng số chưa chấm sao", "unrated weight"),
        "counted_items": ("số việc được tính", "items counted"),
        "task_pct": ("tỷ lệ nhiệm vụ %", "task %"),
        "score_pct": ("tỷ lệ nhiệm vụ tính cả mức độ hài lòng (%)", "task % with satisfaction"),
        **SATISFACTION_LABELS,
    }

    def score_items(self, items: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[dict[str, float]]:
        return [self._item(item, settings) for item in items]

    @staticmethod
    def _item(item: Mapping[str, Any], s: Mapping[str, Any]) -> dict[str, float]:
        none = {"weight": 0.0, "weighted_score": 0.0, "unrated_weight": 0.0, "counted_items": 0,
                **satisfaction_item(item)}
        deadline: date | None = item.get("deadline")
        if item.get("status") == "done":
            finished: date | None = item.get("completed_on")
            completion = s["on_time"] if deadline is None or finished is None else \
                completion_points((deadline - finished).days, s)
        else:
            as_of: date | None = item.get("as_of")
            # An unfinished item waits until its deadline has passed, then counts 0 completion points.
            if deadline is None or as_of is None or as_of <= deadline:
                return none
            completion = 0.0
        stars = item.get("stars")
        quality = 100.0 if stars is None else 20.0 * int(stars)
        role_weight = s["lead_weight"] if item.get("role", "lead") == "lead" else s["support_weight"]
        weight = role_weight * int(item.get("priority") or 1)
        score = (completion + quality) / 2
        return {"weight": weight, "weighted_score": weight * score,
                "unrated_weight": weight if stars is None else 0.0, "counted_items": 1, **satisfaction_item(item)}

    def item_components_sql(self, item: SqlItem, s: Mapping[str, Any]) -> dict[str, Any]:
        days_early = item.deadline - item.completed_on
        table = [(days_early == d, num(s[key])) for d, key in
                 ((2, "early_2"), (1, "early_1"), (0, "on_time"), (-1, "late_1"), (-2, "late_2"), (-3, "late_3"))]
        on_finish = case((or_(item.deadline.is_(None), item.completed_on.is_(None)), num(s["on_time"])),
                         (days_early >= 3, num(s["early_3"])), *table, else_=num(0.0))
        done = item.is_done()
        # An unfinished item waits until its deadline has passed, then counts 0 completion points.
        counted = or_(done, and_(item.deadline.is_not(None), item.as_of > item.deadline))
        completion = when(done, on_finish)
        quality = case((item.stars.is_(None), num(100.0)), else_=num(20.0) * item.stars)
        role_weight = case((item.role == "lead", num(s["lead_weight"])), else_=num(s["support_weight"]))
        weight = role_weight * int_or(item.priority, 1)
        score = (completion + quality) / num(2)
        return {"weight": when(counted, weight), "weighted_score": when(counted, weight * score),
                "unrated_weight": when(counted & item.stars.is_(None), weight),
                "counted_items": when(counted, 1), **satisfaction_item_sql(item)}

    def period_score(self, sums: Mapping[str, float], settings: Mapping[str, Any],
                     facts: Mapping[str, Any]) -> PeriodScore:
        weight = float(sums.get("weight", 0))
        task_pct = min(100.0, float(sums.get("weighted_score", 0)) / weight) if weight > 0 else 0.0
        score_pct, satisfaction = with_satisfaction(task_pct, sums, settings)
        return {"task_score": round_score(TASK_SCORE_MAX * score_pct / 100),
                "components": {"task_pct": round(task_pct, 4), "weight": round(weight, 6),
                               "counted_items": int(sums.get("counted_items", 0)), **satisfaction,
                               "score_pct": round(score_pct, 4)},
                "provisional": float(sums.get("unrated_weight", 0)) > 0}


@hookimpl
def congvu_scoring_variants():
    return [DeadlineBuckets()]
