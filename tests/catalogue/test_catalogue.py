"""The task catalogue with versioned norms, and the competency framework (both databases)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.catalogue.services import fold
from core.extensions import db
from core.tenancy import tenant_context
from tests.work.test_work_support import build, count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)

NEW = {
    "code": "TT99",
    "name": "Tiếp công dân định kỳ",
    "group": "A",
    "unit_of_measure": "buổi",
    "norm_minutes": 240,
    "product_weight": 2,
    "complexity_levels": [{"level": 2, "coefficient": 1.0}, {"level": 1, "coefficient": 0.9}],
    "position_codes": ["CV", "KT"],
}


def test_fold_strips_vietnamese_diacritics():
    assert fold("Giải quyết HỒ SƠ hộ tịch Đất đai") == "giai quyet ho so ho tich dat dai"


def test_create_and_read_task_type_per_contract(client, world):
    r = client.post(world.url("/task-types"), json=NEW, headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert {
        k: body[k]
        for k in (
            "code",
            "name",
            "group",
            "unit_of_measure",
            "norm_minutes",
            "product_weight",
            "position_codes",
            "effective_from",
        )
    } == {
        "code": "TT99",
        "name": NEW["name"],
        "group": "A",
        "unit_of_measure": "buổi",
        "norm_minutes": 240.0,
        "product_weight": 2.0,
        "position_codes": ["CV", "KT"],
        "effective_from": None,
    }
    assert body["complexity_levels"] == [{"level": 1, "coefficient": 0.9}, {"level": 2, "coefficient": 1.0}]
    one = client.get(world.url(f"/task-types/{body['id']}"), headers=world.h("staff"))
    assert one.status_code == 200 and one.get_json()["code"] == "TT99"
    listing = client.get(world.url("/task-types"), headers=world.h("staff"))
    assert listing.headers["X-Total-Count"] == "4"
    assert [t["code"] for t in listing.get_json()] == ["TT99", "HT01", "VB01", "KT01"]


def test_bad_task_types_are_refused_with_field_errors(client, world):
    h = world.h("admin")
    cases = [
        ({**NEW, "group": "E"}, 422, "group"),
        ({**NEW, "norm_minutes": 0}, 422, "norm_minutes"),
        ({**NEW, "product_weight": -1}, 422, "product_weight"),
        ({**NEW, "position_codes": ["NOPE"]}, 422, "position_codes"),
        (
            {**NEW, "complexity_levels": [{"level": 1, "coefficient": 1}, {"level": 1, "coefficient": 2}]},
            422,
            "complexity_levels",
        ),
        ({**NEW, "complexity_levels": [{"level": 1, "coefficient": 0}]}, 422, "complexity_levels"),
        ({**NEW, "code": "HT01"}, 409, "code"),
        ({k: v for k, v in NEW.items() if k != "norm_minutes"}, 422, "norm_minutes"),
    ]
    for body, status, field in cases:
        r = client.post(world.url("/task-types"), json=body, headers=h)
        assert r.status_code == status, (body, r.get_json())
        assert field in r.get_json()["errors"], r.get_json()
    assert client.get(world.url("/task-types"), headers=h).headers["X-Total-Count"] == "3"


def test_only_tenant_admins_write_and_other_tenants_see_nothing(client, clean_app, world):
    assert client.post(world.url("/task-types"), json=NEW, headers=world.h("staff")).status_code == 403
    assert client.post(world.url("/task-types"), json=NEW, headers=world.h("auditor")).status_code == 403
    other = build(clean_app, "tinh-khac")
    tid = world.ids["HT01"]
    assert client.get(other.url(f"/task-types/{tid}"), headers=other.h("admin")).status_code == 404
    assert (
        client.patch(other.url(f"/task-types/{tid}"), json={"name": "x"}, headers=other.h("admin")).status_code == 404
    )
    assert client.get(world.url("/task-types"), headers=other.h("admin")).status_code == 404


def test_norm_versions_apply_from_their_date_and_never_rewrite_items(client, world, clock):
    h, tid = world.h("admin"), world.ids["HT01"]
    before = declare(client, world, work_date="2026-10-20")
    r = client.patch(
        world.url(f"/task-types/{tid}"), json={"norm_minutes": 45, "effective_from": "2026-11-01"}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["norm_minutes"] == 45.0 and r.get_json()["effective_from"] == "2026-11-01"
    # The new version carries over what it did not change.
    assert r.get_json()["product_weight"] == 1.0 and len(r.get_json()["complexity_levels"]) == 3
    on_oct = client.get(world.url(f"/task-types/{tid}?on=2026-10-31"), headers=h).get_json()
    on_nov = client.get(world.url(f"/task-types/{tid}?on=2026-11-01"), headers=h).get_json()
    assert (on_oct["norm_minutes"], on_nov["norm_minutes"]) == (30.0, 45.0)
    after = declare(client, world, work_date="2026-11-02")
    assert after["norm_minutes"] == 45.0 and before["norm_minutes"] == 30.0
    # Changing the norm that October's item was declared under does not rewrite the item.
    r = client.patch(
        world.url(f"/task-types/{tid}"), json={"norm_minutes": 35, "effective_from": "1970-01-01"}, headers=h
    )
    assert r.status_code == 200
    again = client.get(world.url(f"/work-items/{before['id']}"), headers=world.h("staff")).get_json()
    assert again["norm_minutes"] == 30.0 and again["planned_minutes"] == 60.0
    versions = client.get(world.url(f"/task-types/{tid}/versions"), headers=h).get_json()
    assert [(v["effective_from"], v["norm_minutes"]) for v in versions] == [(None, 35.0), ("2026-11-01", 45.0)]


def test_norm_change_without_date_starts_today_in_tenant_time(client, world, clock):
    clock.set(2026, 10, 15, 0, 30)  # still 14 October in UTC, already the 15th in Hồ Chí Minh
    r = client.patch(world.url(f"/task-types/{world.ids['VB01']}"), json={"norm_minutes": 90}, headers=world.h("admin"))
    assert r.get_json()["effective_from"] == "2026-10-15"


def test_search_matches_without_diacritics_and_filters_by_position(client, world):
    h = world.h("staff")

    def codes(query: str) -> list[str]:
        r = client.get(world.url("/task-types" + query), headers=h)
        assert r.status_code == 200, r.get_json()
        return [t["code"] for t in r.get_json()]

    assert codes("?q=ho%20tich") == ["HT01"]
    assert codes("?q=H%E1%BB%98%20S%C6%A0") == ["HT01"]  # "HỘ SƠ"
    assert codes("?q=bao%20cao") == ["KT01"]
    assert codes("?q=100%25") == []
    # My position (CV): its own types and those for every position.
    assert codes("?mine=true") == ["HT01", "VB01"]
    assert codes("?position_code=KT") == ["VB01", "KT01"]
    r = client.get(world.url("/task-types?position_code=NOPE"), headers=h)
    assert r.status_code == 422 and "position_code" in r.get_json()["errors"]


def test_patch_identity_fields_and_positions(client, world):
    h, tid = world.h("admin"), world.ids["KT01"]
    r = client.patch(
        world.url(f"/task-types/{tid}"), json={"name": "Báo cáo quyết toán", "position_codes": ["CV"]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["position_codes"] == ["CV"] and r.get_json()["norm_minutes"] == 240.0
    assert client.get(world.url("/task-types?q=quyet%20toan"), headers=h).get_json()[0]["code"] == "KT01"
    r = client.patch(world.url(f"/task-types/{tid}"), json={"code": "HT01"}, headers=h)
    assert r.status_code == 409


def test_delete_is_refused_while_items_use_the_type(client, world):
    h = world.h("admin")
    declare(client, world, task_type_code="VB01")
    r = client.delete(world.url(f"/task-types/{world.ids['VB01']}"), headers=h)
    assert r.status_code == 409
    assert client.delete(world.url(f"/task-types/{world.ids['KT01']}"), headers=h).status_code == 204
    assert client.get(world.url(f"/task-types/{world.ids['KT01']}"), headers=h).status_code == 404


def test_every_catalogue_change_is_audited(client, clean_app, world):
    h = world.h("admin")
    tid = client.post(world.url("/task-types"), json=NEW, headers=h).get_json()["id"]
    client.patch(world.url(f"/task-types/{tid}"), json={"norm_minutes": 200}, headers=h)
    client.delete(world.url(f"/task-types/{tid}"), headers=h)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(tid), AuditEvent.object_type == "task_type")
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == ["task_type.create", "task_type.update", "task_type.delete"]


def test_competency_framework_and_position_requirements(client, world):
    h = world.h("admin")
    r = client.post(
        world.url("/competencies"), json={"code": "NL1", "name": "Soạn thảo văn bản", "max_level": 4}, headers=h
    )
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["id"]
    client.post(world.url("/competencies"), json={"code": "NL2", "name": "Giao tiếp"}, headers=h)
    url = world.url(f"/positions/{world.ids['pos_CV']}/competencies")
    r = client.put(
        url,
        json={
            "requirements": [
                {"competency_code": "NL1", "required_level": 3},
                {"competency_code": "NL2", "required_level": 2},
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.get_json()
    bad = client.put(url, json={"requirements": [{"competency_code": "NL1", "required_level": 5}]}, headers=h)
    assert bad.status_code == 422 and "requirements" in bad.get_json()["errors"]
    unknown = client.put(url, json={"requirements": [{"competency_code": "X", "required_level": 1}]}, headers=h)
    assert unknown.status_code == 422
    assert client.put(url, json={"requirements": []}, headers=world.h("staff")).status_code == 403
    got = client.get(url, headers=world.h("staff")).get_json()["requirements"]
    assert [(x["competency_code"], x["required_level"]) for x in got] == [("NL1", 3), ("NL2", 2)]
    assert client.delete(world.url(f"/competencies/{cid}"), headers=h).status_code == 409
    assert client.patch(world.url(f"/competencies/{cid}"), json={"max_level": 2}, headers=h).status_code == 409
    toolkit = client.get(world.url("/toolkit"), headers=world.h("staff")).get_json()
    assert toolkit["task_types"] == 3 and toolkit["requirements"]["CV"][0]["competency_code"] == "NL1"
    assert [p["code"] for p in toolkit["positions"]] == ["CV", "KT"]
    client.put(url, json={"requirements": [{"competency_code": "NL2", "required_level": 1}]}, headers=h)
    assert client.delete(world.url(f"/competencies/{cid}"), headers=h).status_code == 204


def test_task_type_list_queries_do_not_grow_with_rows(client, clean_app, world):
    h = world.h("staff")

    def run() -> int:
        with count_queries(clean_app) as statements:
            assert client.get(world.url("/task-types?per_page=500"), headers=h).status_code == 200
        return len(statements)

    run()  # a process's first request of a slug reads the tenant row apart from its RLS settings
    few = run()
    for i in range(25):
        client.post(world.url("/task-types"), json={**NEW, "code": f"N{i:02d}"}, headers=world.h("admin"))
    assert run() == few
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.catalogue.models import TaskType

        assert db.session.scalar(select(func.count()).select_from(TaskType)) == 28
