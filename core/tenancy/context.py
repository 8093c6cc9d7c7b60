"""The current tenant, held in a context variable (safe across threads and greenlets)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_tenant: contextvars.ContextVar[int | None] = contextvars.ContextVar("congvu_tenant", default=None)
_unscoped: contextvars.ContextVar[bool] = contextvars.ContextVar("congvu_unscoped", default=False)
# Called with the tenant's id each time a block enters a tenant's context, when set: the
# command line sets it (core/cli/base.py) so every command that would touch a suspended
# tenant's data is refused at the one door they all go through, plugins' commands too.
_entry_check: contextvars.ContextVar[Callable[[int], None] | None] = contextvars.ContextVar(
    "congvu_tenant_entry_check", default=None)


class TenantContextError(RuntimeError):
    """Tenant-owned data was written without, or outside, its tenant's context."""


def current_tenant_id() -> int | None:
    return _tenant.get()


def is_unscoped() -> bool:
    return _unscoped.get()


def set_tenant(tenant_id: int | None) -> contextvars.Token:
    token = _tenant.set(tenant_id)
    _sync_database()
    return token


def reset_tenant(token: contextvars.Token) -> None:
    """Undo `set_tenant`; call it after the transaction that used the tenant has ended."""
    _tenant.reset(token)


@contextmanager
def tenant_context(tenant_id: int | None) -> Iterator[None]:
    """Run the block as `tenant_id` (None: as no tenant, which sees no tenant rows)."""
    check = _entry_check.get()
    if check is not None and tenant_id is not None:
        check(tenant_id)
    token = _tenant.set(tenant_id)
    utoken = _unscoped.set(False)
    _sync_database()
    try:
        yield
    finally:
        _unscoped.reset(utoken)
        _tenant.reset(token)
        _sync_database()


@contextmanager
def checking_tenant_entry(check: Callable[[int], None]) -> Iterator[None]:
    """Within the block, `check(tenant_id)` runs before any tenant_context is entered (it
    refuses by raising)."""
    token = _entry_check.set(check)
    try:
        yield
    finally:
        _entry_check.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Cross tenant boundaries: only for the platform operator and merges."""
    token = _unscoped.set(True)
    _sync_database()
    try:
        yield
    finally:
        _unscoped.reset(token)
        _sync_database()


def _sync_database() -> None:
    # A transaction already under way keeps the RLS settings of its start; bring it
    # up to date so the database and the ORM filter agree.
    from core.tenancy.rls import sync_open_transaction

    sync_open_transaction()
