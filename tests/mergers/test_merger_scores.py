"""Scores across a tenant merger's date (core/scoring/sides.py), and unit history on
every writer of month rows — numbers worked out by hand, on SQLite and PostgreSQL.

Ninh Thuận scores by decree335 with its default weights (quantity, quality, progress
1/1/1); Khánh Hòa by decree335 counting quantity only (1/0/0), so the two rules give
different numbers for the same items. The merger takes effect on 16 July 2025.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.catalogue import services as catalogue
from core.catalogue.models import NormVersion, TaskType
from core.extensions import db
from core.mergers.services import commit_merge
from core.org import services as org
from core.scoring import engine, kernel
from core.scoring.models import GeneralScore, ItemScore, PeriodScore
from core.scoring.services import range_scores, year_scores
from core.tenancy import tenant_context
from core.tenants.models import ComponentChoice
from core.tenants.services import create_tenant
from core.work.models import WorkItem
from tests.factories import PASSWORD, build_world, login

EFFECTIVE = date(2025, 7, 16)
QUANTITY_ONLY = {"quantity_weight": 1.0, "quality_weight": 0.0, "progress_weight": 0.0}


def _task_type() -> tuple[int, int]:
    tt, norm = catalogue.create_task_type({
        "code": "VB", "name": "Soạn thảo văn bản", "group": "B", "unit_of_measure": "văn bản", "norm_minutes": 60,
        "product_weight": 1, "complexity_levels": [], "position_codes": [], "effective_from": date(2024, 1, 1)})
    return tt.id, norm.id


def _item(employee_id: int, task: tuple[int, int], day: str, quantity: int = 1, done: bool = True,
          failed: int = 0) -> WorkItem:
    item = WorkItem(employee_id=employee_id, task_type_id=task[0], norm_version_id=task[1], title="Văn bản",
                    work_date=date.fromisoformat(day), quantity=Decimal(quantity), norm_minutes=Decimal(60),
                    product_weight=Decimal(1), status="done" if done else "planned", failed_reviews=failed,
                    completed_at=datetime.fromisoformat(day + "T09:00:00").replace(tzinfo=UTC) if done else None,
                    reported_at=datetime.fromisoformat(day + "T09:00:00").replace(tzinfo=UTC) if done else None)
    db.session.add(item)
    db.session.flush()
    return item


@pytest.fixture
def merged(clean_app):
    return _merged(clean_app)


def _merged(app):
    """Ninh Thuận (one person, P, with June and July work, June scored, July's general
    criteria set) merged into Khánh Hòa (K, July work) from 16 July; August's work of P
    is entered in Khánh Hòa after the merger."""
    kh = build_world(app, "khanh-hoa")
    ids: dict[str, int] = {}
    with app.app_context():
        nt, _ = create_tenant("ninh-thuan", "Tỉnh Ninh Thuận")
        db.session.flush()
        nt_id = nt.id
        with tenant_context(nt_id):
            unit = org.create_unit({"code": "NT-SNV", "name": "Sở Nội vụ Ninh Thuận", "kind": "agency"})
            org.create_position({"code": "CV", "name": "Chuyên viên", "group": "professional"})
            p = org.create_employee({"code": "NT001", "full_name": "Người chuyển", "unit_id": unit.id,
                                     "position_code": "CV"})
            ids["P"] = p.id
            task = _task_type()
            ids["june"] = _item(p.id, task, "2025-06-10", failed=1).id
            db.session.flush()
            # Before the date (the source's rule, 1/1/1): assigned 2, completed 1, quality 0.75.
            ids["jul3"] = _item(p.id, task, "2025-07-03", failed=1).id
            ids["jul10"] = _item(p.id, task, "2025-07-10", done=False).id
            # From the date (the target's rule, quantity only): assigned 3, completed 2.
            ids["jul20"] = _item(p.id, task, "2025-07-20", quantity=2, failed=2).id
            ids["jul25"] = _item(p.id, task, "2025-07-25", done=False).id
            db.session.add(GeneralScore(employee_id=p.id, period="2025-07", politics_ethics=Decimal(8),
                                        competence_attitude=Decimal(9), innovation=Decimal(7),
                                        set_at=datetime(2025, 7, 31, tzinfo=UTC)))
            db.session.flush()
            engine.recalculate("2025-06")
            unit_of_work.commit()
        with tenant_context(kh.tenant_id):
            db.session.add(ComponentChoice(kind="scoring_variant", key="decree335", settings=QUANTITY_ONLY,
                                           effective_from=date(2025, 1, 1)))
            task = _task_type()
            _item(kh.ids["staff"], task, "2025-07-05")
            _item(kh.ids["staff"], task, "2025-07-20", done=False)
            unit_of_work.commit()
    with app.app_context():
        plan = commit_merge("ninh-thuan", "khanh-hoa", EFFECTIVE, {}, dry_run=True)
        result = commit_merge("ninh-thuan", "khanh-hoa", EFFECTIVE, plan["suggested_mapping"])
        assert result["blocked"] is False, result["conflicts"]
    with app.app_context(), tenant_context(kh.tenant_id):
        vb, norm = db.session.execute(select(TaskType.id, NormVersion.id).join(
            NormVersion, NormVersion.task_type_id == TaskType.id).where(TaskType.code == "VB")).one()
        ids["aug"] = _item(ids["P"], (vb, norm), "2025-08-05", failed=1).id
        unit_of_work.commit()
    return kh, nt_id, ids


def _row(employee_id: int, period: str) -> PeriodScore:
    return db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == employee_id,
                                                       PeriodScore.period == period))


def _stamps(item_ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(ItemScore.work_item_id, ItemScore.settings_hash)
                                   .where(ItemScore.work_item_id.in_(item_ids))).all())


def test_the_month_of_the_date_is_scored_by_each_side_and_weighted_by_working_days(clean_app, merged):
    kh, nt_id, ids = merged
    with clean_app.app_context(), tenant_context(nt_id):
        from core.audit.models import AuditEvent

        # The merger's record: the source chain's closing event names its date and who moved.
        closing = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tenant.merged"))
        assert closing.after["effective_date"] == "2025-07-16"
        assert closing.after["moved_employees"] == [[ids["P"], ids["P"]]]
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        from core.scoring.models import ScoredPeriod

        # The merger marked July stale in the target: its parts need each side's variant.
        assert db.session.scalar(select(ScoredPeriod.stale).where(ScoredPeriod.period == "2025-07")) is True
        engine.recalculate("2025-07")
        unit_of_work.commit()
        source_hash = _stamps([ids["june"]])[ids["june"]]  # June was scored by the source before the merger
        stamps = _stamps([ids["jul3"], ids["jul10"], ids["jul20"], ids["jul25"]])
        assert stamps[ids["jul3"]] == stamps[ids["jul10"]] == source_hash
        assert stamps[ids["jul20"]] == stamps[ids["jul25"]] != source_hash
        row = _row(ids["P"], "2025-07")
        before, after = row.components["merger"]["parts"]
        # 1–15 July, source (1/1/1): quantity 50 %, quality 37.5 %, progress 50 % → 70 × 137.5 / 300 = 32.08,
        # on 11 working days (1–4, 7–11, 14–15 July).
        assert (before["from"], before["to"], before["task_score"], before["working_days"], before["item_count"]) == \
            ("2025-07-01", "2025-07-15", 32.08, 11, 2)
        assert before["variant"]["settings_hash"] == source_hash and before["tenant"] == "ninh-thuan"
        assert after["tenant"] == "khanh-hoa"
        # 16–31 July, target (quantity only): 2 of 3 → 70 × 2/3 = 46.67, on 12 working days.
        assert (after["from"], after["to"], after["task_score"], after["working_days"], after["item_count"]) == \
            ("2025-07-16", "2025-07-31", 46.67, 12, 2)
        # (32.08 × 11 + 46.67 × 12) ÷ 23 = 912.92 ÷ 23 = 39.69; the general criteria (24) once.
        assert (row.task_score, row.general_score, row.total) == (Decimal("39.69"), Decimal("24.00"),
                                                                  Decimal("63.69"))
        assert (row.item_count, row.working_days, row.provisional) == (4, 23, False)
        assert row.settings_hash == after["variant"]["settings_hash"]
        # K was always in Khánh Hòa: the whole month by the target's rule (1 of 2 → 35.00).
        k = _row(kh.ids["staff"], "2025-07")
        assert k.task_score == Decimal("35.00") and "merger" not in k.components
        # A per-item refresh (an edit of an item before the date) gives the same numbers.
        engine.refresh_items([ids["jul10"]])
        assert _row(ids["P"], "2025-07").total == Decimal("63.69")
        assert _stamps([ids["jul10"]])[ids["jul10"]] == source_hash


def test_a_month_before_the_date_stays_the_sources_after_rescoring_in_the_target(clean_app, merged):
    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        june = _row(ids["P"], "2025-06")
        stored = (june.task_score, june.settings_hash, june.components)
        # Source (1/1/1): 100 %, 75 %, 100 % → 70 × 275 / 300 = 64.17 (the target's rule would give 70.00).
        assert june.task_score == Decimal("64.17")
        engine.recalculate("2025-06")
        engine.refresh_items([ids["june"]])
        again = _row(ids["P"], "2025-06")
        assert (again.task_score, again.settings_hash, again.components) == stored
        # August is the target's alone: 1 of 1 → 70.00.
        engine.recalculate("2025-08")
        assert _row(ids["P"], "2025-08").task_score == Decimal("70.00")
        db.session.rollback()


def test_a_moved_persons_year_weights_each_side_by_months(clean_app, merged):
    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        for period in ("2025-07", "2025-08"):
            engine.recalculate(period)
        unit_of_work.commit()
        [year] = year_scores("2025", [ids["P"]])
        # Before 16 July: June 64.17, July's first part 32.08 + 24 = 56.08 → mean 60.125,
        # over 6 + 15/31 = 201/31 months. From it: July's second part 46.67 + 24 = 70.67,
        # August 70.00 → mean 70.335, over 16/31 + 5 = 171/31 months.
        # (60.125 × 201 + 70.335 × 171) ÷ 372 = 24,112.41 ÷ 372 = 64.82
        # (the plain mean of the three months would be 65.95).
        assert (year["total"], year["task_score"], year["general_score"]) == (64.82, 52.82, 12.0)
        before, after = year["components"]["merger"]["sides"]
        assert (before["tenant"], before["from"], before["to"]) == ("ninh-thuan", "2025-01-01", "2025-07-15")
        assert (after["tenant"], after["from"], after["to"]) == ("khanh-hoa", "2025-07-16", "2025-12-31")
        assert before["months"] == round(201 / 31, 4) and after["months"] == round(171 / 31, 4)
        assert before["mean_total"] == 60.13 and after["mean_total"] == 70.34
        assert before["periods"] == ["2025-06", "2025-07 (2025-07-01–2025-07-15)"]
        # K's year is the plain mean of K's months (one: 35.00).
        [k] = year_scores("2025", [kh.ids["staff"]])
        assert k["total"] == 35.0 and "merger" not in k["components"]


def test_a_moved_persons_year_under_quarters_averages_quarters_within_each_side(clean_app, merged):
    """docs/mergers.md with docs/procedure.md: where the target evaluates by quarters, a
    side's mean is the mean of its quarters, not of its months."""
    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        vb, norm = db.session.execute(select(TaskType.id, NormVersion.id).join(
            NormVersion, NormVersion.task_type_id == TaskType.id).where(TaskType.code == "VB")).one()
        _item(ids["P"], (vb, norm), "2025-10-07", failed=1)  # October: as August, 70.00
        db.session.add(ComponentChoice(kind="evaluation_procedure", key="-", effective_from=date(1970, 1, 1),
                                       settings={"period": "quarter"}))
        for period in ("2025-07", "2025-08", "2025-10"):
            engine.recalculate(period)
        unit_of_work.commit()
        assert float(_row(ids["P"], "2025-10").total) == 70.0
        [year] = year_scores("2025", [ids["P"]], quarterly={ids["P"]})
        # Before 16 July, as by months: Q2 = June 64.17, Q3 = July's first part 56.08 → 60.125
        # over 201/31 months. From it: Q3 = (July's second part 70.67 + August 70.00) ÷ 2 = 70.335,
        # Q4 = October 70.00 → (70.335 + 70.00) ÷ 2 = 70.1675 over 171/31 months.
        # (60.125 × 201 + 70.1675 × 171) ÷ 372 = (12,085.125 + 11,998.6425) ÷ 372 = 24,083.7675 ÷ 372 = 64.74
        # (by months the side would be (70.67 + 70 + 70) ÷ 3 = 70.2233 and the year 64.77).
        assert year["total"] == 64.74
        assert year["components"]["merger"]["rule"].startswith("total = Σ (mean of a side's quarters")
        [by_months] = year_scores("2025", [ids["P"]])
        assert by_months["total"] == 64.77


