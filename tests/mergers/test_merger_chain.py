"""Chained tenant mergers (core/scoring/sides.py): A into B from 16 July 2025, then B
into C from 18 August 2025. Each tenant scores by another variant — A by decree335
(weights 1/1/1), B by hours-ledger, C by deadline-buckets (domain.md) — so a person who
moved twice has each day scored by the rule of the tenant they were in then. Numbers
worked out by hand, on SQLite and PostgreSQL.

Working days (weekdays; no public holiday falls in July or August 2025): 1–15 July 11,
16–31 July 12, all July 23, 1–17 August 11, 18–31 August 10.
"""

from __future__ import annotations

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
from core.scoring import engine
from core.scoring.models import ItemScore, PeriodScore
from core.scoring.services import explain, year_scores
from core.tenancy import tenant_context
from core.tenants.models import ComponentChoice
from core.tenants.services import create_tenant
from core.work.models import WorkItem

STAFF = {"A": ("tinh-a", "A-SNV", "A001"), "B": ("tinh-b", "B-SNV", "B001"), "C": ("tinh-c", "C-SNV", "C001")}
VARIANTS = {"A": None, "B": "hours-ledger", "C": "deadline-buckets"}  # None: the default, decree335 1/1/1


def _task_type() -> None:
    catalogue.create_task_type({
        "code": "VB", "name": "Soạn thảo văn bản", "group": "B", "unit_of_measure": "văn bản", "norm_minutes": 60,
        "product_weight": 1, "complexity_levels": [], "position_codes": [], "effective_from": date(2024, 1, 1)})


def _item(employee_id: int, day: str, quantity: int = 1, failed: int = 0, stars: int | None = None,
          deadline: str | None = None, priority: int = 1) -> int:
    vb, norm = db.session.execute(select(TaskType.id, NormVersion.id).join(
        NormVersion, NormVersion.task_type_id == TaskType.id).where(TaskType.code == "VB")).one()
    at = datetime.fromisoformat(day + "T02:00:00").replace(tzinfo=UTC)  # 09:00 in Việt Nam
    item = WorkItem(employee_id=employee_id, task_type_id=vb, norm_version_id=norm, title="Văn bản",
                    work_date=date.fromisoformat(day), quantity=Decimal(quantity), norm_minutes=Decimal(60),
                    product_weight=Decimal(1), status="done", failed_reviews=failed, stars=stars,
                    deadline=date.fromisoformat(deadline) if deadline else None, priority=priority,
                    completed_at=at, reported_at=at)
    db.session.add(item)
    db.session.flush()
    return item.id


def _merge(source: str, into: str, effective: date) -> None:
    plan = commit_merge(source, into, effective, {}, dry_run=True)
    result = commit_merge(source, into, effective, plan["suggested_mapping"])
    assert result["blocked"] is False, result["conflicts"]


@pytest.fixture
def chain(clean_app):
    """X starts in A, Y in B; A merges into B on 16 July, B into C on 18 August."""
    app, ids, tenants = clean_app, {}, {}
    with app.app_context():
        for name, (slug, unit_code, code) in STAFF.items():
            tenant, _ = create_tenant(slug, f"Tỉnh {name}")
            db.session.flush()
            tenants[name] = tenant.id
            with tenant_context(tenant.id):
                if VARIANTS[name]:
                    db.session.add(ComponentChoice(kind="scoring_variant", key=VARIANTS[name], settings={},
                                                   effective_from=date(2025, 1, 1)))
                unit = org.create_unit({"code": unit_code, "name": f"Sở Nội vụ {name}", "kind": "agency"})
                org.create_position({"code": "CV", "name": "Chuyên viên", "group": "professional"})
                ids[name] = org.create_employee({"code": code, "full_name": f"Người {name}", "unit_id": unit.id,
                                                 "position_code": "CV"}).id
                _task_type()
            unit_of_work.commit()
        x, y = ids["A"], ids["B"]
        with tenant_context(tenants["A"]):
            ids["jun10"] = _item(x, "2025-06-10", failed=1)
            ids["jul3"] = _item(x, "2025-07-03", failed=1)
            engine.recalculate("2025-06")
            unit_of_work.commit()
    with app.app_context():
        _merge("tinh-a", "tinh-b", date(2025, 7, 16))
    with app.app_context(), tenant_context(tenants["B"]):
        ids["jul21"] = _item(x, "2025-07-21", quantity=8, stars=5)
        for day in ("2025-07-22", "2025-07-23", "2025-07-24"):
            _item(x, day, quantity=8, stars=5)
        ids["aug5"] = _item(x, "2025-08-05", quantity=8, stars=5)
        _item(y, "2025-07-21", quantity=8, stars=5)
        unit_of_work.commit()
    with app.app_context():
        _merge("tinh-b", "tinh-c", date(2025, 8, 18))
    with app.app_context(), tenant_context(tenants["C"]):
        ids["aug20"] = _item(x, "2025-08-20", stars=4, deadline="2025-08-22")
        _item(x, "2025-08-25", stars=5, deadline="2025-08-25", priority=2)
        _item(y, "2025-08-20", stars=4, deadline="2025-08-22")
        for period in ("2025-06", "2025-07", "2025-08"):
            engine.recalculate(period)
        unit_of_work.commit()
    return tenants, ids


