"""Discipline kinds of Decree 172/2025 (in force 1 July 2025) and the other recorded grounds
for KHT, through the API on both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from core.classification.models import DisciplineRecord
from core.extensions import db
from core.tenancy import tenant_context
from tests.classification.test_classification_api import TOTALS_2026, listing, run, set_totals
from tests.work.test_work_support import World

pytest_plugins = ("tests.work.test_work_support",)


def post(client, w: World, name: str, kind: str, decided_on: str, **extra):
    body = {"employee_id": w.ids[name], "kind": kind, "decided_on": decided_on, "reason": "Quyết định số 12/QĐ", **extra}
    return client.post(w.url("/discipline-records"), json=body, headers=w.h("admin"))


def count(app, w: World) -> int:
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(func.count()).select_from(DisciplineRecord))


def test_abolished_forms_only_before_1_july_2025(clean_app, world, client):
    # 30 June 2025 is the last day of Decree 112/2020: hạ bậc lương and giáng chức are still forms.
    assert post(client, world, "staff", "demotion", "2025-06-30").status_code == 201
    assert post(client, world, "staff2", "rank_demotion", "2025-06-30").status_code == 201
    for kind in ("demotion", "rank_demotion"):
        late = post(client, world, "staff", kind, "2025-07-01")
        assert late.status_code == 422 and "172/2025" in str(late.get_json()["errors"]["kind"])
    assert count(clean_app, world) == 2
    # The four forms of Decree 172/2025 for công chức are taken on any date.
    for kind in ("reprimand", "warning", "removal", "dismissal"):
        assert post(client, world, "accountant", kind, "2025-07-01").status_code == 201, kind
    assert count(clean_app, world) == 6


def test_recall_is_for_can_bo_and_dismissal_is_not(clean_app, world, client):
    # Nobody recorded as cán bộ: công chức by default, so no recall.
    refused = post(client, world, "manager", "recall", "2026-03-02")
    assert refused.status_code == 422 and "kind" in refused.get_json()["errors"]
    regime = client.post(world.url(f"/employees/{world.ids['manager']}/regimes"),
                         json={"regime": "can_bo", "valid_from": "2026-01-01"}, headers=world.h("admin"))
    assert regime.status_code == 201, regime.get_json()
    assert post(client, world, "manager", "recall", "2026-03-02").status_code == 201
    # The regime in force on the day decided counts: before 2026 he was công chức.
    assert post(client, world, "manager", "recall", "2025-12-31").status_code == 422
    assert post(client, world, "manager", "dismissal", "2026-03-02").status_code == 422
    assert count(clean_app, world) == 1


def test_degradation_and_unit_corruption_make_the_year_kht(clean_app, world, client):
    # staff 95 and manager 75 (TOTALS_2026) would be HTXS and HTT by total.
    set_totals(clean_app, world, TOTALS_2026)
    assert post(client, world, "staff", "degradation", "2026-10-05").status_code == 201
    assert post(client, world, "manager", "unit_corruption", "2026-09-01").status_code == 201
    run(client, world)
    rows = listing(client, world)
    assert (rows["staff"]["level"], rows["staff"]["forced_kht"], rows["staff"]["total"]) == ("KHT", True, 95.0)
    assert (rows["manager"]["level"], rows["manager"]["forced_kht"]) == ("KHT", True)
    assert (rows["staff2"]["level"], rows["staff2"]["forced_kht"]) == ("HTT", False)
