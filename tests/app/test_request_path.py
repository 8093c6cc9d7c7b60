"""The hot path of a tenant request, cut to fewer statements without weakening a rule:
the bearer token, its login and employee in one statement (read on every request, so a
change takes effect on the next one); a declaration's closed-month check in its catalogue
statement; a calendar read once per transaction; RLS settings sent only when they change;
a statement built once keeps its tenant-scoped form per tenant.

The clock is fixed (tests/work/test_work_support.py): Wednesday 14 Oct 2026, 07:30 in Hồ Chí Minh.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from sqlalchemy import select, text, update

from core import hooks, unit_of_work
from core.auth.models import ApiToken, User
from core.catalogue.models import NormVersion
from core.errors import Conflict, Invalid
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context, unscoped
from core.tenancy.context import reset_tenant, set_tenant
from core.tenancy.rls import check_no_defaults
from core.tenants.models import Tenant
from core.timeutil import utcnow
from core.work import calendar as cal
from core.work import services
from tests.work.test_work_support import build, count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)


def _get(client, w, who="staff"):
    return client.get(w.url("/work-items?work_date=2026-10-14"), headers=w.h(who))


def _set_user(app, w, name, **values):
    with app.app_context(), tenant_context(w.tenant_id):
        user_id = db.session.get(Employee, w.ids[name]).user_id
        db.session.execute(update(User).where(User.id == user_id).values(**values))
        unit_of_work.commit()


def test_token_login_and_employee_are_one_statement(clean_app, client, world):
    with count_queries(clean_app) as statements:
        assert _get(client, world).status_code == 200
    auth = [s for s in statements if "api_tokens" in s or "FROM users" in s or "employees.user_id" in s]
    assert len(auth) == 1
    assert "JOIN users" in auth[0] and "JOIN employees" in auth[0]
    # Nothing sent before the tenant is known: its settings come with, or after, its row.
    assert statements[0].startswith("SELECT tenants.")
    assert sum("set_config" in s for s in statements) == (1 if clean_app.config["SQLALCHEMY_DATABASE_URI"]
                                                          .startswith("postgresql") else 0)


def test_every_change_to_a_token_or_login_counts_on_the_very_next_request(clean_app, client, world):
    assert _get(client, world).status_code == 200
    _set_user(clean_app, world, "staff", active=False)
    assert _get(client, world).status_code == 401
    _set_user(clean_app, world, "staff", active=True)
    assert _get(client, world).status_code == 200
    _set_user(clean_app, world, "staff", must_change_password=True)
    r = _get(client, world)
    assert r.status_code == 403 and r.get_json()["code"] == "password_change_required"
    _set_user(clean_app, world, "staff", must_change_password=False)
    assert _get(client, world).status_code == 200
    with clean_app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() + timedelta(hours=1), revoked_at=utcnow()))
        unit_of_work.commit()
    assert _get(client, world).status_code == 401
    assert _get(client, world, "manager").status_code == 401  # every token was revoked above


def test_a_token_of_another_tenant_is_still_a_404(clean_app, client, world):
    other = build(clean_app, "tinh-x")
    r = client.get(world.url("/work-items"), headers=other.h("staff"))
    assert r.status_code == 404
    # The employee id in the principal is the login's own: declaring still works for both.
    assert declare(client, world)["employee_id"] == world.ids["staff"]
    assert declare(client, other)["employee_id"] == other.ids["staff"]


def test_declaring_into_a_month_closed_in_the_same_transaction_is_refused(clean_app, world):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        services.close_period("2026-10")  # not committed: the declaration's own statement sees it
        with pytest.raises(Conflict) as refused:
            services.declare(world.principals["staff"],
                             {"task_type_code": "HT01", "work_date": date(2026, 10, 14), "quantity": 2})
        assert refused.value.code == "period_closed"
        item, _ = services.declare(world.principals["staff"],
                                   {"task_type_code": "HT01", "work_date": date(2026, 11, 2), "quantity": 2})
        assert item.work_date == date(2026, 11, 2)
        db.session.rollback()


def test_a_declarations_statement_names_its_tenant_on_every_table_it_reads(clean_app, world):
    """The declaration's one statement restricts each of its tenant tables to the tenant
    itself and runs without the session's filter (the filter's per-table copies of one
    bind parameter cost ~400 Python calls an execution): so on SQLite, where no
    row-level security stands behind it, another tenant's task type, norm, positions,
    and closed month must still be invisible to it."""
    from core.catalogue import services as catalogue
    from core.work.services.declaring import _declaration_statement
    from tests.work.test_work_support import TASK_TYPES

    sql = str(_declaration_statement(True))
    for table, times in (("task_types", 1), ("norm_versions", 1), ("task_type_positions", 2), ("employees", 1),
                         ("closed_periods", 1), ("work_items", 1)):
        assert sql.count(f"FROM {table}") + sql.count(f"JOIN {table}") == times, table
        assert sql.count(f"{table}.tenant_id = :tid") == times, table
    assert _declaration_statement(True).get_execution_options()["congvu_unscoped"] is True

    other = build(clean_app, "tinh-x")
    with clean_app.app_context(), tenant_context(other.tenant_id):
        catalogue.create_task_type({**TASK_TYPES[1], "code": "ZZ01"})  # only the other tenant's
        services.close_period("2026-10")  # the other tenant's October
        unit_of_work.commit()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        staff = world.principals["staff"]
        with pytest.raises(Invalid) as unknown:
            services.declare(staff, {"task_type_code": "ZZ01", "work_date": date(2026, 10, 14), "quantity": 1})
        assert unknown.value.errors == {"task_type_code": ["No such task type."]}
        item, warnings = services.declare(staff, {"task_type_code": "HT01", "work_date": date(2026, 10, 14),
                                                  "quantity": 2})
        assert (item.task_type.tenant_id, item.norm_version_id, item.tenant_id, warnings) == (
            world.tenant_id, db.session.scalar(select(NormVersion.id).where(
                NormVersion.task_type_id == world.ids["HT01"])), world.tenant_id, [])
        db.session.rollback()


def test_a_calendar_day_set_in_the_same_transaction_is_seen_by_the_next_read(clean_app, world):
    thursday = date(2026, 10, 15)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        with count_queries(clean_app) as statements:
            first = cal.WorkCalendar.load(date(2026, 10, 1), date(2026, 10, 31))
            again = cal.WorkCalendar.load(date(2026, 10, 1), date(2026, 10, 31))
        assert first.is_working_day(thursday) and again.is_working_day(thursday)
        assert sum("calendar_days" in s for s in statements) == 1
        services.set_calendar_day({"day": thursday, "kind": "day_off", "name": "Nghỉ bù"})
        assert not cal.WorkCalendar.load(date(2026, 10, 1), date(2026, 10, 31)).is_working_day(thursday)
        db.session.rollback()
        # A new transaction reads the database again: the day off was rolled back.
        assert cal.WorkCalendar.load(date(2026, 10, 1), date(2026, 10, 31)).is_working_day(thursday)


def test_a_statement_built_once_is_scoped_to_each_tenant_it_runs_in(clean_app, world):
    other = build(clean_app, "tinh-x")
    stmt = select(Employee.id).order_by(Employee.id)  # one object, run in three contexts
    with clean_app.app_context():
        with tenant_context(world.tenant_id):
            mine = db.session.scalars(stmt).all()
        with tenant_context(other.tenant_id):
            theirs = db.session.scalars(stmt).all()
        with tenant_context(world.tenant_id):
            again = db.session.scalars(stmt).all()
        with tenant_context(None):
            nobody = db.session.scalars(stmt).all()
        db.session.rollback()
    assert mine == again == sorted(world.ids[name] for name in world.principals)
    assert theirs == sorted(other.ids[name] for name in other.principals)
    assert nobody == []


# ---------------------------------------------------------------- PostgreSQL: RLS settings


@pytest.fixture
def pg(backend):
    if backend.name != "postgresql":
        pytest.skip("row-level security settings are PostgreSQL's")
    return backend


def _raw_count(table: str) -> int:
    # Raw SQL: no ORM filter, so only row-level security decides what it sees.
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_a_transaction_outside_every_tenant_sends_nothing_and_reads_nothing(clean_app, world, pg):
    with clean_app.app_context():
        with count_queries(clean_app) as statements:
            assert _raw_count("employees") == 0
        assert not any("set_config" in s for s in statements)
        with tenant_context(world.tenant_id):
            assert _raw_count("employees") == len(world.principals)
            with tenant_context(world.tenant_id), count_queries(clean_app) as statements:
                assert _raw_count("employees") == len(world.principals)  # the same tenant again: no round trip
            assert not any("set_config" in s for s in statements)
        assert _raw_count("employees") == 0
        db.session.rollback()


def test_a_rolled_back_savepoint_takes_its_setting_back_and_it_is_sent_again(clean_app, world, pg):
    with clean_app.app_context():
        assert _raw_count("employees") == 0
        savepoint = db.session.begin_nested()
        token = set_tenant(world.tenant_id)
        assert _raw_count("employees") == len(world.principals)
        savepoint.rollback()  # PostgreSQL undoes the set_config made inside it
        with tenant_context(world.tenant_id):
            assert _raw_count("employees") == len(world.principals)
        reset_tenant(token)
        db.session.rollback()


def test_a_role_or_database_default_for_the_settings_is_refused(pg):
    url = pg.app_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        check_no_defaults(conn)
    with psycopg.connect(url, options="-c app.tenant_id=1") as conn, pytest.raises(RuntimeError, match="app.tenant_id"):
        check_no_defaults(conn)
    with psycopg.connect(url, options="-c app.unscoped=on") as conn, pytest.raises(RuntimeError, match="unscoped"):
        check_no_defaults(conn)


def test_a_tenant_this_process_has_seen_is_read_with_its_settings_in_one_statement(clean_app, client, world, pg):
    """The tenant row and the RLS settings of a tenant request: two statements the first
    time a process meets the slug, then one (core/hooks.py)."""
    hooks._SLUG_IDS.clear()  # a process that has not met the slug yet
    with count_queries(clean_app) as first:
        assert _get(client, world).status_code == 200
    with count_queries(clean_app) as again:
        assert _get(client, world).status_code == 200
    assert first[0].startswith("SELECT tenants.") and "set_config" not in first[0]
    assert sum("set_config" in s for s in first) == 1
    assert again[0].startswith("SELECT tenants.") and "set_config(" in again[0]
    assert sum("set_config" in s for s in again) == 1
    assert len(again) == len(first) - 1


def _rename(app, tenant_id: int, slug: str) -> None:
    with app.app_context(), unscoped():
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(slug=slug))
        unit_of_work.commit()


def test_a_renamed_or_reused_slug_is_never_served_as_the_tenant_it_named_before(clean_app, client, world, pg):
    """The process remembers slug → tenant; a slug that moved to another tenant is served
    as that tenant, with that tenant's settings, and the old tenant answers at its new slug."""
    other = build(clean_app, "tinh-x")
    assert declare(client, world)["employee_id"] == world.ids["staff"]
    assert declare(client, other)["employee_id"] == other.ids["staff"]
    _rename(clean_app, world.tenant_id, "tinh-w-cu")
    _rename(clean_app, other.tenant_id, "tinh-w")  # the slug now names the other tenant
    assert _get(client, world).status_code == 404  # world's login is no member of it
    r = client.get(world.url("/work-items?work_date=2026-10-14"), headers=other.h("staff"))
    assert r.status_code == 200
    assert {i["employee_id"] for i in r.get_json()} == {other.ids["staff"]}
    moved = client.get("/api/v1/tenants/tinh-w-cu/work-items?work_date=2026-10-14", headers=world.h("staff"))
    assert moved.status_code == 200 and {i["employee_id"] for i in moved.get_json()} == {world.ids["staff"]}
    _rename(clean_app, other.tenant_id, "tinh-x")
    assert client.get(world.url("/work-items"), headers=other.h("staff")).status_code == 404  # no tenant now
