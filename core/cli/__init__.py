"""The `congvu` command line (entry point `core.cli:main`): the group lives in
core/cli/base.py, each command family in its own module, registered by importing it."""

from __future__ import annotations

from core.classification.cli import classify
from core.cli import audit, demo, jobs, plugins, rls, scoring, tenants, users, webhooks  # noqa: F401 - registers the commands
from core.cli.base import main

main.add_command(classify)

__all__ = ["main"]
