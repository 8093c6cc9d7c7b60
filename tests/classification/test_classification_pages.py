"""The classification pages (both databases), in Vietnamese: my classification and appeal,
the manager's review of the unit, the province view with the bonus run."""

from __future__ import annotations

import re

from tests.classification.test_classification_api import TOTALS_2026, run, set_totals
from tests.work.test_work_pages import csrf, sign_in

pytest_plugins = ("tests.work.test_work_support",)


def page(client, w, path: str, who: str, status: int = 200) -> str:
    sign_in(client, w, who)
    r = client.get(f"/t/{w.slug}/classification{path}")
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def test_employee_sees_the_level_and_appeals(clean_app, world, client):
    html = page(client, world, "?year=2026", "staff2")
    assert "Xếp loại của tôi" in html and "Năm này chưa được xếp loại." in html
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    html = page(client, world, "?year=2026", "staff2")
    assert "HTT" in html and "Dự thảo" in html and "Gửi khiếu nại" in html
    assert "Dự thảo kết quả xếp loại năm 2026 đã được công bố" in html  # the notification
    assert "Xem xét xếp loại đơn vị" not in html  # not a manager
    r = client.post(f"/t/{world.slug}/classification/2026/appeal",
                    data={"csrf_token": csrf(html), "reason": "Tôi đã hoàn thành đúng hạn"})
    assert r.status_code == 302
    html = page(client, world, "?year=2026", "staff2")
    assert "Đã gửi khiếu nại." in html and "đang chờ giải quyết" in html and "Gửi khiếu nại" not in html


def test_manager_reviews_the_unit_overrides_with_a_reason_and_resolves_appeals(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    html = page(client, world, "?year=2026", "staff")
    client.post(f"/t/{world.slug}/classification/2026/appeal", data={"csrf_token": csrf(html), "reason": "Sai điểm"})
    html = page(client, world, "/unit?year=2026", "manager")
    assert "Người staff2" in html and "Người outsider" not in html and "Khiếu nại cần giải quyết" in html
    url = f"/t/{world.slug}/classification/2026/{world.ids['staff2']}/override"
    client.post(url, data={"csrf_token": csrf(html), "level": "HT", "reason": ""})
    html = page(client, world, "/unit?year=2026", "manager")
    assert "Điều chỉnh cần nêu lý do." in html and "HTT → HT" not in html
    client.post(url, data={"csrf_token": csrf(html), "level": "HT", "reason": "Chậm báo cáo quý III"})
    html = page(client, world, "/unit?year=2026", "manager")
    assert "HTT → HT: Chậm báo cáo quý III" in html
    appeal_id = re.search(r"/classification/appeals/(\d+)/resolve", html).group(1)
    client.post(f"/t/{world.slug}/classification/appeals/{appeal_id}/resolve?year=2026",
                data={"csrf_token": csrf(html), "decision": "rejected", "reason": "Điểm đúng"})
    html = page(client, world, "/unit?year=2026", "manager")
    assert "Khiếu nại cần giải quyết" not in html
    page(client, world, "/unit?year=2026", "staff", status=403)


def test_province_view_runs_finalises_and_shares_the_bonus(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    html = page(client, world, "/province?year=2026", "admin")
    assert "Chạy xếp loại" in html
    client.post(f"/t/{world.slug}/classification/2026/run", data={"csrf_token": csrf(html)})
    html = page(client, world, "/province?year=2026", "admin")
    assert "Phân bố theo đơn vị" in html and "Phòng Một" in html and "Tỷ lệ khống chế HTXS so với HTT" in html
    assert "vị trí chuyên môn, nghiệp vụ" in html
    assert "Người auditor" in html  # the streamlining candidate (KHT)
    # The chart is SVG geometry (no inline styles under the CSP): HTXS 1, HTT 5, KHT 1 of 7.
    assert 'class="level-HTXS" x="0" y="0" width="14.286"' in html and 'width="71.429"' in html
    assert "style=" not in html
    assert "Chia thưởng" not in html  # not final yet
    client.post(f"/t/{world.slug}/classification/2026/finalize", data={"csrf_token": csrf(html), "confirm": "yes"})
    html = page(client, world, "/province?year=2026", "admin")
    assert "Chính thức" in html and "Chạy xếp loại" not in html
    client.post(f"/t/{world.slug}/classification/2026/bonus", data={"csrf_token": csrf(html), "fund": "1.000.001"})
    html = page(client, world, "/province?year=2026", "admin")
    assert "1.000.001 đ" in html
    run_id = re.search(r"/classification/bonus/(\d+)", html).group(1)
    html = page(client, world, f"/bonus/{run_id}", "auditor")
    assert "Đợt chia thưởng" in html and "Người staff" in html
    html = page(client, world, "/province?year=2026", "auditor")
    assert "Chia thưởng" not in html and "Phê duyệt chính thức" not in html  # reads, never acts
    page(client, world, "/province?year=2026", "manager", status=403)
    page(client, world, "/province?year=x", "admin", status=400)


def test_the_person_reads_the_recorded_grounds_for_kht(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    for kind, day in (("degradation", "2026-10-05"), ("reprimand", "2026-11-02")):
        body = {"employee_id": world.ids["staff"], "kind": kind, "decided_on": day, "reason": "Quyết định số 7"}
        assert client.post(world.url("/discipline-records"), json=body, headers=world.h("admin")).status_code == 201
    run(client, world)
    html = page(client, world, "?year=2026", "staff")
    assert ("suy thoái về tư tưởng chính trị, đạo đức, lối sống, tự diễn biến, tự chuyển hóa; "
            "kỷ luật khiển trách.") in html


def test_the_province_page_names_grounds_and_the_protected(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    assert client.patch(world.url(f"/employees/{world.ids['auditor']}"), json={"pregnant_from": "2026-01-05"},
                        headers=world.h("admin")).status_code == 200
    html = page(client, world, "/province?year=2026", "admin")
    assert "Không đưa vào diện tinh giản" in html and "đang mang thai" in html
