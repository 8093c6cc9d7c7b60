"""The heat map's reading of unit_week_hours cells (core/dashboards/services.py)."""

from __future__ import annotations

from datetime import date

import pytest

from core import unit_of_work
from core.dashboards.models import UnitWeekHours
from core.dashboards.services import workload_heatmap
from core.extensions import db
from core.tenancy import tenant_context
from tests.work.test_work_support import build

pytest_plugins = ("tests.work.test_work_support",)
PERIOD = "2026-10"


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


def test_an_emptied_cell_shows_no_hours_whatever_rounding_is_left(clean_app, w):
    """A refresh takes a person's old minutes out of their unit's cell as floats: when the
    last items of a week go, the cell keeps 0 items and minutes of 0 give or take
    rounding, below zero too. It must read as an empty cell (0 h, level 0), not -0,0 in
    class heat--1; the other weeks as usual."""
    dept = w.ids["dept"]
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.add_all([
            UnitWeekHours(unit_id=dept, period=PERIOD, week_start=date(2026, 10, 12), minutes=-1e-9, items=0),
            UnitWeekHours(unit_id=dept, period=PERIOD, week_start=date(2026, 10, 19), minutes=420.0, items=1)])
        unit_of_work.commit()
        data = workload_heatmap(PERIOD, None)
    cells = {c["week"][5:]: (c["hours"], c["level"]) for r in data["rows"] if r["name"] == "Sở Nội vụ"
             for c in r["cells"]}
    # Seven people in Sở Nội vụ, five working days in week 43: 7 h / 7 / 5 = 0.2 h a day.
    assert cells == {"W40": (0.0, 0), "W41": (0.0, 0), "W42": (0.0, 0), "W43": (0.2, 1), "W44": (0.0, 0)}
