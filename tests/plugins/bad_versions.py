"""Components whose description or versions are wrong, one per hook a test selects by
`PROBLEM`: a description showing a setting that does not exist, one formatting a
setting, and the same version of one component registered twice. Each is a load error
naming the plugin."""

from core.plugins.toolkit import Schema, ScoringVariant, fields, hookimpl

PROBLEM = "unknown"


class Settings(Schema):
    points = fields.Float(load_default=1.0)


class Described(ScoringVariant):
    key = "test-bad-versions"
    version = "1.0.0"
    title_vi = "Mô tả sai"
    title_en = "Bad description"
    settings_schema = Settings
    item_components = ("done",)

    def score_items(self, items, settings):
        return [{"done": 0} for _ in items]

    def period_score(self, sums, settings, facts):
        return {"task_score": 0.0, "components": {}, "provisional": False}


class Unknown(Described):
    description_vi = "{diem} điểm mỗi việc"


class Formatted(Described):
    description_en = "{points:.2f} points per item"


@hookimpl
def congvu_scoring_variants():
    if PROBLEM == "unknown":
        return [Unknown()]
    if PROBLEM == "formatted":
        return [Formatted()]
    return [Described(), Described()]  # "twice": the same key and version
