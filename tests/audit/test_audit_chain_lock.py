"""The audit chain's lock takes the whole 64-bit tenant id (migration 0047): a tenant whose
id is beyond 2^31 - 1 could not commit an audited write on PostgreSQL ("integer out of
range" casting its id to the lock's 32-bit key), and ids 2^32 apart were one key."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from core.audit.services import verify_chain
from core.tenancy import tenant_context
from tests.factories import build_world

BIG_ID = 2**32 + 5


def _next_tenant_id(app, backend, value: int) -> None:
    """The next tenant gets id `value` (the tables are emptied, and sequences restarted,
    before each test)."""
    owner = create_engine(app.config["CONGVU_DATABASE_OWNER_URL"])
    try:
        with owner.begin() as conn:
            if backend.name == "postgresql":
                conn.execute(text("SELECT setval(pg_get_serial_sequence('tenants', 'id'), :v)"), {"v": value - 1})
            else:  # SQLite's next rowid is the largest + 1: a stand-in row, so (a province
                # with no one in it; the test's own tenant is the one it looks at)
                conn.execute(text("INSERT INTO tenants (id, slug, name, status, timezone, morning_cutoff, "
                                  "created_at) VALUES (:v, 'placeholder', 'x', 'active', 'Asia/Ho_Chi_Minh', "
                                  "'09:00', '2026-01-01 00:00:00')"), {"v": value - 1})
    finally:
        owner.dispose()


def test_a_tenant_with_a_64_bit_id_commits_audited_writes_on_one_chain(clean_app, backend):
    _next_tenant_id(clean_app, backend, BIG_ID)
    w = build_world(clean_app, "tinh-lon")  # units, a position, six people: audited writes
    assert w.tenant_id == BIG_ID
    with clean_app.app_context(), tenant_context(w.tenant_id):
        result = verify_chain(w.tenant_id)
    assert result.ok and result.count > 6


def test_the_chain_lock_is_the_tenants_one_bigint_key(clean_app, backend):
    """PostgreSQL shows a one-bigint advisory key as (classid = high 32 bits, objid = low
    32 bits, objsubid = 1): ids 2^32 apart are two locks."""
    if backend.name != "postgresql":
        pytest.skip("SQLite has no advisory locks: a process lock serialises the chain")
    owner = create_engine(clean_app.config["CONGVU_DATABASE_OWNER_URL"])
    try:
        with owner.begin() as conn:
            for tid in (5, BIG_ID):
                conn.execute(text("SELECT * FROM public.congvu_audit_head(CAST(:t AS bigint))"), {"t": tid})
            held = conn.execute(text(
                "SELECT classid::bigint, objid::bigint, objsubid FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() ORDER BY classid, objid")).all()
    finally:
        owner.dispose()
    assert [tuple(r) for r in held] == [(0, 5, 1), (1, 5, 1)]


def test_a_tenant_with_a_64_bit_id_is_scored(clean_app, backend, client):
    """The scoring locks (core/scoring/locks.py) cast the tenant id to the int4 of their
    second key as well: a declaration of such a tenant failed on PostgreSQL. The id is
    folded into it now."""
    from core.scoring.locks import key
    from core.scoring.models import PeriodScore
    from tests.work.test_work_support import build

    assert (key(5), key(BIG_ID), key(2**31 - 1)) == (5, BIG_ID % (2**31 - 1), 0)
    _next_tenant_id(clean_app, backend, BIG_ID)
    w = build(clean_app, "tinh-lon")
    assert w.tenant_id == BIG_ID
    r = client.post(w.url("/work-items"), headers=w.h("staff"),
                    json={"task_type_code": "HT01", "work_date": "2026-09-15", "quantity": 2})
    assert r.status_code == 201, r.get_json()
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from sqlalchemy import select

        from core.extensions import db

        row = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == w.ids["staff"],
                                                          PeriodScore.period == "2026-09"))
    assert row is not None and row.item_count == 1
