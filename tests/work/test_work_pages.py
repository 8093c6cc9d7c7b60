"""The "Hôm nay" and "Đơn vị" pages (both databases): declaring from the catalogue,
updating and completing, the unit's overview and its review queue, in Vietnamese."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.extensions import db
from core.tenancy import tenant_context
from core.work.models import WorkItem
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)


def sign_in(client, w, who: str) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = w.principals[who].get_id()
        session["_fresh"] = True
        session["lang"] = "vi"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def items_of(app, w) -> list[WorkItem]:
    with app.app_context(), tenant_context(w.tenant_id):
        return list(db.session.scalars(select(WorkItem).order_by(WorkItem.id)))


def test_today_shows_my_positions_catalogue_in_vietnamese(client, world):
    sign_in(client, world, "staff")
    r = client.get(f"/t/{world.slug}/today")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Hôm nay" in html and "Khai báo" in html
    assert "Giải quyết hồ sơ hộ tịch" in html and "Soạn thảo văn bản hành chính" in html
    assert "Lập báo cáo tài chính" not in html  # the accountant's
    r = client.get(f"/t/{world.slug}/today/catalogue?q=van%20ban")
    fragment = r.get_data(as_text=True)
    assert "Soạn thảo văn bản hành chính" in fragment and "hộ tịch" not in fragment
    assert "<html" not in fragment


def test_declare_update_and_complete_from_the_page(client, clean_app, world, clock):
    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/today/declare", data={"csrf_token": token, "task_type_code": "HT01",
                                                            "quantity": "3"})
    assert r.status_code == 302
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    assert "Đã khai báo" in html and "1 h 30" in html  # 3 × 30 minutes
    [item] = items_of(clean_app, world)
    assert (item.quantity, item.planned, item.status) == (3, True, "planned")
    client.post(f"/t/{world.slug}/items/{item.id}/update", data={"csrf_token": token, "progress": "50",
                                                                 "action": "progress"})
    clock.set(2026, 10, 14, 16, 45)
    client.post(f"/t/{world.slug}/items/{item.id}/update", data={"csrf_token": token, "action": "done",
                                                                 "result_note": "Đã trả 3 hồ sơ"})
    [item] = items_of(clean_app, world)
    assert (item.status, item.progress, item.result_note) == ("done", 100, "Đã trả 3 hồ sơ")


def test_bad_form_input_is_answered_beside_the_field_and_writes_nothing(client, clean_app, world):
    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    for data, message in (({"task_type_code": "HT01", "quantity": "0"}, "Phải lớn hơn 0."),
                          ({"task_type_code": "HT01", "quantity": "abc"}, "Hãy nhập một số."),
                          ({"task_type_code": "KT01"}, "Không thuộc danh mục công việc của vị trí việc làm"),
                          ({"task_type_code": "HT01", "deadline": "2026-10-01"}, "Hạn xử lý trước ngày làm việc."),
                          ({"task_type_code": "HT01", "quantity": "nan"}, "Hãy nhập một số.")):
        r = client.post(f"/t/{world.slug}/today/declare", data={"csrf_token": token, **data})
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and 'class="field-error"' in html and message in html, data
        if "quantity" in data:  # what was typed stays in the box
            assert f'value="{data["quantity"]}"' in html
    assert items_of(clean_app, world) == []
    r = client.post(f"/t/{world.slug}/today/declare", data={"task_type_code": "HT01"})
    assert r.status_code == 400  # no CSRF token
    assert items_of(clean_app, world) == []


def test_overdue_and_carried_items_collapse_into_a_counted_section(client, world, clock):
    declare(client, world, work_date="2026-10-12", deadline="2026-10-13", title="Báo cáo tuần")
    declare(client, world, work_date="2026-10-13", title="Việc hôm qua")
    sign_in(client, world, "staff")
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    section = html[html.index('<details class="carried"'):html.index("</details>")]
    assert '<span class="count">(2)</span>' in section and "1 việc đã quá hạn." in section
    assert section.index("Báo cáo tuần") < section.index("Việc hôm qua")  # overdue first
    # The declare form comes before the day's items and the carried-over section.
    assert html.index('id="declare-form"') < html.index('id="mine-h"') < html.index('<details class="carried"')


def test_unit_page_overview_and_review_queue(client, clean_app, world, clock):
    declare(client, world, quantity=2)
    done = declare(client, world, who="staff2", task_type_code="VB01", quantity=1)
    client.patch(world.url(f"/work-items/{done['id']}"), json={"status": "done", "result_note": "Xong"},
                 headers=world.h("staff2"))
    sign_in(client, world, "manager")
    r = client.get(f"/t/{world.slug}/unit")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Đơn vị" in html
    assert "Người staff" in html and "1 h 00" in html and "chưa khai báo" in html
    token = csrf(html)
    staff_item = next(i for i in items_of(clean_app, world) if i.employee_id == world.ids["staff"])
    r = client.post(f"/t/{world.slug}/items/{staff_item.id}/verify",
                    data={"csrf_token": token, "accepted": "0", "reason": "Trùng việc đã khai báo"})
    assert r.status_code == 302
    r = client.post(f"/t/{world.slug}/items/{done['id']}/review",
                    data={"csrf_token": token, "passed": "1", "stars": "4"}, follow_redirects=True)
    assert "Đã lưu đánh giá" in r.get_data(as_text=True)
    by_id = {i.id: i for i in items_of(clean_app, world)}
    assert (by_id[staff_item.id].verification, by_id[staff_item.id].status) == ("refused", "cancelled")
    assert by_id[done["id"]].stars == 4
    # Refusing without a reason is refused, with the reason why.
    other = declare(client, world, who="staff2")
    r = client.post(f"/t/{world.slug}/items/{other['id']}/verify", data={"csrf_token": token, "accepted": "0"},
                    follow_redirects=True)
    assert "flash-error" in r.get_data(as_text=True)


def test_a_refused_declaration_stays_on_its_owners_day_with_the_reason(client, clean_app, world, clock):
    """Refused, a declaration is cancelled; it used to vanish from "Hôm nay" and nothing told
    its owner why. It stays on its day, apart, with the manager's reason, and counts for
    nothing in the day's summary."""
    kept = declare(client, world, quantity=1)
    refused = declare(client, world, quantity=2, title="Báo cáo tuần")
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/items/{refused['id']}/verify",
                    data={"csrf_token": token, "accepted": "0", "reason": "Trùng việc đã khai báo"})
    assert r.status_code == 302
    sign_in(client, world, "staff")
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    mine = html[html.index('id="mine-h"'):html.index('id="refused-h"')]
    assert f'id="item-{kept["id"]}"' in mine and f'id="item-{refused["id"]}"' not in mine
    apart = html[html.index('id="refused-h"'):]
    assert "Quản lý đã từ chối <span class=\"count\">(1)</span>" in apart
    assert f'id="item-{refused["id"]}"' in apart and "Báo cáo tuần" in apart
    assert "Bị từ chối: Trùng việc đã khai báo" in apart
    assert 'name="progress"' not in apart.split("</ul>")[0]  # nothing left to report on it
    summary = html[html.index('id="summary"'):]
    assert summary.split("</p>")[0].count("1 việc") == 1  # the refused one is not counted


