"""The merger job: plans or commits a merger of another tenant into the job's tenant."""

from __future__ import annotations

from datetime import date

from core.jobs.runner import task
from core.mergers.services import commit_merge


@task("tenant_merge", queue="default", timeout=3600)
def tenant_merge_task(progress, source: str, into: str, effective_date: str, mapping: dict | None,
                      dry_run: bool) -> dict:
    """Idempotent: a merger that is done is a no-op; a blocked one writes nothing and
    reports its conflicts as the job's result."""
    return commit_merge(source, into, date.fromisoformat(effective_date), mapping, dry_run, progress)
