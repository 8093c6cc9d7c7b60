"""Tenant mergers (Ninh Thuận into Khánh Hòa), their dry run and conflicts, the export
and its restore, unit merges within a tenant, and province packs — on both databases."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select, text

from core import unit_of_work
from core.audit.models import AuditEvent
from core.audit.services import verify_chain
from core.auth.models import User
from core.extensions import db
from core.generate import PASSWORD as GENERATED_PASSWORD
from core.generate import generate
from core.org.models import Employee, OrgUnit
from core.scoring import engine
from core.scoring.models import ItemScore, PeriodScore
from core.tenancy import tenant_context, tenant_tables, unscoped
from core.tenants.models import Tenant
from tests.cli.test_cli import run
from tests.factories import build_world, login, make_operator

PACKS = Path(__file__).resolve().parents[2] / "tenants"
MONTHS = ("2025-05", "2025-06")
YEAR = tuple(f"{y}-{m:02d}" for y, m in [(2024, m) for m in range(7, 13)] + [(2025, m) for m in range(1, 7)])
EFFECTIVE = "2025-07-01"


# ---------------------------------------------------------------- helpers


def _counts(app) -> dict[tuple[str, int], int]:
    """Rows of every tenant table, by (table, tenant id)."""
    out = {}
    with app.app_context(), unscoped():
        for name in tenant_tables(db.metadata):
            for tid, n in db.session.execute(text(f'SELECT tenant_id, count(*) FROM "{name}" GROUP BY tenant_id')):
                out[(name, tid)] = n
    return out


def _totals(counts: dict) -> dict[str, int]:
    totals: dict[str, int] = {}
    for (name, _), n in counts.items():
        totals[name] = totals.get(name, 0) + n
    return totals


def _fingerprint(app, skip: tuple[str, ...] = ("job_runs",)) -> str:
    """A hash of every row of every table (but `skip`): equal means nothing was written."""
    digest = hashlib.sha256()
    with app.app_context(), unscoped():
        for table in db.metadata.sorted_tables:
            if table.name in skip:
                continue
            # tenants.config_stamp is no data (any database sets its own; a change of what it
            # stamps shows in that table's rows anyway).
            shown = [c for c in table.c if c.name != "config_stamp"]
            for row in db.session.execute(select(*shown).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _scores(app) -> dict:
    """Every period and item score, without the tenant: what a merger must not change."""
    with app.app_context(), unscoped():
        periods = {r.id: (r.employee_id, r.unit_id, r.period, r.task_score, r.general_score, r.total,
                          json.dumps(r.components, sort_keys=True), r.variant_key, r.settings_hash)
                   for r in db.session.scalars(select(PeriodScore))}
        items = {r.work_item_id: (r.employee_id, r.work_date, r.variant_key, r.c0, r.c1, r.c2, r.c3)
                 for r in db.session.scalars(select(ItemScore))}
    return {"periods": periods, "items": items}


def _rows(app, table_name: str, but: tuple[str, ...]) -> dict:
    """Every row of a table by id, without the columns a merger may rewrite."""
    with app.app_context(), unscoped():
        table = db.metadata.tables[table_name]
        columns = [c for c in table.columns if c.name not in but]
        return {row[0]: tuple(row) for row in db.session.execute(select(*columns).order_by(table.c.id))}


def _ninh_thuan(app, employees: int = 12, months: tuple[str, ...] = MONTHS) -> int:
    """A Ninh Thuận with months of work before the merger, scored."""
    with app.app_context():
        made = generate("ninh-thuan", employees, len(months), date.fromisoformat(months[0] + "-01"))
        unit_of_work.commit()
        with tenant_context(made.tenant_id):
            for period in months:
                engine.recalculate(period)
            unit_of_work.commit()
        return made.tenant_id


def _merge(client, operator: str, body: dict) -> dict:
    response = client.post("/api/v1/tenants/khanh-hoa/merges", json=body,
                           headers={"Authorization": f"Bearer {operator}"})
    assert response.status_code == 202, response.get_json()
    job = client.get(f"/api/v1/tenants/khanh-hoa/merges/{response.get_json()['job_id']}",
                     headers={"Authorization": f"Bearer {operator}"})
    assert job.status_code == 200, job.get_json()
    run = job.get_json()
    assert run["status"] == "finished", run
    return run["result"]


def _provinces(app, client, months: tuple[str, ...]):
    khanh_hoa = build_world(app, "khanh-hoa", client)
    third = build_world(app, "binh-dinh", client)
    nt_id = _ninh_thuan(app, months=months)
    operator = make_operator(app, client)
    return khanh_hoa, third, nt_id, operator


@pytest.fixture
def provinces(clean_app, client):
    """Khánh Hòa with its own people, a third province, and Ninh Thuận with two months."""
    return _provinces(clean_app, client, MONTHS)


@pytest.fixture
def provinces_with_a_year(clean_app, client):
    """The same, Ninh Thuận with a year of history (July 2024 – June 2025); Khánh Hòa has
    a task type G01 too, so the merger maps one by code."""
    worlds = _provinces(clean_app, client, YEAR)
    with clean_app.app_context(), tenant_context(worlds[0].tenant_id):
        from core.catalogue import services as catalogue

        catalogue.create_task_type({"code": "G01", "name": "Soạn thảo văn bản", "group": "B",
                                    "unit_of_measure": "văn bản", "norm_minutes": 50, "product_weight": 1,
                                    "complexity_levels": [], "position_codes": [],
                                    "effective_from": date(2024, 1, 1)})
        unit_of_work.commit()
    return worlds


def _suggested(client, operator) -> dict:
    dry = _merge(client, operator, {"source": "ninh-thuan", "effective_date": EFFECTIVE, "dry_run": True})
    return dry["suggested_mapping"]


# ---------------------------------------------------------------- tenant mergers


def test_dry_run_writes_nothing_and_reports_unmapped_entries(clean_app, client, provinces):
    _, _, _, operator = provinces
    before = _fingerprint(clean_app)
    report = _merge(client, operator, {"source": "ninh-thuan", "effective_date": EFFECTIVE, "dry_run": True})
    assert _fingerprint(clean_app) == before
    assert report["dry_run"] is True and report["blocked"] is False
    kinds = {c["kind"] for c in report["conflicts"]}
    assert kinds == {"unmapped"}  # an empty mapping maps nothing
    assert report["counts"]["employees"] == 12 and report["counts"]["work_items"] > 1000
    assert report["suggested_mapping"]["positions"]["CV"] == "CV"  # same code: onto the target's
    assert report["suggested_mapping"]["positions"]["LD"] is None


def test_merge_moves_everything_and_keeps_every_score(clean_app, client, provinces_with_a_year):
    khanh_hoa, third, nt_id, operator = provinces_with_a_year
    mapping = _suggested(client, operator)
    counts, scores = _counts(clean_app), _scores(clean_app)
    items = _rows(clean_app, "work_items", but=("tenant_id", "task_type_id", "norm_version_id"))

    result = _merge(client, operator, {"source": "ninh-thuan", "effective_date": EFFECTIVE, "mapping": mapping})
    assert result["blocked"] is False and result["conflicts"] == []

    after = _counts(clean_app)
    # Nothing lost, nothing duplicated: every table holds as many rows as before (the
    # audit log gains the two merger events, the jobs the merger's own run, the target its
    # record of the merger).
    expected_totals = _totals(counts)
    expected_totals["audit_events"] += 2
    expected_totals["job_runs"] += 1
    expected_totals["tenant_merges"] = 1
    assert _totals(after) == expected_totals
    # People, logins, items and scores are all in Khánh Hòa now.
    for table in ("employees", "users", "work_items", "item_scores", "period_scores"):
        assert after.get((table, nt_id), 0) == 0, table
        assert after[(table, khanh_hoa.tenant_id)] == counts.get((table, khanh_hoa.tenant_id), 0) + \
            counts[(table, nt_id)], table
    # The mapped position and task type stayed behind; the others moved, prefixed.
    assert result["moved"]["job_positions"] == 3 and result["moved"]["task_types"] == 47
    with clean_app.app_context(), unscoped():
        from core.catalogue.models import NormVersion, TaskType
        from core.work.models import WorkItem

        # Every item points at a norm version of its own task type, in its own tenant.
        assert db.session.scalar(select(func.count()).select_from(WorkItem)
                                 .join(NormVersion, NormVersion.id == WorkItem.norm_version_id)
                                 .where(or_(NormVersion.task_type_id != WorkItem.task_type_id,
                                            NormVersion.tenant_id != WorkItem.tenant_id))) == 0
        from core.dashboards.models import WeekHours
        from core.org.models import OrgUnit

        # Derived rows kept without foreign keys point at units of their own tenant.
        assert db.session.scalar(select(func.count()).select_from(WeekHours)) > 0
        assert db.session.scalar(select(func.count()).select_from(WeekHours)
                                 .outerjoin(OrgUnit, OrgUnit.id == WeekHours.unit_id)
                                 .where(or_(OrgUnit.id.is_(None), OrgUnit.tenant_id != WeekHours.tenant_id))) == 0
        g01 = db.session.scalar(select(TaskType.id).where(TaskType.code == "G01",
                                                          TaskType.tenant_id == khanh_hoa.tenant_id))
        assert db.session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.task_type_id == g01)) > 0
    # Every score of the months before the date is exactly as computed; every item is
    # the same item (its own norm copy, dates, status, even when it was last updated).
    assert _scores(clean_app) == scores
    assert _rows(clean_app, "work_items", but=("tenant_id", "task_type_id", "norm_version_id")) == items
    # The third tenant saw nothing.
    assert {k: v for k, v in after.items() if k[1] == third.tenant_id} == \
        {k: v for k, v in counts.items() if k[1] == third.tenant_id}

    with clean_app.app_context():
        source = db.session.get(Tenant, nt_id)
        assert source.status == "merged" and source.merged_into_id == khanh_hoa.tenant_id
        with tenant_context(khanh_hoa.tenant_id):
            cv = db.session.scalar(select(Employee).where(Employee.code == "NV000002"))
            assert cv.position.code in ("CV", "NINH-THUAN-CVC", "NINH-THUAN-VT")
            # Searches find what moved: a person by their name without marks, a task type
            # by its prefixed code (its search text was rewritten with the code).
            from core.auth.normalize import search_term
            from core.catalogue import services as catalogue
            from core.org import services as org

            assert cv.id in db.session.scalars(select(Employee.id).where(org.employee_matches(search_term(cv.full_name))))
            moved = db.session.scalars(select(TaskType).where(TaskType.code.like("NINH-THUAN-%"))).all()
            assert len(moved) == 47
            found = db.session.scalars(catalogue.task_types_query(q=moved[0].code.lower())).all()
            assert [t.id for t in found] == [moved[0].id]
            assert verify_chain(khanh_hoa.tenant_id).ok
        with tenant_context(nt_id):
            assert verify_chain(nt_id).ok
            closing = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tenant.merged"))
        with tenant_context(khanh_hoa.tenant_id):
            anchor = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tenant.merge"))
        # The target's chain vouches for the source's chain as it was closed.
        assert anchor.after["source_chain"]["last_hash"] == closing.hash is not None
        assert anchor.after["source_chain"]["last_seq"] == closing.seq
    assert Path(result["export"], "work_items.jsonl").exists()


def test_a_mapped_unit_carries_the_rows_that_name_it_without_a_foreign_key(clean_app, client, provinces_with_a_year):
    """week_hours keeps no foreign keys (it is rewritten by every recalculation); a merger
    that maps a unit onto the target's still moves its hours there, as it moves month rows,
    and its sums per unit and week (unit_week_hours) add to the target unit's."""
    from core.dashboards.aggregates import rebuild_unit_week_hours
    from core.dashboards.models import UnitWeekHours, WeekHours

    khanh_hoa, _, nt_id, operator = provinces_with_a_year
    mapping = _suggested(client, operator)
    with clean_app.app_context(), unscoped():
        hours_unit = db.session.scalar(select(WeekHours.unit_id).where(WeekHours.tenant_id == nt_id).limit(1))
        source_code = db.session.get(OrgUnit, hours_unit).code
        target = db.session.scalar(select(OrgUnit).where(OrgUnit.tenant_id == khanh_hoa.tenant_id)
                                   .order_by(OrgUnit.id.desc()).limit(1))
        rows = db.session.scalar(select(func.count()).select_from(WeekHours).where(WeekHours.unit_id == hours_unit))
        before = db.session.scalar(select(func.count()).select_from(WeekHours).where(WeekHours.unit_id == target.id))
        # The target unit's own hours in a week the source unit has too (as its recalculation
        # would store them): the heat map's sums per unit and week of the two meet in one cell.
        first = db.session.scalar(select(WeekHours).where(WeekHours.unit_id == hours_unit).limit(1))
        someone = db.session.scalar(select(Employee.id).where(Employee.tenant_id == khanh_hoa.tenant_id).limit(1))
        db.session.add(WeekHours(tenant_id=khanh_hoa.tenant_id, employee_id=someone, unit_id=target.id,
                                 period=first.period, week_start=first.week_start, minutes=90.0, items=2))
        db.session.flush()
        rebuild_unit_week_hours(khanh_hoa.tenant_id)
        unit_of_work.commit()
        before += 1
        cells = dict(_unit_sums(hours_unit))
        cells[(first.period, first.week_start)] += 90.0
        assert _unit_sums(target.id) == {(first.period, first.week_start): 90.0}
    mapping.setdefault("units", {})[source_code] = target.code
    result = _merge(client, operator, {"source": "ninh-thuan", "effective_date": EFFECTIVE, "mapping": mapping})
    assert result["blocked"] is False, result
    with clean_app.app_context(), unscoped():
        assert rows > 0
        assert db.session.scalar(select(func.count()).select_from(WeekHours)
                                 .where(WeekHours.unit_id == hours_unit)) == 0
        assert db.session.scalar(select(func.count()).select_from(WeekHours)
                                 .where(WeekHours.unit_id == target.id)) == before + rows
        assert _unit_sums(hours_unit) == {}
        assert _unit_sums(target.id) == pytest.approx(cells)
        # The source keeps none; the target's are exactly the sums of its week_hours.
        assert db.session.scalar(select(func.count()).select_from(UnitWeekHours)
                                 .where(UnitWeekHours.tenant_id == nt_id)) == 0
        summed = db.session.execute(
            select(WeekHours.unit_id, WeekHours.period, WeekHours.week_start, func.sum(WeekHours.minutes),
                   func.sum(WeekHours.items)).where(WeekHours.tenant_id == khanh_hoa.tenant_id)
            .group_by(WeekHours.unit_id, WeekHours.period, WeekHours.week_start)).all()
        kept = db.session.execute(
            select(UnitWeekHours.unit_id, UnitWeekHours.period, UnitWeekHours.week_start, UnitWeekHours.minutes,
                   UnitWeekHours.items).where(UnitWeekHours.tenant_id == khanh_hoa.tenant_id)).all()
        assert sorted((*r[:3], round(r[3], 6), r[4]) for r in kept) == \
            sorted((*r[:3], round(r[3], 6), r[4]) for r in summed)