def test_a_quarter_spanning_the_date_has_the_same_parts(clean_app, merged):
    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        for period in ("2025-07", "2025-08"):
            engine.recalculate(period)
        unit_of_work.commit()
        rows = {r["employee_id"]: r for r in range_scores("2025-Q3", date(2025, 7, 1), date(2025, 9, 30),
                                                             [ids["P"], kh.ids["staff"]])}
        before, after = rows[ids["P"]]["components"]["merger"]["parts"]
        # Before: 1–15 July as in the month, 32.08 on 11 working days. From 16 July to
        # 30 September, quantity only: 3 of 4 assigned completed → 52.50, on 12 + 21 + 20
        # (2025-09-01 and 09-02 are National Day) = 53 working days.
        assert (before["task_score"], before["working_days"]) == (32.08, 11)
        assert (after["task_score"], after["working_days"]) == (52.5, 53)
        # (32.08 × 11 + 52.50 × 53) ÷ 64 = 3,135.38 ÷ 64 = 48.99 (one rule for the whole
        # quarter would give 4 of 6 → 46.67).
        assert rows[ids["P"]]["task_score"] == rows[ids["P"]]["total"] == 48.99
        assert rows[kh.ids["staff"]]["task_score"] == 35.0 and "merger" not in rows[kh.ids["staff"]]["components"]


