"""The one import surface for plugin authors: ``from core.plugins.toolkit import ...``.

A façade: it defines nothing and only re-exports the plugin-facing API from the core
modules that implement it — the component base classes and constants
(core/plugins/components.py), the hook marker (core/plugins/hookspecs.py), settings
schemas (marshmallow), exact money (core/money.py), periods and the national calendar
(core/periods.py), the SQL item helpers (core/plugins/sql.py) and the import readers
and cell converters (core/imports/). Importing it imports no web framework and no
database session.

Everything named in ``__all__`` is kept stable: it changes only as CHANGELOG.md and
docs/plugins.md ("Stability") promise. Anything else in ``core`` may change at any
time, so a plugin imports nothing else from the core (tests may also use the
conformance kit, core/plugins/testing.py).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from core.imports.csvrows import read_csv
from core.imports.headers import column_for_header
from core.imports.readers import FileRejected, cell_text, iter_jsonl, iter_table, sniff
from core.imports.values import (
    to_bool,
    to_code,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
    to_levels,
    to_list,
    to_text,
)
from core.money import allocate_exact, clamp, round_money
from core.periods import is_working_day, period_bounds, public_holidays, working_days
from core.plugins.components import (
    IMPORT_TARGETS,
    KINDS,
    LEVELS,
    PROTECTION_FIELDS,
    REGIMES,
    TARGET_FIELDS,
    TASK_SCORE_MAX,
    Allocation,
    BonusScheme,
    Classification,
    ClassificationScheme,
    Component,
    ImportConnector,
    LiveConnector,
    LivePage,
    NoSettings,
    ParsedRow,
    ParseResult,
    PeriodScore,
    RowError,
    ScoringVariant,
    protection_date_errors,
    round_score,
)
from core.plugins.hookspecs import hookimpl
from core.plugins.sql import SqlItem, greatest, int_or, least, num, when

__all__ = [
    "IMPORT_TARGETS",
    "KINDS",
    "LEVELS",
    "PROTECTION_FIELDS",
    "REGIMES",
    "TARGET_FIELDS",
    "TASK_SCORE_MAX",
    "Allocation",
    "BonusScheme",
    "Classification",
    "ClassificationScheme",
    "Component",
    "FileRejected",
    "ImportConnector",
    "LiveConnector",
    "LivePage",
    "NoSettings",
    "ParseResult",
    "ParsedRow",
    "PeriodScore",
    "RowError",
    "Schema",
    "ScoringVariant",
    "SqlItem",
    "ValidationError",
    "allocate_exact",
    "cell_text",
    "clamp",
    "column_for_header",
    "fields",
    "greatest",
    "hookimpl",
    "int_or",
    "is_working_day",
    "iter_jsonl",
    "iter_table",
    "least",
    "num",
    "period_bounds",
    "protection_date_errors",
    "public_holidays",
    "read_csv",
    "round_money",
    "sniff",
    "to_bool",
    "to_code",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_int",
    "to_levels",
    "to_list",
    "to_text",
    "round_score",
    "validate",
    "when",
    "working_days",
]
