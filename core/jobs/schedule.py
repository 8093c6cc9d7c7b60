"""Scheduled jobs on RQ's own cron (`rq.cron.CronScheduler`, RQ >= 2.5): `congvu
schedule` runs one scheduler process that, at the times below, puts a job on a queue;
the workers run it like any other job.

- every night, per tenant: mark overdue and unreported items (core/work/services/measure.py, sweep);
- every night, per tenant: recalculate the months whose scores are stale (a
  "recalculation" run each, through core/jobs/runner.submit, so they are recorded,
  refused when already running, and retried like those a person starts);
- every night, per tenant that asked for it: close the previous month once its N-th
  working day after month end is over (the tenant setting close_months_after_days),
  through the manual close's own service (scores frozen, audited) — see close_months;
- every few minutes: send again the runs a dead worker or a Redis outage left
  (core/jobs/runner.requeue_abandoned);
- every minute: send the webhook deliveries that are due (core/webhooks/delivery) — the
  ones a request's wake-up missed and the retries after their back-off;
- every five minutes: start a pull of each live source whose interval has passed
  (core/imports/live), as a job of its own.

Cron fields are the scheduler host's local time: deploy/congvu-scheduler.service sets
TZ=Asia/Ho_Chi_Minh. Run one scheduler per installation: two would enqueue each night's
work twice (harmless — runs are deduplicated per tenant, kind and scope — but wasted).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from core import unit_of_work
from core.extensions import db
from core.jobs import runner
from core.tenancy import tenant_context, unscoped

log = logging.getLogger(__name__)

# After midnight in Vietnam, when nobody declares work: the day's flags are final, and a
# recalculation competes with no one for the database.
MARK_OVERDUE_CRON = "30 0 * * *"
RECALCULATE_STALE_CRON = "0 1 * * *"
# Two hours after the stale months' recalculations were sent: normally done by then (a
# stale month is not closed; see close_months).
CLOSE_MONTHS_CRON = "0 3 * * *"
SWEEP_EVERY_SECONDS = 300  # a run lost to a dead worker waits at most this long
SCHEDULER = "scheduler"  # who the scheduled jobs' runs and audit events name


def _active_tenant_ids() -> list[int]:
    from core.tenants.models import Tenant

    with unscoped():
        # A merged tenant is read-only: its items are not flagged nor its months rescored.
        return list(db.session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)))


def _per_tenant(action: Callable[[], Any], what: str) -> dict[str, Any]:
    """Run `action` in each active tenant's context, one transaction each, so one
    tenant's failure (say, a missing plugin) neither rolls back nor stops the others."""
    done: dict[str, Any] = {}
    failed: list[int] = []
    for tenant_id in _active_tenant_ids():
        with tenant_context(tenant_id):
            try:
                done[str(tenant_id)] = action()
                unit_of_work.commit()
            except Exception:  # noqa: BLE001 - logged with its tenant; the next tenant still runs
                unit_of_work.rollback()
                failed.append(tenant_id)
                log.exception("%s failed for tenant %s", what, tenant_id)
    return {"tenants": done, "failed": failed}


def mark_overdue() -> dict[str, Any]:
    """Flag every tenant's open items whose deadline passed or whose report is overdue."""
    from core.work.services.measure import sweep

    return _in_app(lambda: _per_tenant(sweep, "marking overdue items"))


def _submit_stale() -> list[str]:
    from core.scoring.kernel import is_closed
    from core.scoring.models import ScoredPeriod

    periods = db.session.scalars(select(ScoredPeriod.period).where(ScoredPeriod.stale.is_(True))
                                 .order_by(ScoredPeriod.period)).all()
    sent = []
    for period in periods:
        if is_closed(period):
            continue  # frozen: a closed month is only rescored after someone reopens it
        runner.submit("recalculation", period, {"period": period}, SCHEDULER)
        sent.append(period)
    return sent


def recalculate_stale() -> dict[str, Any]:
    """Start a recalculation of each stale month of each tenant."""
    return _in_app(lambda: _per_tenant(_submit_stale, "recalculating stale periods"))


