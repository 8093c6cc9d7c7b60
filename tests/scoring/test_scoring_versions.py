"""A month is scored by one component version (issue 23, item 1), both databases: after
a plugin upgrade (1.0.0 → 1.1.0, with a new formula) a write to an open month marks it
stale instead of re-scoring the changed item under 1.1.0 beside the others under 1.0.0,
and the recalculation scores it whole under 1.1.0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from core.extensions import db
from core.scoring.models import ItemScore
from core.tenancy import tenant_context
from tests.conftest import make_app
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)
ROOT = Path(__file__).resolve().parents[2]
SLUG = "tinh-ver"
PERIOD = "2026-10"
MOVED = ("The month was scored with 'test-versioned' version 1.0.0; the scoring variant in force is "
         "'test-versioned' version 1.1.0: the month is recalculated whole, never item by item.")


@pytest.fixture
def versioned(clean_app, backend, tmp_path, tmp_path_factory, clock):
    (tmp_path / "tenants" / SLUG).mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "plugins" / "versioned.py", tmp_path / "tenants" / SLUG / "plugin.py")
    app = make_app(backend, tmp_path_factory, CONGVU_TENANTS_DIR=str(tmp_path / "tenants"))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def done_item(client, w, quantity: int) -> int:
    item = declare(client, w, quantity=quantity)["id"]
    r = client.patch(w.url(f"/work-items/{item}"), json={"status": "done"}, headers=w.h("staff"))
    assert r.status_code == 200, r.get_json()
    return item


def staff_month(client, w) -> dict:
    r = client.get(w.url(f"/scores?period={PERIOD}&employee_id={w.ids['staff']}"), headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()[0]


def recalculate(client, w) -> None:
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202, r.get_json()
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "finished", job


def item_versions(app, w) -> dict[int, tuple[str, float]]:
    with app.app_context(), tenant_context(w.tenant_id):
        return {r.work_item_id: (r.variant_version, r.c0) for r in db.session.scalars(select(ItemScore))}


def test_an_upgraded_variant_marks_the_open_month_stale_and_rescores_it_whole(versioned, monkeypatch):
    client = versioned.test_client()
    w = build(versioned, SLUG)
    r = client.patch(w.url("/settings"), json={"scoring_variant": {"key": "test-versioned", "settings": {}}},
                     headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    first, second = done_item(client, w, 1), done_item(client, w, 2)
    recalculate(client, w)
    month = staff_month(client, w)
    assert (month["task_score"], month["variant"]["version"]) == (20.0, "1.0.0")  # 2 done items × 10

    from core.plugins.manager import current_manager

    with versioned.app_context():
        variant = type(current_manager().registered("scoring_variant", "test-versioned", SLUG).component)
    monkeypatch.setattr(variant, "version", "1.1.0")  # the vendor's upgrade: 20 points per done item
    monkeypatch.setattr(variant, "points_per_item", 20.0)

    third = done_item(client, w, 3)
    state = client.get(w.url(f"/periods/{PERIOD}"), headers=w.h("admin")).get_json()
    assert state["stale"] is True and state["stale_reason"] == MOVED
    assert state["variant"] == {"key": "test-versioned", "version": "1.0.0"}
    # Not mixed: no item re-scored under 1.1.0, the month row still the 1.0.0 month.
    assert item_versions(versioned, w) == {first: ("1.0.0", 10.0), second: ("1.0.0", 10.0)}
    month = staff_month(client, w)
    assert (month["task_score"], month["variant"]["version"]) == (20.0, "1.0.0")

    # The manager's general criteria do not re-stamp the month either.
    r = client.put(w.url(f"/employees/{w.ids['staff']}/general-scores/{PERIOD}"),
                   json={"politics_ethics": 8, "competence_attitude": 9, "innovation": 7}, headers=w.h("manager"))
    assert r.status_code == 200 and r.get_json()["total"] == 24.0
    month = staff_month(client, w)
    assert (month["task_score"], month["variant"]["version"], month["general_score"]) == (20.0, "1.0.0", None)

    recalculate(client, w)  # what the nightly job does with a stale month
    assert item_versions(versioned, w) == {first: ("1.1.0", 20.0), second: ("1.1.0", 20.0),
                                           third: ("1.1.0", 20.0)}
    month = staff_month(client, w)
    assert (month["task_score"], month["variant"]["version"]) == (60.0, "1.1.0")  # 3 done items × 20
    assert (month["general_score"], month["total"]) == (24.0, 84.0)
    state = client.get(w.url(f"/periods/{PERIOD}"), headers=w.h("admin")).get_json()
    assert state["stale"] is False and state["variant"] == {"key": "test-versioned", "version": "1.1.0"}