def test_unit_page_is_for_managers_and_pages_stay_in_their_tenant(client, clean_app, world):
    sign_in(client, world, "staff")
    assert client.get(f"/t/{world.slug}/unit").status_code == 403
    other = build(clean_app, "tinh-khac")
    assert client.get(f"/t/{other.slug}/today").status_code == 404
    item = declare(client, other, who="staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/items/{item['id']}/update", data={"csrf_token": token, "action": "done"},
                    follow_redirects=True)
    assert "flash-error" in r.get_data(as_text=True)
    with clean_app.app_context(), tenant_context(other.tenant_id):
        assert db.session.get(WorkItem, item["id"]).status == "planned"
    # Another tenant's declare form (with htmx or without) is not there at all.
    for headers in ({}, HX):
        r = client.post(f"/t/{other.slug}/today/declare", headers=headers,
                        data={"csrf_token": token, "task_type_code": "HT01", "quantity": "1"})
        assert r.status_code == 404
    assert len(items_of(clean_app, other)) == 1
    client.get("/logout")
    with client.session_transaction() as session:
        session.clear()
    assert client.get(f"/t/{world.slug}/today").status_code in (302, 401)


# ---------------------------------------------------------------- the morning form (issue 18)

HX = {"HX-Request": "true"}


def rows(*rows_: dict) -> dict:
    """The declare form's fields for these rows (each field once per row, in order)."""
    out: dict = {"task_type_code": [], "quantity": [], "deadline": [], "title": []}
    for row in rows_:
        for key in out:
            out[key].append(row.get(key, ""))
    return out


def test_the_form_declares_several_rows_in_one_submit_through_htmx(client, clean_app, world):
    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data={"csrf_token": token, **rows(
        {"task_type_code": "HT01", "quantity": "3"},
        {"task_type_code": "VB01", "quantity": "1", "title": "Tờ trình"},
        {"task_type_code": "HT01", "quantity": "1,5", "deadline": "2026-10-16"})})
    fragment = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in fragment
    assert "Đã khai báo 3 việc." in fragment
    assert 'id="day" hx-swap-oob="true"' in fragment and fragment.count('class="item status-planned') == 3
    # 90 + 60 + 45 minutes, in the summary swapped out of band.
    assert 'id="summary" hx-swap-oob="true"' in fragment and "3 h 15" in fragment
    items = items_of(clean_app, world)
    assert [(i.title, float(i.quantity), i.deadline and i.deadline.isoformat()) for i in items] == [
        ("Giải quyết hồ sơ hộ tịch", 3.0, None), ("Tờ trình", 1.0, None),
        ("Giải quyết hồ sơ hộ tịch", 1.5, "2026-10-16")]