def _close_due_month() -> dict[str, Any]:
    """Close the current tenant's previous month if its schedule says it is time.

    - Off (the default) unless the tenant set close_months_after_days = N: the month
      closes once the N-th working day after its last day (the tenant's calendar) is over,
      so people have N whole working days to finish declaring and reviewing it.
    - Only the previous month: an older month left open was left so on purpose.
    - Idempotent: a closed month is left alone; so is a month an admin reopened after it
      was closed (the audit log says so) — the scheduler does not close it again behind
      them; they close it by hand when done.
    - Never frozen provisional: a month in which someone's general criteria are not set
      is not closed (reason "general criteria missing: N"); the admin closes it by hand.
    - Never frozen stale: a month whose scores are stale, or whose recalculation is queued
      or running, is not closed. Its recalculation is sent (deduplicated: the 01:00 run's,
      if still going, is the one); when it finished at once (no Redis: runs inline) the
      month is closed now, otherwise the next night's run closes it.
    """
    from core.audit.models import AuditEvent
    from core.scoring import services as scoring
    from core.scoring.kernel import is_closed, month_of
    from core.scoring.models import ScoredPeriod
    from core.tenants.services import close_months_after_days
    from core.work import calendar as cal

    days = close_months_after_days()
    if days is None:
        return {"closed": None, "reason": "off"}
    today = cal.local_today()
    last_day = today.replace(day=1) - timedelta(days=1)
    period = month_of(last_day)
    due = cal.WorkCalendar.load(last_day, last_day + timedelta(days=1)).add_working_days(last_day, days)
    if today <= due:
        return {"closed": None, "period": period, "reason": f"due after {due.isoformat()}"}
    if is_closed(period):
        return {"closed": None, "period": period, "reason": "already closed"}
    reopened = db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "period.reopen", AuditEvent.object_type == "period", AuditEvent.object_id == period)
        .limit(1))
    if reopened is not None:
        return {"closed": None, "period": period, "reason": "reopened by hand"}

    def stale() -> bool:
        return bool(db.session.scalar(select(ScoredPeriod.stale).where(ScoredPeriod.period == period)))

    if runner.active_run("recalculation", period) is not None:
        return {"closed": None, "period": period, "reason": "recalculation running"}
    if stale():
        run = runner.submit("recalculation", period, {"period": period}, SCHEDULER)
        if run.status != "finished" or stale():
            return {"closed": None, "period": period, "reason": "stale: recalculation sent"}
    # Never frozen provisional: a person whose manager has not set the month's general
    # criteria would keep the task score alone (up to 30 points short) for good, and only a
    # reopening could mend it. The month waits; the admin's page names the units, and an
    # admin who decides otherwise closes it by hand.
    missing = scoring.general_missing([period])[period]["count"]
    if missing:
        return {"closed": None, "period": period, "reason": f"general criteria missing: {missing}"}
    # Audited as the scheduler, with the job that did it and the rule it followed: not as
    # "system", which says nothing about why a month froze overnight.
    scoring.close_period(period, actor=SCHEDULER, why={"job": _current_job_id(), "close_months_after_days": days})
    return {"closed": period}


def _current_job_id() -> str | None:
    """The RQ job this runs in; None when run inline (no worker)."""
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


def close_months() -> dict[str, Any]:
    """Close, for each tenant that set close_months_after_days, the previous month when due."""
    return _in_app(lambda: _per_tenant(_close_due_month, "closing the previous month"))


def sweep_abandoned() -> dict[str, Any]:
    """Send again the runs no worker holds and RQ does not know."""

    def sweep() -> dict[str, Any]:
        url = current_app.config.get("CONGVU_REDIS_URL")
        sent = runner.requeue_abandoned(url) if url else 0
        unit_of_work.commit()
        from core.scoring import scorer

        # Marks left waiting while Redis was down (their writes could not wake a scorer).
        woken = scorer.wake_waiting(url) if url and scorer.deferred() else 0
        return {"sent": sent} | ({"scorers_woken": woken} if woken else {})

    return _in_app(sweep)


def send_webhooks() -> dict[str, Any]:
    """Every tenant's due webhook deliveries."""
    from core.webhooks.delivery import deliver_all

    return _in_app(deliver_all)


WEBHOOKS_EVERY_SECONDS = 60


def pull_live_sources() -> dict[str, Any]:
    """Start a pull of every live source that is due, in every tenant."""
    from core.imports.live import pull_due

    return _in_app(lambda: _per_tenant(lambda: pull_due(SCHEDULER), "live pulls"))


LIVE_EVERY_SECONDS = 300


def _in_app(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run inside the worker's app (like runner.execute); as is when a caller already
    has an app context (tests, `congvu schedule --now` inline)."""
    app = runner._app()
    if app is None:
        return fn()
    if runner._parent_pid is not None and os.getpid() != runner._parent_pid:
        with app.app_context():
            db.engine.dispose(close=False)  # never share the parent's pooled connections after fork
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


@dataclass(frozen=True)
class Entry:
    func: Callable[[], dict[str, Any]]
    cron: str | None = None
    interval: int | None = None
    timeout: int = 3600


# All on the default queue: they are short (the recalculations they start go to the
# scoring queue as runs of their own).
ENTRIES = (
    Entry(mark_overdue, cron=MARK_OVERDUE_CRON, timeout=1800),
    Entry(recalculate_stale, cron=RECALCULATE_STALE_CRON, timeout=600),
    Entry(close_months, cron=CLOSE_MONTHS_CRON, timeout=600),
    Entry(sweep_abandoned, interval=SWEEP_EVERY_SECONDS, timeout=300),
    Entry(send_webhooks, interval=WEBHOOKS_EVERY_SECONDS, timeout=600),
    Entry(pull_live_sources, interval=LIVE_EVERY_SECONDS, timeout=600),
)


def build_scheduler(app: Flask, connection):
    """RQ's cron scheduler with congvu's entries, on this installation's queue names."""
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection, name=f"congvu:{os.uname().nodename}:{os.getpid()}")
    with app.app_context():
        queue = runner.queue_name("default")
    for entry in ENTRIES:
        scheduler.register(entry.func, queue_name=queue, cron=entry.cron, interval=entry.interval,
                           job_timeout=entry.timeout, result_ttl=7 * 86400, failure_ttl=7 * 86400,
                           name=f"congvu.{entry.func.__name__}")
    return scheduler


def enqueue_now(app: Flask, connection) -> list[str]:
    """Put every scheduled job on its queue at once (`congvu schedule --now`): after an
    outage, or to try the nightly work by hand. Returns the job ids."""
    from rq import Queue

    with app.app_context():
        queue = Queue(runner.queue_name("default"), connection=connection)
    return [queue.enqueue(entry.func, job_timeout=entry.timeout, result_ttl=7 * 86400).id for entry in ENTRIES]
