"""Provides a scoring variant under the vendor example's key: start-up must refuse both."""

from core.plugins.toolkit import ScoringVariant, hookimpl


class Clash(ScoringVariant):
    key = "points-per-product"
    version = "0.0.1"
    title_vi = "Trùng khóa"
    title_en = "Clashing key"
    item_components = ("points",)

    def score_items(self, items, settings):
        return [{"points": 0.0} for _ in items]

    def period_score(self, sums, settings, facts):
        return {"task_score": 0.0, "components": {}, "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return [Clash()]
