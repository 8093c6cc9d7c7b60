""""Webhook": a tenant admin's page to subscribe the province's other systems to events,
see every delivery and send one again. Auditors read it."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core import unit_of_work
from core.admin.forms import service_errors
from core.auth.guards import request_principal, tenant_member
from core.errors import ServiceError
from core.webhooks import EVENTS, services
from core.webhooks.outbox import wake

webhook_pages = Blueprint("webhook_pages", __name__, template_folder="templates")

EVENT_LABELS = {
    "work_item.completed": _l("A work item is completed"),
    "month.scored": _l("A month's scores are recalculated"),
    "classification.decided": _l("A classification is decided"),
    "bonus_run.done": _l("A bonus run is done"),
}
STATUS_LABELS = {"pending": _l("waiting"), "delivered": _l("delivered"), "failed": _l("gave up")}


READ, WRITE = ("tenant_admin", "auditor"), ("tenant_admin",)


def _reader(write: bool = False) -> None:
    tenant_member(current_user, *(WRITE if write else READ))


def _found(obj):
    """The row a URL names, or 404 (another tenant's row is not found either)."""
    if obj is None:
        abort(404)
    return obj


def _index(status: int = 200, values: dict | None = None, errors: dict | None = None, created=None):
    return render_template("webhooks/index.html", tenant=g.tenant, subs=services.subscriptions(), events=EVENTS,
                           event_labels=EVENT_LABELS, values=values or {}, errors=errors or {},
                           created=created, may_write=current_user.has_role("tenant_admin")), status


@webhook_pages.get("/t/<t>/admin/webhooks")
@login_required
def index(t):
    _reader()
    return _index()


@webhook_pages.post("/t/<t>/admin/webhooks")
@login_required
def create(t):
    _reader(write=True)
    values = {"url": request.form.get("url", "").strip(), "description": request.form.get("description", "").strip(),
              "events": request.form.getlist("events")}
    try:
        sub = services.create(values["url"], values["events"], values["description"][:200] or None,
                              request_principal().actor)
        unit_of_work.commit()
    except ServiceError as exc:
        unit_of_work.rollback()
        return _index(exc.status, values, service_errors(exc))
    # The secret is shown on this answer only: no redirect, nothing to reload it from.
    return _index(201, created=sub)


@webhook_pages.get("/t/<t>/admin/webhooks/<int:webhook_id>")
@login_required
def detail(t, webhook_id):
    _reader()
    sub = _found(services.find_subscription(webhook_id))
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    rows, total = services.deliveries(sub, page)
    return render_template("webhooks/detail.html", tenant=g.tenant, sub=sub, rows=rows, total=total, page=page,
                           page_size=services.PAGE, event_labels=EVENT_LABELS, status_labels=STATUS_LABELS,
                           may_write=current_user.has_role("tenant_admin"), replayed=request.args.get("replayed"))


@webhook_pages.post("/t/<t>/admin/webhooks/<int:webhook_id>/active")
@login_required
def set_active(t, webhook_id):
    _reader(write=True)
    services.update(_found(services.find_subscription(webhook_id)), {"active": request.form.get("active") == "1"})
    unit_of_work.commit()
    return redirect(url_for("webhook_pages.detail", t=t, webhook_id=webhook_id))


@webhook_pages.post("/t/<t>/admin/webhooks/<int:webhook_id>/delete")
@login_required
def delete(t, webhook_id):
    _reader(write=True)
    if request.form.get("confirm") != "1":
        abort(400, _l("Tick the box to confirm the removal."))
    services.delete(_found(services.find_subscription(webhook_id)))
    unit_of_work.commit()
    return redirect(url_for("webhook_pages.index", t=t))


@webhook_pages.post("/t/<t>/admin/webhooks/deliveries/<int:delivery_id>/replay")
@login_required
def replay(t, delivery_id):
    _reader(write=True)
    delivery = _found(services.find_delivery(delivery_id))
    try:
        again = services.replay(delivery)
        unit_of_work.commit()
    except ServiceError:
        unit_of_work.rollback()
        abort(409, _l("The subscription is paused; resume it first."))
    wake()
    return redirect(url_for("webhook_pages.detail", t=t, webhook_id=delivery.subscription_id, replayed=again.id))
