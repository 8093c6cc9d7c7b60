"""Rows read or written with SQLAlchemy Core that then live in the session as the ORM's
own persistent objects.

A hot path (a declaration, the tenant read of every request) pays more Python for the
ORM's machinery — the flush's unit of work, the loading of entities — than for its
statements. Reading or writing such a row with Core and then handing it to the session
keeps what the rest of the transaction relies on: the object is in the identity map
(`session.get` finds it without a statement), relationships to it are the session's own
rows (never an unattached copy a later flush would INSERT again), and a change made to it
later in the transaction is flushed as an UPDATE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")


def adopt(session: Session, obj: Any) -> None:
    """Make `obj`, a transient object whose row was just written (its primary key set and
    every column in its __dict__), persistent in `session` as if it had been loaded: no
    pending change, nothing expired that was set."""
    make_transient_to_detached(obj)
    session.add(obj)


def loaded(session: Session, cls: type[T], values: Mapping[str, Any]) -> T:
    """The persistent `cls` of a row read with Core (`values`: every column, by attribute
    name): the session's own object when the identity map already has that row (the ORM's
    loading would return it too, unchanged), else a new one that reads as loaded.
    Attributes not given (relationships) load as on a loaded object, when first read."""
    mapper = cls.__mapper__  # type: ignore[attr-defined]
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    found = session.identity_map.get(key)
    if found is not None:
        return found
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    adopt(session, obj)
    return obj
