"""The month page says which items count toward the month's score and which do not, and
why (core/dashboards/counting.py), on both databases: by domain.md's shared definitions
(work date's month, cancelled, completed, exempted) and, while the month is in progress,
by the to-date rule the score itself uses (core/dashboards/to_date.py)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from core.dashboards import counting, to_date
from core.extensions import db
from core.tenancy import tenant_context
from tests.dashboards.test_dashboards import PERIOD, page, sign_in
from tests.scoring.test_scoring_engine import finish, month_of_staff
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)


@pytest.fixture
def w(clean_app, clock):
    return build(clean_app)


def _post(client, w, path: str, body: dict, who: str = "manager") -> None:
    r = client.post(w.url(path), json=body, headers=w.h(who))
    assert r.status_code == 200, r.get_json()


@pytest.fixture
def month(client, w, clock):
    """The staff's October on the 15th: the four items of month_of_staff (three done, one
    unfinished past its 14 Oct deadline), and four more, one of each other kind."""
    items = month_of_staff(client, w)
    clock.set(2026, 10, 15, 9, 0)
    finish(client, w, items[2])
    ids = {"done": items[:3], "unfinished": items[3]}
    # Due on the 20th, not done: not counted yet on the 15th.
    ids["not_due"] = declare(client, w, quantity=1, deadline="2026-10-20", title="Hồ sơ chưa đến hạn")["id"]
    # Refused by the manager, so cancelled: left out, with the manager's reason.
    ids["cancelled"] = declare(client, w, quantity=1, deadline="2026-10-14", title="Hồ sơ bị từ chối")["id"]
    _post(client, w, f"/work-items/{ids['cancelled']}/verify", {"accepted": False, "reason": "Trùng hồ sơ"})
    # Worked on 30 Sep, finished on the 15th: September's.
    ids["other_month"] = declare(client, w, quantity=1, work_date="2026-09-30", deadline="2026-10-02",
                                 title="Hồ sơ tháng chín")["id"]
    finish(client, w, ids["other_month"])
    # Past its deadline, exempted for an objective cause: counts without its missed deadline.
    ids["exempt"] = declare(client, w, quantity=1, deadline="2026-10-14", title="Hồ sơ được miễn trừ")["id"]
    _post(client, w, f"/work-items/{ids['exempt']}/exempt", {"reason": "Mất điện cả ngày"})
    return ids


def _counting(app, w, as_of: date | None) -> dict:
    with app.app_context(), tenant_context(w.tenant_id):
        return counting.month_counting(w.ids["staff"], date(2026, 10, 1), date(2026, 10, 31), as_of, "decree335")


def _ids(result: dict) -> dict[str, list[int]]:
    return {key: [i["id"] for i in items] for key, items in result["groups"].items()}


def test_each_item_of_the_month_is_sorted_by_the_shared_definitions(clean_app, w, month):
    result = _counting(clean_app, w, date(2026, 10, 15))
    assert _ids(result) == {"done": month["done"], "unfinished": [month["unfinished"]], "exempt": [month["exempt"]],
                            "not_due": [month["not_due"]], "cancelled": [month["cancelled"]],
                            "other_month": [month["other_month"]]}
    assert (result["counted"], result["not_counted"], result["unfinished_rule"]) == (5, 3, "unfinished_assigned")
    [cancelled] = result["groups"]["cancelled"]
    assert cancelled["refusal"] == "Trùng hồ sơ"
    assert result["groups"]["other_month"][0]["period"] == "2026-09"
    assert result["groups"]["exempt"][0]["exempt_reason"] == "Mất điện cả ngày"
    # What is counted is what the score to date counts: 3 done + 1 unfinished + 1 exempt.
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert to_date.month_to_date(w.ids["staff"], PERIOD, date(2026, 10, 15))["item_count"] == 5
        db.session.rollback()


def test_once_the_month_is_over_an_unfinished_item_counts_as_not_completed(clean_app, w, month):
    result = _counting(clean_app, w, None)
    ids = _ids(result)
    assert ids["not_due"] == [] and ids["unfinished"] == [month["unfinished"], month["not_due"]]
    assert (result["counted"], result["not_counted"]) == (6, 2)


def test_the_rule_says_what_not_completed_costs(clean_app, w, month):
    with clean_app.app_context(), tenant_context(w.tenant_id):
        start, end = date(2026, 10, 1), date(2026, 10, 31)
        rules = [counting.month_counting(w.ids["staff"], start, end, None, key)["unfinished_rule"]
                 for key in ("decree335", "decree90", "hours-ledger", "deadline-buckets", None)]
    assert rules == ["unfinished_assigned", "unfinished_assigned", "unfinished_hours", "unfinished_buckets",
                     "unfinished_assigned"]


def _section(html: str) -> str:
    return html[html.index('<section aria-labelledby="counting-h"'):html.index('<section aria-labelledby="formula-h"')]


def test_my_month_lists_what_counts_with_links_and_the_rule_version(client, w, month):
    sign_in(client, w, "staff")
    html = page(client, f"/t/{w.slug}/me?period={PERIOD}")
    part = _section(html)
    assert "Việc nào được tính trong tháng" in part
    assert re.search(r'Theo quy tắc <a href="#formula-h">[^<]+\(phiên bản [^)]+\)</a>: việc được tính vào tháng '
                     r"của ngày làm việc\.", part)
    assert "Được tính vào điểm <span class=\"count\">(5)</span>" in part
    assert "Không được tính <span class=\"count\">(3)</span>" in part
    # Each kind with its count and its reason, in Vietnamese.
    for title, n in (("Đã hoàn thành", 3), ("Chưa hoàn thành", 1), ("Được lãnh đạo miễn trừ", 1),
                     ("Chưa đến hạn", 1), ("Đã hủy", 1), ("Thuộc tháng khác", 1)):
        assert f'<strong>{title}</strong> <span class="count">({n})</span>' in part, title
    assert "Tính là việc được giao nhưng chưa hoàn thành" in part
    assert "không tính các lần bị trả lại sửa và các lần trễ hạn" in part
    assert "Lý do miễn trừ: Mất điện cả ngày" in part
    assert "Lãnh đạo từ chối: Trùng hồ sơ" in part
    # Links: an item of the month to its factors on this page; September's to its month.
    assert f'<a href="#explain-{month["unfinished"]}">' in part
    assert f'id="explain-{month["unfinished"]}"' in html
    assert f'href="/t/{w.slug}/me?period=2026-09#explain-{month["other_month"]}"' in part
    assert "<span>Được tính vào tháng 09/2026</span>" in part
    september = page(client, f"/t/{w.slug}/me?period=2026-09")
    assert f'id="explain-{month["other_month"]}"' in september
    assert "Bị hủy" not in part and "Cancelled" not in part


def test_the_managers_view_of_a_person_links_to_the_persons_months(client, w, month):
    sign_in(client, w, "manager")
    html = page(client, f"/t/{w.slug}/dashboard/person/{w.ids['staff']}?period={PERIOD}")
    part = _section(html)
    assert "Được tính vào điểm <span class=\"count\">(5)</span>" in part
    assert (f'href="/t/{w.slug}/dashboard/person/{w.ids["staff"]}?period=2026-09#explain-{month["other_month"]}"'
            in part)


def test_a_month_with_nothing_not_counted_says_so(client, w, clock):
    declare(client, w, quantity=1, deadline="2026-10-14")
    sign_in(client, w, "staff")
    clock.set(2026, 11, 2, 9, 0)
    part = _section(page(client, f"/t/{w.slug}/me?period={PERIOD}"))
    assert "Được tính vào điểm <span class=\"count\">(1)</span>" in part
    assert "Mọi việc của tháng đều được tính." in part
