"""Suspending a province and giving it back (the platform operator's decision).

A suspended tenant keeps every row: its pages answer 423 with a page saying since when
and whom to contact, its API 423 `tenant_suspended`, its logins are refused with the
same words, and the nightly schedule, the webhook sweep and queued jobs pass it by
(they only take "active" tenants). Resuming gives it back exactly as it was, and queues
again the jobs that were refused because of the suspension (only those: a job that
failed for another reason stays failed). Both are recorded in the tenant's own audit
log, naming the operator (or `cli`), the reason and the jobs queued again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from core.audit.services import record
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.timeutil import utcnow

MAX_REASON = 500
log = logging.getLogger(__name__)


def _tenant_for_update(slug: str) -> Tenant:
    from sqlalchemy import select

    # FOR UPDATE: two operators suspending and resuming at once apply one after the other.
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug).with_for_update()
                               .execution_options(congvu_unscoped=True))
    if tenant is None:
        raise NotFound(f"No tenant has the slug {slug}.")
    return tenant


def suspend(slug: str, reason: str) -> Tenant:
    """Suspend an active tenant; Invalid for an empty or too long reason, Conflict when it
    is not active (merged, archived, already suspended). Commits nothing itself."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("Give the reason for the suspension.",
                      {"reason": ["Give the reason for the suspension."]})
    if len(reason) > MAX_REASON:
        raise Invalid(f"The reason is longer than {MAX_REASON} characters.",
                      {"reason": [f"The reason is longer than {MAX_REASON} characters."]})
    tenant = _tenant_for_update(slug)
    if tenant.status != "active":
        raise Conflict(f"Only a tenant in use can be suspended; {slug} is {tenant.status}.", code="tenant_not_active")
    tenant.status, tenant.suspended_at, tenant.suspended_reason = "suspended", utcnow().replace(microsecond=0), reason
    with tenant_context(tenant.id):
        record("tenant.suspend", "tenant", tenant.id, before={"status": "active"},
               after={"status": "suspended", "reason": reason, "since": tenant.suspended_at.isoformat()})
    return tenant


def resume(slug: str) -> tuple[Tenant, list[str]]:
    """Give a suspended tenant back; Conflict when it is not suspended. Also the ids of
    the job runs queued again (core/jobs/runner.py requeue_suspended), for the caller to
    start once it has committed (`runner.send`). Commits nothing itself."""
    from core.jobs.runner import requeue_suspended

    tenant = _tenant_for_update(slug)
    if tenant.status != "suspended":
        raise Conflict(f"{slug} is not suspended.", code="tenant_not_suspended")
    before = {"status": "suspended", "reason": tenant.suspended_reason,
              "since": tenant.suspended_at.isoformat() if tenant.suspended_at else None}
    with tenant_context(tenant.id):
        requeued = requeue_suspended(tenant.suspended_at)
    tenant.status, tenant.suspended_at, tenant.suspended_reason = "active", None, None
    with tenant_context(tenant.id):
        record("tenant.resume", "tenant", tenant.id, before=before,
               after={"status": "active", **({"requeued_jobs": requeued} if requeued else {})})
    if requeued:
        log.info("tenant %s resumed: %d job runs queued again (%s)", slug, len(requeued), ", ".join(requeued))
    return tenant, requeued


def since_text(tenant: Tenant) -> str:
    """The day the suspension began, in the tenant's time zone, dd/mm/yyyy."""
    at: datetime = tenant.suspended_at or utcnow()
    try:
        zone = ZoneInfo(tenant.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Ho_Chi_Minh")
    return at.astimezone(zone).strftime("%d/%m/%Y")


def contact() -> str | None:
    return current_app.config.get("CONGVU_OPERATOR_CONTACT") or None


def suspended_message(tenant: Tenant) -> str:
    """What the tenant's people are told, in their language: since when, and whom to ask."""
    from flask_babel import gettext as _

    since = _("%(name)s is suspended from the platform since %(since)s.", name=tenant.name, since=since_text(tenant))
    who = contact()
    ask = _("Contact the platform operator: %(contact)s.", contact=who) if who else _("Contact the platform operator.")
    return f"{since} {ask}"
