"""What people type into number and month boxes, read the same way on every page."""

from __future__ import annotations

import pytest

from core.i18n import decimal_input, decimal_text, month_input, month_value


@pytest.mark.parametrize(("typed", "read"), [
    ("0,5", "0.5"), ("0.5", "0.5"), (" 12 ", "12"), ("1.234,5", "1234.5"), ("1,234.5", "1234.5"),
    ("1 234,5", "1234.5"), ("-0,25", "-0.25"), ("0,2,5", "0,2,5"), ("abc", "abc"),
])
def test_a_decimal_comma_or_point_is_a_decimal(typed, read):
    assert decimal_input(typed) == read


@pytest.mark.parametrize(("value", "shown"), [
    (0.25, "0,25"), ("90.00", "90"), (8.0, "8"), (1000, "1000"), (0.125, "0,125"), (None, ""),
])
def test_a_number_in_a_box_has_a_decimal_comma_and_every_decimal(value, shown):
    assert decimal_text(value) == shown  # outside a request: Vietnamese


@pytest.mark.parametrize(("typed", "month"), [
    ("12/2026", "2026-12"), ("tháng 12/2026", "2026-12"), ("Tháng 3/2026", "2026-03"), ("3-2026", "2026-03"),
    ("2026-03", "2026-03"), ("2026-3", None), ("03.2026", "2026-03"),
    ("13/2026", None), ("0/2026", None), ("12/1999", None), ("2026", None), ("", None), (None, None),
    ("2026-12-01", None), ("12/2026x", None),
])
def test_a_month_is_typed_as_people_write_it(typed, month):
    assert month_input(typed) == month


def test_a_month_box_shows_month_slash_year():
    assert month_value("2026-12") == "12/2026" and month_value("") == "" and month_value("12/2026") == "12/2026"
