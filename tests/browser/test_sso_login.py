"""Single sign-on in a real browser: the login page's button, the round trip through the
test provider (tests/oidc_provider.py) on its own port, and back signed in; an unknown
person reads why in Vietnamese. Both run clean under the Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core import unit_of_work
from core.auth.models import User
from core.demo import SLUG
from core.extensions import db
from core.org.models import Employee
from core.sso import services
from tests.browser.test_shell import HOME, TENANT_NAME, in_tenant
from tests.oidc_provider import Provider

pytestmark = pytest.mark.browser
CONSOLE_403 = re.compile(r"Failed to load resource: the server responded with a status of 403")


@pytest.fixture(scope="module")
def provider():
    p = Provider().start()
    yield p
    p.stop()


def _configure(server, idp: Provider) -> str:
    """SSO for the demo tenant; returns the full name of the demo employee it will sign in."""
    def run():
        services.save({"enabled": True, "issuer": idp.issuer, "client_id": idp.client_id,
                       "client_secret": idp.client_secret, "claim": "preferred_username", "maps_to": "username",
                       "sso_only": False, "break_glass_username": None, "jit_create": False}, "test", True)
        unit_of_work.commit()
        user_id = db.session.scalar(select(User.id).where(User.username == "snv-p1-cv-02"))
        return db.session.scalar(select(Employee.full_name).where(Employee.user_id == user_id))

    return in_tenant(server, run)


def test_the_sso_button_signs_a_person_in_through_the_provider(desktop, live_server, provider):
    provider.reset()
    name = _configure(live_server, provider)
    provider.claims = {"preferred_username": "snv-p1-cv-02"}
    desktop.goto(f"/login?t={SLUG}")
    button = desktop.page.locator(f'a[data-sso="{SLUG}"]')
    assert button.inner_text().strip() == f"Đăng nhập một lần: {TENANT_NAME}"
    with desktop.page.expect_navigation(url=re.compile(re.escape(live_server.url + HOME)), wait_until="load"):
        button.click()
    assert name in desktop.page.content()
    assert provider.token_requests == 1
    desktop.screenshot("sso-signed-in")
    desktop.assert_clean()


def test_an_unknown_person_reads_why_in_vietnamese(desktop, live_server, provider):
    provider.reset()
    _configure(live_server, provider)
    provider.claims = {"preferred_username": "nguoi-la"}
    desktop.goto(f"/login?t={SLUG}")
    with desktop.page.expect_navigation(url=re.compile(r"/sso/callback"), wait_until="load"):
        desktop.page.locator(f'a[data-sso="{SLUG}"]').click()
    alert = desktop.page.locator("[role=alert]").inner_text()
    assert alert == (f"Tài khoản đăng nhập một lần của bạn (nguoi-la) chưa được liên kết với ai trong {TENANT_NAME}. "
                     "Hãy đề nghị quản trị viên của đơn vị thêm tài khoản đăng nhập cho bạn.")
    desktop.screenshot("sso-unknown-person")
    desktop.assert_clean(allow=[CONSOLE_403])