def _unit_sums(unit_id: int) -> dict[tuple, float]:
    """A unit's minutes per month and week as the heat map reads them (unit_week_hours)."""
    from core.dashboards.models import UnitWeekHours

    return {(p, week): minutes for p, week, minutes in db.session.execute(
        select(UnitWeekHours.period, UnitWeekHours.week_start, UnitWeekHours.minutes)
        .where(UnitWeekHours.unit_id == unit_id))}


def test_moved_users_log_in_and_old_addresses_point_to_the_target(clean_app, client, provinces):
    khanh_hoa, third, nt_id, operator = provinces
    _merge(client, operator, {"source": "ninh-thuan", "effective_date": EFFECTIVE,
                              "mapping": _suggested(client, operator)})
    token = login(client, "khanh-hoa", "nv000001", GENERATED_PASSWORD)
    assert login(client, "ninh-thuan", "nv000001", GENERATED_PASSWORD)  # the old slug still works
    headers = {"Authorization": f"Bearer {token}"}
    scores = client.get("/api/v1/tenants/khanh-hoa/scores?period=2025-05", headers=headers)
    assert scores.status_code == 200 and len(scores.get_json()) >= 1
    # Old API addresses: a clear 409 naming the target; old pages: a redirect.
    old = client.get("/api/v1/tenants/ninh-thuan/scores?period=2025-05", headers=headers)
    assert old.status_code == 409 and old.get_json()["code"] == "tenant_merged"
    assert "khanh-hoa" in old.get_json()["message"]
    page = client.get("/t/ninh-thuan/?tab=units")
    assert page.status_code == 308 and page.headers["Location"].endswith("/t/khanh-hoa/?tab=units")
    # Isolation from a third tenant is intact, both ways.
    assert client.get("/api/v1/tenants/binh-dinh/scores?period=2025-05", headers=headers).status_code == 404
    assert client.get("/api/v1/tenants/khanh-hoa/scores?period=2025-05",
                      headers=third.headers("admin")).status_code == 404
    assert login(client, "khanh-hoa", "admin")  # the target's own people are untouched


