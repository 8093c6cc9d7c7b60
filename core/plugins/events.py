"""Calling event hooks from services, without services knowing how plugins are loaded."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context


def emit(hook_name: str, **kwargs: Any) -> list:
    """Call the event hook `hook_name` (e.g. "congvu_work_item_changed") with keyword
    arguments on the app's plugin manager; returns the hookimpls' results."""
    if not has_app_context():
        return []
    manager = current_app.extensions.get("congvu_plugins")
    if manager is None:
        return []
    return getattr(manager.pm.hook, hook_name)(**kwargs)
