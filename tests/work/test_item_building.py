"""One function builds a work item for the API and the import (core.work.building):
items entered through the API and the same items imported from a file store the same
values and score the same under every built-in scoring variant, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from core import unit_of_work
from core.extensions import db
from core.org.models import Employee
from core.plugins.manager import current_manager
from core.scoring import engine
from core.scoring.models import ItemScore, PeriodScore
from core.tenancy import tenant_context
from core.work import building
from core.work import services as work
from core.work.models import WorkItem
from tests.imports.test_imports import WORK_HEADER, csv_bytes, result_of, upload
from tests.scoring.test_scoring_properties import use_variant
from tests.work.test_work_support import build, local

PERIOD = "2026-10"
FINAL = (2026, 10, 20, 17, 0)  # every moment below is before it: Tuesday 20 Oct 2026, 17:00

item_strategy = st.fixed_dictionaries({
    "day": st.integers(min_value=1, max_value=9),  # work date: 1–9 Oct 2026
    "code": st.sampled_from(["HT01", "VB01"]),
    "quantity": st.integers(min_value=1, max_value=4),
    "level": st.sampled_from([None, 1, 2, 3]),  # HT01's levels; VB01 has none
    "deadline": st.one_of(st.none(), st.integers(min_value=0, max_value=4)),  # days after the work date
    "declared_hour": st.sampled_from([7, 8, 10, 15]),  # the morning cut-off is 09:00
    "outcome": st.sampled_from(["done", "done", "open", "cancelled"]),
    "finish": st.integers(min_value=0, max_value=5),  # days from the work date to completion (16:00)
    "report": st.integers(min_value=0, max_value=5),  # days from completion to the report (16:30)
})


def builtin_variants(app) -> list[str]:
    with app.app_context():
        return sorted(r.component.key for r in current_manager().available("scoring_variant", None)
                      if r.component.__class__.__module__.startswith("plugins."))


def moments(spec: dict) -> tuple[date, tuple, tuple, tuple]:
    day = date(2026, 10, spec["day"])
    finished = day + timedelta(days=spec["finish"])
    reported = finished + timedelta(days=spec["report"])
    return (day, (day.year, day.month, day.day, spec["declared_hour"], 0),
            (finished.year, finished.month, finished.day, 16, 0), (reported.year, reported.month, reported.day, 16, 30))


def enter_through_api(client, w, clock, specs: list[dict]) -> None:
    for spec in specs:
        day, declared, finished, reported = moments(spec)
        clock.set(*declared)
        body = {"task_type_code": spec["code"], "work_date": day.isoformat(), "quantity": spec["quantity"],
                "confirm_long_day": True}
        if spec["code"] == "HT01" and spec["level"] is not None:
            body["complexity_level"] = spec["level"]
        if spec["deadline"] is not None:
            body["deadline"] = (day + timedelta(days=spec["deadline"])).isoformat()
        r = client.post(w.url("/work-items"), json=body, headers=w.h("staff"))
        assert r.status_code == 201, r.get_json()
        item_id = r.get_json()["id"]
        if spec["outcome"] == "done":
            clock.set(*reported)
            r = client.patch(w.url(f"/work-items/{item_id}"), headers=w.h("staff"),
                             json={"status": "done", "completed_at": local(*finished).isoformat()})
            assert r.status_code == 200, r.get_json()
        elif spec["outcome"] == "cancelled":
            r = client.patch(w.url(f"/work-items/{item_id}"), json={"status": "cancelled"}, headers=w.h("staff"))
            assert r.status_code == 200, r.get_json()


def import_file(client, w, specs: list[dict]) -> None:
    rows = [WORK_HEADER]
    for n, spec in enumerate(specs):
        day, declared, finished, reported = moments(spec)
        done = spec["outcome"] == "done"
        status = {"done": "done", "open": "planned", "cancelled": "cancelled"}[spec["outcome"]]
        rows.append([f"P-{n}", "STAFF2", spec["code"], "", day.isoformat(), str(spec["quantity"]),
                     "" if spec["code"] != "HT01" or spec["level"] is None else str(spec["level"]),
                     "" if spec["deadline"] is None else (day + timedelta(days=spec["deadline"])).isoformat(),
                     local(*declared).isoformat(), local(*finished).isoformat() if done else "",
                     local(*reported).isoformat() if done else "", status, "", "", "", "", "", "", ""])
    result = result_of(client, w, upload(client, w, "work-items-csv", csv_bytes(rows), "p.csv"))
    assert result["errors"] == [] and result["rows_written"] == len(specs), result


def stored(person: int) -> list[tuple]:
    columns = [WorkItem.__table__.c[name] for name in building.FIELDS if name != "employee_id"]
    return [tuple(row) for row in db.session.execute(
        select(*columns).where(WorkItem.employee_id == person).order_by(WorkItem.id)).all()]


def scores() -> dict[str, tuple]:
    rows = db.session.execute(select(Employee.code, PeriodScore.task_score, PeriodScore.total, PeriodScore.item_count,
                                     PeriodScore.components)
                              .join(Employee, Employee.id == PeriodScore.employee_id)
                              .where(PeriodScore.period == PERIOD, Employee.code.in_(("STAFF", "STAFF2")))).all()
    return {r.code: (str(r.task_score), str(r.total), r.item_count, sorted(r.components.items())) for r in rows}


@pytest.fixture
def w(clean_app, clock, tmp_path):
    clean_app.config["CONGVU_UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield build(clean_app, "tinh-build")
    clean_app.config["CONGVU_UPLOAD_DIR"] = None


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(item_strategy, min_size=1, max_size=6))
def test_api_and_import_build_and_score_the_same_items_identically(clean_app, client, clock, w, specs):
    """STAFF declares and completes the items through the API, one request at a time on
    the clock of each moment, and the nightly sweep runs on 20 Oct (it keeps open
    items' flags current on the API path); STAFF2 — same unit, position and manager —
    gets the same items from a work-items file imported on 20 Oct. Every stored value
    the builder sets is equal, and so is the month's score under each built-in variant."""
    with clean_app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(delete(ItemScore))
        db.session.execute(delete(PeriodScore))
        db.session.execute(delete(WorkItem))
        unit_of_work.commit()
    enter_through_api(client, w, clock, specs)
    clock.set(*FINAL)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        work.sweep()
        unit_of_work.commit()
    import_file(client, w, specs)
    variants = builtin_variants(clean_app)
    assert {"decree335", "hours-ledger", "deadline-buckets"} <= set(variants)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert stored(w.ids["staff"]) == stored(w.ids["staff2"])
        for variant in variants:
            use_variant(w.tenant_id, variant)
            engine.recalculate(PERIOD)
            by_person = scores()
            assert set(by_person) == {"STAFF", "STAFF2"}, variant
            assert by_person["STAFF"] == by_person["STAFF2"], variant
        db.session.rollback()
