"""Import writers, one per target: each checks rows against the tenant's data and
writes them in batches (core.imports.services runs them)."""

from __future__ import annotations

from collections.abc import Callable

from core.imports.writers.base import Writer

__all__ = ["WRITERS", "CatalogueWriter", "StaffWriter", "WorkItemWriter", "Writer"]
from core.imports.writers.catalogue import CatalogueWriter
from core.imports.writers.staff import StaffWriter
from core.imports.writers.work_items import WorkItemWriter
from core.tenants.models import Tenant

WRITERS: dict[str, Callable[[Tenant, bool], Writer]] = {
    "staff": StaffWriter, "catalogue": CatalogueWriter, "work_items": WorkItemWriter,
}