def _row(employee_id: int, period: str) -> PeriodScore:
    return db.session.scalar(select(PeriodScore).where(PeriodScore.employee_id == employee_id,
                                                       PeriodScore.period == period))


def test_each_month_of_a_person_who_moved_twice_is_scored_by_the_tenant_they_were_in(clean_app, chain):
    tenants, ids = chain
    x, y = ids["A"], ids["B"]
    with clean_app.app_context(), tenant_context(tenants["C"]):
        stamps = dict(db.session.execute(select(ItemScore.work_item_id, ItemScore.variant_key)).all())
        assert (stamps[ids["jun10"]], stamps[ids["jul3"]], stamps[ids["jul21"]], stamps[ids["aug5"]],
                stamps[ids["aug20"]]) == ("decree335", "decree335", "hours-ledger", "hours-ledger", "deadline-buckets")
        # June, all in A: decree335 1/1/1, one review failed → 70 × (100 + 75 + 100) ÷ 300 = 64.17.
        june = _row(x, "2025-06")
        assert (june.variant_key, june.task_score, "merger" in june.components) == ("decree335", Decimal("64.17"),
                                                                                     False)
        # July: 1–15 in A (64.17 as June, 11 days); 16–31 in B, hours-ledger: 4 × 8 h credited
        # of 8 h × 12 days = 33.33 % of the 75 % target → 70 × 0.4444 = 31.11 (12 days).
        # (64.17 × 11 + 31.11 × 12) ÷ 23 = 1,079.19 ÷ 23 = 46.92.
        july = _row(x, "2025-07")
        a, b = july.components["merger"]["parts"]
        assert (a["tenant"], a["variant"]["key"], a["task_score"], a["working_days"]) == \
            ("tinh-a", "decree335", 64.17, 11)
        assert (b["tenant"], b["variant"]["key"], b["task_score"], b["working_days"]) == \
            ("tinh-b", "hours-ledger", 31.11, 12)
        assert (july.task_score, july.total, july.working_days, july.variant_key) == \
            (Decimal("46.92"), Decimal("46.92"), 23, "hours-ledger")
        # August: 1–17 in B, 8 h of 8 h × 11 days = 9.09 % → 70 × 0.1212 = 8.48 (11 days);
        # 18–31 in C, deadline-buckets: 20 Aug two days early (110) with 4 stars (80) → 95,
        # weight 1; 25 Aug on the day (100) with 5 stars (100) → 100, priority 2 → weight 2:
        # (95 + 200) ÷ 3 = 98.33 % → 68.83 (10 days). (8.48 × 11 + 68.83 × 10) ÷ 21 = 781.58 ÷ 21 = 37.22.
        august = _row(x, "2025-08")
        b, c = august.components["merger"]["parts"]
        assert (b["tenant"], b["variant"]["key"], b["task_score"], b["working_days"]) == \
            ("tinh-b", "hours-ledger", 8.48, 11)
        assert (c["tenant"], c["variant"]["key"], c["task_score"], c["working_days"]) == \
            ("tinh-c", "deadline-buckets", 68.83, 10)
        assert (august.task_score, august.variant_key) == (Decimal("37.22"), "deadline-buckets")
        # Y was in B until 18 August: July wholly by hours-ledger, 8 h of 8 h × 23 days → 4.06;
        # August by its one part with items, C's: 95 % → 66.50.
        assert (_row(y, "2025-07").task_score, _row(y, "2025-07").variant_key) == (Decimal("4.06"), "hours-ledger")
        assert _row(y, "2025-08").task_score == Decimal("66.50")


