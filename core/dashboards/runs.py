"""The reads behind the jobs pages: a tenant's latest runs and one run by an id from the
request."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.jobs.models import JobRun
from core.jobs.runner import get_run


def latest_runs(limit: int, requested_by: str | None = None) -> list[JobRun]:
    """The tenant's latest runs, newest first; only those `requested_by` started when given
    (a manager sees the runs they started)."""
    stmt = select(JobRun).order_by(JobRun.created_at.desc()).limit(limit)
    if requested_by is not None:
        stmt = stmt.where(JobRun.requested_by == requested_by)
    return list(db.session.scalars(stmt))


def run_of(job_id: str | None) -> JobRun | None:
    """A run of the current tenant by id (the ORM's tenant filter applies), or None; an id
    longer than a UUID's is no run's and is not looked up."""
    if not job_id or len(job_id) > 36:
        return None
    return get_run(job_id)