def test_conflicting_username_blocks_the_commit_with_a_clear_report(clean_app, client, provinces):
    khanh_hoa, _, _, operator = provinces
    with clean_app.app_context(), tenant_context(khanh_hoa.tenant_id):
        db.session.add(User(username="nv000003", password_hash="x"))
        unit_of_work.commit()
    mapping = _suggested(client, operator)
    before = _fingerprint(clean_app)
    result = _merge(client, operator, {"source": "ninh-thuan", "effective_date": EFFECTIVE, "mapping": mapping})
    assert result["blocked"] is True
    assert [c["kind"] for c in result["conflicts"]] == ["duplicate_username"]
    assert "nv000003" in result["conflicts"][0]["message"]
    assert _fingerprint(clean_app) == before


def test_a_repeated_merge_changes_nothing(clean_app, client, provinces, monkeypatch):
    khanh_hoa, _, nt_id, operator = provinces
    calls = []
    monkeypatch.setattr("core.plugins.events.emit", lambda name, **kw: calls.append((name, kw)))
    mapping = _suggested(client, operator)
    body = {"source": "ninh-thuan", "effective_date": EFFECTIVE, "mapping": mapping}
    _merge(client, operator, body)
    # Plugins hear of the merger once, after it committed (the dry run is not a merger).
    assert calls == [("congvu_tenants_merged", {"source_tenant_id": nt_id, "target_tenant_id": khanh_hoa.tenant_id,
                                                "effective_date": date(2025, 7, 1)})]
    before = _fingerprint(clean_app)
    again = _merge(client, operator, body)
    assert again["already_merged"] is True
    assert _fingerprint(clean_app) == before
    assert len(calls) == 1


