"""Outbound webhooks: a tenant's admin subscribes URLs to events; each event is written to
an outbox in the same transaction as the change it reports, and delivered afterwards,
signed, with retries — so nothing is lost when Redis or the receiver is down.

Rooms: models (subscriptions, deliveries), urls (which addresses may be called), signing
(the signature header), outbox (publish from a service, wake the deliverer), delivery
(send what is due, back off), services (subscriptions and replays, audited), api, views.
"""

EVENTS = ("work_item.completed", "month.scored", "classification.decided", "bonus_run.done")
