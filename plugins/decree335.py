"""Built-in scoring variant ``decree335``: Decree 335/2025/NĐ-CP (domain.md).

Per item (weight = quantity × converted-product weight):
  quantity  = weight when completed
  quality   = weight × max(0, 1 − 0.25 × failed reviews) when completed
  progress  = weight × max(0, 1 − 0.25 × missed deadlines) when completed
(an exempted item counts neither failed reviews nor missed deadlines). Per period,
each % is its sum ÷ Σ weight assigned; task score = 70 × weighted mean of the three %.
Leaders and deputies (Art. 15): the task % is a weighted mean of named criteria — own
tasks, the results of the unit or field in charge (100 % / 50 % if anyone is KHT), and
leadership and organisation, which the evaluator scores (``leadership_pct``) or, as a
stand-in, the share of the unit's items done on time. The weights and the source of the
leadership criterion are settings; the core passes the unit's facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.plugins.toolkit import (
    TASK_SCORE_MAX,
    PeriodScore,
    Schema,
    ScoringVariant,
    SqlItem,
    fields,
    greatest,
    hookimpl,
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
VERSION = "1.3.0"
LEADERSHIP_SOURCES = ("evaluator_else_on_time", "evaluator", "on_time")


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
        "label_en": "Unit results when everyone is rated Completed (HT) or better (%)"})
    unit_any_fail_pct = fields.Float(load_default=50.0, validate=validate.Range(min=0, max=100), metadata={
        "label_vi": "Kết quả đơn vị khi có người KHT (%)",
        "label_en": "Unit results when anyone is rated Not completed (KHT) (%)"})
    # 0: Decree 335 measures the task part by quantity, quality and progress only; the
    # attitude to service the citizens' ratings reflect belongs to the general criteria
    # (Art. 12) the manager scores, so counting it here too would count it twice.
    satisfaction_weight = satisfaction_field(0.0, "Decree 335's task part has no satisfaction criterion")
    # The leader formula (Art. 15): three named criteria and their weights.
    leader_own_weight = _weight_field("Lãnh đạo: trọng số tiêu chí kết quả nhiệm vụ cá nhân",
                                      "Leaders: weight of own tasks")
    leader_unit_weight = _weight_field("Lãnh đạo: trọng số tiêu chí kết quả của đơn vị, lĩnh vực phụ trách",
                                       "Leaders: weight of the results of the unit or field in charge")
    leader_leadership_weight = _weight_field("Lãnh đạo: trọng số tiêu chí năng lực lãnh đạo, tổ chức thực hiện",
                                             "Leaders: weight of leadership and organisation")
    leader_leadership_source = fields.String(
        load_default="evaluator_else_on_time", validate=validate.OneOf(LEADERSHIP_SOURCES), metadata={
            "label_vi": "Lãnh đạo: nguồn điểm tiêu chí năng lực lãnh đạo, tổ chức thực hiện",
            "label_en": "Leaders: source of the leadership criterion",
            "choice_labels_vi": {
                "evaluator_else_on_time": "Người đánh giá chấm; chưa chấm thì lấy tỷ lệ việc của đơn vị đúng hạn",
                "evaluator": "Chỉ điểm của người đánh giá",
                "on_time": "Chỉ tỷ lệ việc của đơn vị đúng hạn"},
            "choice_labels_en": {
                "evaluator_else_on_time": "The evaluator's score, else the unit's share of items on time",
                "evaluator": "The evaluator's score only",
                "on_time": "The unit's share of items on time only"}})


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
    item_components = ("assigned", "quantity", "quality", "progress", "items", "on_time_items",
                       *SATISFACTION_COMPONENTS)
    # A leader's organising % is the share of the unit's items done on time. The task cap,
    # the bands and the histogram are ScoringVariant's defaults, which are this decree's.
    organising_components = ("items", "on_time_items")
    labels = {
        "assigned": ("khối lượng được giao", "assigned weight"),
        "quantity": ("khối lượng hoàn thành", "completed weight"),
        "quality": ("điểm chất lượng", "quality points"),
        "progress": ("điểm tiến độ", "progress points"),
        "items": ("đầu việc", "items"),
        "on_time_items": ("đầu việc đúng hạn", "items on time"),
        "quantity_pct": ("Tỷ lệ số lượng %", "Quantity %"),
        "quality_pct": ("Tỷ lệ chất lượng %", "Quality %"),
        "progress_pct": ("Tỷ lệ tiến độ %", "Progress %"),
        "own_pct": ("tỷ lệ đầu việc của bản thân %", "own items %"),
        "unit_results_pct": ("kết quả đơn vị %", "unit results %"),
        "organising_pct": ("tổ chức thực hiện %", "organising %"),
        "leader_pct": ("tỷ lệ nhiệm vụ lãnh đạo %", "leader task %"),
        "leadership_pct": ("năng lực lãnh đạo, tổ chức thực hiện %", "leadership and organisation %"),
        **SATISFACTION_LABELS,
    }

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
        task_pct, provisional = own, False
        if facts.get("is_leader") and facts.get("unit_people"):
            task_pct, provisional = _leader_pct(own, settings, facts, components)
        return {"task_score": round_score(TASK_SCORE_MAX * task_pct / 100), "components": components,
                "provisional": provisional}


def _leader_pct(own: float, settings: Mapping[str, Any], facts: Mapping[str, Any],
                components: dict[str, float]) -> tuple[float, bool]:
    """(task %, provisional) of a head or deputy: the weighted mean of own tasks, the unit's
    (or field's) results and leadership. A leadership criterion to be scored by the
    evaluator and not scored yet drops out, its weight going to the others, and leaves the
    month provisional, as a missing general score does."""
    unit = settings["unit_any_fail_pct"] if facts.get("unit_any_kht") else settings["unit_all_pass_pct"]
    on_time = float(facts.get("organising_pct") or 0.0)
    scored = facts.get("leadership_pct")
    source = settings["leader_leadership_source"]
    leadership: float | None = None
    if source != "on_time" and scored is not None:
        leadership = float(scored)
    elif source != "evaluator":
        leadership = on_time
    parts = [(settings["leader_own_weight"], own), (settings["leader_unit_weight"], unit)]
    if leadership is not None:
        parts.append((settings["leader_leadership_weight"], leadership))
    weight = sum(w for w, _ in parts)
    task_pct = sum(w * v for w, v in parts) / weight if weight else 0.0
    components.update(unit_results_pct=round(unit, 4), organising_pct=round(on_time, 4),
                      leader_pct=round(task_pct, 4))
    if leadership is not None:
        components["leadership_pct"] = round(leadership, 4)
    return task_pct, leadership is None and settings["leader_leadership_weight"] > 0


@hookimpl
def congvu_scoring_variants():
    return [Decree335()]
