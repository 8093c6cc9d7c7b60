"""Every page that picks a month offers the same select of months, each reading "tháng
MM/YYYY" whatever the browser's language, and reads a typed "12/2026" as well as 2026-12."""

from __future__ import annotations

import re

import pytest

from tests.admin.test_admin_pages import csrf, sign_in
from tests.factories import build_world


@pytest.fixture
def admin(clean_app, client, clock):
    world = build_world(clean_app, "tinh-m", client)
    sign_in(clean_app, client, world, "admin")
    return world


def picker(html: str, id_: str) -> tuple[str, list[str]]:
    """The selected month and every option's label of the select `id_`."""
    found = re.search(rf'<select id="{id_}" name="period"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no month select {id_}"
    options = re.findall(r'<option value="(\d{4}-\d{2})"( selected)?>([^<]*)</option>', found.group(1))
    selected = [value for value, chosen, _ in options if chosen]
    return (selected[0] if selected else ""), [label for _, _, label in options]


@pytest.mark.parametrize(("path", "id_", "chosen"), [
    ("/t/tinh-m/me", "period-input", "2026-10"),  # the clock's month (14 Oct 2026)
    ("/t/tinh-m/me?period=12/2025", "period-input", "2025-12"),
    ("/t/tinh-m/me?period=th%C3%A1ng%203/2026", "period-input", "2026-03"),
    ("/t/tinh-m/me?period=2026-07", "period-input", "2026-07"),
    ("/t/tinh-m/admin/what-if", "period", "2026-09"),
    ("/t/tinh-m/admin/what-if?period=8/2026", "period", "2026-08"),
    ("/t/tinh-m/admin/imports", "period", "2026-09"),  # exports start on last month
    ("/t/tinh-m/jobs", "recalc-period", "2026-10"),
])
def test_each_month_picker_reads_thang_mm_yyyy(client, admin, path, id_, chosen):
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'type="month"' not in html
    selected, labels = picker(html, id_)
    assert selected == chosen
    # Newest first: the clock's month (none to come: they have nothing to show) down to
    # three years back.
    assert labels[0] == "tháng 10/2026" and "tháng 10/2023" in labels and "tháng 09/2023" not in labels
    assert all(re.fullmatch(r"tháng \d{2}/\d{4}", label) for label in labels)


def test_a_month_outside_the_window_is_still_offered(client, admin):
    _, labels = picker(client.get("/t/tinh-m/me?period=2019-05").get_data(as_text=True), "period-input")
    assert "tháng 05/2019" in labels
    selected, labels = picker(client.get("/t/tinh-m/me?period=2027-02").get_data(as_text=True), "period-input")
    assert selected == "2027-02" and labels[:2] == ["tháng 02/2027", "tháng 10/2026"]


@pytest.mark.parametrize(("page", "now", "later", "earlier", "its_next"), [
    ("/t/tinh-m/me", "2026-10", "2026-11", "2026-09", "2026-10"),
    ("/t/tinh-m/me/trend", "2026-10", "2026-11", "2026-09", "2026-10"),
    ("/t/tinh-m/dashboard/unit", "2026-10", "2026-11", "2026-09", "2026-10"),
    ("/t/tinh-m/dashboard/province", "2026-Q4", "2027-Q1", "2026-Q3", "2026-Q4"),
])
def test_the_period_navigation_stops_at_the_period_under_way(client, admin, page, now, later, earlier, its_next):
    """No link or option leads past the month (or quarter) under way; an earlier one still
    links to the next."""
    html = client.get(f"{page}?period={now}").get_data(as_text=True)
    assert f"period={later}" not in html and f'value="{later}"' not in html
    assert f"period={its_next}" in client.get(f"{page}?period={earlier}").get_data(as_text=True)


def test_english_reads_mm_yyyy_and_a_bad_month_is_a_vietnamese_400(client, admin):
    selected, labels = picker(client.get("/t/tinh-m/me?period=12/2025&lang=en").get_data(as_text=True),
                              "period-input")
    assert selected == "2025-12" and labels[0] == "10/2026"
    client.get("/t/tinh-m/me?lang=vi")
    bad = client.get("/t/tinh-m/me?period=13/2026")
    assert bad.status_code == 400 and "Không phải một tháng" in bad.get_data(as_text=True)


def test_what_if_and_the_scores_export_take_a_typed_month(client, admin):
    page = client.get("/t/tinh-m/admin/what-if").get_data(as_text=True)
    response = client.post("/t/tinh-m/admin/what-if", data={"csrf_token": csrf(page), "key": "decree335",
                                                            "period": "10/2026"})
    assert response.status_code == 200 and "Xem trước tháng 10/2026" in response.get_data(as_text=True)
    export = client.get("/t/tinh-m/admin/exports/scores?period=9/2026&format=csv")
    assert export.status_code == 200 and "diem-2026-09" in export.headers["Content-Disposition"]
