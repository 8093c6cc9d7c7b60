"""Inline progress bars in a real browser (issue 9), both databases: a job started from
its page shows its bar there, polled by htmx every second until done, then a summary
and a link to the result; the polling stops; no console error, failed request or
inline script (the CSP allows none). Without Redis jobs run inline, so a bar started
from a page is done when the page comes back; a running job is made in the database
and finished behind the browser's back to see the bar follow it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.demo import SLUG
from core.extensions import db
from core.jobs.models import JobRun
from tests.browser.test_classification_year import seed_totals
from tests.browser.test_work_day import in_tenant

pytestmark = pytest.mark.browser

T = f"/t/{SLUG}"
PERIOD = "2026-10"
RUN_ID = "00000000-0000-4000-8000-0000000000b1"


def no_inline_script(page) -> None:
    assert page.locator("script:not([src])").count() == 0


def test_a_recalculation_started_from_the_jobs_page_shows_its_bar_done(desktop):
    page = desktop.page
    desktop.login("admin")
    desktop.goto(f"{T}/jobs")
    page.select_option("#recalc-period", PERIOD)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Tính lại", exact=True).click()
    bar = page.locator("div.job-inline")
    expect(bar).to_have_count(1)
    expect(bar.locator(".status")).to_have_text("hoàn thành")
    assert bar.locator("progress").get_attribute("value") == "100"
    assert bar.get_attribute("hx-trigger") is None  # done: nothing polls
    expect(bar.locator(".job-done")).to_contain_text("Đã chấm")
    job_id = bar.get_attribute("id").removeprefix("job-inline-")
    no_inline_script(page)
    desktop.screenshot("jobs-inline-bar-desktop")
    # The fragment the bar polls, on its own (fetched with the page's cookies: opened as a
    # document it has no icon link, and chromium's /favicon.ico guess would be a 404).
    response = page.request.get(desktop.server.page_url(f"{T}/jobs/{job_id}/bar?inline=1"))
    assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"]
    fragment = response.text()
    assert 'value="100"' in fragment and "<html" not in fragment and "hx-trigger" not in fragment
    desktop.goto(f"{T}/jobs?job={job_id}")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Xem điểm của tháng").click()
    assert page.locator("h1").inner_text().startswith("Bảng điều khiển toàn tỉnh")
    desktop.assert_clean()


def test_a_running_job_s_bar_follows_it_to_the_end_and_stops_polling(desktop, live_server):
    def running() -> None:
        db.session.add(JobRun(id=RUN_ID, key="recalculation:2026-09", kind="recalculation", scope="2026-09",
                              params={"period": "2026-09"}, requested_by="user:admin", status="running",
                              done=1, total=4, stage="scoring"))

    def finished() -> None:
        run = db.session.get(JobRun, RUN_ID)
        run.status, run.done, run.result = "finished", 4, {"period": "2026-09", "items": 4, "employees": 2}

    in_tenant(live_server, running, commit=True)
    page = desktop.page
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if f"/jobs/{RUN_ID}/bar" in r.url else None)
    desktop.login("admin")
    desktop.goto(f"{T}/jobs?job={RUN_ID}")
    bar = page.locator(f"#job-inline-{RUN_ID}")
    expect(bar.locator(".status")).to_have_text("đang chạy")
    assert bar.locator("progress").get_attribute("value") == "25"
    expect(page.locator(f"#job-inline-{RUN_ID}")).to_have_attribute("hx-trigger", "every 1s")
    page.wait_for_timeout(2500)
    assert len(polls) >= 2  # htmx asks again every second
    in_tenant(live_server, finished, commit=True)
    expect(bar.locator(".status")).to_have_text("hoàn thành", timeout=5000)
    expect(bar.locator("progress")).to_have_attribute("value", "100")
    expect(bar.locator(".job-done")).to_contain_text("Đã chấm 4 việc của 2 người.")
    expect(bar.get_by_role("link", name="Xem điểm của tháng")).to_be_visible()
    settled = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == settled  # finished: the polling stopped
    no_inline_script(page)
    desktop.screenshot("jobs-inline-bar-polled-desktop")
    desktop.assert_clean()


def test_a_classification_run_shows_its_bar_on_the_province_page(desktop, live_server):
    in_tenant(live_server, seed_totals, commit=True)
    page = desktop.page
    desktop.login("admin")
    desktop.goto(f"{T}/classification/province?year=2026")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Chạy xếp loại").click()
    assert re.search(r"job=[0-9a-f-]{36}", page.url)
    bar = page.locator("div.job-inline")
    expect(bar.locator(".status")).to_have_text("hoàn thành")
    assert bar.locator("progress").get_attribute("value") == "100"
    expect(bar.locator(".job-done")).to_contain_text("Đã xếp loại")
    no_inline_script(page)
    desktop.screenshot("classification-inline-bar-desktop")
    desktop.assert_clean()
