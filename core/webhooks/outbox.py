"""Publishing an event: the deliveries are rows added to the caller's transaction, so an
event exists exactly when the change it reports was committed (no event for a rolled-back
write, no change without its event when Redis or the receiver is down). After a request
that published, the deliverer is woken; the scheduler's sweep sends anything left."""

from __future__ import annotations

import json
import logging
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import select

from core.extensions import db
from core.tenancy import current_tenant_id
from core.tenants import config_cache
from core.timeutil import utcnow
from core.webhooks import EVENTS
from core.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)


def _subscriptions(tenant_id: int) -> list[tuple[int, list]]:
    # One query per request for a tenant's subscriptions, however many items it completes.
    cache = g.setdefault("congvu_webhook_subs", {}) if has_request_context() else {}
    if tenant_id not in cache:
        cache[tenant_id] = config_cache.kept("webhook_subscriptions", None, lambda: tuple(
            (sid, tuple(events or ())) for sid, events in db.session.execute(
                select(WebhookSubscription.id, WebhookSubscription.events).where(WebhookSubscription.active.is_(True)))))
    return cache[tenant_id]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def publish(event: str, data: dict[str, Any]) -> int:
    """Add a delivery of `event` for each of the tenant's subscriptions to it; returns how many."""
    assert event in EVENTS, event
    tenant_id = current_tenant_id()
    subs = [sid for sid, events in _subscriptions(tenant_id) if event in (events or [])]
    if not subs:
        return 0
    from core.tenants.models import Tenant

    tenant = db.session.get(Tenant, tenant_id)
    now = utcnow().replace(microsecond=0)
    payload = {"event": event, "tenant": tenant.slug if tenant else str(tenant_id),
               "occurred_at": now.isoformat(), "data": json.loads(json.dumps(data, default=_plain))}
    db.session.add_all([WebhookDelivery(tenant_id=tenant_id, subscription_id=sid, event=event, payload=payload,
                                        next_attempt_at=now) for sid in subs])
    if has_request_context():
        g.congvu_webhook_wake = True
    return len(subs)


def wake_after_request(response):
    """Send the request's deliveries now rather than at the next sweep (best effort)."""
    if g.pop("congvu_webhook_wake", False) and response.status_code < 400:
        wake()
    return response


def wake() -> None:
    """With Redis, a job on the default queue; without (the embedded setup), a thread of
    this process. CONGVU_WEBHOOKS_WAKE=off leaves everything to the sweep (tests)."""
    if not has_app_context() or current_app.config.get("CONGVU_WEBHOOKS_WAKE", "on") == "off":
        return
    from core.webhooks import delivery

    redis_url = current_app.config.get("CONGVU_REDIS_URL")
    if redis_url:
        try:
            from redis import Redis
            from rq import Queue

            from core.jobs.queues import queue_name

            Queue(queue_name("default"), connection=Redis.from_url(redis_url)).enqueue(
                delivery.deliver_all, job_timeout=600, result_ttl=3600)
        except Exception:  # noqa: BLE001 - Redis down: the rows wait for the sweep
            log.warning("could not wake the webhook deliverer; the sweep will send", exc_info=True)
        return
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                delivery.deliver_all()
            finally:
                db.session.remove()

    threading.Thread(target=run, name="congvu-webhooks", daemon=True).start()
