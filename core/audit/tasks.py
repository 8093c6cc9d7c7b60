"""The chain check as a background job: an inspector's "Kiểm tra tính toàn vẹn" walks
every event of the province's log (and of the provinces merged into it) — millions in a
year — which no request should hold a worker and a connection for."""

from __future__ import annotations

from core.audit import verifying
from core.jobs.runner import task
from core.tenancy import current_tenant_id

KIND = "audit_verify"


@task(KIND, queue="default", timeout=3600)
def audit_verify_task(progress) -> dict:
    """Reads, never writes: run again, it checks again (idempotent)."""
    return verifying.as_result(verifying.check(current_tenant_id(), progress))
