"""Returns one component where a list of components is due: a clear load error naming
this plugin, not a TypeError from deep in the manager (nor a broken `congvu --help`)."""

from core.plugins.toolkit import ScoringVariant, hookimpl


class Lone(ScoringVariant):
    key = "test-lone"
    version = "1.0.0"
    title_vi = "Một mình"
    title_en = "Alone"
    item_components = ("done",)

    def score_items(self, items, settings):
        return [{"done": 0} for _ in items]

    def period_score(self, sums, settings, facts):
        return {"task_score": 0.0, "components": {}, "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return Lone()
