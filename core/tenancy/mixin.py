"""The TenantScoped mixin and the ORM listeners that enforce it."""

from __future__ import annotations

import weakref

from sqlalchemy import BigInteger, ForeignKey, Integer, bindparam, event, false
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


# The scoped form of each statement object, per tenant: a statement built once (the hot
# path's are) is scoped once per tenant, and its scoped form keeps SQLAlchemy's memoised
# cache key — adding the option anew made a new statement each time, whose key was
# computed again (about 0.1 ms a statement). Weak keys: a statement built for one call
# takes its entry with it.
_SCOPED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if is_unscoped() or state.execution_options.get("congvu_unscoped"):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tid = current_tenant_id()
    statement = state.statement
    per_tenant = _SCOPED.get(statement)
    scoped = per_tenant.get(tid) if per_tenant is not None else None
    if scoped is None:
        scoped = statement.options(_criteria(tid))
        if per_tenant is None:
            per_tenant = _SCOPED.setdefault(statement, {})
        per_tenant[tid] = scoped
    state.statement = scoped


def in_tenant(model):
    """`model`'s rows of the tenant given as the bind parameter `tid`, for a hot statement
    that names its tenant itself on every tenant table it reads and runs with
    `congvu_unscoped` (so the session adds no filter of its own). The session's filter
    (`with_loader_criteria`, below) puts one copy of a bind parameter per table, copies
    that SQLAlchemy matches to the call's values by comparing them pairwise: ~400 Python
    calls per execution of a statement naming seven tenant tables (a declaration's)."""
    return model.tenant_id == bindparam("tid")


def _criteria(tid: int | None):
    if tid is None:
        # No tenant in context: no tenant rows, exactly as RLS answers on PostgreSQL.
        return with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)
    # `tid` is a closure variable, so the cached statement takes it as a bound parameter.
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tid, include_aliases=True)


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
