"""A scoring variant with a bug, for tests/scoring/test_task_score_bounds.py: its task score is
325 for an ISO week and -1 for any other period. The engine must refuse it on every
period kind, naming the component and the value, rather than clamp it into 0–70."""

from core.plugins.toolkit import ScoringVariant, hookimpl


class Unbounded(ScoringVariant):
    key = "test-unbounded"
    version = "0.1.0"
    title_vi = "Điểm vượt giới hạn (thử)"
    title_en = "Out-of-bounds scores (test)"
    item_components = ("done",)

    def score_items(self, items, settings):
        return [{"done": 1 if item.get("status") == "done" else 0} for item in items]

    def period_score(self, sums, settings, facts):
        task = 325.0 if "-W" in facts["period"] else -1.0
        return {"task_score": task, "components": {"done": float(sums.get("done", 0))}, "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return [Unbounded()]
