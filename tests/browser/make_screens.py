"""The README's screenshots: each role's main page of the demo, first screen, at phone
(390×844) and desktop (1366×768) width, into docs/screens/.

    .venv/bin/congvu demo && .venv/bin/flask --app wsgi run --port 5000 &
    .venv/bin/python -m tests.browser.make_screens http://127.0.0.1:5000

Not a test: the browser tests check these pages; this only photographs them.
"""

from __future__ import annotations

import sys

from core import PROJECT_ROOT
from core.demo import DEMO_PASSWORD, SLUG
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

OUT = PROJECT_ROOT / "docs" / "screens"
SIZES = ((390, 844), (1366, 768))
# (file name, login, page)
SHOTS = (
    ("employee-today", "snv-p1-cv-02", f"/t/{SLUG}/today"),
    ("employee-me", "snv-p1-cv-02", f"/t/{SLUG}/me"),
    ("manager-unit", "truongphong", f"/t/{SLUG}/unit"),
    ("admin-admin", "admin", f"/t/{SLUG}/admin/"),
    ("admin-evaluation", "admin", f"/t/{SLUG}/evaluation"),
    ("auditor-audit", "thanhtra", f"/t/{SLUG}/admin/audit"),
)


def main(base: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width, height in SIZES:
            for name, username, path in SHOTS:
                context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
                page = context.new_page()
                page.goto(base + "/login")
                page.select_option("#tenant", SLUG)
                page.fill("#username", username)
                page.fill("#password", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / f"{name}-{width}.png"))
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:5000")
