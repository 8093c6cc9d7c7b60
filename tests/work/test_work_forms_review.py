"""What a reviewer found clicking through the civil servant's and the manager's jobs on a
phone (both databases): a decimal comma in every quantity box, every error of a row at
once, a day outside the catalogue named as such, one per-type ceiling on both forms, no
return for rework without a reason, the self-assessment that is owed, one set of tabs."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from core import unit_of_work
from core.catalogue import services as catalogue
from core.catalogue.models import TaskType
from core.classification import procedure
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.work.test_manager_pages import HX, by_id, finish, seed
from tests.work.test_work_pages import csrf, items_of, rows, sign_in
from tests.work.test_work_support import World, count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)


def _today_token(client, w: World, who: str = "staff") -> str:
    sign_in(client, w, who)
    return csrf(client.get(f"/t/{w.slug}/today").get_data(as_text=True))


def _post_rows(client, w: World, token: str, *typed: dict, work_date: str | None = None):
    data = {"csrf_token": token, **rows(*typed)}
    if work_date is not None:
        data["work_date"] = work_date
    return client.post(f"/t/{w.slug}/today/declare", data=data)


# ---------------------------------------------------------------- 1. a decimal comma


def test_every_quantity_box_is_text_read_with_the_decimal_comma(client, clean_app, world):
    token = _today_token(client, world)
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    # A number box drops the comma of "1,5" in a Vietnamese browser (it became 15): text boxes.
    boxes = re.findall(r'<input[^>]*name="quantity"[^>]*>', html)
    assert len(boxes) >= 3  # the first row, the new-row template, the catalogue's rows
    assert all('type="text"' in b and 'inputmode="decimal"' in b for b in boxes), boxes
    sign_in(client, world, "manager")
    unit = client.get(f"/t/{world.slug}/unit").get_data(as_text=True)
    [assign_box] = re.findall(r'<input id="as-qty"[^>]*>', unit)
    assert 'type="text"' in assign_box and 'inputmode="decimal"' in assign_box

    sign_in(client, world, "staff")
    r = _post_rows(client, world, token, {"task_type_code": "HT01", "quantity": "1,5"},
                   {"task_type_code": "VB01", "quantity": "2.5"})
    assert r.status_code == 302
    assert [float(i.quantity) for i in items_of(clean_app, world)] == [1.5, 2.5]
    r = _post_rows(client, world, token, {"task_type_code": "HT01", "quantity": "1,5,5"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert '<p class="field-error" id="qty-0-err">Hãy nhập một số.</p>' in html and 'value="1,5,5"' in html
    # The API keeps taking JSON numbers.
    assert declare(client, world, quantity=0.75)["quantity"] == 0.75
    assert len(items_of(clean_app, world)) == 3


def test_the_manager_assigns_a_decimal_comma(client, clean_app, world):
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": "HT01", "quantity": "2,5",
        "deadline": "16/10/2026"})
    assert r.status_code == 200, r.get_data(as_text=True)
    [item] = items_of(clean_app, world)
    assert (float(item.quantity), item.assigned_by_id) == (2.5, world.ids["manager"])


# ---------------------------------------------------------------- 2. every error at once, the right words


def test_a_bad_date_and_a_bad_quantity_are_both_answered(client, clean_app, world):
    token = _today_token(client, world)
    r = _post_rows(client, world, token, {"task_type_code": "HT01", "quantity": "-3"},
                   {"task_type_code": "HT01", "quantity": "150"}, work_date="31/02/2026")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert '<p class="field-error" id="work_date-err">Nhập ngày theo dạng dd/mm/yyyy.</p>' in html
    assert '<p class="field-error" id="qty-0-err">Phải lớn hơn 0.</p>' in html
    assert '<p class="field-error" id="qty-1-err">Loại công việc này khai báo tối đa 100 cho mỗi việc.</p>' in html
    assert items_of(clean_app, world) == []


def _new_type_from_2026(app, w: World) -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        catalogue.create_task_type({"code": "TD26", "name": "Tiếp dân", "group": "B", "unit_of_measure": "lượt",
                                    "norm_minutes": 20, "product_weight": 1, "complexity_levels": [],
                                    "position_codes": [], "effective_from": date(2026, 1, 1)})
        unit_of_work.commit()


def test_a_day_before_the_catalogue_is_answered_about_the_date(client, clean_app, world):
    _new_type_from_2026(clean_app, world)
    token = _today_token(client, world)
    r = _post_rows(client, world, token, {"task_type_code": "TD26", "quantity": "-3"}, work_date="01/01/2020")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert ('<p class="field-error" id="work_date-err">Ngày làm việc phải từ 01/01/2026 trở đi: trước ngày đó '
            'chưa thể khai báo loại công việc này.</p>') in html
    assert '<p class="field-error" id="qty-0-err">Phải lớn hơn 0.</p>' in html
    assert "chưa có định mức" not in html
    # The API answers both fields in one 422 too.
    r = client.post(world.url("/work-items"), json={"task_type_code": "TD26", "work_date": "2020-01-01",
                                                    "quantity": 200}, headers=world.h("staff"))
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"work_date": ["Nothing of this task type can be declared before 2026-01-01."],
                                      "quantity": ["At most 100 per item for this task type."]}
    assert items_of(clean_app, world) == []


def test_one_ceiling_per_task_type_on_both_forms(client, clean_app, world):
    """The catalogue's max_quantity (default 100) is the rule; the assignment form's own
    1,000 bound is gone, and both forms say it in the same words."""
    with clean_app.app_context(), tenant_context(world.tenant_id):
        tt = db.session.get(TaskType, world.ids["VB01"])
        catalogue.update_task_type(tt, {"max_quantity": 20}, date(2026, 10, 14))
        unit_of_work.commit()
    message = "Loại công việc này khai báo tối đa 20 cho mỗi việc."
    token = _today_token(client, world)
    html = _post_rows(client, world, token, {"task_type_code": "VB01", "quantity": "21"}).get_data(as_text=True)
    assert f'<p class="field-error" id="qty-0-err">{message}</p>' in html
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    for quantity, expected in (("500", message), ("21", message),
                               ("150", "Loại công việc này khai báo tối đa 100 cho mỗi việc.")):
        code = "HT01" if quantity == "150" else "VB01"
        r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
            "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": code, "quantity": quantity,
            "deadline": "16/10/2026"})
        html = r.get_data(as_text=True)
        assert r.status_code == 422
        assert f'<span class="error field-error" id="as-quantity-error">{expected}</span>' in html
        assert "không quá" not in html
    r = client.post(f"/t/{world.slug}/unit/assign", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "employee_id": world.ids["staff"], "task_type_code": "VB01", "quantity": "20",
        "deadline": "16/10/2026"})
    assert r.status_code == 200
    assert [float(i.quantity) for i in items_of(clean_app, world)] == [20.0]


# ---------------------------------------------------------------- 3. a return needs a reason


def test_sending_back_needs_a_reason_in_bulk_on_one_item_and_through_the_api(client, clean_app, world):
    ids = seed(clean_app, world, "staff", 3)
    finish(clean_app, world, "staff", ids)
    sign_in(client, world, "manager")
    token = csrf(client.get(f"/t/{world.slug}/unit").get_data(as_text=True))
    for comment in ("", "   "):
        r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={
            "csrf_token": token, "state": "reviews", "action": "rework", "comment": comment, "ids": ids[:2]})
        html = r.get_data(as_text=True)
        assert r.status_code == 422
        assert ('<span class="error field-error" id="bulk-comment-error">Hãy nêu lý do trả lại để làm lại.</span>'
                in html)
    r = client.post(f"/t/{world.slug}/items/{ids[2]}/review", data={"csrf_token": token, "passed": "0"},
                    follow_redirects=True)
    assert "Hãy nêu lý do trả lại để làm lại." in r.get_data(as_text=True)
    r = client.post(world.url(f"/work-items/{ids[2]}/review"), json={"passed": False}, headers=world.h("manager"))
    assert r.status_code == 422 and r.get_json()["errors"] == {"comment": ["Give a reason for sending it back."]}
    r = client.post(world.url(f"/work-items/{ids[2]}/review"), json={"passed": False, "comment": None},
                    headers=world.h("manager"))
    assert r.status_code == 422
    rows_ = by_id(clean_app, world)
    assert [(rows_[i].status, rows_[i].failed_reviews) for i in ids] == [("done", 0)] * 3
    # With the reason it goes back, and the reason is what the person reads.
    r = client.post(f"/t/{world.slug}/unit/queue", headers=HX, data={
        "csrf_token": token, "state": "reviews", "action": "rework", "comment": "Thiếu chữ ký", "ids": ids[:1]})
    assert r.status_code == 200
    r = client.post(world.url(f"/work-items/{ids[1]}/review"), json={"passed": False, "comment": "Sai số liệu"},
                    headers=world.h("manager"))
    assert r.status_code == 200
    rows_ = by_id(clean_app, world)
    assert [(rows_[i].status, rows_[i].failed_reviews, rows_[i].review_comment) for i in ids] == [
        ("in_progress", 1, "Thiếu chữ ký"), ("in_progress", 1, "Sai số liệu"), ("done", 0, None)]


# ---------------------------------------------------------------- 4. the self-assessment that is owed


NOTICE = 'data-testid="self-assessment"'


def _scores(clean_app, world, *names: str) -> None:
    """A month of scores for each named person, so the scheme classifies them."""
    from decimal import Decimal

    from core.scoring.models import PeriodScore

    with clean_app.app_context(), tenant_context(world.tenant_id):
        for name in names:
            unit_id = db.session.scalar(select(Employee.unit_id).where(Employee.id == world.ids[name]))
            db.session.add(PeriodScore(employee_id=world.ids[name], unit_id=unit_id, period="2026-06", item_count=3,
                                       working_days=20, task_score=Decimal(55), general_score=Decimal(25),
                                       total=Decimal(80), components={}, sums={}, variant_key="decree335",
                                       variant_version="1.0.0", settings_hash="x", provisional=False))
        unit_of_work.commit()


def test_the_self_assessment_is_surfaced_while_it_is_owed(client, clean_app, world, clock):
    clock.set(2026, 12, 3, 9, 0)
    _scores(clean_app, world, "staff", "staff2")
    sign_in(client, world, "staff")
    for path in ("/", "/today"):  # nothing open yet
        assert NOTICE not in client.get(f"/t/{world.slug}{path}").get_data(as_text=True)
    r = client.post(world.url(f"/evaluations/2026/agencies/{world.ids['agency']}/open"), headers=world.h("admin"))
    assert r.status_code in (200, 201), r.get_json()
    for path in ("/", "/today"):
        html = client.get(f"/t/{world.slug}{path}").get_data(as_text=True)
        assert NOTICE in html, path
        assert "Kỳ đánh giá năm 2026 đã mở: hãy tự đánh giá, tự xếp loại trước ngày 15/12/2026." in html
        assert f'href="/t/{world.slug}/evaluation?year=2026">Tự đánh giá ngay →</a>' in html
    with clean_app.app_context(), tenant_context(world.tenant_id):
        with count_queries(clean_app) as statements:
            due = procedure.self_assessment_due(world.principals["staff"])
        # Beside the tenant's own row (its time zone, for "today"; a request has it already)
        # and PostgreSQL's tenant settings of a new transaction: one statement.
        ours = [s for s in statements if not s.startswith("SELECT tenants.") and "set_config(" not in s]
        assert len(ours) == 1, ours
        assert due == {"year": 2026, "deadline": date(2026, 12, 15), "days_left": 13}
    r = client.post(world.url(f"/evaluations/2026/employees/{world.ids['staff']}/steps/self"),
                    json={"level": "HTT", "comment": "Hoàn thành tốt"}, headers=world.h("staff"))
    assert r.status_code in (200, 201), r.get_json()
    for path in ("/", "/today"):
        assert NOTICE not in client.get(f"/t/{world.slug}{path}").get_data(as_text=True)
    # Someone the scheme does not classify (no scores) has no step, so nothing urges one.
    sign_in(client, world, "manager")
    for path in ("/", "/today"):
        assert NOTICE not in client.get(f"/t/{world.slug}{path}").get_data(as_text=True), path
    # After the deadline the step is refused, so nothing urges it.
    sign_in(client, world, "staff2")
    assert NOTICE in client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    clock.set(2026, 12, 16, 9, 0)
    assert NOTICE not in client.get(f"/t/{world.slug}/today").get_data(as_text=True)


# ---------------------------------------------------------------- 5. one set of tabs


def _tabs(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)]


def test_the_civil_servants_pages_share_one_set_of_tabs(client, world):
    sign_in(client, world, "staff")
    expected = ["Hôm nay", "Tháng của tôi", "Xu hướng của tôi", "Xếp loại của tôi", "Đánh giá, xếp loại cuối năm"]
    # The classification pages show the same tab bar (no private one of their own).
    for path in ("/today", "/me", "/me/trend", "/classification", "/evaluation"):
        html = client.get(f"/t/{world.slug}{path}").get_data(as_text=True)
        assert _tabs(html) == expected, path
        assert "Đơn vị (tỉnh)" not in html
    sign_in(client, world, "manager")
    pages = {path: client.get(f"/t/{world.slug}{path}").get_data(as_text=True) for path in ("/today", "/unit", "/me")}
    tabs = {path: _tabs(html) for path, html in pages.items()}
    assert tabs["/today"] == tabs["/unit"] == tabs["/me"]
    assert tabs["/unit"][:7] == expected + ["Đơn vị của tôi", "Bảng điều khiển đơn vị"]
    assert 'aria-current="page">Đơn vị của tôi</a>' in pages["/unit"]