def _close(app, tenant_id: int, *periods: str) -> None:
    from core.scoring import services as scoring

    with app.app_context(), tenant_context(tenant_id):
        for period in periods:
            scoring.close_period(period, actor="cli")
        unit_of_work.commit()


def test_closed_months_move_with_their_people_through_the_database_guard(clean_app, client, provinces, monkeypatch):
    """The database refuses changes of a closed month's items (migration 0042); a merger
    carries them across by the sanctioned pass, and without it the move is refused whole."""
    import contextlib

    khanh_hoa, _, nt_id, operator = provinces
    _close(clean_app, nt_id, *MONTHS)
    _close(clean_app, khanh_hoa.tenant_id, MONTHS[0])  # the target's own row governs that month
    mapping = _suggested(client, operator)
    body = {"source": "ninh-thuan", "effective_date": EFFECTIVE, "mapping": mapping}
    counts = _counts(clean_app)
    with monkeypatch.context() as without_pass:
        without_pass.setattr("core.mergers.services.writing_closed_months",
                             lambda conn, reason: contextlib.nullcontext())
        response = client.post("/api/v1/tenants/khanh-hoa/merges", json=body,
                               headers={"Authorization": f"Bearer {operator}"})
        run = client.get(f"/api/v1/tenants/khanh-hoa/merges/{response.get_json()['job_id']}",
                         headers={"Authorization": f"Bearer {operator}"}).get_json()
        assert run["status"] == "failed", run
    assert _counts(clean_app)[("work_items", nt_id)] == counts[("work_items", nt_id)]
    result = _merge(client, operator, body)
    assert result["blocked"] is False
    after = _counts(clean_app)
    assert after.get(("work_items", nt_id), 0) == 0
    assert after[("work_items", khanh_hoa.tenant_id)] == counts[("work_items", nt_id)] > 1000
    assert after[("closed_periods", khanh_hoa.tenant_id)] == 2  # its own 2025-05 and the source's 2025-06


