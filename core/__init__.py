"""congvu — KPI Công vụ. `create_app` (core/app.py) builds the Flask application;
importing this package has no side effects.

The package itself imports no web framework, so the plugin toolkit and the components
built on it load without Flask; `create_app` is imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from core.app import create_app

__all__ = ["PROJECT_ROOT", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from core.app import create_app

        return create_app
    raise AttributeError(f"module 'core' has no attribute {name!r}")
