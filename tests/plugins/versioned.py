"""A scoring variant whose version and formula a test changes (an upgrade of the
plugin, 1.0.0 → 1.1.0), for tests/scoring/test_scoring_versions.py: 10 points per done item
under 1.0.0, then `points_per_item` as the test sets it; the task score is the points,
up to 70."""

from core.plugins.toolkit import TASK_SCORE_MAX, ScoringVariant, hookimpl


class Versioned(ScoringVariant):
    key = "test-versioned"
    version = "1.0.0"
    title_vi = "Điểm theo việc xong (thử phiên bản)"
    title_en = "Points per done item (version test)"
    item_components = ("points",)
    points_per_item = 10.0

    def score_items(self, items, settings):
        return [{"points": self.points_per_item if item.get("status") == "done" else 0.0} for item in items]

    def period_score(self, sums, settings, facts):
        points = float(sums.get("points", 0))
        return {"task_score": min(TASK_SCORE_MAX, points), "components": {"points": points}, "provisional": False}


@hookimpl
def congvu_scoring_variants():
    return [Versioned()]
