"""The tenant's config stamp (migration 0039) and what a process keeps under it
(core/tenants/config_cache.py): every write of closed months, calendar days, work
settings or webhook subscriptions moves the stamp — by the database, whoever writes — and
a request after the write reads afresh, while requests under the same stamp read none of
the four. Both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import bindparam, insert, select, text

from core import unit_of_work
from core.extensions import db
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.webhooks.models import WebhookSubscription
from core.work.models import CalendarDay, ClosedPeriod, WorkSettings
from tests.work.test_work_support import count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)

CONFIG_TABLES = ("closed_periods", "calendar_days", "work_settings", "webhook_subscriptions")


def stamp(app, w) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Tenant.config_stamp).where(Tenant.id == w.tenant_id))


def write_sql(app, w, statement, **params) -> None:
    """A write that goes round every service (a hand-run fix, a merger's bulk move)."""
    with app.app_context(), tenant_context(w.tenant_id):
        db.session.execute(text(statement) if isinstance(statement, str) else statement, {"tid": w.tenant_id, **params})
        unit_of_work.commit()


def _insert(model, **values):
    return insert(model.__table__).values(tenant_id=bindparam("tid"), **values)


AT = datetime(2026, 10, 14, 8, tzinfo=UTC)
WRITES = {
    "closed_periods": [_insert(ClosedPeriod, period="2026-08", closed_at=AT),
                       "UPDATE closed_periods SET period = '2026-07' WHERE tenant_id = :tid",
                       "DELETE FROM closed_periods WHERE tenant_id = :tid"],
    "calendar_days": [_insert(CalendarDay, day=date(2026, 10, 17), kind="working"),
                      "UPDATE calendar_days SET kind = 'holiday' WHERE tenant_id = :tid",
                      "DELETE FROM calendar_days WHERE tenant_id = :tid"],
    "work_settings": [_insert(WorkSettings, position_check="warn", report_within_working_days=2),
                      "UPDATE work_settings SET report_within_working_days = 3 WHERE tenant_id = :tid",
                      "DELETE FROM work_settings WHERE tenant_id = :tid"],
    "webhook_subscriptions": [_insert(WebhookSubscription, url="https://example.org/h", events=[], secret="s",
                                      active=True, created_at=AT, created_by="x"),
                              "UPDATE webhook_subscriptions SET active = false WHERE tenant_id = :tid",
                              "DELETE FROM webhook_subscriptions WHERE tenant_id = :tid"],
}


@pytest.mark.parametrize("table", CONFIG_TABLES)
def test_every_write_of_the_configuration_moves_the_stamp(clean_app, world, table):
    seen = [stamp(clean_app, world)]
    assert seen[0] is not None  # a tenant gets one when it is made
    for sql in WRITES[table]:
        write_sql(clean_app, world, sql)
        seen.append(stamp(clean_app, world))
    assert None not in seen and len(set(seen)) == len(seen), seen


def test_a_write_elsewhere_leaves_the_stamp(clean_app, world):
    before = stamp(clean_app, world)
    declare(clean_app.test_client(), world)
    assert stamp(clean_app, world) == before


def test_requests_under_one_stamp_read_the_configuration_once(clean_app, client, world, monkeypatch):
    """An item's change (scores refreshed beside the request, as with Redis) reads none of
    the four once a request under the same stamp has read them."""
    monkeypatch.setitem(clean_app.config, "CONGVU_SCORING", "deferred")
    first, second = declare(client, world), declare(client, world)
    warm = client.patch(world.url(f"/work-items/{first['id']}"), json={"status": "done"}, headers=world.h("staff"))
    assert warm.status_code == 200, warm.get_json()
    with count_queries(clean_app) as statements:
        r = client.patch(world.url(f"/work-items/{second['id']}"), json={"status": "done"}, headers=world.h("staff"))
    assert r.status_code == 200, r.get_json()
    read = [s for s in statements if any(f"FROM {t}" in s for t in CONFIG_TABLES)]
    assert read == [], read


def test_a_month_closed_behind_the_apps_back_is_refused_at_the_next_request(clean_app, client, world):
    """The process has read '2026-10 is open' under the tenant's stamp; a row written by
    hand (no service, so nothing in the app knows) moves the stamp, and the next change
    of an item of that month is refused."""
    item = declare(client, world)
    ok = client.patch(world.url(f"/work-items/{item['id']}"), json={"progress": 10}, headers=world.h("staff"))
    assert ok.status_code == 200, ok.get_json()
    write_sql(clean_app, world, _insert(ClosedPeriod, period="2026-10", closed_at=AT))
    refused = client.patch(world.url(f"/work-items/{item['id']}"), json={"progress": 20}, headers=world.h("staff"))
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["code"] == "period_closed"


def test_a_reporting_window_changed_on_the_api_holds_at_the_next_request(clean_app, client, world):
    before = client.get(world.url("/work-settings"), headers=world.h("admin"))  # kept under the stamp
    assert before.status_code == 200, before.get_json()
    assert before.get_json()["report_within_working_days"] != 4
    r = client.patch(world.url("/work-settings"), json={"report_within_working_days": 4}, headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["report_within_working_days"] == 4
    again = client.get(world.url("/work-settings"), headers=world.h("admin"))
    assert again.get_json()["report_within_working_days"] == 4


# ---------------------------------------------------------------- round the row triggers (PostgreSQL)


def _owner_sql(backend, *statements: str) -> None:
    """Statements as the owner, on a connection of their own (a bulk load, an operator)."""
    from sqlalchemy import create_engine

    engine = create_engine(backend.owner_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


@pytest.mark.parametrize("table", CONFIG_TABLES)
def test_a_truncate_moves_every_tenants_stamp(clean_app, world, backend, table):
    """TRUNCATE fires no row trigger; migration 0043's statement trigger moves every
    tenant's stamp (a TRUNCATE does not say whose rows it removed)."""
    if backend.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE fires the row triggers)")
    from tests.work.test_work_support import build

    other = build(clean_app, "tinh-x", catalogue_too=False)
    before = (stamp(clean_app, world), stamp(clean_app, other))
    _owner_sql(backend, f"TRUNCATE {table} CASCADE")
    after = (stamp(clean_app, world), stamp(clean_app, other))
    assert None not in after and after[0] != before[0] and after[1] != before[1], (before, after)


@pytest.mark.parametrize("table", CONFIG_TABLES)
def test_a_replica_mode_load_moves_the_stamp(clean_app, world, backend, table):
    """A bulk load under session_replication_role = replica fires only triggers enabled
    ALWAYS (migration 0043): its insert, update and delete still move the stamp."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL's replication role")
    from sqlalchemy import create_engine

    seen = [stamp(clean_app, world)]
    engine = create_engine(backend.owner_url)
    for sql in WRITES[table]:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql) if isinstance(sql, str) else sql, {"tid": world.tenant_id})
        seen.append(stamp(clean_app, world))
    engine.dispose()
    assert None not in seen and len(set(seen)) == len(seen), seen
