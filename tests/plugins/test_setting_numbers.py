"""A component's settings read as the pages' other numbers: thousands grouped, the
reader's decimal mark (the components page showed a base salary as 2340000)."""

from __future__ import annotations

import pytest

from core.plugins.forms import setting_text


@pytest.mark.parametrize(("value", "vi", "en"), [
    (2340000, "2.340.000", "2,340,000"), ("1234.50", "1.234,5", "1,234.5"), (0.25, "0,25", "0.25"),
    (90, "90", "90"), (-1500, "-1.500", "-1,500"), (0.1 + 0.2, "0,3", "0.3"),
    ({"HTXS": 1.5, "HTT": 1}, "HTXS: 1,5; HTT: 1", "HTXS: 1.5; HTT: 1")])
def test_a_setting_number_is_grouped_in_the_readers_way(value, vi, en):
    assert setting_text(value, True, "có", "không") == vi
    assert setting_text(value, False, "yes", "no") == en


def test_yes_no_and_text_are_left_as_they_are():
    assert setting_text(True, True, "có", "không") == "có"
    assert setting_text("2024-07-01=2340000", False, "yes", "no") == "2024-07-01=2340000"