# ---------------------------------------------------------------- unit history


def test_a_per_item_refresh_keeps_the_unit_of_the_months_first_day(clean_app, client):
    world = build_world(clean_app, "khanh-hoa", client)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        task = _task_type()
        item = _item(world.ids["staff"], task, "2025-06-10")
        db.session.flush()
        item_id = item.id
        engine.recalculate("2025-06")
        unit_of_work.commit()
    response = client.post("/api/v1/tenants/khanh-hoa/unit-merges", headers=world.headers("admin"),
                           json={"sources": ["AG-P1"], "into": "AG-P2", "effective_date": "2025-07-01"})
    assert response.status_code == 200, response.get_json()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.get(WorkItem, item_id).quantity = Decimal(2)
        db.session.flush()
        engine.refresh_items([item_id])  # June, after the unit merge: still the old unit
        assert _row(world.ids["staff"], "2025-06").unit_id == world.ids["dept"]
        assert _row(world.ids["manager"], "2025-06").unit_id == world.ids["dept"]  # the leader above, too
        engine.aggregate(kernel.scheme_for("2025-07"), [world.ids["staff"]])  # July: the new unit
        assert _row(world.ids["staff"], "2025-07").unit_id == world.ids["other"]
        db.session.rollback()


# ---------------------------------------------------------------- explain, what-if, dashboards


