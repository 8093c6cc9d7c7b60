"""Built-in scoring variant ``hours-ledger``: Khánh Hòa style, hours of work measured
against norms (domain.md).

credited minutes = norm minutes × quantity × complexity × quality factor × timeliness
factor, for completed items reported in time; a day's credit is capped (10 h) and days
over 8 h are flagged. utilisation = credited hours ÷ (8 h × working days); task score =
70 × min(1, utilisation ÷ target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import validates_schema
from sqlalchemy import case

from core.plugins.toolkit import (
    TASK_SCORE_MAX,
    PeriodScore,
    Schema,
    ScoringVariant,
    SqlItem,
    ValidationError,
    clamp,
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
VERSION = "1.2.0"
STAR_FACTORS = {"5": 1.0, "4": 0.9, "3": 0.75, "2": 0.5, "1": 0.0}


class HoursLedgerSettings(Schema):
    hours_per_day = fields.Float(load_default=8.0, validate=validate.Range(min=1, max=12), metadata={
        "label_vi": "Số giờ chuẩn mỗi ngày", "label_en": "Standard hours per day"})
    daily_cap_hours = fields.Float(load_default=10.0, validate=validate.Range(min=1, max=24), metadata={
        "label_vi": "Số giờ được tính tối đa mỗi ngày", "label_en": "Most hours credited in a day"})
    flag_hours = fields.Float(load_default=8.0, validate=validate.Range(min=1, max=24), metadata={
        "label_vi": "Cảnh báo khi một ngày vượt (giờ)", "label_en": "Flag days above (hours)"})
    target_utilisation = fields.Float(load_default=0.75, validate=validate.Range(min=0.05, max=1.5), metadata={
        "label_vi": "Mức sử dụng thời gian mục tiêu", "label_en": "Target utilisation"})
    deadline_penalty = fields.Float(load_default=0.25, validate=validate.Range(min=0, max=1), metadata={
        "label_vi": "Mức trừ mỗi lần trễ hạn", "label_en": "Deduction per missed deadline"})
    star_factors = fields.Dict(keys=fields.String(validate=validate.OneOf(list(STAR_FACTORS))),
                               values=fields.Float(validate=validate.Range(min=0, max=1.5)),
                               load_default=lambda: dict(STAR_FACTORS), metadata={
                                   "label_vi": "Hệ số chất lượng theo số sao", "label_en": "Quality factor by stars",
                                   "key_labels_vi": {k: f"{k} sao" for k in STAR_FACTORS},
                                   "key_labels_en": {k: f"{k} star{'s' if k != '1' else ''}" for k in STAR_FACTORS}})

    # 0.1: Khánh Hòa scores items on volume, time, quality *and* the satisfaction of the
    # citizen or assigner; hours stay the measure (utilisation is what sizes job
    # positions), so satisfaction takes a tenth of the task score (product rule).
    satisfaction_weight = satisfaction_field(0.1, "One of the province's five item criteria; hours stay the measure")

    @validates_schema
    def _every_star(self, data, **kwargs):
        if "star_factors" in data and set(data["star_factors"]) != set(STAR_FACTORS):
            raise ValidationError("Give a factor for each of 1–5 stars.", "star_factors")


class HoursLedger(ScoringVariant):
    """Credited hours against norms, capped per day, as a share of the hours expected."""

    key = "hours-ledger"
    version = VERSION
    title_vi = "Sổ giờ công (kiểu Khánh Hòa)"
    title_en = "Hours ledger (Khánh Hòa style)"
    description_vi = "Giờ công quy đổi theo định mức, chất lượng và tiến độ, so với giờ làm việc chuẩn."
    description_en = "Norm hours credited for quality and timeliness, against the standard working hours."
    settings_schema = HoursLedgerSettings
    item_components = ("credited_minutes", "unplanned_minutes", "unrated_items", "late_reports",
                       "capped_minutes", "days_over_flag", *SATISFACTION_COMPONENTS)
    labels = {
        "credited_minutes": ("số phút được ghi nhận", "credited minutes"),
        "unplanned_minutes": ("số phút ngoài kế hoạch", "unplanned minutes"),
        "unrated_items": ("đầu việc chưa đánh giá", "unrated items"),
        "late_reports": ("báo cáo muộn", "late reports"),
        "capped_minutes": ("số phút bị cắt trần", "capped minutes"),
        "days_over_flag": ("số ngày trên 8 giờ", "days over 8 h"),
        "credited_hours": ("số giờ được ghi nhận", "credited hours"),
        "expected_hours": ("số giờ chuẩn", "expected hours"),
        "utilisation_pct": ("tỷ lệ sử dụng thời gian %", "utilisation %"),
        "hours_per_working_day": ("số giờ mỗi ngày làm việc", "hours per working day"),
        "unplanned_hours": ("số giờ ngoài kế hoạch", "unplanned hours"),
        "capped_hours": ("số giờ bị cắt trần", "capped hours"),
        **SATISFACTION_LABELS,
    }
    per_day = True  # the core sums items per day and calls adjust_day before the period sums

    def score_items(self, items: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[dict[str, float]]:
        return [self._item(item, settings) for item in items]

    @staticmethod
    def _item(item: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, float]:
        zero = {"credited_minutes": 0.0, "unplanned_minutes": 0.0, "unrated_items": 0, "late_reports": 0,
                "capped_minutes": 0.0, "days_over_flag": 0, **satisfaction_item(item)}
        if item.get("status") != "done":
            return zero
        if item.get("report_late"):
            return {**zero, "late_reports": 1}
        stars = item.get("stars")
        quality = 1.0 if stars is None else float(settings["star_factors"][str(int(stars))])
        missed = 0 if item.get("exempt") else int(item.get("missed_deadlines") or 0)
        timeliness = max(0.0, 1 - settings["deadline_penalty"] * missed)
        minutes = (float(item.get("norm_minutes") or 0) * float(item.get("quantity") or 0)
                   * float(item.get("complexity_coefficient") or 1) * quality * timeliness)
        return {**zero, "credited_minutes": minutes,
                "unplanned_minutes": 0.0 if item.get("planned", True) else minutes,
                "unrated_items": 1 if stars is None else 0}

    def item_components_sql(self, item: SqlItem, settings: Mapping[str, Any]) -> dict[str, Any]:
        counted = item.is_done() & ~item.report_late
        factors = settings["star_factors"]
        quality = case(*((item.stars == int(k), num(v)) for k, v in factors.items()), else_=num(1.0))
        missed = when(item.exempt, 0, item.missed_deadlines)
        timeliness = greatest(num(0.0), num(1) - num(settings["deadline_penalty"]) * missed)
        minutes = item.norm_minutes * item.quantity * item.complexity_coefficient * quality * timeliness
        return {"credited_minutes": when(counted, minutes),
                "unplanned_minutes": when(counted & (item.planned.is_(False)), minutes),
                "unrated_items": when(counted & item.stars.is_(None), 1),
                "late_reports": when(item.report_late, 1),
                "capped_minutes": num(0.0), "days_over_flag": num(0.0), **satisfaction_item_sql(item)}

    def adjust_day(self, sums: Mapping[str, float], settings: Mapping[str, Any]) -> dict[str, float]:
        """One employee's sums for one day: the cap and the over-8-hours flag."""
        out = dict(sums)
        credited = float(sums.get("credited_minutes", 0))
        cap = settings["daily_cap_hours"] * 60
        out["credited_minutes"] = min(credited, cap)
        out["capped_minutes"] = round(max(0.0, credited - cap), 6)
        out["days_over_flag"] = 1 if credited > settings["flag_hours"] * 60 else 0
        return out

    def period_score(self, sums: Mapping[str, float], settings: Mapping[str, Any],
                     facts: Mapping[str, Any]) -> PeriodScore:
        credited_hours = float(sums.get("credited_minutes", 0)) / 60
        expected_hours = settings["hours_per_day"] * max(0, int(facts.get("working_days") or 0))
        utilisation = credited_hours / expected_hours if expected_hours > 0 else 0.0
        attainment = clamp(utilisation / settings["target_utilisation"], 0.0, 1.0)
        task_pct, satisfaction = with_satisfaction(100 * attainment, sums, settings)
        return {
            "task_score": round_score(TASK_SCORE_MAX * task_pct / 100),
            "components": {
                "credited_hours": round(credited_hours, 4), "expected_hours": round(expected_hours, 4),
                "utilisation_pct": round(100 * utilisation, 4),
                "hours_per_working_day": round(credited_hours / facts["working_days"], 4)
                if facts.get("working_days") else 0.0,
                "unplanned_hours": round(float(sums.get("unplanned_minutes", 0)) / 60, 4),
                "capped_hours": round(float(sums.get("capped_minutes", 0)) / 60, 4),
                "days_over_flag": int(sums.get("days_over_flag", 0)),
                "late_reports": int(sums.get("late_reports", 0)),
                "unrated_items": int(sums.get("unrated_items", 0)),
                **satisfaction,
            },
            "provisional": int(sums.get("unrated_items", 0)) > 0,
        }


@hookimpl
def congvu_scoring_variants():
    return [HoursLedger()]