def test_one_bad_row_writes_nothing_and_keeps_every_row_as_typed(client, clean_app, world):
    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data={"csrf_token": token, **rows(
        {"task_type_code": "HT01", "quantity": "2", "title": "Hồ sơ bà Lan"},
        {"task_type_code": "HT01", "quantity": "99999"})})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="qty-1-err">Loại công việc này khai báo tối đa 100 cho mỗi việc.</p>' in html
    assert 'value="99999"' in html and 'value="Hồ sơ bà Lan"' in html and 'id="qty-0-err"' not in html
    assert html.count('<option value="HT01" data-max="100.0" selected>') == 2
    assert items_of(clean_app, world) == []


def test_more_than_twelve_hours_in_a_day_asks_for_confirmation(client, clean_app, world):
    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    declare(client, world, quantity=10)  # 5 h already planned
    data = {"csrf_token": token, **rows({"task_type_code": "HT01", "quantity": "15"})}  # + 7 h 30
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "12 h 30" in html and 'name="confirm_long"' in html
    assert len(items_of(clean_app, world)) == 1
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data={**data, "confirm_long": "1"})
    assert r.status_code == 200 and len(items_of(clean_app, world)) == 2
    # Exactly 12 hours is no surprise: no question asked.
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data={
        "csrf_token": token, "work_date": "2026-10-15", **rows({"task_type_code": "HT01", "quantity": "24"})})
    assert r.status_code == 200 and len(items_of(clean_app, world)) == 3


def test_the_long_day_question_names_the_day_as_the_box_typed_it(client, clean_app, world):
    """The page's day box sends dd/mm/yyyy: the question about a long day is asked about
    that day (it was a 500 with no message while the day was read as an ISO date)."""
    sign_in(client, world, "staff")
    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    data = {"csrf_token": token, "work_date": "15/10/2026", **rows({"task_type_code": "HT01", "quantity": "25"})}
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'name="confirm_long"' in html
    assert "12 h 30" in html and "15/10/2026" in html
    assert items_of(clean_app, world) == []
    r = client.post(f"/t/{world.slug}/today/declare", headers=HX, data={**data, "confirm_long": "1"})
    assert r.status_code == 200 and [i.work_date.isoformat() for i in items_of(clean_app, world)] == ["2026-10-15"]


def test_progress_keeps_the_stored_value_and_a_note_alone_keeps_it(client, clean_app, world):
    item = declare(client, world, quantity=1)
    client.patch(world.url(f"/work-items/{item['id']}"), json={"progress": 80}, headers=world.h("staff"))
    sign_in(client, world, "staff")
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    assert f'id="pr-{item["id"]}" name="progress" type="number"' in html
    assert re.search(rf'id="pr-{item["id"]}"[^>]*value="80"', html)
    token = csrf(html)
    r = client.post(f"/t/{world.slug}/items/{item['id']}/update", headers=HX, data={
        "csrf_token": token, "progress": "80", "result_note": "Đã gọi công dân", "action": "progress"})
    fragment = r.get_data(as_text=True)
    assert r.status_code == 200 and fragment.lstrip().startswith(f'<li class="item status-in_progress" id="item-{item["id"]}">')
    assert 'value="80"' in fragment and "Đã lưu." in fragment
    [row] = items_of(clean_app, world)
    assert (row.progress, row.result_note) == (80, "Đã gọi công dân")
    # Out of range: 422 with the error beside the box and the typed value kept; nothing written.
    r = client.post(f"/t/{world.slug}/items/{item['id']}/update", headers=HX, data={
        "csrf_token": token, "progress": "120", "result_note": "Đã gọi công dân", "action": "progress"})
    fragment = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="pr-{item["id"]}-err">Một số nguyên từ 0 đến 100.' in fragment
    assert 'value="120"' in fragment and items_of(clean_app, world)[0].progress == 80


def test_an_item_is_planned_or_unplanned_never_both(client, world, clock):
    declare(client, world, title="Trước giờ chốt")
    clock.set(2026, 10, 14, 10, 0)
    declare(client, world, title="Sau giờ chốt")
    sign_in(client, world, "staff")
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    first = html[html.index("Trước giờ chốt"):html.index("Sau giờ chốt")]
    second = html[html.index("Sau giờ chốt"):]
    second = second[:second.index("</li>")]
    assert "đã lên kế hoạch" in first and "ngoài kế hoạch" not in first
    assert "ngoài kế hoạch" in second and "đã lên kế hoạch" not in second


def test_an_employees_home_lists_their_unit_not_every_unit(client, world):
    def units_listed(who: str) -> list[str]:
        sign_in(client, world, who)
        html = client.get(f"/t/{world.slug}/").get_data(as_text=True)
        section = html[html.index('<ul class="units">'):]
        return re.findall(r"</span> ([^<]+) <span class=\"muted\">", section[:section.index("</ul>")])

    assert units_listed("staff") == ["Phòng Một"]
    assert sorted(units_listed("admin")) == ["Phòng Hai", "Phòng Một", "Sở Nội vụ"]
