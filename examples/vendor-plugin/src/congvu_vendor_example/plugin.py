"""congvu plugin ``vendor-example``: scoring by converted products, a CSV of product logs,
and the same logs pulled live from the vendor's API.

Everything comes from ``core.plugins.toolkit``, congvu's stable surface for plugins.
The components are pure: plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.plugins.toolkit import (
    TASK_SCORE_MAX,
    ImportConnector,
    LiveConnector,
    LivePage,
    ParseResult,
    PeriodScore,
    RowError,
    Schema,
    ScoringVariant,
    clamp,
    fields,
    hookimpl,
    read_csv,
    validate,
)

# Each component carries its own version: bump one only when its own results change (a
# new formula, a new default), so a tenant's months scored by an unchanged component are
# left alone by an upgrade of the package (docs/writing-a-plugin.md, "Versions and upgrades").


# ---------------------------------------------------------------- scoring variant


class PointsSettings(Schema):
    target_points_per_day = fields.Float(
        load_default=8.0, validate=validate.Range(min=0.1, max=1000),
        metadata={"label_vi": "Chỉ tiêu điểm mỗi ngày làm việc", "label_en": "Target points per working day",
                  "description_vi": "Số sản phẩm quy đổi cần đạt mỗi ngày để được 70 điểm.",
                  "description_en": "Converted products per working day that earn the full 70 points."})
    late_penalty = fields.Float(
        load_default=0.25, validate=validate.Range(min=0, max=1),
        metadata={"label_vi": "Mức trừ mỗi lần trễ hạn", "label_en": "Deduction per missed deadline"})
    rework_penalty = fields.Float(
        load_default=0.25, validate=validate.Range(min=0, max=1),
        metadata={"label_vi": "Mức trừ mỗi lần trả lại làm lại", "label_en": "Deduction per failed review"})
    support_share = fields.Float(
        load_default=0.5, validate=validate.Range(min=0, max=1),
        metadata={"label_vi": "Tỷ lệ điểm của người phối hợp", "label_en": "Share of a supporting role"})


class PointsPerProduct(ScoringVariant):
    """Each finished item earns quantity × converted-product weight × complexity points,
    less a share per missed deadline and per failed review (none when exempt), at a
    reduced share for a supporting role. Task score = 70 × min(1, points ÷ (target per
    day × working days))."""

    key = "points-per-product"
    version = "1.0.0"
    title_vi = "Điểm theo sản phẩm quy đổi"
    title_en = "Points per converted product"
    # {name} shows the tenant's setting (the explain page fills it in, in its language).
    description_vi = ("Đủ 70 điểm khi đạt {target_points_per_day} điểm sản phẩm quy đổi mỗi ngày làm việc; "
                      "trừ {late_penalty} mỗi lần trễ hạn, {rework_penalty} mỗi lần phải làm lại.")
    description_en = ("The full 70 points at {target_points_per_day} converted-product points per working day; "
                      "less {late_penalty} per missed deadline, {rework_penalty} per failed review.")
    settings_schema = PointsSettings
    item_components = ("points", "completed", "late")
    # How the pages name what this variant returns (Vietnamese, English).
    labels = {
        "points": ("điểm sản phẩm quy đổi", "converted-product points"),
        "completed": ("số việc hoàn thành", "items completed"),
        "late": ("số việc trễ hạn", "items late"),
        "target_points": ("chỉ tiêu điểm của kỳ", "target points of the period"),
        "attainment_pct": ("tỷ lệ đạt chỉ tiêu", "target attained %"),
    }

    def score_items(self, items: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[dict[str, float]]:
        return [self._score(item, settings) for item in items]

    @staticmethod
    def _score(item: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, float]:
        if item.get("status") != "done":
            return {"points": 0.0, "completed": 0, "late": 0}
        products = (float(item.get("quantity") or 0) * float(item.get("product_weight") or 0)
                    * float(item.get("complexity_coefficient") or 1))
        share = 1.0 if item.get("role", "lead") == "lead" else settings["support_share"]
        missed = 0 if item.get("exempt") else int(item.get("missed_deadlines") or 0)
        failed = 0 if item.get("exempt") else int(item.get("failed_reviews") or 0)
        factor = max(0.0, 1 - settings["late_penalty"] * missed) * max(0.0, 1 - settings["rework_penalty"] * failed)
        # Rounded so that sums do not depend on the order the database adds them in.
        return {"points": round(products * share * factor, 6), "completed": 1, "late": 1 if missed else 0}

    def period_score(self, sums: Mapping[str, float], settings: Mapping[str, Any],
                     facts: Mapping[str, Any]) -> PeriodScore:
        points = float(sums.get("points", 0))
        target = settings["target_points_per_day"] * max(0, int(facts.get("working_days") or 0))
        # Nobody is expected to produce anything in a period without working days.
        attainment = clamp(points / target, 0.0, 1.0) if target > 0 else 0.0
        return {
            "task_score": round(TASK_SCORE_MAX * attainment, 2),
            "components": {"points": round(points, 6), "target_points": round(target, 6),
                           "attainment_pct": round(100 * attainment, 2),
                           "completed": float(sums.get("completed", 0)), "late": float(sums.get("late", 0))},
            "provisional": False,
        }


# ---------------------------------------------------------------- import connector


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-10-05T16:30:00+07:00")
    return value


def _quantity(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if not value.is_finite() or value <= 0:
        raise ValueError("must be a positive number")
    return value


class ProductsCsv(ImportConnector):
    """A CSV log of finished products: one row per product batch becomes a done work item."""

    key = "products-csv"
    version = "1.0.0"
    title_vi = "Nhật ký sản phẩm (CSV)"
    title_en = "Product log (CSV)"
    target = "work_items"
    columns = ("external_id", "employee_code", "product_code", "title", "work_date", "quantity", "completed_at")
    key_columns = ("external_id",)
    required = ("external_id", "employee_code", "product_code", "work_date", "quantity")
    converters = {"work_date": _date, "quantity": _quantity, "completed_at": _datetime}

    def parse(self, data: bytes, settings: Mapping[str, Any]) -> ParseResult:
        rows, errors, extra = read_csv(data, self.columns)
        # Extra columns are reported, not fatal (api.md); every error stops the import.
        warnings: list[RowError] = [{"row": 1, "column": name, "message": "Unknown column (ignored)."}
                                    for name in extra]
        parsed = []
        missing_columns = [c for c in self.required if rows and c not in rows[0]]
        for name in missing_columns:
            errors.append({"row": 1, "column": name, "message": "Required column is missing."})
        if missing_columns:
            return {"rows": [], "errors": errors, "warnings": warnings}
        seen: dict[str, int] = {}
        for row in rows:
            number = row["_row"]
            values, row_errors = self._values(row, number)
            key = values.get("external_id")
            if key in seen:
                row_errors.append({"row": number, "column": "external_id",
                                   "message": f"Duplicate of row {seen[key]}."})
            elif key:
                seen[key] = number
            errors.extend(row_errors)
            if not row_errors:
                parsed.append({"row": number, "values": values})
        return {"rows": parsed if not errors else [], "errors": errors, "warnings": warnings}

    def _values(self, row: Mapping[str, Any], number: int) -> tuple[dict[str, Any], list[RowError]]:
        errors: list[RowError] = []
        values: dict[str, Any] = {}
        for column in self.columns:
            text = row.get(column, "")
            if not text:
                if column in self.required:
                    errors.append({"row": number, "column": column, "message": "Required."})
                continue
            convert = self.converters.get(column)
            try:
                value = convert(text) if convert else text
            except ValueError as exc:
                errors.append({"row": number, "column": column, "message": f"Invalid value {text!r}: {exc}."})
                continue
            values["task_type_code" if column == "product_code" else column] = value
        values["status"] = "done"
        if "title" not in values and "task_type_code" in values:
            values["title"] = f"Sản phẩm {values['task_type_code']}"
        return values, errors


# ---------------------------------------------------------------- live connector


class ProductsApiSettings(Schema):
    url = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "label_vi": "Địa chỉ API nhật ký sản phẩm", "label_en": "Product-log API address"})


class ProductsApi(LiveConnector):
    """The product logs of ``products-csv``, pulled from the vendor's API instead of a file:
    ``GET url?after=<cursor>`` answers ``{"logs": [...], "next": "<cursor>" | null}``. The
    records go through ``products-csv``'s checks and writer, so a wrong row writes nothing."""

    key = "products-api"
    version = "1.0.0"
    title_vi = "Nhật ký sản phẩm (API)"
    title_en = "Product logs (API)"
    settings_schema = ProductsApiSettings
    import_connector = "products-csv"

    def settings_errors(self, settings: Mapping[str, Any]) -> dict[str, list[str]]:
        return {} if settings["url"] else {"url": ["Required."]}

    def fetch_page(self, get: Any, settings: Mapping[str, Any], cursor: str | None) -> LivePage:
        body = get(settings["url"], {"after": cursor} if cursor else {}, {})
        records = [{"external_id": log["id"], "employee_code": log["staff"], "product_code": log["product"],
                    "title": log.get("note") or "", "work_date": log["day"], "quantity": log["count"],
                    "completed_at": log.get("done_at") or ""} for log in body["logs"]]
        return {"records": records, "cursor": body.get("next") or cursor, "more": bool(body.get("next"))}


# ---------------------------------------------------------------- hooks


@hookimpl
def congvu_scoring_variants():
    return [PointsPerProduct()]


@hookimpl
def congvu_import_connectors():
    return [ProductsCsv()]


@hookimpl
def congvu_live_connectors():
    return [ProductsApi()]