def test_explain_shows_each_part_and_the_weighting_that_made_the_stored_score(clean_app, client, merged):
    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        engine.recalculate("2025-07")
        unit_of_work.commit()
        source_hash = _stamps([ids["june"]])[ids["june"]]
    headers = {"Authorization": f"Bearer {login(client, 'khanh-hoa', 'admin')}"}
    r = client.get(f"/api/v1/tenants/khanh-hoa/employees/{ids['P']}/scores/2025-07/explain", headers=headers)
    assert r.status_code == 200, r.get_json()
    formula = r.get_json()["formula"]
    assert (formula["task_score"], formula["general_score"], formula["total"]) == (39.69, 24.0, 63.69)
    assert formula["sums"] is None and formula["components"] is None  # they are per part
    before, after = formula["merger"]["parts"]
    # 1–15 July by Ninh Thuận's rule, as stored: decree335 with weights 1/1/1 — assigned 2,
    # quantity 1, quality 0.75, progress 1 → 70 × (50 + 37.5 + 50) ÷ 300 = 32.08.
    assert (before["from"], before["to"], before["tenant"]) == ("2025-07-01", "2025-07-15", "ninh-thuan")
    assert before["variant"]["key"] == "decree335" and before["variant"]["settings_hash"] == source_hash
    assert before["settings_match"] is True
    assert (before["settings"]["quantity_weight"], before["settings"]["quality_weight"],
            before["settings"]["progress_weight"]) == (1.0, 1.0, 1.0)
    assert (before["sums"]["assigned"], before["sums"]["quantity"], before["sums"]["quality"],
            before["sums"]["progress"]) == (2.0, 1.0, 0.75, 1.0)
    assert (before["working_days"], before["item_count"], before["task_score"], before["counted"]) == \
        (11, 2, 32.08, True)
    # 16–31 July by Khánh Hòa's rule, quantity only: assigned 3, quantity 2 → 70 × 2/3 = 46.67.
    assert (after["from"], after["to"], after["tenant"]) == ("2025-07-16", "2025-07-31", "khanh-hoa")
    assert after["settings"]["quality_weight"] == 0.0 and after["variant"]["settings_hash"] != source_hash
    assert (after["sums"]["assigned"], after["sums"]["quantity"]) == (3.0, 2.0)
    assert (after["working_days"], after["item_count"], after["task_score"]) == (12, 2, 46.67)
    weighting = formula["merger"]["weighting"]
    assert weighting["expression"] == "(32.08 × 11 + 46.67 × 12) ÷ 23 = 912.92 ÷ 23 = 39.69"
    assert weighting["total_expression"] == "39.69 + 24.00 = 63.69"
    assert (weighting["weighted_sum"], weighting["working_days"], weighting["task_score"]) == (912.92, 23, 39.69)
    # Each item by the rule of its date, its components in that rule's names.
    items = {i["id"]: i for i in r.get_json()["items"]}
    assert items[ids["jul3"]]["rule"]["settings_hash"] == source_hash
    assert (items[ids["jul3"]]["score"]["assigned"], items[ids["jul3"]]["score"]["quality"]) == (1.0, 0.75)
    assert items[ids["jul20"]]["rule"]["settings_hash"] == after["variant"]["settings_hash"]
    assert (items[ids["jul20"]]["score"]["assigned"], items[ids["jul20"]]["score"]["quantity"]) == (2.0, 2.0)
    # June, wholly before the date: the source's rule, not the target's.
    june = client.get(f"/api/v1/tenants/khanh-hoa/employees/{ids['P']}/scores/2025-06/explain",
                      headers=headers).get_json()["formula"]
    assert june["tenant"] == "ninh-thuan" and june["variant"]["settings_hash"] == source_hash
    assert june["settings"]["quality_weight"] == 1.0 and june["task_score"] == 64.17 and june["merger"] is None
    # The person's month page shows both parts and the weighting, in Vietnamese numbers.
    browser = clean_app.test_client()
    html = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert browser.post("/login", data={"csrf_token": token, "tenant": "khanh-hoa", "username": "admin",
                                        "password": PASSWORD}).status_code == 302
    page = browser.get(f"/t/khanh-hoa/dashboard/person/{ids['P']}?period=2025-07")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Từ 2025-07-01 đến 2025-07-15, tại ninh-thuan" in text
    assert "Từ 2025-07-16 đến 2025-07-31, tại khanh-hoa" in text
    assert "(32,08 × 11 + 46,67 × 12) ÷ 23 = 912,92 ÷ 23 = <strong>39,69</strong>" in text
    assert "39,69 + 24 = <strong>63,69</strong>" in text


