"""Fixtures for the plugin tests: an app that also loads the throwaway test plugins
(as if installed) and the tenant-local plugins of tests/plugins/tenants/."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from core.extensions import db, limiter
from core.plugins import manager as manager_module
from tests.conftest import make_app

TEST_TENANTS = Path(__file__).parent / "tenants"
TEST_PLUGINS = {"test-schemes": "tests.plugins.schemes", "recorder": "tests.plugins.recorder"}


@pytest.fixture(scope="session")
def plugin_app(app, backend, tmp_path_factory):
    """Same database as `app` (already migrated); its manager also loads the test plugins."""
    real = manager_module.entry_points_of_group
    extra = [importlib.metadata.EntryPoint(name=n, value=m, group="congvu") for n, m in TEST_PLUGINS.items()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manager_module, "entry_points_of_group", lambda group="congvu": real(group) + extra)
        application = make_app(backend, tmp_path_factory, CONGVU_TENANTS_DIR=str(TEST_TENANTS))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def pclient(clean_app, plugin_app):
    """A client of `plugin_app` on empty tables."""
    with plugin_app.app_context():
        limiter.reset()
    yield plugin_app.test_client()
    with plugin_app.app_context():
        db.session.remove()
