"""Built-in classification scheme ``decree335``: Decree 335/2025/NĐ-CP, periods from 2026 (domain.md).

Annual total ≥ 90 HTXS, 70–<90 HTT, 50–<70 HT, < 50 KHT; KHT whatever the score for any
discipline in the year (Decree 172/2025's forms, or an earlier form for an earlier
decision), recorded political, ethical or lifestyle degradation, or, for leaders,
corruption or waste in the unit (the core sets ``forced_kht``); not classified under 6 months worked; then the
quota per agency and group of positions (plugins/_classification.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from core.plugins.toolkit import Classification, ClassificationScheme, fields, hookimpl, validate
from plugins._classification import CommonSettings, answers, apply_quota, exact_ratio, not_classified

VERSION = "1.0.0"


def _band(default: int, label_vi: str, label_en: str):
    return fields.Decimal(load_default=Decimal(default), as_string=True, places=2,
                          validate=validate.Range(min=0, max=100), metadata={"label_vi": label_vi, "label_en": label_en})


class Decree335ClassificationSettings(CommonSettings):
    htxs_from = _band(90, "Điểm tối thiểu HTXS", "Lowest total for HTXS")
    htt_from = _band(70, "Điểm tối thiểu HTT", "Lowest total for HTT")
    ht_from = _band(50, "Điểm tối thiểu HT", "Lowest total for HT")


class Decree335Classification(ClassificationScheme):
    """Bands of the annual total, discipline, minimum months and the HTXS quota."""

    key = "decree335"
    version = VERSION
    title_vi = "Nghị định 335/2025 (xếp loại theo điểm)"
    title_en = "Decree 335/2025 (classification by total)"
    description_vi = ("HTXS từ 90 điểm, HTT từ 70, HT từ 50; bị kỷ luật, suy thoái hoặc (lãnh đạo) để xảy ra tham nhũng, "
                      "lãng phí: KHT; HTXS không quá 20% số HTT.")
    description_en = ("HTXS from 90, HTT from 70, HT from 50; any discipline, degradation or (leaders) corruption or "
                      "waste in the unit: KHT; HTXS at most 20% of HTT.")
    settings_schema = Decree335ClassificationSettings

    def classify(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Classification]:
        levels = [self._level(p, settings) for p in people]
        demoted = apply_quota(people, levels, exact_ratio(settings["quota_ratio"]))
        return answers(people, levels, demoted)

    @staticmethod
    def _level(person: Mapping[str, Any], settings: Mapping[str, Any]) -> str | None:
        if not_classified(person, settings):
            return None
        if person.get("forced_kht"):
            return "KHT"
        if person.get("total") is None:
            return None  # worked the months but never scored: nothing to classify on
        total = exact_ratio(person["total"])
        for level, floor in (("HTXS", "htxs_from"), ("HTT", "htt_from"), ("HT", "ht_from")):
            if total >= exact_ratio(settings[floor]):
                return level
        return "KHT"


@hookimpl
def congvu_classification_schemes():
    return [Decree335Classification()]
