"""Webhook subscriptions and their deliveries (api.md, "Data in and out")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member, path_object
from core.webhooks import services
from core.webhooks.models import WebhookDelivery, WebhookSubscription
from core.webhooks.outbox import wake
from core.webhooks.schemas import (
    DeliveryArgs,
    DeliverySchema,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionPatch,
    SubscriptionSchema,
)

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/tenants/<t>", description="Outbound webhooks")
ADMIN = "tenant_admin"


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self, t):
        """The tenant's subscriptions (never their secrets)."""
        api_member(ADMIN, "auditor")
        return services.subscriptions()

    @blp.arguments(SubscriptionIn)
    @blp.response(201, SubscriptionCreated)
    def post(self, data, t):
        """Subscribe a URL to events; the answer holds the signing secret, once."""
        principal = api_member(ADMIN)
        sub = services.create(data["url"], data["events"], data.get("description"), principal.actor)
        unit_of_work.commit()
        return sub


@blp.route("/webhooks/<int:webhook_id>")
class WebhookOne(MethodView):
    @blp.response(200, SubscriptionSchema)
    def get(self, t, webhook_id):
        api_member(ADMIN, "auditor")
        return services.find_subscription(webhook_id)

    @blp.arguments(SubscriptionPatch)
    @blp.response(200, SubscriptionSchema)
    def patch(self, data, t, webhook_id):
        """Change the URL or events, pause (`active: false`) or resume."""
        api_member(ADMIN)
        sub = services.update(services.find_subscription(webhook_id), data)
        unit_of_work.commit()
        return sub

    @blp.response(204)
    def delete(self, t, webhook_id):
        """Remove a subscription and its delivery log (the audit trail keeps the removal)."""
        api_member(ADMIN)
        services.delete(services.find_subscription(webhook_id))
        unit_of_work.commit()


@blp.route("/webhooks/<int:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.arguments(DeliveryArgs, location="query")
    @blp.response(200, DeliverySchema(many=True))
    def get(self, args, t, webhook_id):
        """The delivery log, newest first, 50 a page (X-Total-Count)."""
        api_member(ADMIN, "auditor")
        rows, total = services.deliveries(services.find_subscription(webhook_id), args["page"])
        return rows, 200, {"X-Total-Count": str(total)}


@blp.route("/webhook-deliveries/<int:delivery_id>/replay")
class WebhookReplay(MethodView):
    @blp.response(202, DeliverySchema)
    def post(self, t, delivery_id):
        """Send a delivery again (a new delivery; the old one keeps its log)."""
        api_member(ADMIN)
        again = services.replay(services.find_delivery(delivery_id))
        unit_of_work.commit()
        wake()
        return again


path_object("webhook_id", WebhookSubscription)
path_object("delivery_id", WebhookDelivery)