def test_an_export_with_closed_months_restores_exactly(clean_app, backend):
    from core.mergers.export import export_tenant, restore_tenant
    from tests.conftest import _wipe

    nt_id = _ninh_thuan(clean_app, employees=4)
    _close(clean_app, nt_id, *MONTHS)
    with clean_app.app_context():
        manifest = export_tenant(nt_id, "ninh-thuan")
        db.session.rollback()
    before = _fingerprint(clean_app)
    _wipe(backend)
    with clean_app.app_context():
        result = restore_tenant(manifest["path"])
        unit_of_work.commit()
    assert result["counts"]["closed_periods"] == 2 and result["counts"]["work_items"] > 0
    assert _fingerprint(clean_app) == before


def test_only_operators_merge_and_bad_bodies_are_422(clean_app, client, provinces):
    khanh_hoa, _, _, operator = provinces
    body = {"source": "ninh-thuan", "effective_date": EFFECTIVE}
    assert client.post("/api/v1/tenants/khanh-hoa/merges", json=body,
                       headers=khanh_hoa.headers("admin")).status_code == 403
    bad = client.post("/api/v1/tenants/khanh-hoa/merges", json={"source": "ninh-thuan", "effective_date": "July",
                                                               "mapping": {"units": {"A": 3}}},
                      headers={"Authorization": f"Bearer {operator}"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) >= {"effective_date", "mapping"}
    for source in ("nowhere", "khanh-hoa"):
        wrong = client.post("/api/v1/tenants/khanh-hoa/merges", json={"source": source, "effective_date": EFFECTIVE},
                            headers={"Authorization": f"Bearer {operator}"})
        assert wrong.status_code == 422 and "source" in wrong.get_json()["errors"]


def test_cli_merge_dry_run_conflicts_and_commit(clean_app, client, provinces, tmp_path):
    _, _, _, operator = provinces
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text("{not json", encoding="utf-8")
    args = ["tenant", "merge", "--source", "ninh-thuan", "--into", "khanh-hoa", "--effective", EFFECTIVE,
            "--mapping", str(mapping_file)]
    bad = run(clean_app, *args)
    assert bad.exit_code == 1 and "not valid JSON" in bad.stderr and len(bad.stderr.splitlines()) == 1
    mapping_file.write_text("{}", encoding="utf-8")
    blocked = run(clean_app, *args)
    assert blocked.exit_code == 1 and "is not in the mapping" in blocked.stderr
    mapping_file.write_text(json.dumps(_suggested(client, operator)), encoding="utf-8")
    dry = run(clean_app, *args, "--dry-run")
    assert dry.exit_code == 0 and "nothing was written" in dry.output
    done = run(clean_app, *args)
    assert done.exit_code == 0, done.stderr
    with clean_app.app_context(), unscoped():  # both chains' events name the command line
        assert set(db.session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.action.like("tenant.merge%")))) == {("tenant.merge", "cli"), ("tenant.merged", "cli")}
    again = run(clean_app, *args)
    assert again.exit_code == 0 and "already merged" in again.output
    verify = run(clean_app, "audit", "verify", "--tenant", "khanh-hoa")
    assert verify.exit_code == 0, verify.stderr


