"""Browser fixtures: the real app on a real port, driven by Debian's headless chromium.

The live server is werkzeug's own (threaded, so the browser's parallel requests for
the page, its stylesheet and its script are served as a real server would) on
127.0.0.1 with a port the OS chooses. It serves `clean_app` seeded with the demo
province, so these tests run on SQLite and on PostgreSQL like the rest of the suite.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from core import PROJECT_ROOT, unit_of_work
from core.demo import DEMO_PASSWORD, SLUG, build_demo
from core.extensions import db

CHROMIUM = Path(os.environ.get("CONGVU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


@dataclass
class LiveServer:
    url: str
    app: object
    backend: str

    def page_url(self, path: str) -> str:
        return self.url + path


class QuietHandler(WSGIRequestHandler):
    """No access-log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-") -> None:
        pass


@pytest.fixture
def live_server(clean_app, backend) -> Iterator[LiveServer]:
    """The app, seeded with the demo province, served on 127.0.0.1:<free port>."""
    with clean_app.app_context():
        build_demo()
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


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session; missing chromium fails in CI, skips elsewhere."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"{CHROMIUM} not found: install Debian's chromium (`make browser-deps`) to run the browser tests"
        if IN_CI:
            pytest.fail(f"{message} (required in CI)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What went wrong in the page: console errors, uncaught exceptions, failed requests
    and error answers to sub-resources (the document's own status is the test's business)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return self.console_errors + self.page_errors + self.failed_requests + self.bad_responses


def _watch(page) -> Watch:
    watch = Watch()

    def on_console(msg) -> None:
        if msg.type in ("error", "warning"):
            watch.console_errors.append(f"console.{msg.type}: {msg.text}")

    def on_response(response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            watch.bad_responses.append(f"{response.status} {response.url}")

    def on_request_failed(request) -> None:
        # ERR_ABORTED is the browser dropping a still-loading request (typically the
        # favicon) because the test navigated on; a broken or blocked resource fails
        # with another reason, or answers with an error status.
        if request.failure != "net::ERR_ABORTED":
            watch.failed_requests.append(f"requestfailed: {request.method} {request.url} ({request.failure})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watch.page_errors.append(f"pageerror: {exc}"))
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    return watch


@dataclass
class Browsing:
    """A fresh browser context (no cookies) with its page and its watch."""

    server: LiveServer
    page: object
    watch: Watch
    shots: list[Path] = field(default_factory=list)

    def goto(self, path: str):
        return self.page.goto(self.server.page_url(path), wait_until="load")

    def login(self, username: str, password: str = DEMO_PASSWORD, tenant: str = SLUG):
        self.goto("/login")
        self.page.select_option("#tenant", tenant)
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        with self.page.expect_navigation(wait_until="load"):
            self.page.click("main button[type=submit]")

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        """The first screen (what a user sees on arrival), or the whole page."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.server.backend}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        return path

    def scroll_width(self) -> int:
        return self.page.evaluate("document.documentElement.scrollWidth")

    def assert_clean(self, allow: list[re.Pattern] = ()) -> None:
        """No console error or warning, uncaught exception, failed request or error answer,
        except messages matching `allow` (a test that expects, say, a 401 page)."""
        problems = [p for p in self.watch.problems() if not any(a.search(p) for a in allow)]
        assert problems == [], "the page reported problems"


def _browsing(browser, live_server: LiveServer, viewport: dict) -> Iterator[Browsing]:
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield Browsing(live_server, page, _watch(page))
    finally:
        context.close()


@pytest.fixture
def desktop(browser, live_server) -> Iterator[Browsing]:
    yield from _browsing(browser, live_server, DESKTOP)


@pytest.fixture
def phone(browser, live_server) -> Iterator[Browsing]:
    yield from _browsing(browser, live_server, PHONE)
