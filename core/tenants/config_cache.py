"""What a tenant's rarely-changed configuration was read as, kept in the process while
the tenant's config stamp holds.

Every work-item write asks whether its month is closed, which days are working days,
what the reporting window is and who subscribed to the change: four statements for data
that changes a few times a year. The request reads the tenant's row anyway, and with it
`config_stamp`, which the database moves whenever any of the four changes (migration
0039's triggers). Values read under a stamp are kept, per (what, tenant, stamp, key),
for the requests that read the same stamp; the first request after a change reads the
new stamp and so reads afresh — in every process, with no message between them.

Only inside a request whose tenant was bound with a stamp (core/hooks.py): jobs,
commands and tests outside a request read the database as before. A request that
changes the configuration itself calls `changed()`, so its own later reads see its
writes rather than what the stamp it began with named. Kept values are shared between
threads: loaders return immutable ones (tuples, frozensets, frozen dataclasses), or
callers copy them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import g, has_request_context

from core.tenancy import current_tenant_id

T = TypeVar("T")

# Bounded: a tenant's stamp moves rarely, but a process serves many tenants and months.
MAX_KEPT = 4096
_kept: dict[tuple, object] = {}
_lock = threading.Lock()
_STAMP = "congvu_config_stamp"


def bind(tenant_id: int, stamp: int | None) -> None:
    """The request's tenant and the stamp its row carried (None: keep nothing)."""
    setattr(g, _STAMP, (tenant_id, stamp))


def changed() -> None:
    """This request changes the tenant's configuration: from now on it reads it afresh."""
    if has_request_context():
        setattr(g, _STAMP, None)


def kept(name: str, key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s value for (`name`, `key`), kept while the tenant's stamp holds."""
    held = g.get(_STAMP) if has_request_context() else None
    if held is None or held[1] is None or held[0] != current_tenant_id():
        return load()
    full = (name, held[0], held[1], key)
    try:
        return _kept[full]  # type: ignore[return-value]
    except KeyError:
        pass
    value = load()
    with _lock:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        _kept[full] = value
    return value