def test_the_export_restores_the_tenant_exactly(clean_app, backend):
    from core.mergers.export import export_tenant, restore_tenant
    from tests.conftest import _wipe

    nt_id = _ninh_thuan(clean_app, employees=8)
    with clean_app.app_context():
        manifest = export_tenant(nt_id, "ninh-thuan")
        db.session.rollback()
    before = _fingerprint(clean_app)
    _wipe(backend)
    with clean_app.app_context():
        result = restore_tenant(manifest["path"])
        unit_of_work.commit()
    assert result["counts"] == manifest["counts"]
    assert _fingerprint(clean_app) == before
    with clean_app.app_context(), pytest.raises(Exception, match="already holds"):
        restore_tenant(manifest["path"])


# ---------------------------------------------------------------- unit merges


def test_unit_merge_moves_people_and_earlier_months_keep_old_units(clean_app, client):
    world = build_world(clean_app, "khanh-hoa", client)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        engine.recalculate("2025-06")
        unit_of_work.commit()
    body = {"sources": ["AG-P1"], "into": "AG-P2", "effective_date": "2025-07-01"}
    response = client.post("/api/v1/tenants/khanh-hoa/unit-merges", json=body, headers=world.headers("admin"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["people_moved"] == 3
    again = client.post("/api/v1/tenants/khanh-hoa/unit-merges", json=body, headers=world.headers("admin"))
    assert again.status_code == 200 and again.get_json()["people_moved"] == 0
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.mergers.units import units_on

        assert db.session.get(Employee, world.ids["staff"]).unit_id == world.ids["other"]
        assert units_on(date(2025, 6, 30), [world.ids["staff"]]) == {world.ids["staff"]: world.ids["dept"]}
        assert units_on(date(2025, 7, 1), [world.ids["staff"]]) == {world.ids["staff"]: world.ids["other"]}
        engine.recalculate("2025-06")  # a month before the merge, scored again
        june = db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == world.ids["staff"],
                                                           PeriodScore.period == "2025-06"))
        assert june.unit_id == world.ids["dept"]
        assert db.session.get(OrgUnit, world.ids["dept"]) is not None  # the old unit stays for history
        db.session.rollback()
    # Scores by unit: June under the old unit, July under the new one.

    def people(period: str, unit: str) -> set[int]:
        r = client.get(f"/api/v1/tenants/khanh-hoa/scores?period={period}&unit_id={world.ids[unit]}",
                       headers=world.headers("admin"))
        assert r.status_code == 200, r.get_json()
        return {row["employee_id"] for row in r.get_json()}

    assert world.ids["staff"] in people("2025-06", "dept") and world.ids["staff"] not in people("2025-06", "other")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        engine.recalculate("2025-07")
        unit_of_work.commit()
    assert world.ids["staff"] in people("2025-07", "other") and world.ids["staff"] not in people("2025-07", "dept")


def test_unit_merge_refuses_bad_input_with_field_errors(clean_app, client):
    world = build_world(clean_app, "khanh-hoa", client)
    url, h = "/api/v1/tenants/khanh-hoa/unit-merges", world.headers("admin")
    r = client.post(url, json={"sources": ["NOPE"], "into": "AG-P2", "effective_date": "2025-07-01"}, headers=h)
    assert r.status_code == 422 and "sources" in r.get_json()["errors"]
    r = client.post(url, json={"sources": ["AG-P1"], "into": "AG-P1", "effective_date": "2025-07-01"}, headers=h)
    assert r.status_code == 422 and "into" in r.get_json()["errors"]
    r = client.post(url, json={"sources": ["AG"], "into": "AG-P1", "effective_date": "2025-07-01"}, headers=h)
    assert r.status_code == 422  # the target sits inside the source
    r = client.post(url, json={"sources": ["AG-P1"], "into": "AG-P2", "effective_date": "2099-01-01"}, headers=h)
    assert r.status_code == 422 and "effective_date" in r.get_json()["errors"]
    assert client.post(url, json={"sources": ["AG-P1"], "into": "AG-P2", "effective_date": "2025-07-01"},
                       headers=world.headers("staff")).status_code == 403


