"""Two versions of one scoring variant installed side by side, for
tests/plugins/test_component_versions.py: 1.0.0 gives `points_per_item` per done item, 1.1.0
(a formula change) `points_per_item` per unit of a done item's quantity. Each names its
numbers and shows its setting in its description; the task score is the points, up to 70."""

from core.plugins.toolkit import TASK_SCORE_MAX, Schema, ScoringVariant, fields, hookimpl, validate


class PointsSettings(Schema):
    points_per_item = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=70), metadata={
        "label_vi": "Điểm mỗi việc", "label_en": "Points per item"})


class DoneItems(ScoringVariant):
    key = "test-upgradable"
    version = "1.0.0"
    title_vi = "Điểm theo việc xong"
    title_en = "Points per done item"
    description_vi = "{points_per_item} điểm mỗi việc xong"
    description_en = "{points_per_item} points per done item"
    settings_schema = PointsSettings
    item_components = ("points", "done")
    labels = {"points": ("điểm việc xong", "points for done items"), "done": ("số việc xong", "items done")}
    by_quantity = False

    def score_items(self, items, settings):
        out = []
        for item in items:
            done = item.get("status") == "done"
            units = float(item.get("quantity") or 0) if self.by_quantity else 1.0
            out.append({"points": settings["points_per_item"] * units if done else 0.0, "done": 1 if done else 0})
        return out

    def period_score(self, sums, settings, facts):
        points = float(sums.get("points", 0))
        return {"task_score": min(TASK_SCORE_MAX, points),
                "components": {"points": points, "done": float(sums.get("done", 0))}, "provisional": False}


class DoneWork(DoneItems):
    version = "1.1.0"
    title_vi = "Điểm theo khối lượng việc xong"
    title_en = "Points per unit of done work"
    description_vi = "{points_per_item} điểm mỗi đơn vị khối lượng việc xong"
    description_en = "{points_per_item} points per unit of done work"
    by_quantity = True


@hookimpl
def congvu_scoring_variants():
    return [DoneItems(), DoneWork()]
