"""Shared by the built-in classification schemes (not a plugin: modules starting with _ are not loaded).

The quota of domain.md ("Classification"): within one agency and group of similar
positions, HTXS ≤ ratio × HTT, people demoted by quota counting as HTT. With h people
in the HTXS band and t in HTT, the final count x is the largest integer with
x ≤ ratio × (t + h − x), i.e. x = min(h, ⌊ratio × (h + t) ÷ (1 + ratio)⌋) — computed
with fractions, because a float would put 0.2 × 30 ÷ 1.2 a hair under 5.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from marshmallow import pre_load

from core.plugins.toolkit import Classification, Schema, fields, validate

RETIRED_SETTINGS = frozenset({"streamlining_bottom_percent"})


def quota_count(in_band: int, htt: int, ratio: Fraction) -> int:
    """The final number of HTXS of a quota group with ``in_band`` people in the HTXS band and ``htt`` in HTT."""
    if ratio < 0:
        raise ValueError("ratio must not be negative")
    allowed = ratio * (in_band + htt) / (1 + ratio)
    return min(in_band, int(allowed))  # int() floors a non-negative Fraction


def exact_ratio(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


def apply_quota(people: Sequence[Mapping[str, Any]], levels: list[str | None],
                ratio: Fraction) -> list[bool]:
    """Demote to HTT, in each quota group, the HTXS beyond the quota (``levels`` is changed
    in place); returns who was demoted. The lowest totals go first, ties by the lower task
    score, then by the higher employee id (our rule: the last one in, so the answer never
    depends on input order)."""
    demoted = [False] * len(people)
    groups: dict[Hashable, list[int]] = {}
    for i, person in enumerate(people):
        if levels[i] in ("HTXS", "HTT"):
            groups.setdefault(_group_key(person.get("quota_group")), []).append(i)
    for members in groups.values():
        top = [i for i in members if levels[i] == "HTXS"]
        keep = quota_count(len(top), len(members) - len(top), ratio)
        ranked = sorted(top, key=lambda i: (_num(people[i].get("total")), _num(people[i].get("task_score")),
                                            -int(people[i]["employee_id"])))
        for i in ranked[:len(top) - keep]:
            levels[i], demoted[i] = "HTT", True
    return demoted


def _group_key(value: Any) -> Hashable:
    # JSON round trips turn tuples into lists; a list names the same group.
    return tuple(value) if isinstance(value, list) else value


def _num(value: Any) -> Fraction:
    return Fraction(-1) if value is None else exact_ratio(value)


def not_classified(person: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
    """Fewer months worked than the minimum (6 by default): not classified. Months away on
    sick or maternity leave (``months_on_kept_leave``, from the core) count towards the
    minimum when ``kept_leave_counts`` is on: such people are classified on the time they
    actually worked rather than left out (Decree 90/2020 Art. 2, as amended in 2023)."""
    months = person.get("months_worked")
    if months is None:
        return True
    counted = exact_ratio(months)
    if settings.get("kept_leave_counts", True):
        counted += exact_ratio(person.get("months_on_kept_leave") or 0)
    return counted < exact_ratio(settings["min_months"])


def answers(people: Sequence[Mapping[str, Any]], levels: list[str | None], demoted: list[bool]) -> list[Classification]:
    return [{"employee_id": p["employee_id"], "level": lvl, "demoted_by_quota": d}
            for p, lvl, d in zip(people, levels, demoted, strict=True)]


class CommonSettings(Schema):
    """What both decrees share: the quota and the minimum months worked."""

    quota_ratio = fields.Decimal(load_default=Decimal("0.2"), as_string=True, places=4,
                                 validate=validate.Range(min=0, max=10), metadata={
                                     "label_vi": "Tỷ lệ HTXS tối đa so với HTT",
                                     "label_en": "Most Excellent (HTXS) per Good (HTT)"})
    min_months = fields.Integer(load_default=6, validate=validate.Range(min=0, max=12), metadata={
        "label_vi": "Số tháng làm việc tối thiểu để được xếp loại",
        "label_en": "Fewest months worked to be classified"})
    kept_leave_counts = fields.Boolean(load_default=True, metadata={
        "label_vi": "Thời gian nghỉ ốm, nghỉ thai sản không làm mất quyền được xếp loại",
        "label_en": "Sick and maternity leave do not take anyone out of classification"})
    # Not used by classify(): the core reads it to take appeals for this many days after a run.
    appeal_days = fields.Integer(load_default=15, validate=validate.Range(min=0, max=365), metadata={
        "label_vi": "Số ngày được khiếu nại sau khi công bố kết quả",
        "label_en": "Days to appeal after the results are published"})

    @pre_load
    def _retired(self, data: Any, **kwargs: Any) -> Any:
        # "streamlining_bottom_percent" (list the lowest N % of totals for streamlining) is gone:
        # Decree 154/2025 gives a ranking no force. Settings saved with it still load.
        if isinstance(data, Mapping) and RETIRED_SETTINGS & set(data):
            data = {k: v for k, v in data.items() if k not in RETIRED_SETTINGS}
        return data
