"""A classification scheme and a bonus scheme for tests (the real ones are built-ins of
their own issues). Small, but honest: they pass the conformance kit."""

from __future__ import annotations

from core.plugins.toolkit import (
    BonusScheme,
    ClassificationScheme,
    Schema,
    allocate_exact,
    fields,
    hookimpl,
    round_money,
    validate,
)


class ThresholdSettings(Schema):
    htxs_from = fields.Float(load_default=90.0, validate=validate.Range(min=0, max=100))
    htt_from = fields.Float(load_default=70.0, validate=validate.Range(min=0, max=100))
    ht_from = fields.Float(load_default=50.0, validate=validate.Range(min=0, max=100))


class Thresholds(ClassificationScheme):
    key = "test-thresholds"
    version = "1.0"
    title_vi = "Ngưỡng điểm (thử)"
    title_en = "Score thresholds (test)"
    settings_schema = ThresholdSettings

    def classify(self, people, settings):
        out = []
        for person in people:
            total = person.get("total")
            if total is None or person.get("months_worked", 12) < 6:
                level = None
            elif person.get("forced_kht") or total < settings["ht_from"]:
                level = "KHT"
            elif total >= settings["htxs_from"]:
                level = "HTXS"
            elif total >= settings["htt_from"]:
                level = "HTT"
            else:
                level = "HT"
            out.append({"employee_id": person["employee_id"], "level": level, "demoted_by_quota": False})
        return out


class WeightSettings(Schema):
    weights = fields.Dict(keys=fields.String(validate=validate.OneOf(["HTXS", "HTT", "HT", "KHT"])),
                          values=fields.Float(validate=validate.Range(min=0)),
                          load_default=lambda: {"HTXS": 1.5, "HTT": 1.0, "HT": 0.5, "KHT": 0.0})
    fund_share = fields.Float(load_default=0.1, validate=validate.Range(min=0, max=1))


class LevelWeights(BonusScheme):
    key = "test-level-weights"
    version = "1.0"
    title_vi = "Hệ số theo xếp loại (thử)"
    title_en = "Weights by level (test)"
    settings_schema = WeightSettings

    def default_fund(self, people, settings):
        salary = sum(float(p["salary_coefficient"]) * p["base_salary"] * p["months_worked"] for p in people)
        return round_money(salary * settings["fund_share"])

    def allocate(self, fund, people, settings):
        weights = {i: settings["weights"].get(p.get("level") or "", 0) * p["months_worked"]
                   for i, p in enumerate(people)}
        if fund and not any(weights.values()):
            weights = dict.fromkeys(weights, 1)  # nobody earned a weight: share equally rather than lose money
        shares = allocate_exact(fund, weights)
        return [{"employee_id": p["employee_id"], "amount": shares[i]} for i, p in enumerate(people)]


@hookimpl
def congvu_classification_schemes():
    return [Thresholds()]


@hookimpl
def congvu_bonus_schemes():
    return [LevelWeights()]
