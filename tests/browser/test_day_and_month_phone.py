"""At 390×844, both databases: "Tháng của tôi" says which items count this month and its
links open the item they name; a manager who assigns past 8 hours of a person's day
reads the warning where they stand and the unit's day flags the person; the morning
form's 12-hour question shows on the screen, not above it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.auth.models import User
from core.auth.services import principal_for_user
from core.dashboards import counting
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.work import calendar as cal
from core.work import services as work
from tests.browser.test_dashboard_pages import EMPLOYEE, MANAGER, T, month  # noqa: F401 - the fixture
from tests.browser.test_work_day import add_catalogue, in_tenant
from tests.work.test_work_support import Clock, local

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _declare_not_due() -> None:
    """One item of the 15th due on the 20th: not counted yet on the 15th."""
    user = db.session.scalar(select(User).where(User.username == EMPLOYEE))
    work.declare(principal_for_user(user), {"task_type_code": "VB01", "work_date": date(2026, 10, 15),
                                            "quantity": 1, "deadline": date(2026, 10, 20)})


def _counts(server) -> tuple[int, int, int]:
    def read():
        me = db.session.scalar(select(Employee.id).where(Employee.code == EMPLOYEE.upper()))
        result = counting.month_counting(me, date(2026, 10, 1), date(2026, 10, 31), date(2026, 10, 15), "decree335")
        return result["counted"], result["not_counted"], len(result["groups"]["done"])
    return in_tenant(server, read)


def test_my_month_says_what_counts_and_its_links_open_the_item(phone, month):  # noqa: F811
    in_tenant(month, _declare_not_due, commit=True)
    counted, not_counted, done = _counts(month)
    assert counted == 16 and not_counted == 1  # the seeded half month and the item due later
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login(EMPLOYEE)
    phone.goto(f"{T}/me?period=2026-10")
    section = page.locator("#counting")
    expect(section.locator("h2")).to_have_text("Việc nào được tính trong tháng")
    expect(section.locator("h3").nth(0)).to_have_text(f"Được tính vào điểm ({counted})")
    expect(section.locator("h3").nth(1)).to_have_text(f"Không được tính ({not_counted})")
    expect(section.locator("p.muted").first).to_contain_text("(phiên bản ")
    group = section.locator("details.counting-done")
    group.locator("summary").click()
    expect(group.locator("li")).to_have_count(done)
    link = group.locator("li a").first
    target = link.get_attribute("href")
    assert target.startswith("#explain-")
    link.click()
    item = page.locator(target)
    expect(item).to_have_attribute("open", "")  # js/open-target.js: the factors show, not a folded title
    box = item.bounding_box()
    assert 0 <= box["y"] < PHONE["height"], box
    assert phone.scroll_width() <= PHONE["width"]
    phone.screenshot("month-counting-390")
    # From the top, a jump link reaches the general criteria however many items the month has.
    phone.goto(f"{T}/me?period=2026-10")
    page.locator(".month-jump").get_by_role("link", name="Tiêu chí chung").click()
    expect(page.locator("#general h2")).to_be_in_viewport()
    phone.assert_clean()


def _phone_at(phone, live_server, monkeypatch, moment: tuple, who: str, path: str):
    """The live server's clock at `moment`, the catalogue added, `who` signed in on a
    390-px phone at `path`; the page."""
    monkeypatch.setattr(cal, "now", Clock(local(*moment)))
    in_tenant(live_server, add_catalogue, commit=True)
    page = phone.page
    page.set_viewport_size(PHONE)
    phone.login(who)
    phone.goto(path)
    return page


def test_assigning_past_eight_hours_warns_where_the_manager_stands(phone, live_server, monkeypatch):
    page = _phone_at(phone, live_server, monkeypatch, (2026, 10, 14, 9, 30), MANAGER, f"/t/{SLUG}/unit")
    name = in_tenant(live_server, lambda: db.session.scalar(
        select(Employee.full_name).where(Employee.code == EMPLOYEE.upper())))
    form = page.locator("form.assign")
    person = form.locator("#as-person")
    expect(form.locator("#as-type option[value=DD01]")).to_have_count(1)  # every type, before a person
    person.select_option(label=name)
    # The person's types are swapped in (DD01 is a surveyor's): choosing before would be undone.
    expect(form.locator("#as-type option[value=DD01]")).to_have_count(0)
    form.locator("#as-type").select_option("HT01")
    form.locator("#as-qty").fill("17")  # 17 × 30 min × 1.0 = 510 min = 8 h 30
    form.locator("#as-deadline").fill("16/10/2026")
    form.get_by_role("button", name="Giao việc", exact=True).click()
    warning = page.locator("#assign .overload-warning")
    expect(warning).to_have_text(f"{name} nay có 8 h 30 thời gian định mức trong ngày 14/10/2026, quá 8 giờ: "
                                 "cân nhắc giao vào ngày khác hoặc cho người khác.")
    box = warning.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    expect(page.locator("#assign .flash").first).to_contain_text(f"Đã giao cho {name}")
    expect(person.locator("option", has_text=name)).to_have_text(f"{name} · hôm nay 8 h 30 — quá 8 giờ")
    phone.goto(f"/t/{SLUG}/unit")
    people = page.locator("#people")
    expect(people.locator(".overload-summary")).to_have_text(
        f"1 người có hơn 8 giờ thời gian định mức trong ngày: {name}.")
    row = people.locator("tr", has_text=name)
    expect(row.locator(".tag-warn")).to_have_text("quá 8 giờ")
    assert phone.scroll_width() <= PHONE["width"]
    phone.screenshot("unit-overload-390")
    phone.assert_clean()


def test_the_twelve_hour_question_shows_on_the_screen(phone, live_server, monkeypatch):
    """A first answer with an error, then the 12-hour question: each stands where the
    phone shows it (it was swapped in 600 px above the screen, and 'Khai báo' seemed dead)."""
    page = _phone_at(phone, live_server, monkeypatch, (2026, 10, 14, 7, 40), EMPLOYEE, f"/t/{SLUG}/today")
    form = page.locator("#declare-form")
    rows = form.locator("#rows > li.row")
    rows.nth(0).locator("select[name=task_type_code]").select_option("HT01")
    rows.nth(0).locator("input[name=quantity]").fill("20")  # 600 min
    form.get_by_role("button", name="Thêm dòng").click()
    rows.nth(1).locator("select[name=task_type_code]").select_option("VB01")
    rows.nth(1).locator("input[name=quantity]").fill("abc")
    form.get_by_role("button", name="Khai báo", exact=True).click()
    error = page.locator("#declare .field-error").first
    expect(error).to_have_text("Hãy nhập một số.")
    form = page.locator("#declare-form")
    form.locator("#rows > li.row").nth(1).locator("input[name=quantity]").fill("3")  # + 180 min = 13 h
    form.get_by_role("button", name="Khai báo", exact=True).click()
    question = page.locator("#declare .confirm-box")
    expect(question).to_contain_text("13 h 00, quá 12 giờ")
    box = question.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    page.locator("#confirm_long").check()
    page.locator("#declare-form").get_by_role("button", name="Khai báo", exact=True).click()
    flashes = page.locator("#declare .flashes")
    expect(flashes).to_contain_text("Đã khai báo 2 việc.")
    box = flashes.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    phone.assert_clean(allow=[re.compile(r"422")])  # the error and the question are 422 answers
