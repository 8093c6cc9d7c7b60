"""Tenancy: which tenant the current request or job works for, and the guards on it.

Defence in depth (architecture.md, "Tenancy"):
1. `TenantScoped` models carry `tenant_id`; every ORM SELECT, UPDATE and DELETE gets
   `tenant_id = <current tenant>` added by a `do_orm_execute` listener.
2. Inserts take the tenant from the context; an insert for another tenant is refused.
3. On PostgreSQL, row-level security checks the same thing again in the database,
   from `SET LOCAL app.tenant_id`, so a query that escapes the ORM still sees nothing.
Only `unscoped()` crosses tenants (platform operator, merges).
"""

from core.tenancy.context import (
    TenantContextError,
    current_tenant_id,
    is_unscoped,
    tenant_context,
    unscoped,
)
from core.tenancy.mixin import TenantScoped, tenant_tables

__all__ = [
    "TenantContextError",
    "TenantScoped",
    "current_tenant_id",
    "is_unscoped",
    "tenant_context",
    "tenant_tables",
    "unscoped",
]
