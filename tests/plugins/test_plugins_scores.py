"""A tenant's scores use the component it selected, through the real scoring engine;
without that component installed they stop with a clear error (both databases)."""

from __future__ import annotations

from core.extensions import db
from core.plugins.components import Component
from tests.conftest import make_app
from tests.work.test_work_support import build, declare

PERIOD = "2026-10"
SELECT = {"scoring_variant": {"key": "points-per-product", "settings": {"target_points_per_day": 0.5}}}


def finish(client, w, item_id):
    r = client.patch(w.url(f"/work-items/{item_id}"), json={"status": "done"}, headers=w.h("staff"))
    assert r.status_code == 200, r.get_json()


def staff_score(client, w):
    r = client.get(w.url(f"/scores?period={PERIOD}&employee_id={w.ids['staff']}"), headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()[0]


def test_tenant_scores_use_the_vendor_variant_it_selected(clean_app, client, clock):
    w = build(clean_app)
    r = client.patch(w.url("/settings"), json=SELECT, headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    stored = r.get_json()["scoring_variant"]["settings"]
    done, _open = declare(client, w, quantity=3)["id"], declare(client, w, quantity=5)["id"]
    finish(client, w, done)

    score = staff_score(client, w)
    assert score["variant"] == {"key": "points-per-product", "version": "1.0.0",
                                "settings_hash": Component.settings_hash(stored)}
    c = score["components"]
    assert c["completed"] == 1 and c["points"] > 0  # only the finished item earns points
    assert c["target_points"] == 0.5 * 22  # the tenant's target per day × October 2026's working days
    assert score["task_score"] == round(70 * min(1.0, c["points"] / c["target_points"]), 2)

    # A full recalculation gives the same, with the same variant.
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "finished", job
    assert job["result"]["variant"]["key"] == "points-per-product"
    # The same score; only the time it was computed moved.
    again = staff_score(client, w)
    assert again.pop("refreshed_at") >= score.pop("refreshed_at") and again == score


def test_scores_stop_with_a_clear_error_when_the_chosen_variant_is_not_enabled(clean_app, client, clock,
                                                                                backend, tmp_path_factory):
    w = build(clean_app)
    assert client.patch(w.url("/settings"), json=SELECT, headers=w.h("admin")).status_code == 200
    declare(client, w, quantity=1)

    without = make_app(backend, tmp_path_factory, CONGVU_PLUGINS="none")  # the operator left the vendor out
    try:
        other = without.test_client()
        r = other.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
        assert r.status_code == 202
        job = other.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
        assert job["status"] == "failed", job
        assert "scoring variant 'points-per-product'" in job["error"] and "not installed or not enabled" in job["error"]
        # The day's work still goes in; only scoring waits for the component.
        r = other.post(w.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2},
                       headers=w.h("staff"))
        assert r.status_code == 201, r.get_json()
        # Nothing was scored with a stand-in variant.
        body = other.get(w.url(f"/scores?period={PERIOD}&employee_id={w.ids['staff']}"), headers=w.h("admin"))
        assert all(s["variant"]["key"] == "points-per-product" for s in body.get_json() or [])
    finally:
        with without.app_context():
            db.session.remove()
            db.engine.dispose()
