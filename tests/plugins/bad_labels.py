"""Labels that are not (Vietnamese, English) pairs: a load error naming the plugin."""

from core.plugins.toolkit import ScoringVariant, hookimpl


class Unlabelled(ScoringVariant):
    key = "test-bad-labels"
    version = "1.0.0"
    title_vi = "Nhãn sai"
    title_en = "Bad labels"
    item_components = ("done",)
    labels = {"done": "xong"}  # a text, not a pair

    def score_items(self, items, settings):
        return [{"done": 0} for _ in items]

    def period_score(self, sums, settings, facts):
        return {"task_score": 0.0, "components": {}, "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return [Unlabelled()]
