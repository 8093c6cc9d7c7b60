"""What each role taps at 390×844 on the demo, measured in chromium: the header's links,
the day boxes' calendar buttons, the progress sliders, the period arrows and the manager's
day arrows are 44-px targets; the period arrows stop at the month under way; the admin's
units and positions pages are a few screens with a search that finds a ward or a post, and
the employees list is a page of thirty cards searched without marks. Both databases."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.demo import SLUG
from tests.browser.test_role_walk import _open, lived_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
T = f"/t/{SLUG}"
PHONE = {"width": 390, "height": 844}


def too_small(page, selector: str, least: float = 44) -> list[str]:
    """The visible elements of `selector` less than `least` px tall or wide, described."""
    return page.eval_on_selector_all(selector, """(els, least) => els.filter(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && (r.height < least - .5 || r.width < least - .5);
    }).map(e => { const r = e.getBoundingClientRect();
                  return `${e.tagName}.${e.className} "${(e.innerText || '').trim()}" ${r.width}x${r.height}`; })""", least)


@pytest.fixture
def phone(browser, lived_in):  # noqa: F811
    """A phone on the lived-in demo (its work: the manager's days, the employee's items)."""
    context, walk = _open(browser, lived_in, PHONE)
    try:
        yield walk
    finally:
        context.close()


def test_an_employees_taps_are_44_px(phone):
    page = phone.page
    phone.login("snv-p1-cv-02")
    phone.goto(f"{T}/today")
    assert page.locator(".topbar a").count() >= 3 and page.locator(".day-box > .day-pick").count() > 0
    # A progress slider as today's open items draw it (the demo has none on a weekend).
    page.evaluate("""() => { const s = document.createElement('input'); s.type = 'range';
        s.className = 'slider probe'; document.querySelector('main').append(s); }""")
    assert too_small(page, ".topbar a:not(.skip), .day-box > .day-pick, input[type=range]") == []
    phone.goto(f"{T}/me")
    arrows = page.locator("form.periodnav > a")
    # This month's page goes back, never on to a month that has not begun.
    assert arrows.count() == 1 and "Tháng trước" in arrows.inner_text()
    assert too_small(page, "form.periodnav > a") == []
    # "← tháng 11/2026": the arrow and the month do not run together.
    space = arrows.evaluate("""a => {
        const texts = [...a.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim());
        const box = t => { const r = document.createRange(); r.selectNodeContents(t); return r.getBoundingClientRect(); };
        return box(texts[1]).left - box(texts[0]).right; }""")
    assert space >= 3, space
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()


def test_a_managers_day_arrows_are_44_px(phone):
    page = phone.page
    phone.login("truongphong")
    phone.goto(f"{T}/unit")
    # Today's page goes back a day, never on to a day that has not come.
    assert page.locator(".day-nav a").count() == 1 and "←" in page.locator(".day-nav a").inner_text()
    assert too_small(page, ".day-nav a, .topbar a:not(.skip)") == []
    page.locator(".day-nav a").click()
    expect(page.locator(".day-nav a")).to_have_count(2)
    assert too_small(page, ".day-nav a") == []
    # "Hàng chờ duyệt 49": each count keeps its space from its words (not "duyệt49").
    gaps = page.eval_on_selector_all(".jump a:has(.badge), .segmented a:has(.badge)", """els => els.map(a => {
        const text = [...a.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
        const r = document.createRange(); r.selectNodeContents(text);
        return a.querySelector('.badge').getBoundingClientRect().left - r.getBoundingClientRect().right; })""")
    assert len(gaps) >= 4 and min(gaps) >= 3, gaps
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()


def test_the_admins_units_page_is_a_few_screens_with_a_search(phone):
    page = phone.page
    phone.login("admin")
    phone.goto(f"{T}/admin/units")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2 * PHONE["height"], height  # every unit in one list was 7,300 px
    wards = page.locator("details.unit-group", has_text="Phường")
    wards.locator("> summary").click()
    expect(wards.locator("> ul > li").first).to_be_visible()
    assert too_small(page, "details.unit-group > summary, details.unit-group[open] li a") == []
    page.fill("#unit-q", "cam ranh")
    expect(page).to_have_url(re.compile(r"q=cam(%20|\+)ranh"))
    expect(page.locator("#unit-list li", has_text="Phường Cam Ranh").first).to_be_visible()
    assert page.locator("details.unit-group").count() == 0
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()


def test_the_admins_positions_page_is_a_few_screens_with_a_search(phone):
    page = phone.page
    phone.login("admin")
    phone.goto(f"{T}/admin/positions")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2 * PHONE["height"], height  # sixty positions in one table were 5,700 px
    leaders = page.locator("details.list-fold", has_text="Lãnh đạo")
    leaders.locator("> summary").click()
    expect(leaders.locator("tbody tr").first).to_be_visible()
    assert too_small(page, "details.list-fold > summary, details.list-fold[open] tbody a") == []
    assert phone.scroll_width() <= PHONE["width"]
    page.fill("#position-q", "pho chu tich")
    expect(page).to_have_url(re.compile(r"q=pho(%20|\+)chu(%20|\+)tich"))
    found = page.locator("#position-list tbody tr")
    expect(found.first).to_contain_text("Phó Chủ tịch")
    assert page.locator("details.list-fold").count() == 0
    assert all("chủ tịch" in text.lower() for text in found.all_inner_texts())
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()



def test_the_admins_employees_page_is_a_short_page_with_a_search(phone):
    page = phone.page
    phone.login("admin")
    phone.goto(f"{T}/admin/employees")
    # Thirty of the demo's 300-odd people a page: fifty cards were 6,400 px.
    total = int(page.locator("#results p.muted").inner_text().split("/")[1])
    assert total > 30 and page.locator("#results tbody tr").count() == 30
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6 * PHONE["height"], height
    assert phone.scroll_width() <= PHONE["width"]
    # Each card's name is a 44-px target, and so are the pages' arrows.
    assert too_small(page, ".pager a, #results tbody a") == []
    # Typed without marks, as on a phone with no Vietnamese keyboard.
    page.fill("#q", "nguyen van")
    expect(page).to_have_url(re.compile(r"q=nguyen(%20|\+)van"))
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_contain_text("Nguyễn Văn")
    assert all("Nguyễn Văn" in text for text in rows.all_inner_texts())
    assert phone.scroll_width() <= PHONE["width"]
    phone.assert_clean()


# Everything a finger taps in a page's body: WCAG 2.2's 24×24 CSS px (2.5.8) at least.
TAPPABLE = "main a, main summary, main button, main select"


def test_links_inside_tables_are_24_px_targets_at_least(phone):
    """The inspector's audit log had its actors and objects as 19-px lines of text (a table's
    links): every target of the audit pages, the employees list and the units' pages is now
    24×24 at least, and a row's own link on a phone card (table.stack) is 44 tall."""
    page = phone.page
    phone.login("thanhtra")
    for path in (f"{T}/admin/audit", f"{T}/admin/audit?actor=admin", f"{T}/admin/audit/verify"):
        phone.goto(path)
        assert too_small(page, TAPPABLE, 24) == [], path
    phone.goto(f"{T}/admin/audit")
    # The demo's events name who did them (and what they changed): links inside the table.
    assert page.locator("main td a").count() >= 1
    assert phone.scroll_width() <= PHONE["width"]
    page.context.clear_cookies()
    phone.login("admin")
    phone.goto(f"{T}/admin/units")
    unit = page.locator("main a[href*='/admin/units/']").first.get_attribute("href")
    for path in (f"{T}/admin/employees", f"{T}/admin/units", unit, f"{T}/admin/task-types", f"{T}/admin/audit"):
        phone.goto(path)
        assert too_small(page, TAPPABLE, 24) == [], path
    phone.goto(f"{T}/admin/task-types")
    assert page.locator("table.stack td a").count() > 0 and too_small(page, "table.stack td a") == []
