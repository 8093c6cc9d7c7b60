"""Every role's pages on the lived-in demo (with its work: last month closed, this month
to date), at 390×844 (and each role's first pages at 1366×768): each page answers without an error, the browser
reports nothing (console errors, failed or refused sub-requests), nothing scrolls
sideways on the phone, every day box reads dd/mm/yyyy with its calendar button, and
the long admin lists stay a few phone screens long.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from core import unit_of_work
from core.auth.models import User
from core.demo import SLUG, build_demo
from core.extensions import db
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from tests.browser.conftest import Browsing, LiveServer, QuietHandler, _watch

pytestmark = pytest.mark.browser
SIZES = ({"width": 390, "height": 844}, {"width": 1366, "height": 768})
T = f"/t/{SLUG}"
PAGES = {
    "snv-p1-cv-02": ["/", "/today", "/me", "/me/trend", "/classification", "/evaluation", "/documents"],
    "truongphong": ["/", "/unit", "/dashboard/unit", "/today", "/me", "/classification/unit"],
    "admin": ["/", "/admin/", "/admin/users", "/admin/audit", "/admin/employees", "/admin/employees/new",
              "/admin/units", "/admin/positions", "/admin/task-types", "/admin/task-types/new",
              "/admin/competencies", "/admin/calendar", "/admin/periods", "/admin/what-if", "/admin/components",
              "/admin/components/scoring_variant/decree335", "/admin/imports", "/admin/deputies", "/jobs",
              "/dashboard/province", "/documents"],
    "thanhtra": ["/", "/admin/audit", "/dashboard/province"],
}
DAY = re.compile(r"^(\d{2}/\d{2}/\d{4})?$")
# Phone heights (px) the long lists stay under: 25 logins and 50 audit events a page as
# two-line rows (before paging they were about 17,000 and 18,500 px).
PHONE_HEIGHT = {"/admin/users": 4_500, "/admin/audit": 6_500}


@pytest.fixture
def lived_in(clean_app, backend) -> Iterator[LiveServer]:
    with clean_app.app_context():
        build_demo(with_work=True)
        unit_of_work.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, clean_app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", clean_app, backend.name)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _logins(app) -> int:
    with app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tenant_id):
            return db.session.scalar(select(func.count()).select_from(User))


def _watch_again(walk: Browsing):
    """A clean slate for the next page (the listeners stay; the lists are emptied)."""
    for seen in (walk.watch.console_errors, walk.watch.page_errors, walk.watch.failed_requests,
                 walk.watch.bad_responses):
        seen.clear()
    return walk.watch


def _open(browser, server: LiveServer, size: dict):
    """A fresh context of an English-speaking browser (the pages stay Vietnamese)."""
    context = browser.new_context(viewport=size, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, Browsing(server, page, _watch(page))


def test_every_role_walks_its_pages_clean_at_both_sizes(browser, lived_in):
    problems: list[str] = []
    for size in SIZES:
        for username, pages in PAGES.items():
            context, walk = _open(browser, lived_in, size)
            walk.login(username)
            # Every page on the phone; on the desktop each role's first pages (its daily ones).
            for path in pages if size["width"] == 390 else pages[:3]:
                url = T + path if path != "/" else "/"
                response = walk.goto(url)
                walk.page.wait_for_load_state("networkidle")
                where = f"{username} {size['width']} {path}"
                if response.status >= 400:
                    problems.append(f"{where}: {response.status}")
                problems += [f"{where}: {p}" for p in walk.watch.problems()]
                walk.watch = _watch_again(walk)
                if walk.page.locator("html").get_attribute("lang") != "vi":
                    problems.append(f"{where}: not in Vietnamese")
                if size["width"] == 390:
                    if walk.scroll_width() > 390:
                        problems.append(f"{where}: {walk.scroll_width()} px wide")
                    height = walk.page.evaluate("document.documentElement.scrollHeight")
                    if height > PHONE_HEIGHT.get(path, 10**9):
                        problems.append(f"{where}: {height} px tall")
                boxes = walk.page.locator("input[data-day]")
                for i in range(boxes.count()):
                    box = boxes.nth(i)
                    if not DAY.match(box.input_value()) or box.get_attribute("placeholder") != "dd/mm/yyyy":
                        problems.append(f"{where}: day box {box.get_attribute('name')} = {box.input_value()!r}")
                    picker = box.locator("xpath=following-sibling::button[@class='day-pick']")
                    if picker.count() != 1 or picker.get_attribute("aria-label") != "Chọn ngày":
                        problems.append(f"{where}: day box {box.get_attribute('name')} without its calendar")
            context.close()
    assert problems == []


def test_logins_are_paged_on_a_phone(browser, lived_in):
    total = _logins(lived_in.app)
    assert total > 300  # the demo's province: some 320 logins
    context, phone = _open(browser, lived_in, SIZES[0])
    page = phone.page
    phone.login("admin")
    phone.goto(f"{T}/admin/users")
    last = -(-total // 25)
    assert page.locator("table.logins tbody tr").count() == 25
    assert page.locator("h1 .count").inner_text() == f"({total})"
    assert page.locator("nav.pager span").inner_text() == f"Trang 1/{last}"
    with page.expect_navigation(wait_until="load"):
        page.click("nav.pager a[rel=next]")
    assert page.locator("nav.pager span").inner_text() == f"Trang 2/{last}"
    assert page.locator("table.logins tbody tr").count() == 25
    phone.goto(f"{T}/admin/users?page={last}")
    assert page.locator("table.logins tbody tr").count() == total - 25 * (last - 1)
    # A search narrows to one login, unpaged.
    phone.goto(f"{T}/admin/users?q=thanhtra")
    assert page.locator("table.logins tbody tr").count() == 1 and page.locator("nav.pager").count() == 0
    assert phone.scroll_width() <= 390
    phone.assert_clean()
    context.close()
