""""Webhook" in a real browser at phone size: the Sở Nội vụ admin subscribes a receiver,
copies the secret shown once, and reads the delivery log; nothing runs sideways."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from core.demo import SLUG
from core.extensions import db
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.webhooks.models import WebhookSubscription


def test_the_admin_subscribes_on_a_phone(phone, live_server, monkeypatch):
    app = live_server.app
    monkeypatch.setitem(app.config, "CONGVU_OUTBOUND_ALLOW_PRIVATE", 1)
    monkeypatch.setitem(app.config, "CONGVU_WEBHOOKS_WAKE", "off")
    phone.page.set_viewport_size({"width": 390, "height": 844})
    phone.login("admin")
    phone.goto(f"/t/{SLUG}/admin")
    with phone.page.expect_navigation(wait_until="load"):
        phone.page.get_by_role("link", name="Webhook").click()
    assert phone.page.locator("h1").inner_text() == "Webhook"
    phone.page.get_by_text("Đăng ký mới").click()
    # (127.0.0.1 is this server itself, which is refused; the operator's switch lets a
    # private address such as 127.0.0.2 through.) Nothing ticked: the form says so beside
    # the events, and keeps the address typed.
    phone.page.fill("#url", "http://127.0.0.2:9/nhan-su-kien")
    with phone.page.expect_navigation(wait_until="load"):
        phone.page.get_by_role("button", name="Đăng ký", exact=True).click()
    assert "Chọn ít nhất một sự kiện." in phone.page.inner_text("main")
    assert phone.page.input_value("#url") == "http://127.0.0.2:9/nhan-su-kien"
    phone.page.get_by_label("Một công việc được hoàn thành").check()
    with phone.page.expect_navigation(wait_until="load"):
        phone.page.get_by_role("button", name="Đăng ký", exact=True).click()
    secret = phone.page.locator("code.secret").inner_text()
    assert secret.startswith("whsec_") and "không hiển thị lại" in phone.page.inner_text("#created")
    assert phone.scroll_width() <= 390
    phone.screenshot("webhooks-created-390")
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_context(tid):
            sub = db.session.scalars(select(WebhookSubscription)).one()
            assert (sub.secret, sub.events) == (secret, ["work_item.completed"])
            assert json.loads(json.dumps(sub.events)) == ["work_item.completed"]
    with phone.page.expect_navigation(wait_until="load"):
        phone.page.get_by_role("link", name="http://127.0.0.2:9/nhan-su-kien").click()
    assert "Chưa gửi gì." in phone.page.inner_text("main") and secret not in phone.page.content()
    assert phone.scroll_width() <= 390
    phone.screenshot("webhooks-detail-390")
    phone.assert_clean(allow=[re.compile(r"status of 422")])  # the refused form's own answer
