"""The write path (core/unit_of_work.py): a write's effects are calls of its commit, not
Session listeners, and a commit that skips them fails loudly."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.events import SessionEvents

import core
from core import unit_of_work
from core.audit.models import AuditEvent
from core.audit.services import record
from core.extensions import UnitOfWorkBypassed, db
from core.tenancy import tenant_context
from tests.work.test_work_support import world  # noqa: F401 - fixture

# What may listen on every Session: stamping rows with their tenant (and refusing another
# tenant's), and setting the row-level security settings of each transaction.
ALLOWED = {
    ("do_orm_execute", "core.tenancy.mixin"),
    ("before_flush", "core.tenancy.mixin"),
    ("after_begin", "core.tenancy.rls"),
    ("after_transaction_end", "core.tenancy.rls"),
}


def _project_listeners() -> set[tuple[str, str, str]]:
    session = Session()
    found = set()
    for name in dir(SessionEvents):
        if name.startswith("_") or not hasattr(session.dispatch, name):
            continue
        for fn in getattr(session.dispatch, name):
            module = getattr(fn, "__module__", "") or ""
            if module.split(".")[0] in {"core", "plugins", "examples"}:
                found.add((name, module, fn.__qualname__))
    return found


def test_importing_core_installs_only_tenancy_listeners(app):
    for module in pkgutil.walk_packages(core.__path__, "core."):
        importlib.import_module(module.name)
    found = _project_listeners()
    assert {(name, module) for name, module, _ in found} == ALLOWED, sorted(found)


def _events(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_a_plain_commit_that_would_drop_the_audit_chain_is_refused(clean_app, world):  # noqa: F811
    with clean_app.app_context(), tenant_context(world.tenant_id):
        record("test.kept", "test", 1)
        with pytest.raises(UnitOfWorkBypassed, match="audit_events"):
            db.session.commit()
        unit_of_work.commit()  # the refused commit changed nothing: the event is still there
        assert _events("test.kept") == 1
        head = db.session.scalar(select(func.max(AuditEvent.seq)))
        record("test.undone", "test", 2)
        db.session.rollback()
        db.session.commit()  # nothing is left for a commit after a rollback
        record("test.next", "test", 3)
        unit_of_work.commit()
        assert _events("test.undone") == 0
        # The chain goes on from the kept event: the undone one took no number.
        assert db.session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "test.next")) == head + 1
