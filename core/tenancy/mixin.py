"""The TenantScoped mixin and the ORM listeners that enforce it."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, event, false
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, declared_attr, mapped_column, with_loader_criteria

from core.tenancy.context import TenantContextError, current_tenant_id, is_unscoped

# Globally unique ids: one sequence per table, never a per-tenant counter, so a row
# moved to another tenant (a merger) keeps its id. BIGINT on PostgreSQL.
BigId = BigInteger().with_variant(Integer, "sqlite")


class TenantScoped:
    """Mixin for every table a tenant owns."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(BigId, ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False, index=True)


def tenant_tables(metadata) -> list[str]:
    """Names of the tables that carry a tenant_id column (RLS applies to each)."""
    return sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.c and t.name != "tenants")


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if is_unscoped() or state.execution_options.get("congvu_unscoped"):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tid = current_tenant_id()
    if tid is None:
        # No tenant in context: no tenant rows, exactly as RLS answers on PostgreSQL.
        option = with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)
    else:
        # `tid` is a closure variable, so the cached statement takes it as a bound parameter.
        option = with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tid, include_aliases=True)
    state.statement = state.statement.options(option)


@event.listens_for(Session, "before_flush")
def _check_writes(session: Session, flush_context, instances) -> None:
    if is_unscoped():
        return
    tid = current_tenant_id()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tid is None:
                raise TenantContextError(f"{type(obj).__name__} created with no tenant in context")
            obj.tenant_id = tid
        elif obj.tenant_id != tid:
            raise TenantContextError(f"{type(obj).__name__} written for tenant {obj.tenant_id} in tenant {tid}")
    for obj in session.deleted:
        if isinstance(obj, TenantScoped) and obj.tenant_id != tid:
            raise TenantContextError(f"{type(obj).__name__} of another tenant deleted")
