"""Deleting people and positions that other records still refer to is a 409 that changes
nothing, on both databases (SQLite checks foreign keys too)."""

from __future__ import annotations

from tests.work.test_work_support import build, declare


def test_referenced_employee_and_position_are_not_deleted(clean_app, client, clock):
    w = build(clean_app)
    declare(client, w, who="staff2")
    gone = client.delete(w.url(f"/employees/{w.ids['staff2']}"), headers=w.h("admin"))
    assert gone.status_code == 409 and gone.get_json()["code"] == "conflict"
    assert client.get(w.url(f"/employees/{w.ids['staff2']}"), headers=w.h("admin")).status_code == 200
    assert client.get(w.url(f"/work-items?employee_id={w.ids['staff2']}"), headers=w.h("admin")).get_json()
    # A position no one holds but the catalogue names is referenced too.
    position = client.post(w.url("/positions"), headers=w.h("admin"),
                           json={"code": "TT", "name": "Thủ quỹ", "group": "support"}).get_json()
    r = client.post(w.url("/task-types"), headers=w.h("admin"), json={
        "code": "TQ01", "name": "Kiểm quỹ", "group": "C", "unit_of_measure": "lần", "norm_minutes": 30,
        "product_weight": 0.5, "complexity_levels": [], "position_codes": ["TT"]})
    assert r.status_code == 201, r.get_json()
    refused = client.delete(w.url(f"/positions/{position['id']}"), headers=w.h("admin"))
    assert refused.status_code == 409
    assert client.get(w.url(f"/positions/{position['id']}"), headers=w.h("admin")).status_code == 200