def test_the_year_of_a_person_who_moved_twice_weights_three_sides_by_months(clean_app, chain):
    tenants, ids = chain
    with clean_app.app_context(), tenant_context(tenants["C"]):
        [year] = year_scores("2025", [ids["A"]])
        # A (1 Jan–15 Jul, 201/31 months): June 64.17, July's A part 64.17 → 64.17.
        # B (16 Jul–17 Aug, 33/31): July's B part 31.11, August's 8.48 → 19.795.
        # C (18 Aug–31 Dec, 138/31): August's C part 68.83.
        # (64.17 × 201 + 19.795 × 33 + 68.83 × 138) ÷ 372 = 23,049.945 ÷ 372 = 61.96.
        assert (year["total"], year["task_score"], year["general_score"]) == (61.96, 61.96, 0.0)
        sides = year["components"]["merger"]["sides"]
        assert [(s["tenant"], s["from"], s["to"], s["months"]) for s in sides] == [
            ("tinh-a", "2025-01-01", "2025-07-15", round(201 / 31, 4)),
            ("tinh-b", "2025-07-16", "2025-08-17", round(33 / 31, 4)),
            ("tinh-c", "2025-08-18", "2025-12-31", round(138 / 31, 4))]
        assert [s["periods"] for s in sides] == [
            ["2025-06", "2025-07 (2025-07-01–2025-07-15)"],
            ["2025-07 (2025-07-16–2025-07-31)", "2025-08 (2025-08-01–2025-08-17)"],
            ["2025-08 (2025-08-18–2025-08-31)"]]


def test_explain_names_the_tenant_and_rule_of_each_part_of_a_chain(clean_app, chain):
    from core.auth.principal import Principal

    tenants, ids = chain
    with clean_app.app_context(), tenant_context(tenants["C"]):
        admin = Principal(kind="user", id=0, username="admin", tenant_id=tenants["C"], roles=("tenant_admin",))
        formula = explain(admin, ids["A"], "2025-07")["formula"]
        assert [(p["tenant"], p["variant"]["key"], p["working_days"]) for p in formula["merger"]["parts"]] == [
            ("tinh-a", "decree335", 11), ("tinh-b", "hours-ledger", 12)]
        assert formula["merger"]["parts"][1]["settings"]["target_utilisation"] == 0.75
        assert formula["merger"]["weighting"]["expression"] == \
            "(64.17 × 11 + 31.11 × 12) ÷ 23 = 1079.19 ÷ 23 = 46.92"
        # The month before both mergers: A's rule alone.
        june = explain(admin, ids["A"], "2025-06")["formula"]
        assert (june["tenant"], june["variant"]["key"], june["merger"]) == ("tinh-a", "decree335", None)


def test_the_target_holds_every_merger_of_its_people_and_the_migration_fills_them_from_the_audit_events(
        clean_app, chain):
    import importlib.util
    from pathlib import Path

    from sqlalchemy import delete

    from core.mergers.models import TenantMerge
    from core.scoring.sides import records
    from core.tenancy import unscoped

    tenants, ids = chain

    def held() -> list[tuple]:
        with unscoped():
            return sorted(db.session.execute(select(
                TenantMerge.tenant_id, TenantMerge.source_tenant_id, TenantMerge.into_tenant_id,
                TenantMerge.effective_date, TenantMerge.moved_employees)).all())

    expected = [(tenants["C"], tenants["A"], tenants["B"], date(2025, 7, 16), [[ids["A"], ids["A"]]]),
                (tenants["C"], tenants["B"], tenants["C"], date(2025, 8, 18), [[ids["A"], ids["B"]]])]
    with clean_app.app_context():
        # A's row moved from B to C with B's people; B's was written in C.
        assert held() == sorted(expected)
        with tenant_context(tenants["C"]):
            assert [(r.source_slug, r.depth) for r in records()] == [("tinh-a", 2), ("tinh-b", 1)]
        with tenant_context(tenants["B"]):
            assert records() == []  # B merged on: its people are scored in C
        # Migration 0012 fills the table from the audit chains' closing events, as written.
        path = Path(__file__).resolve().parents[2] / "core/migrations/versions/0012_tenant_merges.py"
        spec = importlib.util.spec_from_file_location("migration_0012", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        with unscoped():
            db.session.execute(delete(TenantMerge))
            assert migration.backfill(db.session.connection()) == 2
            assert migration.backfill(db.session.connection()) == 0  # once only
        assert held() == sorted(expected)
        with tenant_context(tenants["C"]):
            engine.recalculate("2025-07")
            assert _row(ids["A"], "2025-07").task_score == Decimal("46.92")
        db.session.rollback()