# ---------------------------------------------------------------- packs


def test_tenant_apply_is_idempotent(clean_app):
    first = run(clean_app, "tenant", "apply", str(PACKS / "ninh-thuan"))
    assert first.exit_code == 0, first.stderr
    fingerprint = _fingerprint(clean_app)
    second = run(clean_app, "tenant", "apply", str(PACKS / "ninh-thuan"))
    assert second.exit_code == 0 and "no changes" in second.output
    assert _fingerprint(clean_app) == fingerprint
    with clean_app.app_context(), unscoped():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "ninh-thuan"))
        assert tenant.morning_cutoff == "08:30"
        with tenant_context(tenant.id):
            from core.catalogue.models import TaskType
            from core.org.models import JobPosition

            groups = dict(db.session.execute(select(JobPosition.group, func.count()).group_by(JobPosition.group)).all())
            assert groups == {"leadership": 12, "professional": 28}  # CV 7415's 8 posts + 4 elected cán bộ
            assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 74
            assert db.session.scalar(select(TaskType.name).where(TaskType.code == "C09")) == \
                "Đăng ký khai sinh, kết hôn, khai tử"


def test_packs_apply_and_then_merge_by_code(clean_app, tmp_path):
    assert run(clean_app, "tenant", "apply", str(PACKS / "khanh-hoa")).exit_code == 0
    assert run(clean_app, "tenant", "apply", str(PACKS / "ninh-thuan")).exit_code == 0
    with clean_app.app_context():
        from core.mergers.services import merge

        plan = merge("ninh-thuan", "khanh-hoa", date(2025, 7, 1), {}, dry_run=True)
        db.session.rollback()
    mapping = plan["suggested_mapping"]
    # The shared catalogue maps by code; Ninh Thuận's own two tasks are copied, prefixed.
    assert [c for c, v in mapping["task_types"].items() if v is None] == ["C23", "C24"]
    assert all(v == c for c, v in mapping["positions"].items())
    with clean_app.app_context():
        # C23 (moved) applies to CM13 and CM16; mapping both onto CM16 would link it twice.
        clash = merge("ninh-thuan", "khanh-hoa", date(2025, 7, 1),
                      {**mapping, "positions": {**mapping["positions"], "CM13": "CM16"}}, dry_run=True)
        db.session.rollback()
    assert [(c["kind"], c["code"]) for c in clash["conflicts"]] == [("duplicate_link", "C23")]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")
    done = run(clean_app, "tenant", "merge", "--source", "ninh-thuan", "--into", "khanh-hoa", "--effective",
               EFFECTIVE, "--mapping", str(path))
    assert done.exit_code == 0, done.stderr
    with clean_app.app_context(), unscoped():
        kh = db.session.scalar(select(Tenant.id).where(Tenant.slug == "khanh-hoa"))
        with tenant_context(kh):
            from core.catalogue.models import TaskType

            assert db.session.scalar(select(TaskType.code).where(TaskType.code == "NINH-THUAN-C23"))
            assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 65 + 74


def test_apply_refuses_a_bad_pack_in_one_line(clean_app, tmp_path):
    (tmp_path / "tenant.toml").write_text('slug = "x"\nname = \n', encoding="utf-8")
    result = run(clean_app, "tenant", "apply", str(tmp_path))
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1 and "TOML" in result.stderr




# ---------------------------------------------------------------- the wizard


