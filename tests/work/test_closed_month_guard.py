"""The database refuses changes in a closed month (migration 0042), whoever writes: a
month closed while a request runs — after the app's check, before its write — still
refuses the request's write, with the app's own 409 `period_closed` and nothing changed.
The sanctioned writers of history (a tenant merger, a tenant import) pass. Both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, insert, select, text

from core import unit_of_work
from core.errors import Conflict
from core.extensions import db
from core.tenancy import tenant_context
from core.work.closed_guard import writing_closed_months
from core.work.models import CalendarDay, ClosedPeriod, LeaveRecord, WorkItem
from tests.work.test_work_support import declare

pytest_plugins = ("tests.work.test_work_support",)

AT = datetime(2026, 10, 14, 8, tzinfo=UTC)


def close_by_hand(app, backend, w, period: str = "2026-10") -> None:
    """Close a month round every service, as a hand-run SQL fix or another process would.
    PostgreSQL: committed on a connection of its own while the request's transaction is
    open. SQLite (one writer at a time, and the request holds the database): on the
    request's own connection, from inside it."""
    sql = "INSERT INTO closed_periods (tenant_id, period, closed_at) VALUES (:tid, :period, :at)"
    params = {"tid": w.tenant_id, "period": period, "at": AT}
    if backend.name == "postgresql":
        engine = create_engine(backend.owner_url)
        with engine.begin() as conn:
            conn.execute(text(sql), params)
        engine.dispose()
    else:
        db.session.execute(text(sql), params)


def item_row(app, w, item_id: int) -> tuple:
    with app.app_context(), tenant_context(w.tenant_id):
        item = db.session.get(WorkItem, item_id)
        return item.progress, item.status, item.work_date


def test_a_month_closed_after_the_check_refuses_the_update_with_409(clean_app, client, world, backend, monkeypatch):
    item = declare(client, world)
    before = item_row(clean_app, world, item["id"])

    def check_then_closed_behind(day, field="work_date"):  # the check passes; then the month closes
        close_by_hand(clean_app, backend, world)

    monkeypatch.setattr("core.work.services.progress.ensure_open", check_then_closed_behind)
    r = client.patch(world.url(f"/work-items/{item['id']}"), json={"progress": 40}, headers=world.h("staff"))
    assert r.status_code == 409, r.get_json()
    body = r.get_json()
    assert body["code"] == "period_closed"
    if backend.name == "postgresql":  # the database names the month
        assert body["errors"] == {"work_date": ["The period 2026-10 is closed."]}  # as the app's check says it
    else:
        assert body["errors"] == {"work_date": ["A month this change touches is closed."]}
    assert item_row(clean_app, world, item["id"]) == before


def test_a_month_closed_after_the_check_refuses_the_declaration_with_409(clean_app, client, world, backend,
                                                                        monkeypatch):
    from core.work.services import declaring

    read = declaring.catalogue.declaration_of

    def read_then_closed_behind(row):
        close_by_hand(clean_app, backend, world)
        return read(row)

    monkeypatch.setattr(declaring.catalogue, "declaration_of", read_then_closed_behind)
    body = declare(client, world, expect=409)
    assert body["code"] == "period_closed"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(db.func.count()).select_from(WorkItem)) == 0


def test_a_page_meets_the_same_refusal_in_its_own_words(clean_app, client, world, backend, monkeypatch):
    """The declaration form of "Hôm nay": the database's refusal is the service's Conflict,
    so the form comes back 409 with the month's message in Vietnamese, not a 500."""
    from core.work.services import declaring
    from tests.work.test_work_pages import csrf, sign_in

    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    read = declaring.catalogue.declaration_of

    def read_then_closed_behind(row):
        close_by_hand(clean_app, backend, world)
        return read(row)

    monkeypatch.setattr(declaring.catalogue, "declaration_of", read_then_closed_behind)
    r = client.post(f"/t/{world.slug}/today/declare", data={"csrf_token": token, "task_type_code": "HT01",
                                                            "quantity": "3", "work_date": "2026-10-14"})
    assert r.status_code == 409, r.get_data(as_text=True)[:500]
    html = r.get_data(as_text=True)
    said = "Kỳ tháng 10/2026 đã khóa sổ." if backend.name == "postgresql" else "Thay đổi này chạm vào một tháng đã khóa sổ."
    assert said in html
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(db.func.count()).select_from(WorkItem)) == 0


def _writes(w, item_id: int) -> list:
    leave = {"tenant_id": w.tenant_id, "employee_id": w.ids["staff"], "kind": "annual", "approved": True,
             "created_at": AT}
    return [
        ("UPDATE work_items SET progress = 50 WHERE id = :id", {"id": item_id}),
        ("UPDATE work_items SET work_date = '2026-11-02' WHERE id = :id", {"id": item_id}),  # moved out
        ("DELETE FROM work_items WHERE id = :id", {"id": item_id}),
        (insert(CalendarDay.__table__).values(tenant_id=w.tenant_id, day=date(2026, 10, 17), kind="working_day"),
         {}),
        (insert(LeaveRecord.__table__).values(start_date=date(2026, 10, 19), end_date=date(2026, 10, 20), **leave),
         {}),
        # September to November: the closed month lies inside, neither end is in it.
        (insert(LeaveRecord.__table__).values(start_date=date(2026, 9, 28), end_date=date(2026, 11, 3), **leave),
         {}),
    ]


