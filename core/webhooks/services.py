"""Subscriptions and replays: what a tenant admin does, each write audited."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from sqlalchemy import func, select

from core import outbound as urls
from core.audit.services import record
from core.errors import Invalid
from core.extensions import db
from core.tenants import config_cache
from core.timeutil import utcnow
from core.webhooks import EVENTS, signing
from core.webhooks.models import WebhookDelivery, WebhookSubscription

PAGE = 50


def _own_hosts() -> set[str]:
    hosts = {h.split(":")[0].lower() for h in (current_app.config.get("SERVER_NAME") or "").split(",") if h}
    if has_request_context():
        hosts.add(request.host.split(":")[0].lower())
    return hosts


def _view(sub: WebhookSubscription) -> dict:
    return {"url": sub.url, "events": list(sub.events), "active": sub.active, "description": sub.description}


def validate(url: str | None, events: list[str] | None, partial: bool = False) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if url is not None or not partial:
        try:
            urls.check((url or "").strip(), _own_hosts())
        except urls.UnsafeUrl as exc:
            errors["url"] = [str(exc)]
    if events is not None or not partial:
        unknown = [e for e in events or [] if e not in EVENTS]
        if not events:
            errors["events"] = ["Choose at least one event."]
        elif unknown:
            errors["events"] = [f"Unknown event: {', '.join(unknown)}."]
    return errors


def subscriptions() -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def find_subscription(webhook_id: int) -> WebhookSubscription | None:
    """The tenant's subscription by id (the ORM's tenant filter applies), or None."""
    return db.session.get(WebhookSubscription, webhook_id)


def find_delivery(delivery_id: int) -> WebhookDelivery | None:
    """The tenant's delivery by id (the ORM's tenant filter applies), or None."""
    return db.session.get(WebhookDelivery, delivery_id)


def create(url: str, events: list[str], description: str | None, actor: str) -> WebhookSubscription:
    errors = validate(url, events)
    if errors:
        raise Invalid("Some fields are invalid.", errors)
    sub = WebhookSubscription(url=url.strip(), events=sorted(set(events)), description=description or None,
                              secret=signing.new_secret(), active=True, created_by=actor)
    config_cache.changed()
    db.session.add(sub)
    db.session.flush()
    record("webhook.create", "webhook", sub.id, after=_view(sub))  # never the secret
    return sub


def update(sub: WebhookSubscription, data: dict) -> WebhookSubscription:
    errors = validate(data.get("url"), data.get("events"), partial=True)
    if errors:
        raise Invalid("Some fields are invalid.", errors)
    before = _view(sub)
    config_cache.changed()
    if "url" in data:
        sub.url = data["url"].strip()
    if "events" in data:
        sub.events = sorted(set(data["events"]))
    if "active" in data:
        sub.active = bool(data["active"])
    if "description" in data:
        sub.description = data["description"] or None
    record("webhook.update", "webhook", sub.id, before=before, after=_view(sub))
    return sub


def delete(sub: WebhookSubscription) -> None:
    record("webhook.delete", "webhook", sub.id, before=_view(sub))
    config_cache.changed()
    db.session.execute(WebhookDelivery.__table__.delete().where(
        WebhookDelivery.tenant_id == sub.tenant_id, WebhookDelivery.subscription_id == sub.id))
    db.session.delete(sub)


def deliveries(sub: WebhookSubscription, page: int = 1) -> tuple[list[WebhookDelivery], int]:
    where = (WebhookDelivery.subscription_id == sub.id,)
    total = db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = db.session.scalars(select(WebhookDelivery).where(*where).order_by(WebhookDelivery.id.desc())
                              .limit(PAGE).offset((max(page, 1) - 1) * PAGE)).all()
    return list(rows), total


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again as a new row (the log keeps every attempt of the old one)."""
    sub = db.session.get(WebhookSubscription, delivery.subscription_id)
    if sub is None or not sub.active:
        raise Invalid("The subscription is paused; resume it first.", {"subscription": ["paused"]})
    again = WebhookDelivery(subscription_id=delivery.subscription_id, event=delivery.event,
                            payload=delivery.payload, replay_of=delivery.id, next_attempt_at=utcnow())
    db.session.add(again)
    db.session.flush()
    record("webhook.replay", "webhook_delivery", again.id, after={"replay_of": delivery.id, "event": delivery.event})
    return again
