"""Versions are first-class (issue 23, items 1 and 3), both databases.

A tenant adopts a version of a component from a date and keeps it while the plugin keeps
it installed beside newer ones; when the vendor's upgrade removes it, the newest scores
instead (with a warning), the open month goes stale and is recalculated whole, and a
closed month is still explained with its own stamp — numbers, title, description with
its settings, labels — also once the plugin is gone. tests/plugins/upgradable.py installs
1.0.0 (points per done item) beside 1.1.0 (points per unit of a done item's quantity).
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.extensions import db
from core.org.models import Employee
from core.plugins.manager import current_manager
from core.scoring.models import ItemScore, ScoringStamp
from core.tenancy import tenant_context
from tests.conftest import make_app
from tests.dashboards.test_dashboards import csrf, page, sign_in
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)
ROOT = Path(__file__).resolve().parents[2]
SLUG = "tinh-up"
KEY = "test-upgradable"


@pytest.fixture
def upgradable(clean_app, backend, tmp_path, tmp_path_factory, clock):
    (tmp_path / "tenants" / SLUG).mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "plugins" / "upgradable.py", tmp_path / "tenants" / SLUG / "plugin.py")
    app = make_app(backend, tmp_path_factory, CONGVU_TENANTS_DIR=str(tmp_path / "tenants"))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def choose(client, w, expect: int = 200, **ref) -> dict:
    r = client.patch(w.url("/settings"), json={"scoring_variant": {"key": KEY, **ref}}, headers=w.h("admin"))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def done_item(client, w, day: str, quantity: int) -> int:
    item = declare(client, w, work_date=day, quantity=quantity)["id"]
    r = client.patch(w.url(f"/work-items/{item}"), json={"status": "done"}, headers=w.h("staff"))
    assert r.status_code == 200, r.get_json()
    return item


def recalculate(client, w, period: str) -> None:
    r = client.post(w.url("/recalculations"), json={"period": period}, headers=w.h("admin"))
    assert r.status_code == 202, r.get_json()
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "finished", job


def month(client, w, period: str) -> dict:
    r = client.get(w.url(f"/scores?period={period}&employee_id={w.ids['staff']}"), headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()[0]


def explain(client, w, period: str) -> dict:
    r = client.get(w.url(f"/employees/{w.ids['staff']}/scores/{period}/explain"), headers=w.h("staff"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def september_explained(client, w) -> None:
    """September as it was decided under 1.0.0: 2 done items × 2.5 points = 5.0."""
    explained = explain(client, w, "2026-09")
    f = explained["formula"]
    assert f["variant"]["key"] == KEY and f["variant"]["version"] == "1.0.0"
    assert (f["title"], f["title_en"]) == ("Điểm theo việc xong", "Points per done item")
    assert (f["description"], f["description_en"]) == ("2,5 điểm mỗi việc xong", "2.5 points per done item")
    assert f["settings"] == {"points_per_item": 2.5}
    assert f["labels"]["results"]["points"] == ["điểm việc xong", "points for done items"]
    assert (f["task_score"], f["components"]) == (5.0, {"points": 5.0, "done": 2.0})
    assert sorted((i["score"]["points"], i["score"]["done"], i["rule"]["version"]) for i in explained["items"]) \
        == [(2.5, 1, "1.0.0"), (2.5, 1, "1.0.0")]

    sign_in(client, w, "staff", "vi")
    vi = text_of(page(client, f"/t/{SLUG}/me?period=2026-09"))
    assert "Điểm theo việc xong" in vi and "2,5 điểm mỗi việc xong" in vi
    assert "Điểm mỗi việc: 2,5" in vi and "điểm việc xong" in vi and "số việc xong" in vi
    assert "Points per done item" not in vi and "points for done items" not in vi  # one language
    sign_in(client, w, "staff", "en")
    en = text_of(page(client, f"/t/{SLUG}/me?period=2026-09"))
    assert "Points per done item" in en and "2.5 points per done item" in en
    assert "Points per item: 2.5" in en and "points for done items" in en and "items done" in en
    assert "Điểm theo việc xong" not in en and "điểm việc xong" not in en


def test_upgrade_path_open_month_recalculated_whole_closed_month_keeps_its_stamp_plugin_removed(upgradable,
                                                                                            monkeypatch):
    client = upgradable.test_client()
    w = build(upgradable, SLUG)
    chosen = choose(client, w, version="1.0.0", settings={"points_per_item": 2.5})["scoring_variant"]
    assert (chosen["version"], chosen["settings"]) == ("1.0.0", {"points_per_item": 2.5})
    done_item(client, w, "2026-09-15", 2)
    done_item(client, w, "2026-09-16", 3)
    first, second = done_item(client, w, "2026-10-05", 2), done_item(client, w, "2026-10-06", 4)
    recalculate(client, w, "2026-09")
    recalculate(client, w, "2026-10")
    assert client.post(w.url("/periods/2026-09/close"), headers=w.h("admin")).status_code == 200
    # 1.0.0 counts done items: September 2 × 2.5 = 5.0; October 2 × 2.5 = 5.0.
    assert (month(client, w, "2026-09")["task_score"], month(client, w, "2026-10")["task_score"]) == (5.0, 5.0)
    september_explained(client, w)

    # The vendor's upgrade: 1.1.0 replaces 1.0.0 (no longer installed beside it).
    with upgradable.app_context():
        manager = current_manager()
    monkeypatch.delitem(manager.older, ("scoring_variant", KEY, "1.0.0"))
    warnings = client.get(w.url("/components"), headers=w.h("admin")).get_json()["warnings"]
    assert [(x["code"], x["adopted"]) for x in warnings] == [("component_version_missing", "1.0.0")]

    third = done_item(client, w, "2026-10-07", 1)
    state = client.get(w.url("/periods/2026-10"), headers=w.h("admin")).get_json()
    assert state["stale"] is True and "version 1.0.0" in state["stale_reason"] and "1.1.0" in state["stale_reason"]
    with upgradable.app_context(), tenant_context(w.tenant_id):
        october = {r.work_item_id: (r.variant_version, r.c0) for r in db.session.scalars(
            select(ItemScore).where(ItemScore.work_item_id.in_([first, second, third])))}
    assert october == {first: ("1.0.0", 2.5), second: ("1.0.0", 2.5)}  # not mixed: the new item waits
    assert month(client, w, "2026-10")["variant"]["version"] == "1.0.0"

    recalculate(client, w, "2026-10")  # what the nightly job does with a stale month
    # 1.1.0 counts quantity: (2 + 4 + 1) × 2.5 = 17.5, every item under 1.1.0.
    october = month(client, w, "2026-10")
    assert (october["task_score"], october["variant"]["version"]) == (17.5, "1.1.0")
    explained = explain(client, w, "2026-10")
    assert explained["formula"]["description"] == "2,5 điểm mỗi đơn vị khối lượng việc xong"
    assert sorted((i["score"]["points"], i["rule"]["version"]) for i in explained["items"]) == [
        (2.5, "1.1.0"), (5.0, "1.1.0"), (10.0, "1.1.0")]
    september_explained(client, w)  # the closed month: its own stamp, not the version in force

    # The plugin removed altogether: both months still explained by their stamps, the page
    # in one language; scoring the open month is refused, as before.
    monkeypatch.delitem(manager.components, ("scoring_variant", KEY))
    september_explained(client, w)
    explained = explain(client, w, "2026-10")
    f = explained["formula"]
    assert (f["variant"]["version"], f["title_en"], f["task_score"], f["current"]) == (
        "1.1.0", "Points per unit of done work", 17.5, False)
    assert sorted(i["score"]["points"] for i in explained["items"]) == [2.5, 5.0, 10.0]
    r = client.post(w.url("/recalculations"), json={"period": "2026-10"}, headers=w.h("admin"))
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "failed" and "'test-upgradable'" in str(job) and "not installed" in str(job)
    with upgradable.app_context(), tenant_context(w.tenant_id):
        kept = sorted(r.variant_version for r in db.session.scalars(select(ScoringStamp)))
    assert kept == ["1.0.0", "1.1.0"]  # one row per stamp, however many months and writes


def test_a_tenant_adopts_a_version_from_a_date_and_keeps_the_old_one_while_installed(upgradable):
    client = upgradable.test_client()
    w = build(upgradable, SLUG)
    choose(client, w, version="1.0.0", settings={"points_per_item": 2.5})
    done_item(client, w, "2026-09-15", 2)
    done_item(client, w, "2026-09-16", 3)
    done_item(client, w, "2026-10-05", 2)
    done_item(client, w, "2026-10-06", 4)
    recalculate(client, w, "2026-10")
    # Kept on 1.0.0 although 1.1.0 is installed: 2 done items × 2.5 = 5.0.
    assert (month(client, w, "2026-10")["task_score"], month(client, w, "2026-10")["variant"]["version"]) \
        == (5.0, "1.0.0")
    components = client.get(w.url("/components"), headers=w.h("admin")).get_json()
    offered = next(c for c in components["available"]["scoring_variant"] if c["key"] == KEY)
    assert (offered["version"], offered["versions"]) == ("1.1.0", ["1.1.0", "1.0.0"])
    assert components["warnings"] == []

    # A version that is not installed: 422, nothing changed.
    refused = choose(client, w, expect=422, version="2.0.0", effective_from="2026-10-01")
    assert refused["errors"] == {"scoring_variant": {"version": [
        "Version 2.0.0 of scoring variant 'test-upgradable' is not installed (installed: 1.1.0, 1.0.0)."]}}
    # Adopting 1.1.0 from 1 October: September stays on 1.0.0, October moves (stale until recalculated).
    after = choose(client, w, version="1.1.0", effective_from="2026-10-01", settings={"points_per_item": 2.5})
    assert (after["scoring_variant"]["version"], after["scoring_variant"]["effective_from"]) == ("1.1.0", "2026-10-01")
    assert client.get(w.url("/periods/2026-10"), headers=w.h("admin")).get_json()["stale"] is True
    recalculate(client, w, "2026-09")
    recalculate(client, w, "2026-10")
    # September by 1.0.0: 2 items × 2.5 = 5.0; October by 1.1.0: (2 + 4) × 2.5 = 15.0.
    assert [(m["task_score"], m["variant"]["version"]) for m in (month(client, w, "2026-09"),
                                                               month(client, w, "2026-10"))] \
        == [(5.0, "1.0.0"), (15.0, "1.1.0")]
    schedule = client.get(w.url("/components"), headers=w.h("admin")).get_json()["schedule"]["scoring_variant"]
    assert [(c["version"], c["effective_from"]) for c in schedule] == [("1.0.0", None), ("1.1.0", "2026-10-01")]
    with upgradable.app_context(), tenant_context(w.tenant_id):
        audited = [e.after["scoring_variant"]["version"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "settings.update").order_by(AuditEvent.id))]
    assert audited == ["1.0.0", "1.1.0"]  # the refused change wrote nothing

    # The page: the installed versions offered, one adopted from a date.
    sign_in(client, w, "admin", "vi")
    url = f"/t/{SLUG}/admin/components/scoring_variant/{KEY}"
    html = page(client, url + "?version=1.0.0")
    assert "Các phiên bản đã cài" in html and 'aria-current="page">1.0.0<' in html
    assert "Điểm theo việc xong" in html
    page(client, url + "?version=9.9", status=404)
    r = client.post(url, data={"csrf_token": csrf(html), "version": "1.0.0", "s.points_per_item": "3",
                               "effective_from": "2026-11-01"})
    assert r.status_code == 302, r.get_data(as_text=True)
    schedule = client.get(w.url("/components"), headers=w.h("admin")).get_json()["schedule"]["scoring_variant"]
    assert [(c["version"], c["effective_from"], c["settings"]) for c in schedule][-1] == (
        "1.0.0", "2026-11-01", {"points_per_item": 3.0})
    overview = text_of(page(client, f"/t/{SLUG}/admin/components"))
    assert "phiên bản 1.0.0" in overview and "phiên bản 1.1.0" in overview


def test_the_vendor_examples_labels_and_description_on_the_explain_page(clean_app, clock):
    """The example vendor's variant (examples/vendor-plugin) names its numbers and settings
    and shows its settings in its description: the month page uses them, in each language."""
    client = clean_app.test_client()
    w = build(clean_app, "tinh-vendor")
    r = client.patch(w.url("/settings"), json={"scoring_variant": {
        "key": "points-per-product", "settings": {"target_points_per_day": 2, "late_penalty": 0.5}}},
        headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()
    done_item(client, w, "2026-10-05", 2)
    recalculate(client, w, "2026-10")
    sign_in(client, w, "staff", "vi")
    vi = text_of(page(client, "/t/tinh-vendor/me?period=2026-10"))
    assert ("Đủ 70 điểm khi đạt 2 điểm sản phẩm quy đổi mỗi ngày làm việc; trừ 0,5 mỗi lần trễ hạn, 0,25 mỗi lần "
            "phải làm lại.") in vi
    assert "Mức trừ mỗi lần trễ hạn: 0,5" in vi and "Chỉ tiêu điểm mỗi ngày làm việc: 2" in vi
    for label in ("điểm sản phẩm quy đổi", "chỉ tiêu điểm của kỳ", "tỷ lệ đạt chỉ tiêu", "số việc hoàn thành"):
        assert label in vi or label[0].upper() + label[1:] in vi, label  # a formula row opens with a capital
    assert "attainment_pct" not in vi and "target_points" not in vi and "late_penalty" not in vi
    sign_in(client, w, "staff", "en")
    en = text_of(page(client, "/t/tinh-vendor/me?period=2026-10"))
    assert ("The full 70 points at 2 converted-product points per working day; less 0.5 per missed deadline, "
            "0.25 per failed review.") in en
    assert "Deduction per missed deadline: 0.5" in en
    for label in ("converted-product points", "target points of the period", "target attained %", "items completed"):
        assert label in en or label[0].upper() + label[1:] in en, label
    assert "tỷ lệ đạt chỉ tiêu" not in en


def test_a_tenant_merger_keeps_one_stamp_per_key_in_the_target(clean_app, clock):
    """Both tenants scored October by decree335 with the default settings: the same stamp.
    The merger moves the source's stamps the target lacks and leaves the duplicate with
    the source (a second row of one stamp in the target would break its unique key)."""
    from core.mergers.services import commit_merge

    client = clean_app.test_client()
    source, target = build(clean_app, "tinh-nguon"), build(clean_app, "tinh-dich")
    for w in (source, target):
        done_item(client, w, "2026-10-05", 2)
        recalculate(client, w, "2026-10")
    r = client.patch(source.url("/settings"), json={"scoring_variant": {
        "key": "decree335", "settings": {"review_penalty": 0.5}, "effective_from": "2026-09-01"}},
        headers=source.h("admin"))
    assert r.status_code == 200, r.get_json()
    recalculate(client, source, "2026-09")  # nobody worked in September: a stamp with no rows writes nothing
    recalculate(client, source, "2026-10")  # the source's own settings: a second stamp only it has
    with clean_app.app_context():
        def stamps_of(tenant_id: int) -> list[str]:
            with tenant_context(tenant_id):
                return sorted(f"{s.variant_key} {s.settings['review_penalty']}"
                              for s in db.session.scalars(select(ScoringStamp)))

        assert stamps_of(source.tenant_id) == ["decree335 0.25", "decree335 0.5"]
        assert stamps_of(target.tenant_id) == ["decree335 0.25"]
        with tenant_context(source.tenant_id):
            for person in db.session.scalars(select(Employee)):  # the same codes and names in both worlds
                person.code = "N-" + person.code
            for user in db.session.scalars(select(User)):
                user.username = "n-" + user.username
            unit_of_work.commit()
        plan = commit_merge("tinh-nguon", "tinh-dich", date(2026, 11, 1), {}, dry_run=True)
        result = commit_merge("tinh-nguon", "tinh-dich", date(2026, 11, 1), plan["suggested_mapping"])
        assert result["blocked"] is False, result["conflicts"]
        unit_of_work.commit()
        assert stamps_of(target.tenant_id) == ["decree335 0.25", "decree335 0.5"]
        assert stamps_of(source.tenant_id) == ["decree335 0.25"]