def _operator_session(app, client) -> None:
    from core.auth.models import Operator
    from core.auth.services import principal_for_operator

    make_operator(app, client, "wizard")
    with app.app_context():
        session_id = principal_for_operator(db.session.scalar(select(Operator).where(Operator.username == "wizard"))
                                            ).get_id()  # carries the session stamp
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = session_id, True


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_wizard_dry_run_suggests_a_mapping_then_merges(clean_app, client, provinces):
    khanh_hoa, _, nt_id, _ = provinces
    _operator_session(clean_app, client)
    page = client.get("/operator/merges")
    assert page.status_code == 200
    form = {"csrf_token": _csrf(page.get_data(as_text=True)), "source": "ninh-thuan", "into": "khanh-hoa",
            "effective_date": EFFECTIVE, "mapping": "{not json"}
    bad = client.post("/operator/merges", data={**form, "dry_run": "1"})
    assert bad.status_code == 422 and "JSON" in bad.get_data(as_text=True)
    # Where the mistake is, in Vietnamese words; not Python's English ("Expecting property name …").
    said = unescape(bad.get_data(as_text=True))
    assert "Không phải JSON hợp lệ: lỗi ở dòng 1, cột 2." in said and "Expecting" not in said
    dry = client.post("/operator/merges", data={**form, "mapping": "", "dry_run": "1"})
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "is not in the mapping" in html
    suggested = html.split('id="mapping"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    mapping = json.loads(unescape(suggested))
    assert mapping["positions"]["CV"] == "CV"
    done = client.post("/operator/merges", data={**form, "mapping": json.dumps(mapping), "commit": "1"})
    assert done.status_code == 200 and "/exports/ninh-thuan-" in done.get_data(as_text=True)
    with clean_app.app_context():
        assert db.session.get(Tenant, nt_id).status == "merged"


def test_wizard_reads_the_day_as_dd_mm_yyyy_and_says_when_it_is_not_one(clean_app, client, provinces):
    """The day box is the app's dd/mm/yyyy text box (not the browser's date input): a typed
    01/07/2025 is the merger's 1 July 2025; a day that does not exist or no day at all is
    an error beside the box (422), nothing submitted."""
    from core.jobs.models import JobRun

    khanh_hoa = provinces[0]
    _operator_session(clean_app, client)
    html = client.get("/operator/merges").get_data(as_text=True)
    box = re.search(r'<input id="effective_date"[^>]*>', html).group(0)
    assert 'type="text"' in box and 'placeholder="dd/mm/yyyy"' in box and "data-day" in box
    form = {"csrf_token": _csrf(html), "source": "ninh-thuan", "into": "khanh-hoa", "mapping": "", "dry_run": "1"}

    def runs() -> list[dict]:
        with clean_app.app_context(), tenant_context(khanh_hoa.tenant_id):
            return [r.params for r in db.session.scalars(select(JobRun).where(JobRun.kind == "tenant_merge"))]

    for typed, error in (("31/02/2025", "Nhập ngày theo dạng dd/mm/yyyy."), ("July", "Nhập ngày theo dạng dd/mm/yyyy."),
                         ("", "Nhập ngày sáp nhập có hiệu lực (dd/mm/yyyy)."),
                         ("  ", "Nhập ngày sáp nhập có hiệu lực (dd/mm/yyyy).")):
        bad = client.post("/operator/merges", data={**form, "effective_date": typed})
        page = bad.get_data(as_text=True)
        assert bad.status_code == 422, typed
        assert re.search(r'<p class="error" id="effective_date-err">([^<]*)</p>', page).group(1) == error
        assert re.search(r'<input id="effective_date"[^>]*value="([^"]*)"', page).group(1) == typed
    assert runs() == []

    dry = client.post("/operator/merges", data={**form, "effective_date": "01/07/2025"})
    assert dry.status_code == 200 and "is not in the mapping" in dry.get_data(as_text=True)
    assert [p["effective_date"] for p in runs()] == ["2025-07-01"]
    # The box shows the day back as typed, dd/mm/yyyy.
    assert 'value="01/07/2025"' in dry.get_data(as_text=True)


def test_wizard_is_for_operators_only(clean_app, client):
    world = build_world(clean_app, "khanh-hoa", client)
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = world_user_id(clean_app, world, "admin"), True
    assert client.get("/operator/merges").status_code == 403


def world_user_id(app, world, username: str) -> str:
    """The session id of a login, with its stamp (an id without one loads nothing)."""
    from core.auth.services import principal_for_user

    with app.app_context(), tenant_context(world.tenant_id):
        return principal_for_user(db.session.scalar(select(User).where(User.username == username))).get_id()


def test_a_merger_waits_for_a_refresh_under_way_in_the_target(clean_app, client, provinces, backend):
    """A refresh holds its tenant's scoring lock (shared) until it commits; the merger takes
    both tenants' exclusively before it moves anything, so it cannot rebuild the target's
    heat-map sums while a refresh writes them (a unique-key failure, the reviewer found)."""
    import threading

    from sqlalchemy import create_engine, text

    if backend.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    khanh_hoa, _, _, operator = provinces
    body = {"source": "ninh-thuan", "effective_date": EFFECTIVE, "mapping": _suggested(client, operator)}
    holder = create_engine(backend.owner_url)
    conn = holder.connect()
    tx = conn.begin()
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(7352, CAST(:t AS integer))"), {"t": khanh_hoa.tenant_id})
    done: list = []
    merger = threading.Thread(target=lambda: done.append(_merge(clean_app.test_client(), operator, body)))
    merger.start()
    merger.join(timeout=3)
    assert merger.is_alive() and not done  # waiting for the refresh's commit
    tx.commit()
    merger.join(timeout=60)
    conn.close()
    holder.dispose()
    assert done and done[0]["blocked"] is False and done[0]["moved"]["employees"] == 12
