"""Built-in classification scheme ``decree335``: Decree 335/2025/NĐ-CP, periods from 2026 (domain.md).

Annual total ≥ 90 HTXS, 70–<90 HTT, 50–<70 HT, < 50 KHT; KHT whatever the score for any
discipline in the year (Decree 172/2025's forms, or an earlier form for an earlier
decision), recorded political, ethical or lifestyle degradation, or, for leaders,
corruption or waste in the unit (the core sets ``forced_kht``); not classified under 6
months worked; then the quota per agency and group of positions
(plugins/_classification.py). A head's level is at most the level their unit's result
reaches (``head_capped_by_unit``): the core passes ``unit_total``, the mean total of the
people of the unit and the units below it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from core.plugins.toolkit import Classification, ClassificationScheme, fields, hookimpl, validate
from plugins._classification import CommonSettings, answers, apply_quota, exact_ratio, not_classified

# The version stamped on every classification it decides: bump it whenever a level can
# change (docs/plugins.md, "Versions of the built-in components", says what each decides).
VERSION = "1.1.0"
ORDER = ("KHT", "HT", "HTT", "HTXS")


def _band(default: int, label_vi: str, label_en: str):
    return fields.Decimal(load_default=Decimal(default), as_string=True, places=2,
                          validate=validate.Range(min=0, max=100), metadata={"label_vi": label_vi, "label_en": label_en})


class Decree335ClassificationSettings(CommonSettings):
    htxs_from = _band(90, "Điểm tối thiểu HTXS", "Lowest total for Excellent (HTXS)")
    htt_from = _band(70, "Điểm tối thiểu HTT", "Lowest total for Good (HTT)")
    ht_from = _band(50, "Điểm tối thiểu HT", "Lowest total for Completed (HT)")
    head_capped_by_unit = fields.Boolean(load_default=True, metadata={
        "label_vi": "Người đứng đầu không được xếp loại cao hơn kết quả của đơn vị mình phụ trách",
        "label_en": "A head's level is at most their unit's result"})


class Decree335Classification(ClassificationScheme):
    """Bands of the annual total, discipline, minimum months and the HTXS quota."""

    key = "decree335"
    version = VERSION
    title_vi = "Nghị định 335/2025 (xếp loại theo điểm)"
    title_en = "Decree 335/2025 (classification by total)"
    description_vi = ("HTXS từ 90 điểm, HTT từ 70, HT từ 50; bị kỷ luật, suy thoái hoặc (lãnh đạo) để xảy ra tham nhũng, "
                      "lãng phí: KHT; HTXS không quá 20% số HTT.")
    description_en = ("Excellent (HTXS) from 90, Good (HTT) from 70, Completed (HT) from 50; any discipline, "
                      "degradation or (leaders) corruption or waste in the unit: Not completed (KHT); Excellent at most "
                      "20% of Good.")
    settings_schema = Decree335ClassificationSettings

    def classify(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Classification]:
        levels = [self._capped(p, self._level(p, settings), settings) for p in people]
        demoted = apply_quota(people, levels, exact_ratio(settings["quota_ratio"]))
        return answers(people, levels, demoted)

    @classmethod
    def _capped(cls, person: Mapping[str, Any], level: str | None, settings: Mapping[str, Any]) -> str | None:
        """A head above the level of their unit's mean total comes down to it (only lowers)."""
        unit_total = person.get("unit_total")
        if level is None or not settings["head_capped_by_unit"] or not person.get("is_leader") or unit_total is None:
            return level
        allowed = cls._band_of(exact_ratio(unit_total), settings)
        return allowed if ORDER.index(allowed) < ORDER.index(level) else level

    @staticmethod
    def _band_of(total: Any, settings: Mapping[str, Any]) -> str:
        for level, floor in (("HTXS", "htxs_from"), ("HTT", "htt_from"), ("HT", "ht_from")):
            if total >= exact_ratio(settings[floor]):
                return level
        return "KHT"

    @staticmethod
    def _level(person: Mapping[str, Any], settings: Mapping[str, Any]) -> str | None:
        if not_classified(person, settings):
            return None
        if person.get("forced_kht"):
            return "KHT"
        if person.get("total") is None:
            return None  # worked the months but never scored: nothing to classify on
        return Decree335Classification._band_of(exact_ratio(person["total"]), settings)


@hookimpl
def congvu_classification_schemes():
    return [Decree335Classification()]
