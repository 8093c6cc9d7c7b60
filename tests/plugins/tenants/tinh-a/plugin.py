"""A tenant-local plugin of the tenant `tinh-a`: only that tenant may select its variant."""

from core.plugins.toolkit import TASK_SCORE_MAX, ScoringVariant, hookimpl


class DoneItems(ScoringVariant):
    key = "tinh-a-done-items"
    version = "2026.1"
    title_vi = "Số việc hoàn thành (riêng Tỉnh A)"
    title_en = "Items done (Tinh A only)"
    item_components = ("done",)

    def score_items(self, items, settings):
        return [{"done": 1 if item.get("status") == "done" else 0} for item in items]

    def period_score(self, sums, settings, facts):
        days = max(int(facts.get("working_days") or 0), 0)
        ratio = min(1.0, float(sums.get("done", 0)) / days) if days else 0.0
        return {"task_score": round(TASK_SCORE_MAX * ratio, 2), "components": {"done": float(sums.get("done", 0))},
                "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return [DoneItems()]
