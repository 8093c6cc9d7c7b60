"""Built-in classification scheme ``decree90``: Decree 90/2020/NĐ-CP, periods before 2026 (domain.md).

Criteria-based, on the counts of the year's work items the core gives in ``criteria``:
``assigned`` (not cancelled), ``completed`` (done), ``good`` (done on time and passing
every review; exempted items count as on time) and ``exceeding`` (good and rated with
the top stars). With n assigned:

- KHT: under 50 % completed (the only ground for KHT in the work criteria);
- HTXS: every task good and ≥ 50 % exceeding;
- HTT: every task good;
- HT: every task completed, at most 20 % of them late or of poor quality;
- in between — at least half completed but not all, or all completed with more than
  20 % late or poor — the decree names no level and gives no ground for KHT, so the
  setting ``between_ht_and_kht`` decides: ``HT`` (default: the lowest level that is not
  KHT) or ``evaluator`` (no computed level; the manager's reasoned override sets it).

Someone absent from ``at_most_ht_absent_months`` (3) to under ``at_most_ht_absent_below``
(6) months of the year — 12 less the months worked — is at most HT, as the decree has it
("absent 3 to under 6 months"); who worked fewer than ``min_months`` (6) is not
classified, except that months of sick or maternity leave count towards that minimum
(``kept_leave_counts``): such people are classified on the time actually worked. Discipline and the quota as in
decree335 (Decree 48/2023 later tied the quota to the Party's ratio, which a tenant sets
as ``quota_ratio``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from core.plugins.toolkit import Classification, ClassificationScheme, fields, hookimpl, validate
from plugins._classification import CommonSettings, answers, apply_quota, exact_ratio, not_classified

# The version stamped on every classification it decides: bump it whenever a level can
# change (docs/plugins.md, "Versions of the built-in components", says what each decides).
VERSION = "1.2.0"
BETWEEN_CHOICES = ("HT", "evaluator")


def _share(default: str, label_vi: str, label_en: str):
    return fields.Decimal(load_default=Decimal(default), as_string=True, places=4,
                          validate=validate.Range(min=0, max=1), metadata={"label_vi": label_vi, "label_en": label_en})


class Decree90Settings(CommonSettings):
    exceeding_share = _share("0.5", "Tỷ lệ vượt mức tối thiểu cho HTXS", "Share exceeding for Excellent (HTXS)")
    ht_poor_share = _share("0.2", "Tỷ lệ chậm hoặc chưa đạt tối đa cho HT", "Most late or poor for Completed (HT)")
    kht_completed_share = _share("0.5", "Tỷ lệ hoàn thành dưới mức này là KHT",
                                 "Completed below this share is Not completed (KHT)")
    at_most_ht_absent_months = fields.Integer(load_default=3, validate=validate.Range(min=1, max=12), metadata={
        "label_vi": "Vắng từ số tháng này trở lên trong năm thì tối đa HT",
        "label_en": "Absent this many months of the year or more: at most Completed (HT)"})
    at_most_ht_absent_below = fields.Integer(load_default=6, validate=validate.Range(min=1, max=13), metadata={
        "label_vi": "… và dưới số tháng này (vắng lâu hơn: xếp loại theo thời gian làm việc thực tế)",
        "label_en": "… and under this many months (away longer: classified on the time worked)"})
    between_ht_and_kht = fields.String(load_default="HT", validate=validate.OneOf(BETWEEN_CHOICES), metadata={
        "label_vi": "Không đạt điều kiện HT nhưng cũng không thuộc KHT: HT hoặc để người đánh giá quyết định",
        "label_en": ("Meeting the conditions of neither Completed (HT) nor Not completed (KHT): Completed, "
                     "or left to the evaluator")})


class Decree90(ClassificationScheme):
    """Criteria of Decree 90/2020: on time, quality, exceeding."""

    key = "decree90"
    version = VERSION
    title_vi = "Nghị định 90/2020 (xếp loại theo tiêu chí)"
    title_en = "Decree 90/2020 (classification by criteria)"
    description_vi = ("HTXS: mọi việc đúng hạn, chất lượng, từ 50% vượt mức; HT: hoàn thành mọi việc, "
                      "không quá 20% chậm hoặc chưa đạt; KHT: hoàn thành dưới 50%.")
    description_en = ("Excellent (HTXS): all on time with quality, ≥50% exceeding; Completed (HT): all completed, "
                      "at most 20% late or poor; Not completed (KHT): under 50% completed.")
    settings_schema = Decree90Settings

    def classify(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Classification]:
        levels = [self._capped(p, self._level(p, settings), settings) for p in people]
        demoted = apply_quota(people, levels, exact_ratio(settings["quota_ratio"]))
        return answers(people, levels, demoted)

    @staticmethod
    def _capped(person: Mapping[str, Any], level: str | None, settings: Mapping[str, Any]) -> str | None:
        if level not in ("HTXS", "HTT"):
            return level
        absent = 12 - exact_ratio(person.get("months_worked"))
        if settings["at_most_ht_absent_months"] <= absent < settings["at_most_ht_absent_below"]:
            return "HT"
        return level

    @staticmethod
    def _level(person: Mapping[str, Any], settings: Mapping[str, Any]) -> str | None:
        if not_classified(person, settings):
            return None
        if person.get("forced_kht"):
            return "KHT"
        criteria = person.get("criteria") or {}
        assigned = int(criteria.get("assigned") or 0)
        if assigned <= 0:
            return None  # no work recorded: nothing to judge the criteria on
        completed, good = int(criteria.get("completed") or 0), int(criteria.get("good") or 0)
        exceeding = int(criteria.get("exceeding") or 0)
        if Fraction(completed, assigned) < exact_ratio(settings["kht_completed_share"]):
            return "KHT"
        if good >= assigned:
            return "HTXS" if Fraction(exceeding, assigned) >= exact_ratio(settings["exceeding_share"]) else "HTT"
        if completed >= assigned and Fraction(completed - good, assigned) <= exact_ratio(settings["ht_poor_share"]):
            return "HT"
        return "HT" if settings["between_ht_and_kht"] == "HT" else None


@hookimpl
def congvu_classification_schemes():
    return [Decree90()]
