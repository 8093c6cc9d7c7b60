"""The hooks a congvu plugin may implement (pluggy project ``congvu``).

Registration hooks return component objects; which component a tenant uses is data
(its settings), never plugin order, so none of them is ``firstresult``. Event hooks
are called with keyword arguments after the change has been committed; their return
values are ignored. docs/plugins.md documents every hook here, and a test keeps the two
in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Flask

    from core.plugins.components import BonusScheme, ClassificationScheme, ImportConnector, LiveConnector, ScoringVariant

PROJECT = "congvu"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------- registration


@hookspec
def congvu_scoring_variants() -> Sequence[ScoringVariant]:
    """Return the :class:`~core.plugins.components.ScoringVariant` objects this plugin provides.

    Called once at start-up; every plugin's answer is collected.
    """


@hookspec
def congvu_classification_schemes() -> Sequence[ClassificationScheme]:
    """Return the :class:`~core.plugins.components.ClassificationScheme` objects this plugin provides.

    Called once at start-up; every plugin's answer is collected.
    """


@hookspec
def congvu_bonus_schemes() -> Sequence[BonusScheme]:
    """Return the :class:`~core.plugins.components.BonusScheme` objects this plugin provides.

    Called once at start-up; every plugin's answer is collected.
    """


@hookspec
def congvu_import_connectors() -> Sequence[ImportConnector]:
    """Return the :class:`~core.plugins.components.ImportConnector` objects this plugin provides.

    Called once at start-up; every plugin's answer is collected.
    """


@hookspec
def congvu_live_connectors() -> Sequence[LiveConnector]:
    """Return the :class:`~core.plugins.components.LiveConnector` objects this plugin provides:
    connectors that pull records from another system's HTTP API on a schedule.

    Called once at start-up; every plugin's answer is collected.
    """


# ---------------------------------------------------------------- events


@hookspec
def congvu_work_item_changed(tenant_id: int, item_id: int, change: str) -> None:
    """A work item was created or changed; ``change`` names what happened.

    ``change`` is one of ``created``, ``updated``, ``completed``, ``reviewed``,
    ``extended``, ``exempted``, ``cancelled``. Called after the commit, in the tenant's
    context; every implementation is called.
    """


@hookspec
def congvu_period_closed(tenant_id: int, period: str) -> None:
    """A tenant closed a scoring period (``period`` as in the API, e.g. ``2026-10``).

    Called after the commit, in the tenant's context; every implementation is called.
    """


@hookspec
def congvu_tenants_merged(source_tenant_id: int, target_tenant_id: int, effective_date: date) -> None:
    """The source tenant was merged into the target tenant from ``effective_date``.

    Called after the merge job committed, outside any tenant context; every
    implementation is called.
    """


@hookspec
def congvu_register_commands(cli: click.Group) -> None:
    """Add commands to the ``congvu`` command group ``cli``.

    Called once when the command line starts; every implementation is called.
    """


@hookspec
def congvu_register_blueprints(app: Flask) -> None:
    """Register Flask blueprints (pages or API endpoints) on ``app``.

    Called once by the application factory after the core's blueprints; every
    implementation is called.
    """
