"""congvu's pytest plugin for vendors (entry point ``pytest11: congvu``, so installing
congvu makes it available): the ``congvu_month`` fixture.

``congvu_month(plugin, scoring_variant=KEY)`` builds a throwaway congvu (SQLite in a
temporary folder, jobs inline, no Redis) that loads exactly one installed plugin through
its entry point — as the server does, so a broken entry point or hookimpl fails here
with the server's own message — generates a small tenant with a month of realistic
work (core/generate), chooses the variant for that tenant, scores the month and returns
the stored results. Part of the test kit's stability promise (CHANGELOG.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest


@dataclass
class ScoredMonth:
    """A month scored by a plugin's variant in a throwaway congvu."""

    period: str
    variant: dict[str, str]  # the stamp: key, version, settings_hash
    items: int  # work items scored
    scores: list[dict[str, Any]] = field(default_factory=list)  # per person: task_score, components, sums
    plugin: dict[str, Any] = field(default_factory=dict)  # the plugin as `congvu plugins list` shows it


def score_month(plugin: str, workdir: Path, scoring_variant: str | None = None,
                settings: Mapping[str, Any] | None = None, month: date = date(2025, 10, 1),
                employees: int = 6, seed: int = 2026) -> ScoredMonth:
    """Load ``plugin`` (an entry-point name in the group ``congvu``) into a new app in
    ``workdir``, generate ``employees`` people with a month of work from ``month``, score
    it with ``scoring_variant`` (the plugin's first variant by default) and return the results."""
    from sqlalchemy import select

    from core import create_app, unit_of_work
    from core.extensions import db
    from core.generate import generate
    from core.plugins.manager import PluginLoadError, current_manager
    from core.scoring import engine
    from core.scoring.models import PeriodScore
    from core.tenancy import tenant_context
    from core.tenants.models import Tenant
    from core.tenants.services import update_settings

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tenants").mkdir(exist_ok=True)
    config = {"TESTING": True, "CONGVU_DATABASE_URL": f"sqlite:///{workdir / 'congvu.db'}",
              "CONGVU_INSTANCE_PATH": str(workdir / "instance"), "CONGVU_TENANTS_DIR": str(workdir / "tenants"),
              "CONGVU_PLUGINS": [plugin], "CONGVU_REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://"}
    try:
        app = create_app(config)
    except PluginLoadError as exc:
        pytest.fail(str(exc), pytrace=False)
    period = f"{month:%Y-%m}"
    with app.app_context():
        db.create_all()
        manager = current_manager()
        listed = next(p for p in manager.list_plugins("en") if p["name"] == plugin)
        variants = [c["key"] for c in listed["components"] if c["kind"] == "scoring_variant"]
        key = scoring_variant or (variants[0] if variants else None)
        if key is None:
            pytest.fail(f"plugin '{plugin}' provides no scoring variant to score a month with", pytrace=False)
        made = generate("plugin-test", employees, 1, month, seed=seed)
        unit_of_work.commit()
        with tenant_context(made.tenant_id):
            tenant = db.session.get(Tenant, made.tenant_id)
            update_settings(tenant, {"scoring_variant": {"key": key, "settings": dict(settings or {})}},
                            validate_component=manager.validate_component)
            result = engine.recalculate(period)
            rows = db.session.scalars(select(PeriodScore).where(PeriodScore.period == period)
                                      .order_by(PeriodScore.employee_id)).all()
            scores = [{"employee_id": r.employee_id, "task_score": float(r.task_score), "total": float(r.total),
                       "working_days": r.working_days, "item_count": r.item_count, "components": r.components,
                       "sums": r.sums, "provisional": r.provisional} for r in rows]
            unit_of_work.commit()
        db.engine.dispose()
    return ScoredMonth(period, result["variant"], result["items"], scores, listed)


@pytest.fixture
def congvu_month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ScoredMonth]]:
    """``congvu_month(plugin, scoring_variant=None, settings=None, month=date(2025, 10, 1),
    employees=6, seed=2026)`` → a ScoredMonth (see ``score_month``)."""

    def run(plugin: str, **options: Any) -> ScoredMonth:
        return score_month(plugin, tmp_path_factory.mktemp("congvu"), **options)

    yield run
