"""Built-in scoring variant ``decree335``: Decree 335/2025/NĐ-CP (domain.md).

Per item (weight = quantity × converted-product weight):
  quantity  = weight when completed
  quality   = weight × max(0, 1 − 0.25 × failed reviews) when completed
  progress  = weight × max(0, 1 − 0.25 × missed deadlines) when completed
(an exempted item counts neither failed reviews nor missed deadlines). Per period,
each % is its sum ÷ Σ weight assigned; task score = 70 × weighted mean of the three %.
Leaders (Art. 15): the task % is the mean of the own-items %, the unit-results % and
the organising %, which the core computes from the unit and passes as facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.plugins.sql import SqlItem, greatest, num, when
from core.plugins.toolkit import TASK_SCORE_MAX, PeriodScore, Schema, ScoringVariant, fields, hookimpl, validate
from plugins._scoring import (
    SATISFACTION_COMPONENTS,
    round_score,
    satisfaction_field,
    satisfaction_item,
    satisfaction_item_sql,
    with_satisfaction,
)

# 1.1.0: item components are no longer rounded to 6 decimals, so the SQL path
# (item_components_sql) gives the same doubles as this Python, bit for bit.
# 1.2.0: the satisfaction_weight setting (0 by default, so scores are unchanged).
VERSION = "1.2.0"


def _weight_field(label_vi: str, label_en: str):
    return fields.Float(load_default=1.0, validate=validate.Range(min=0, max=100),
                        metadata={"label_vi": label_vi, "label_en": label_en})


class Decree335Settings(Schema):
    quantity_weight = _weight_field("Trọng số khối lượng", "Weight of quantity")
    quality_weight = _weight_field("Trọng số chất lượng", "Weight of quality")
    progress_weight = _weight_field("Trọng số tiến độ", "Weight of progress")
    review_penalty = fields.Float(load_default=0.25, validate=validate.Range(min=0, max=1), metadata={
        "label_vi": "Mức trừ mỗi lần không đạt chất lượng", "label_en": "Deduction per failed review"})
    deadline_penalty = fields.Float(load_default=0.25, validate=validate.Range(min=0, max=1), metadata={
        "label_vi": "Mức trừ mỗi lần trễ hạn", "label_en": "Deduction per missed deadline"})
    unit_all_pass_pct = fields.Float(load_default=100.0, validate=validate.Range(min=0, max=100), metadata={
        "label_vi": "Kết quả đơn vị khi mọi người từ HT trở lên (%)",
        "label_en": "Unit results when everyone is rated HT or better (%)"})
    unit_any_fail_pct = fields.Float(load_default=50.0, validate=validate.Range(min=0, max=100), metadata={
        "label_vi": "Kết quả đơn vị khi có người KHT (%)", "label_en": "Unit results when anyone is rated KHT (%)"})
    # 0: Decree 335 measures the task part by quantity, quality and progress only; the
    # attitude to service the citizens' ratings reflect belongs to the general criteria
    # (Art. 12) the manager scores, so counting it here too would count it twice.
    satisfaction_weight = satisfaction_field(0.0, "Decree 335's task part has no satisfaction criterion")


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


class Decree335(ScoringVariant):
    """Quantity, quality and progress of the assigned work, Decree 335/2025."""

    key = "decree335"
    version = VERSION
    title_vi = "Nghị định 335/2025 (khối lượng, chất lượng, tiến độ)"
    title_en = "Decree 335/2025 (quantity, quality, progress)"
    description_vi = "Tỷ lệ khối lượng, chất lượng và tiến độ của công việc được giao; trừ 25% mỗi lần trả lại hoặc trễ hạn."
    description_en = "Shares of assigned work completed, of quality and on time; −25% per failed review or delay."
    settings_schema = Decree335Settings
    # items and on_time_items feed a leader's organising % (share of the unit's items done on time).
    item_components = ("assigned", "quantity", "quality", "progress", "items", "on_time_items",
                       *SATISFACTION_COMPONENTS)

    def score_items(self, items: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[dict[str, float]]:
        return [self._item(item, settings) for item in items]

    @staticmethod
    def _item(item: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, float]:
        weight = float(item.get("quantity") or 0) * float(item.get("product_weight") or 0)
        done = item.get("status") == "done"
        exempt = bool(item.get("exempt"))
        failed = 0 if exempt else int(item.get("failed_reviews") or 0)
        missed = 0 if exempt else int(item.get("missed_deadlines") or 0)
        quality = max(0.0, 1 - settings["review_penalty"] * failed)
        progress = max(0.0, 1 - settings["deadline_penalty"] * missed)
        return {
            "assigned": weight,
            "quantity": weight if done else 0.0,
            "quality": weight * quality if done else 0.0,
            "progress": weight * progress if done else 0.0,
            "items": 1,
            "on_time_items": 1 if done and missed == 0 else 0,
            **satisfaction_item(item),
        }

    def item_components_sql(self, item: SqlItem, settings: Mapping[str, Any]) -> dict[str, Any]:
        weight = item.quantity * item.product_weight
        done = item.is_done()
        failed = when(item.exempt, 0, item.failed_reviews)
        missed = when(item.exempt, 0, item.missed_deadlines)
        quality = greatest(num(0.0), num(1) - num(settings["review_penalty"]) * failed)
        progress = greatest(num(0.0), num(1) - num(settings["deadline_penalty"]) * missed)
        return {
            "assigned": weight,
            "quantity": when(done, weight),
            "quality": when(done, weight * quality),
            "progress": when(done, weight * progress),
            "items": num(1),
            "on_time_items": when(done & (missed == 0), 1),
            **satisfaction_item_sql(item),
        }

    def period_score(self, sums: Mapping[str, float], settings: Mapping[str, Any],
                     facts: Mapping[str, Any]) -> PeriodScore:
        assigned = float(sums.get("assigned", 0))
        q = _pct(float(sums.get("quantity", 0)), assigned)
        ql = _pct(float(sums.get("quality", 0)), assigned)
        p = _pct(float(sums.get("progress", 0)), assigned)
        weights = (settings["quantity_weight"], settings["quality_weight"], settings["progress_weight"])
        total_weight = sum(weights)
        own = (weights[0] * q + weights[1] * ql + weights[2] * p) / total_weight if total_weight else 0.0
        own, satisfaction = with_satisfaction(own, sums, settings)
        components: dict[str, float] = {"quantity_pct": round(q, 4), "quality_pct": round(ql, 4),
                                         "progress_pct": round(p, 4), **satisfaction, "own_pct": round(own, 4)}
        task_pct = own
        if facts.get("is_leader") and facts.get("unit_people"):
            unit = settings["unit_any_fail_pct"] if facts.get("unit_any_kht") else settings["unit_all_pass_pct"]
            organising = float(facts.get("organising_pct") or 0.0)
            task_pct = (own + unit + organising) / 3
            components.update(unit_results_pct=round(unit, 4), organising_pct=round(organising, 4),
                              leader_pct=round(task_pct, 4))
        return {"task_score": round_score(TASK_SCORE_MAX * task_pct / 100), "components": components,
                "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return [Decree335()]