def test_the_database_refuses_every_kind_of_write_in_a_closed_month(clean_app, client, world):
    item = declare(client, world)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.add(ClosedPeriod(period="2026-10"))
        unit_of_work.commit()
        for statement, params in _writes(world, item["id"]):
            with pytest.raises(Conflict):
                db.session.execute(text(statement) if isinstance(statement, str) else statement, params)
            db.session.rollback()
        # The month next door is open.
        db.session.execute(insert(CalendarDay.__table__).values(tenant_id=world.tenant_id, day=date(2026, 11, 7),
                                                                kind="working_day"))
        db.session.rollback()


def test_the_sanctioned_pass_lets_one_transaction_write_and_ends_with_it(clean_app, client, world, backend):
    item = declare(client, world)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.add(ClosedPeriod(period="2026-10"))
        unit_of_work.commit()
        with writing_closed_months(db.session.connection(), "test"):
            for statement, params in _writes(world, item["id"])[:1] + _writes(world, item["id"])[3:]:
                db.session.execute(text(statement) if isinstance(statement, str) else statement, params)
        # Outside the block, still in the same transaction: refused again.
        with pytest.raises(Conflict):
            db.session.execute(text("UPDATE work_items SET progress = 60 WHERE id = :id"), {"id": item["id"]})
        db.session.rollback()
        assert db.session.scalar(select(WorkItem.progress).where(WorkItem.id == item["id"])) == 0
        with writing_closed_months(db.session.connection(), "test"):
            db.session.execute(text("UPDATE work_items SET progress = 70 WHERE id = :id"), {"id": item["id"]})
        unit_of_work.commit()
        assert db.session.scalar(select(WorkItem.progress).where(WorkItem.id == item["id"])) == 70
        # The next transaction holds no pass.
        with pytest.raises(Conflict):
            db.session.execute(text("UPDATE work_items SET progress = 80 WHERE id = :id"), {"id": item["id"]})
        db.session.rollback()
        if db.session.get_bind().dialect.name == "sqlite":  # PostgreSQL's pass is a setting
            assert db.session.scalar(text("SELECT count(*) FROM closed_month_passes")) == 0


def test_a_reopened_month_takes_writes_again(clean_app, client, world):
    from core.scoring import services as scoring

    item = declare(client, world)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        scoring.close_period("2026-10")
        unit_of_work.commit()
        scoring.reopen_period("2026-10", "a late correction")
        db.session.execute(text("UPDATE work_items SET progress = 30 WHERE id = :id"), {"id": item["id"]})
        unit_of_work.commit()
        assert db.session.scalar(select(WorkItem.progress).where(WorkItem.id == item["id"])) == 30


def test_the_nightly_sweep_leaves_a_closed_months_open_items_alone(clean_app, client, world):
    from core.work.services.measure import sweep

    item = declare(client, world, deadline="2026-10-15")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.add(ClosedPeriod(period="2026-10"))
        unit_of_work.commit()
        assert sweep(date(2026, 11, 20)) == 0
        unit_of_work.commit()
        row = db.session.get(WorkItem, item["id"])
        assert (row.missed_deadlines, row.not_reported) == (0, False)
        db.session.execute(text("DELETE FROM closed_periods"))
        assert sweep(date(2026, 11, 20)) == 2  # open: its deadline is missed and its report overdue
        db.session.rollback()


def test_general_criteria_of_a_month_closed_after_the_check_are_refused(clean_app, client, world, backend,
                                                                       monkeypatch):
    from core.scoring import kernel
    from core.scoring.models import GeneralScore

    def checked_then_closed_behind(period):
        close_by_hand(clean_app, backend, world)
        return False

    monkeypatch.setattr(kernel, "is_closed", checked_then_closed_behind)
    r = client.put(world.url(f"/employees/{world.ids['staff']}/general-scores/2026-10"),
                   json={"politics_ethics": 9, "competence_attitude": 9, "innovation": 9}, headers=world.h("manager"))
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["code"] == "period_closed" and list(r.get_json()["errors"]) == ["period"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(db.func.count()).select_from(GeneralScore)) == 0


def test_general_criteria_of_a_quarter_are_refused_once_its_three_months_are_closed(clean_app, world):
    from core.scoring.models import GeneralScore

    def write(period: str) -> None:
        db.session.execute(insert(GeneralScore.__table__).values(
            tenant_id=world.tenant_id, employee_id=world.ids["staff"], period=period, politics_ethics=8))

    with clean_app.app_context(), tenant_context(world.tenant_id):
        for month in ("2026-10", "2026-11"):
            db.session.add(ClosedPeriod(period=month))
        unit_of_work.commit()
        write("2026-Q4")  # December is open: the quarter is too
        write("2026-12")
        write("2026-Q3")
        unit_of_work.commit()
        with pytest.raises(Conflict):
            write("2026-10")
        db.session.rollback()
        db.session.add(ClosedPeriod(period="2026-12"))
        unit_of_work.commit()
        for statement in ("UPDATE general_scores SET politics_ethics = 9 WHERE period = '2026-Q4'",
                          "DELETE FROM general_scores WHERE period = '2026-12'"):
            with pytest.raises(Conflict):
                db.session.execute(text(statement))
            db.session.rollback()
        db.session.execute(text("UPDATE general_scores SET politics_ethics = 9 WHERE period = '2026-Q3'"))
        unit_of_work.commit()