def test_what_if_keeps_the_stored_score_as_current_and_says_the_preview_covers_the_whole_month(
        clean_app, client, merged):
    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        engine.recalculate("2025-07")
        unit_of_work.commit()
    headers = {"Authorization": f"Bearer {login(client, 'khanh-hoa', 'admin')}"}
    r = client.post("/api/v1/tenants/khanh-hoa/what-if", headers=headers,
                    json={"period": "2025-07", "key": "decree335", "settings": {}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    people = {p["employee_id"]: p for p in body["people"]}
    p = people[ids["P"]]
    # Current: the stored 39.69 (both parts). Preview, 1/1/1 on all five assigned: quantity
    # 3/5 = 60 %, quality (0.75 + 2 × 0.5)/5 = 35 %, progress 60 % → 70 × 155 ÷ 300 = 36.17.
    assert (p["current_task_score"], p["preview_task_score"]) == (39.69, 36.17)
    assert [(c["from"], c["to"], c["tenant"]) for c in p["merger"]["current"]] == \
        [("2025-07-01", "2025-07-15", "ninh-thuan"), ("2025-07-16", "2025-07-31", "khanh-hoa")]
    assert [(c["task_score"], c["working_days"]) for c in p["merger"]["current_parts"]] == [(32.08, 11), (46.67, 12)]
    assert "whole month" in body["note"] and "merger" not in people[kh.ids["staff"]]
    # K was always here: 1 of 2 done, nothing failed → 35.00 either way.
    assert (people[kh.ids["staff"]]["current_task_score"], people[kh.ids["staff"]]["preview_task_score"]) == \
        (35.0, 35.0)


def test_the_trend_scores_days_and_weeks_before_the_date_by_the_sources_rule(clean_app, merged):
    from core.dashboards.services import trend

    kh, _, ids = merged
    with clean_app.app_context(), tenant_context(kh.tenant_id):
        vb, norm = db.session.execute(select(TaskType.id, NormVersion.id).join(
            NormVersion, NormVersion.task_type_id == TaskType.id).where(TaskType.code == "VB")).one()
        _item(ids["P"], (vb, norm), "2025-07-15", failed=2)  # entered after the merger, dated before it
        engine.recalculate("2025-07")
        unit_of_work.commit()
        weeks = {p["label"]: p["task_score"] for p in trend(ids["P"], "week", "2025-07")}
        # W24 (10 June, one review failed), source 1/1/1: 70 × (100 + 75 + 100) ÷ 300 = 64.17
        # (the target's quantity-only rule on the same item would say 70.00).
        assert weeks["2025-W24"] == 64.17 and weeks["2025-W27"] == 64.17
        # W29, 14–20 July, cut by the date: 14–15 July by the source (15 July, two reviews
        # failed: 70 × (100 + 50 + 100) ÷ 300 = 58.33) on 2 working days; 16–20 July by the
        # target (20 July, 2 of 2 done: 70.00) on 3: (58.33 × 2 + 70.00 × 3) ÷ 5 = 65.33.
        assert weeks["2025-W29"] == 65.33
        days = {p["label"]: p["task_score"] for p in trend(ids["P"], "day", "2025-07")}
        assert (days["2025-07-03"], days["2025-07-15"], days["2025-07-20"]) == (64.17, 58.33, 70.0)
        # K's trend is the target's rule throughout.
        assert {p["label"]: p["task_score"] for p in trend(kh.ids["staff"], "day", "2025-07")}["2025-07-05"] == 70.0
