"""Sending what is due. Rows are claimed in a short transaction (a lease: next_attempt_at
moves a minute ahead, `FOR UPDATE SKIP LOCKED` on PostgreSQL so two deliverers never take
the same row), sent with no transaction open, then their outcome is written. A failure
backs off exponentially; after MAX_ATTEMPTS the delivery is marked failed and waits for a
person to replay it. A deliverer killed mid-send leaves the lease to expire: the row is
sent again (receivers deduplicate on X-Congvu-Delivery)."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from core import outbound as urls
from core import unit_of_work
from core.extensions import db
from core.tenancy import tenant_context, unscoped
from core.timeutil import utcnow
from core.webhooks import signing
from core.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 6 h: about 2 h of trying before 'failed'."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to an address the URL check refused: it counts as a failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _claim() -> list[int]:
    now = utcnow()
    stmt = (select(WebhookDelivery).where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.id).limit(BATCH))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = db.session.scalars(stmt).all()
    for row in rows:
        row.next_attempt_at = now + LEASE
    unit_of_work.commit()
    return [r.id for r in rows]


@dataclass(frozen=True)
class _Target:
    """What sending needs of a subscription, read before the transaction ends: no ORM
    object is touched (and reloaded, a query each) while waiting on receivers."""

    url: str
    secret: str
    refused: str | None  # why the address may not be called now, checked once a batch


@dataclass(frozen=True)
class _Message:
    id: int
    event: str
    raw: bytes


def _target(sub: WebhookSubscription | None) -> _Target | None:
    if sub is None or not sub.active:
        return None
    try:
        urls.check(sub.url)
        refused = None
    except urls.UnsafeUrl as exc:
        refused = f"refused: {exc}"
    return _Target(sub.url, sub.secret, refused)


def _send(target: _Target, message: _Message) -> tuple[int | None, str | None]:
    """(HTTP status, error) of one attempt; 2xx is success."""
    if target.refused:
        return None, target.refused
    stamp = int(time.time())
    request = urllib.request.Request(target.url, data=message.raw, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "congvu-webhooks/1",
        signing.HEADER: signing.signature(target.secret, stamp, message.raw),
        "X-Congvu-Event": message.event, "X-Congvu-Delivery": str(message.id)})
    timeout = float(current_app.config.get("CONGVU_WEBHOOKS_TIMEOUT", 5))
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def _rows(ids: list[int]) -> list[WebhookDelivery]:
    return list(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                                   .order_by(WebhookDelivery.id)))


def deliver_due() -> dict[str, int]:
    """Send the current tenant's due deliveries; returns counts by outcome."""
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    while True:
        ids = _claim()
        if not ids:
            return counts
        rows = _rows(ids)
        subs = db.session.scalars(select(WebhookSubscription).where(
            WebhookSubscription.id.in_({r.subscription_id for r in rows})))
        targets = {s.id: _target(s) for s in subs}
        jobs = [(targets.get(r.subscription_id), _Message(r.id, r.event, signing.body(r.payload))) for r in rows]
        unit_of_work.commit()  # no transaction stays open while we wait on receivers
        outcomes = {message.id: ((None, "subscription removed or paused", True) if target is None
                                 else (*_send(target, message), False)) for target, message in jobs}
        for row in _rows(list(outcomes)):  # one read for the batch's outcomes
            status, error, drop = outcomes[row.id]
            row.attempts += 1
            row.last_status, row.last_error = status, error
            if status is not None and 200 <= status < 300:
                row.status, row.delivered_at = "delivered", utcnow()
                counts["delivered"] += 1
            elif drop or row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                counts["failed"] += 1
                log.warning("webhook delivery %s failed for good: %s", row.id, error)
            else:
                row.next_attempt_at = utcnow() + backoff(row.attempts)
                counts["retry"] += 1
        unit_of_work.commit()


def deliver_all() -> dict[str, Any]:
    """Every active tenant's due deliveries (the wake-up job and the scheduler's sweep)."""
    from core.tenants.models import Tenant

    with unscoped():
        tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)))
    total: dict[str, Any] = {}
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            try:
                total[str(tenant_id)] = deliver_due()
            except Exception:  # noqa: BLE001 - one tenant's trouble does not stop the others
                db.session.rollback()
                log.exception("webhook delivery failed for tenant %s", tenant_id)
    return total
