"""The vendor's own tests: congvu's conformance kit on each component, then the
behaviour this plugin promises."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from congvu_vendor_example.plugin import PointsPerProduct, ProductsApi, ProductsCsv

from core.plugins.testing import SAMPLE_FACTS, ConformanceError, check_component, sample_item

GOOD_CSV = (
    "external_id,employee_code,product_code,title,work_date,quantity,completed_at\n"
    "P-1,NV01,HS-01,Hồ sơ cấp phép,2026-10-05,3,2026-10-05T16:30:00+07:00\n"
    "P-2,NV02,HS-02,,2026-10-06,1.5,\n"
).encode()


def test_points_per_product_conforms():
    check_component(PointsPerProduct())
    check_component(PointsPerProduct(), settings={"target_points_per_day": 2, "support_share": 0})


def test_products_csv_conforms():
    check_component(ProductsCsv(), sample=GOOD_CSV)


def test_points_follow_products_deductions_and_role():
    variant = PointsPerProduct()
    settings = variant.load_settings({})
    scores = variant.score_items([
        sample_item(quantity=Decimal("2"), product_weight=Decimal("1.5"), complexity_coefficient=Decimal("1.2")),
        sample_item(missed_deadlines=2, failed_reviews=1),  # 2 × 0.5 × 0.75
        sample_item(missed_deadlines=2, exempt=True),
        sample_item(role="support"),
        sample_item(status="in_progress", completed_at=None),
    ], settings)
    assert [s["points"] for s in scores] == [3.6, 0.75, 2.0, 1.0, 0.0]
    assert [s["late"] for s in scores] == [0, 1, 0, 0, 0]
    assert [s["completed"] for s in scores] == [1, 1, 1, 1, 0]


def test_period_score_against_the_daily_target():
    variant = PointsPerProduct()
    settings = variant.load_settings({"target_points_per_day": 2})
    half = variant.period_score({"points": 21, "completed": 10, "late": 1}, settings, SAMPLE_FACTS)
    assert half["task_score"] == 35.0 and half["components"]["attainment_pct"] == 50.0
    over = variant.period_score({"points": 500, "completed": 10, "late": 0}, settings, SAMPLE_FACTS)
    assert over["task_score"] == 70.0
    idle = variant.period_score({"points": 5, "completed": 1, "late": 0}, settings, {**SAMPLE_FACTS, "working_days": 0})
    assert idle["task_score"] == 0.0


def test_csv_rows_become_done_work_items():
    result = ProductsCsv().parse(GOOD_CSV, {})
    assert result["errors"] == []
    first, second = result["rows"]
    assert first["row"] == 2 and first["values"]["task_type_code"] == "HS-01"
    assert first["values"]["work_date"] == date(2026, 10, 5) and first["values"]["quantity"] == Decimal("3")
    assert first["values"]["status"] == "done"
    assert second["values"]["title"] == "Sản phẩm HS-02" and "completed_at" not in second["values"]


def test_csv_errors_name_row_and_column_and_write_nothing():
    bad = (
        b"external_id;employee_code;product_code;work_date;quantity;colour\n"
        b"P-1;NV01;HS-01;2026-13-01;3;red\n"
        b"P-1;NV01;HS-01;2026-10-01;-2;blue\n"
        b"P-3;;HS-01;2026-10-01;2;green\n"
    )
    result = ProductsCsv().parse(bad, {})
    assert result["rows"] == []
    found = {(e["row"], e["column"]) for e in result["errors"]}
    assert {(2, "work_date"), (3, "quantity"), (3, "external_id"), (4, "employee_code")} <= found
    assert result["warnings"] == [{"row": 1, "column": "colour", "message": "Unknown column (ignored)."}]


def test_the_kit_catches_a_broken_variant():
    class Impure(PointsPerProduct):
        def score_items(self, items, settings):
            for item in items:
                item["seen"] = True  # changes its input: the core would see different items next time
            return super().score_items(items, settings)

    with pytest.raises(ConformanceError, match="changed its input"):
        check_component(Impure())


def test_products_api_conforms_and_gives_products_csv_rows():
    pages = {None: {"logs": [{"id": "P-1", "staff": "NV01", "product": "HS-01", "day": "2026-10-05", "count": 3}],
                    "next": "P-1"},
             "P-1": {"logs": [{"id": "P-2", "staff": "NV02", "product": "HS-02", "day": "2026-10-06", "count": 1.5,
                               "note": "Hồ sơ cấp phép", "done_at": "2026-10-06T16:30:00+07:00"}], "next": None}}
    records = check_component(ProductsApi(), pages=pages, settings={"url": "https://vendor.example/logs"})
    assert [r["external_id"] for r in records] == ["P-1", "P-2"]
    assert set(records[0]) <= set(ProductsCsv.columns)
    assert ProductsApi().settings_errors(ProductsApi().load_settings()) == {"url": ["Required."]}



def test_the_plugin_loads_as_congvu_loads_it():
    from congvu_vendor_example import plugin

    from core.plugins.testing import check_plugin

    assert {c.key for c in check_plugin(plugin)} == {"points-per-product", "products-csv", "products-api"}


def test_extremes_stay_within_the_bounds():
    from core.plugins.testing import probe_component

    probe_component(PointsPerProduct(), max_examples=60)
    probe_component(ProductsCsv(), max_examples=20)
