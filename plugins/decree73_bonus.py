"""Built-in bonus schemes (Decree 73/2024/NĐ-CP, domain.md "Money and people decisions").

``decree73-pool``: fund = fund % (10 %) × Σ base salary × salary coefficient × months
worked, allowances excluded; shared by classification weight × months worked.
``fixed-coefficient``: amount of a level = its coefficient × base salary; a fund other
than the sum of those amounts is shared in the same proportions.

Both answer in whole đồng summing exactly to the fund (largest remainder,
``toolkit.allocate_exact``), with each amount's basis in ``explain``. Amounts are worked
out with fractions: a float would lose a đồng on a province's payroll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from marshmallow import ValidationError

from core.plugins.toolkit import (
    LEVELS,
    Allocation,
    BonusScheme,
    Schema,
    allocate_exact,
    fields,
    hookimpl,
    round_money,
    validate,
)

VERSION = "1.1.0"  # 1.1: the base salary month by month (base_salary_schedule)
BASE_SALARY = 2_340_000  # đồng per month from 1 July 2024 (Decree 73/2024)


def _exact(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


def _base(person: Mapping[str, Any], settings: Mapping[str, Any]) -> int:
    # The core passes the tenant's base salary with each person; a person without one
    # (a caller outside the core) gets the scheme's setting.
    value = person.get("base_salary")
    return int(settings["base_salary"] if value is None else value)


def parse_schedule(text: str | None) -> list[tuple[str, int]]:
    """``"2023-07-01=1800000; 2024-07-01=2340000"`` as [("2023-07", 1800000), ...], by date.
    A change takes effect for whole months: from the month its date falls in."""
    out = []
    for part in (text or "").replace(",", ";").split(";"):
        if not part.strip():
            continue
        day, _, amount = part.partition("=")
        day, amount = day.strip(), amount.strip()
        if len(day) != 10 or not amount.isdigit():
            raise ValueError(f"{part.strip()!r} is not YYYY-MM-DD=amount")
        date.fromisoformat(day)
        if not 0 < int(amount) <= 10**9:
            raise ValueError(f"{amount} is not a base salary in đồng")
        out.append((day[:7], int(amount)))
    months = [m for m, _ in out]
    if len(set(months)) != len(months):
        raise ValueError("two changes in one month")
    return sorted(out)


def _check_schedule(text: str) -> None:
    try:
        parse_schedule(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _base_of_month(month: str, schedule: list[tuple[str, int]], before: int) -> int:
    """The base salary in force in ``month`` ("YYYY-MM"): the latest change from that month
    or earlier; ``before`` (the single base salary) before the first change."""
    base = before
    for since, amount in schedule:
        if since <= month:
            base = amount
    return base


def _monthly_bases(person: Mapping[str, Any], settings: Mapping[str, Any]) -> list[int]:
    """The base salary of each month the person worked. The core passes the months
    (``months``: "YYYY-MM"); without them, ``months_worked`` months of the one base."""
    base = _base(person, settings)
    months = person.get("months")
    if months is None:
        return [base] * int(_exact(person.get("months_worked") or 0))
    schedule = parse_schedule(settings.get("base_salary_schedule"))
    return [_base_of_month(m, schedule, base) for m in months]


def _adhoc_field():
    # Read by the core, which sets the share aside before calling allocate().
    return fields.Decimal(load_default=Decimal(0), as_string=True, places=2, validate=validate.Range(min=0, max=100),
                          metadata={"label_vi": "Phần quỹ dành thưởng đột xuất (%)",
                                    "label_en": "Share of the fund kept for ad-hoc bonuses (%)"})


_SCHEDULE_META = {"label_vi": "Lương cơ sở thay đổi trong năm (ngày=mức; …), trống: một mức cả năm",
                  "label_en": "Base salary changes (date=amount; …), empty: one base all year"}


def _level_field(default: str, label_vi: str, label_en: str):
    # One flat field per level (weight_htxs…): the admin's settings form shows flat fields.
    return fields.Decimal(load_default=Decimal(default), as_string=True, places=4,
                          validate=validate.Range(min=0, max=100), metadata={"label_vi": label_vi, "label_en": label_en})


def _level_value(settings: Mapping[str, Any], prefix: str, level: str | None) -> Fraction:
    return _exact(settings[f"{prefix}_{level.lower()}"]) if level in LEVELS else Fraction(0)


def _share(fund: int, people: Sequence[Mapping[str, Any]], weights: list[Fraction],
           explain: list[dict[str, Any]]) -> list[Allocation]:
    if not people:
        return []
    if fund > 0 and not any(weights):
        raise ValueError("nobody has a weight above zero, so nobody can receive the fund")
    amounts = allocate_exact(fund, dict(enumerate(weights)))
    return [{"employee_id": p["employee_id"], "amount": amounts[i], "explain": explain[i]}  # type: ignore[typeddict-unknown-key]
            for i, p in enumerate(people)]


class PoolSettings(Schema):
    base_salary = fields.Integer(load_default=BASE_SALARY, validate=validate.Range(min=1, max=10**9), metadata={
        "label_vi": "Mức lương cơ sở (đồng/tháng)", "label_en": "Base salary (đồng a month)"})
    base_salary_schedule = fields.String(load_default="", validate=_check_schedule, metadata=_SCHEDULE_META)
    adhoc_percent = _adhoc_field()
    fund_percent = fields.Decimal(load_default=Decimal(10), as_string=True, places=2,
                                  validate=validate.Range(min=0, max=100), metadata={
                                      "label_vi": "Quỹ thưởng (% quỹ lương)", "label_en": "Bonus fund (% of salaries)"})
    weight_htxs = _level_field("1.5", "Hệ số chia thưởng HTXS", "Share weight of Excellent (HTXS)")
    weight_htt = _level_field("1.0", "Hệ số chia thưởng HTT", "Share weight of Good (HTT)")
    weight_ht = _level_field("0.5", "Hệ số chia thưởng HT", "Share weight of Completed (HT)")
    weight_kht = _level_field("0", "Hệ số chia thưởng KHT", "Share weight of Not completed (KHT)")


class Decree73Pool(BonusScheme):
    """10 % of the salary fund, shared by classification weight × months worked."""

    key = "decree73-pool"
    version = VERSION
    title_vi = "Nghị định 73/2024 (quỹ thưởng 10% quỹ lương)"
    title_en = "Decree 73/2024 (bonus fund of 10% of salaries)"
    description_vi = "Quỹ = 10% × lương cơ sở × hệ số lương × số tháng; chia theo hệ số xếp loại × số tháng làm việc."
    description_en = "Fund = 10% × base salary × coefficient × months; shared by level weight × months worked."
    settings_schema = PoolSettings

    def default_fund(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> int:
        # Month by month on the base salary in force (Decree 73/2024: 10 % of the salary fund).
        salaries = sum((sum(_monthly_bases(p, settings)) * _exact(p.get("salary_coefficient") or 0) for p in people),
                       Fraction(0))
        return round_money(salaries * _exact(settings["fund_percent"]) / 100)

    def allocate(self, fund: int, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Allocation]:
        weights, explain = [], []
        for p in people:
            level_weight = _level_value(settings, "weight", p.get("level"))
            bases = _monthly_bases(p, settings)
            # Months counted at the base salary in force, in units of the scheme's base salary:
            # with one base all year this is the months worked; a month after a rise counts more.
            months = Fraction(sum(bases), _base(p, settings)) if bases else Fraction(0)
            weights.append(level_weight * months)
            explain.append({"level_weight": float(level_weight), "months_worked": float(_exact(p.get("months_worked") or 0)),
                            "base_months": float(months), "weight": float(level_weight * months)})
        total = sum(weights, Fraction(0))
        for e, w in zip(explain, weights, strict=True):
            e["share"] = float(w / total) if total else 0.0
        return _share(fund, people, weights, explain)


class FixedSettings(Schema):
    base_salary = fields.Integer(load_default=BASE_SALARY, validate=validate.Range(min=0, max=10**9), metadata={
        "label_vi": "Mức lương cơ sở (đồng/tháng)", "label_en": "Base salary (đồng a month)"})
    base_salary_schedule = fields.String(load_default="", validate=_check_schedule, metadata=_SCHEDULE_META)
    adhoc_percent = _adhoc_field()
    coefficient_htxs = _level_field("1.0", "Hệ số thưởng HTXS (× lương cơ sở)", "Bonus of Excellent (HTXS) (× base salary)")
    coefficient_htt = _level_field("0.6", "Hệ số thưởng HTT (× lương cơ sở)", "Bonus of Good (HTT) (× base salary)")
    coefficient_ht = _level_field("0.3", "Hệ số thưởng HT (× lương cơ sở)", "Bonus of Completed (HT) (× base salary)")
    coefficient_kht = _level_field("0", "Hệ số thưởng KHT (× lương cơ sở)", "Bonus of Not completed (KHT) (× base salary)")


class FixedCoefficient(BonusScheme):
    """A fixed amount per level: coefficient × base salary."""

    key = "fixed-coefficient"
    version = VERSION
    title_vi = "Thưởng theo hệ số cố định của xếp loại"
    title_en = "Fixed bonus coefficient per level"
    description_vi = "Mỗi người nhận hệ số của mức xếp loại × lương cơ sở."
    description_en = "Each person receives their level's coefficient × the base salary."
    settings_schema = FixedSettings

    def _amounts(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[int]:
        return [round_money(_level_value(settings, "coefficient", p.get("level")) * self._base(p, settings))
                for p in people]

    @staticmethod
    def _base(person: Mapping[str, Any], settings: Mapping[str, Any]) -> Fraction:
        # The mean base salary over the months worked: the one base when it did not change.
        bases = _monthly_bases(person, settings) if person.get("months") else []
        return Fraction(sum(bases), len(bases)) if bases else Fraction(_base(person, settings))

    def default_fund(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> int:
        return sum(self._amounts(people, settings))

    def allocate(self, fund: int, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Allocation]:
        # Whole-đồng amounts as weights: a fund equal to their sum gives each exactly its amount.
        amounts = self._amounts(people, settings)
        explain = [{"coefficient": float(_level_value(settings, "coefficient", p.get("level"))),
                    "base_salary": float(self._base(p, settings)), "fixed_amount": a}
                   for p, a in zip(people, amounts, strict=True)]
        return _share(fund, people, [Fraction(a) for a in amounts], explain)


@hookimpl
def congvu_bonus_schemes():
    return [Decree73Pool(), FixedCoefficient()]
