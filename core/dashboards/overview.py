"""The reads behind the operator's overview: every tenant with its people, jobs by status
and the components it uses today, the latest runs across tenants, and whether the
database answers."""

from __future__ import annotations

from sqlalchemy import func, select

from core.extensions import db
from core.jobs.models import JobRun
from core.org.models import Employee
from core.tenancy import unscoped
from core.tenants.models import ComponentChoice, Tenant
from core.work.calendar import local_today

RECENT_RUNS = 20
# The single-choice components a province chose (import connectors are a list; the
# tenant's own components page shows them).
CHOSEN_KINDS = ("scoring_variant", "classification_scheme", "bonus_scheme")


def across_tenants() -> dict:
    """Across tenants (the operator belongs to none): the tenants by slug, people per
    tenant, job counts per tenant and status, and the latest runs with their tenant's slug."""
    with unscoped():
        tenants = db.session.scalars(select(Tenant).order_by(Tenant.slug)).all()
        people = dict(db.session.execute(select(Employee.tenant_id, func.count()).group_by(Employee.tenant_id)).all())
        jobs_by = db.session.execute(select(JobRun.tenant_id, JobRun.status, func.count())
                                     .group_by(JobRun.tenant_id, JobRun.status)).all()
        recent = db.session.execute(select(JobRun, Tenant.slug).join(Tenant, Tenant.id == JobRun.tenant_id)
                                    .order_by(JobRun.created_at.desc()).limit(RECENT_RUNS)).all()
        chosen = db.session.execute(
            select(ComponentChoice.tenant_id, ComponentChoice.kind, ComponentChoice.key, ComponentChoice.version,
                   ComponentChoice.effective_from)
            .where(ComponentChoice.kind.in_(CHOSEN_KINDS))
            .order_by(ComponentChoice.tenant_id, ComponentChoice.kind, ComponentChoice.effective_from)).all()
    # What each province uses today, by its own calendar: one query for every tenant, the
    # newest choice in force winning (a choice dated later is planned, not used yet).
    zones = {t.id: t for t in tenants}
    components: dict[int, dict[str, tuple[str, str | None]]] = {}
    for tenant_id, kind, key, version, effective_from in chosen:
        tenant = zones.get(tenant_id)
        if tenant is not None and effective_from <= local_today(tenant):
            components.setdefault(tenant_id, {})[kind] = (key, version)
    job_counts: dict[int, dict[str, int]] = {}
    for tenant_id, status, n in jobs_by:
        job_counts.setdefault(tenant_id, {})[status] = n
    return {"tenants": tenants, "people": people, "job_counts": job_counts, "recent": recent,
            "components": components}


def database_ok() -> bool:
    try:
        db.session.execute(select(1))
        return True
    except Exception:  # noqa: BLE001 - a health check reports, it does not raise
        db.session.rollback()
        return False
