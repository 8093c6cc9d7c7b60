"""The conformance kit: checks a plugin author runs on each component in their own tests.

    from core.plugins.testing import check_component, check_plugin, probe_component

    def test_my_variant_conforms():
        check_component(MyVariant())                        # the kit's sample data
        check_component(MyVariant(), settings={"target": 5}, items=[sample_item(quantity=3)])

    def test_my_plugin_loads_and_holds_at_the_extremes():
        check_plugin(my_plugin_module)                      # as the server loads it
        probe_component(MyVariant())                        # hypothesis: every accepted setting

Each check raises ``ConformanceError`` (an AssertionError, so pytest shows it) saying
what is wrong. What is checked, for every kind: the component is well formed (what the
plugin manager refuses at start-up), its settings schema loads its own defaults,
dumps them to JSON and loads them back unchanged, and normalising is idempotent; the
component answers the same on the same input, does not change its input, and handles
empty input; its answers have the documented shape and ranges. Scoring variants are
also checked to give the same item scores whether items come one at a time or in a
batch (the core scores in batches of any size). ``check_plugin`` loads a plugin module
through the server's own loader (hook names, hookimpl signatures, what registration
hooks return); ``probe_component`` searches with hypothesis over every settings value
the schema accepts and extreme items or people (docs/writing-a-plugin.md, section 7).
Part of the SDK's stability promise (CHANGELOG.md).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from numbers import Number
from typing import Any

from core.plugins.components import (
    IMPORT_TARGETS,
    LEVELS,
    TARGET_FIELDS,
    BonusScheme,
    ClassificationScheme,
    Component,
    ImportConnector,
    LiveConnector,
    ScoringVariant,
)
from core.plugins.components import check_component as _well_formed

__all__ = [
    "PROBE_PERIODS",
    "SAMPLE_FACTS",
    "SAMPLE_MEMBER_TOTALS",
    "ConformanceError",
    "check_bonus_scheme",
    "check_classification_scheme",
    "check_component",
    "check_import_connector",
    "check_leader_facts",
    "check_live_connector",
    "check_plugin",
    "check_scoring_variant",
    "check_settings",
    "items_strategy",
    "probe_component",
    "sample_items",
    "sample_item",
    "sample_people",
    "settings_strategy",
]


_VIETNAM = timezone(timedelta(hours=7))


class ConformanceError(AssertionError):
    """A component does not do what the core relies on."""


def _require(condition: bool, component: Component, message: str) -> None:
    if not condition:
        raise ConformanceError(f"{type(component).__name__} ({component.kind} '{component.key}'): {message}")


# ---------------------------------------------------------------- sample data


def sample_item(**overrides: Any) -> dict[str, Any]:
    """A work item as the core hands it to a scoring variant, with every field the core
    gives (docs/writing-a-plugin.md, "Item fields"). Overrides are applied as given; a
    derived field (``completed_on``, ``report_late``) is derived again from the overrides
    unless it is overridden itself."""
    item: dict[str, Any] = {
        "id": 1, "employee_id": 1, "task_type_code": "B-01", "group": "B", "norm_minutes": 30,
        "product_weight": Decimal("1.0"), "quantity": Decimal("2"), "complexity_coefficient": Decimal("1.0"),
        "complexity_level": 1, "work_date": date(2026, 10, 5), "deadline": date(2026, 10, 6),
        "declared_at": datetime(2026, 10, 5, 0, 45, tzinfo=UTC), "completed_at": datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
        "reported_at": datetime(2026, 10, 5, 9, 5, tzinfo=UTC), "planned": True, "status": "done",
        "not_reported": False, "failed_reviews": 0, "missed_deadlines": 0, "stars": 4, "satisfaction": 5,
        "role": "lead", "priority": 1, "exempt": False, "as_of": date(2026, 10, 31),
    }
    item.update(overrides)
    completed = item["completed_at"]
    # As the core derives them (core/scoring/engine.py, item_facts); the sample's zone is Vietnam's, UTC+7.
    if "completed_on" not in overrides:
        item["completed_on"] = completed.astimezone(_VIETNAM).date() if completed else None
    if "report_late" not in overrides:
        item["report_late"] = bool(item["not_reported"]) and item["status"] == "done"
    return item


def sample_items() -> list[dict[str, Any]]:
    """A varied handful: done and open, late (and reported late), reworked, exempt, unrated, support,
    urgent, zero quantity."""
    return [
        sample_item(id=1),
        sample_item(id=2, quantity=Decimal("0.5"), complexity_coefficient=Decimal("1.2"), stars=5, priority=3),
        sample_item(id=3, status="in_progress", completed_at=None, reported_at=None, stars=None, satisfaction=None),
        sample_item(id=4, missed_deadlines=2, failed_reviews=1, stars=3, not_reported=True),
        sample_item(id=5, missed_deadlines=1, exempt=True, stars=None, satisfaction=None),
        sample_item(id=6, role="support", group="A", norm_minutes=120, product_weight=Decimal("2.5")),
        sample_item(id=7, status="planned", completed_at=None, reported_at=None, deadline=None, planned=False,
                    stars=None, satisfaction=None),
        sample_item(id=8, quantity=0, failed_reviews=5, stars=1),
    ]


SAMPLE_FACTS: dict[str, Any] = {"period": "2026-10", "working_days": 21, "is_leader": False}


def sample_people() -> list[dict[str, Any]]:
    """People of one tenant for classification and bonus schemes."""
    levels = ["HTXS", "HTT", "HTT", "HT", "KHT", None, "HTT", "HTXS"]
    totals = [95.0, 80.5, 72.0, 55.0, 40.0, None, 91.0, 99.5]
    return [
        {"employee_id": i + 1, "total": totals[i], "task_score": None if totals[i] is None else totals[i] * 0.7,
         "quota_group": ("AG", "professional" if i % 3 else "leadership"), "months_worked": 12 if i != 5 else 4,
         "forced_kht": i == 3, "criteria": {}, "level": levels[i],
         "salary_coefficient": Decimal("2.34") + Decimal(i) / 10, "base_salary": 2_340_000}
        for i in range(len(levels))
    ]


# ---------------------------------------------------------------- common checks


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def check_settings(component: Component, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings schema accepts its own defaults and ``settings`` (stored form), and
    the stored form survives load → dump → load unchanged. Returns the loaded settings."""
    problem = _well_formed(component, component.kind)
    _require(problem is None, component, f"not well formed: {problem}")
    defaults = component.default_settings()
    _require(_jsonable(defaults), component, "default settings are not JSON")
    _require(component.normalise_settings(defaults) == defaults, component,
             "normalising the default settings changes them (dump and load do not agree)")
    stored = component.normalise_settings(settings or {})
    _require(_jsonable(stored), component, "normalised settings are not JSON")
    _require(component.normalise_settings(stored) == stored, component, "normalising settings twice changes them")
    _require(component.settings_hash(stored) == component.settings_hash(json.loads(json.dumps(stored))), component,
             "the settings hash changes on a JSON round trip")
    return component.load_settings(stored)


def _call(component: Component, call: Callable[[], Any], what: str) -> Any:
    try:
        return call()
    except Exception as exc:  # the kit reports which case broke the component, not just a traceback
        raise ConformanceError(f"{type(component).__name__} ({component.kind} '{component.key}'): {what} raised "
                               f"{type(exc).__name__}: {exc}") from exc


def _pure(component: Component, call: Callable[[], Any], inputs: Sequence[Any], what: str) -> Any:
    """Call twice on the same input: same answer, input unchanged."""
    before = copy.deepcopy(list(inputs))
    first = _call(component, call, what)
    _require(list(inputs) == before, component, f"{what} changed its input")
    second = _call(component, call, what)
    # repr as well: NaN != NaN, and a NaN is reported by the shape checks, not here.
    _require(first == second or repr(first) == repr(second), component,
             f"{what} is not deterministic: two calls on the same input differ")
    return first


def _finite(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool) and math.isfinite(float(value))


# ---------------------------------------------------------------- per kind


def check_scoring_variant(variant: ScoringVariant, items: Sequence[Mapping[str, Any]] | None = None,
                          settings: Mapping[str, Any] | None = None,
                          facts: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Returns the period results it computed (for the caller's own assertions)."""
    loaded = check_settings(variant, settings)
    items = list(items if items is not None else sample_items())
    facts = dict(facts if facts is not None else SAMPLE_FACTS)
    names = set(variant.item_components)

    _require(_call(variant, lambda: variant.score_items([], loaded), "score_items([])") == [], variant,
             "score_items([]) must return []")
    scores = _pure(variant, lambda: variant.score_items(items, loaded), [*items, loaded], "score_items")
    _require(isinstance(scores, list) and len(scores) == len(items), variant,
             "score_items must return a list with one dict per item")
    for item, score in zip(items, scores, strict=True):
        _require(isinstance(score, dict) and set(score) == names, variant,
                 f"item {item.get('id')}: components {sorted(score) if isinstance(score, dict) else score!r} "
                 f"are not item_components {sorted(names)}")
        _require(all(_finite(v) for v in score.values()), variant,
                 f"item {item.get('id')}: every component must be a finite number, got {score}")
    one_by_one = [_call(variant, lambda i=item: variant.score_items([i], loaded)[0], "score_items") for item in items]
    _require(one_by_one == scores, variant, "scoring items one at a time differs from scoring them in a batch")

    results = []
    empty = {name: 0 for name in names}
    sums = {name: sum((float(s[name]) for s in scores), 0.0) for name in names}
    leader = {**facts, "is_leader": True, "unit_people": len(SAMPLE_MEMBER_TOTALS),
              **check_leader_facts(variant, loaded, sums)}
    for label, period_sums, period_facts in (
        ("no items", empty, facts),
        ("the sample items", sums, facts),
        ("no working days", sums, {**facts, "working_days": 0}),
        ("a leader", sums, leader),
    ):
        result = _pure(variant, lambda s=period_sums, f=period_facts: variant.period_score(s, loaded, f),
                       [period_sums, period_facts, loaded], f"period_score ({label})")
        _require(isinstance(result, dict), variant, f"period_score ({label}) must return a dict")
        task = result.get("task_score")
        ceiling = variant.task_score_max
        _require(_finite(task) and 0 <= float(task) <= ceiling, variant,
                 f"period_score ({label}): task_score must be a number from 0 to {ceiling:g}, got {task!r}")
        components = result.get("components")
        _require(isinstance(components, dict) and all(isinstance(k, str) and _finite(v)
                                                      for k, v in components.items()),
                 variant, f"period_score ({label}): components must map names to finite numbers, got {components!r}")
        _require(isinstance(result.get("provisional", False), bool), variant,
                 f"period_score ({label}): provisional must be a bool")
        _require(_jsonable({"task_score": float(task), "components": {k: float(v) for k, v in components.items()}}),
                 variant, f"period_score ({label}) is not JSON-able")
        results.append(result)
    return results


# The totals (task score + general criteria) of the people a sample leader leads: one in
# each of the default bands and one on an edge.
SAMPLE_MEMBER_TOTALS = (Decimal("95.5"), Decimal("70"), Decimal("55.25"), Decimal("42"))


def check_leader_facts(variant: ScoringVariant, settings: Mapping[str, Any],
                       sums: Mapping[str, float]) -> dict[str, Any]:
    """``band`` places every total in one of ``total_bands`` and ``leader_facts`` answers
    a JSON-able dict of facts, purely, for members with the given sums; returns the facts."""
    for total in (*SAMPLE_MEMBER_TOTALS, Decimal(0), Decimal(100), 0.0, 100.0):
        band = _call(variant, lambda t=total: variant.band(t), "band")
        _require(band in {name for name, _ in variant.total_bands}, variant,
                 f"band({total}) is {band!r}, not one of total_bands")
    members = [{"total": total, "sums": dict(sums)} for total in SAMPLE_MEMBER_TOTALS]
    facts = _pure(variant, lambda: variant.leader_facts(members, settings), [*members, settings], "leader_facts")
    _require(isinstance(facts, dict) and all(isinstance(k, str) for k in facts) and _jsonable(facts), variant,
             f"leader_facts must return a JSON-able dict of named facts, got {facts!r}")
    _require(not {"is_leader", "unit_people", "period", "working_days"} & set(facts), variant,
             "leader_facts must not replace the core's facts (is_leader, unit_people, period, working_days)")
    return facts


def check_classification_scheme(scheme: ClassificationScheme, people: Sequence[Mapping[str, Any]] | None = None,
                                settings: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    loaded = check_settings(scheme, settings)
    people = list(people if people is not None else sample_people())
    _require(_call(scheme, lambda: scheme.classify([], loaded), "classify([])") == [], scheme,
             "classify([]) must return []")
    result = _pure(scheme, lambda: scheme.classify(people, loaded), [*people, loaded], "classify")
    _require(isinstance(result, list) and len(result) == len(people), scheme, "classify must answer once per person")
    for person, answer in zip(people, result, strict=True):
        _require(isinstance(answer, dict) and answer.get("employee_id") == person["employee_id"], scheme,
                 "answers must be in the people's order with their employee_id")
        _require(answer.get("level") in (*LEVELS, None), scheme,
                 f"level {answer.get('level')!r} is not one of {LEVELS}")
        _require(isinstance(answer.get("demoted_by_quota"), bool), scheme, "demoted_by_quota must be a bool")
    return result


def check_bonus_scheme(scheme: BonusScheme, people: Sequence[Mapping[str, Any]] | None = None,
                       settings: Mapping[str, Any] | None = None, fund: int | None = None) -> list[dict[str, Any]]:
    loaded = check_settings(scheme, settings)
    people = list(people if people is not None else sample_people())
    default = _pure(scheme, lambda: scheme.default_fund(people, loaded), [*people, loaded], "default_fund")
    _require(isinstance(default, int) and not isinstance(default, bool) and default >= 0, scheme,
             f"default_fund must be a non-negative int (đồng), got {default!r}")
    _require(_call(scheme, lambda: scheme.allocate(0, [], loaded), "allocate(0, [])") == [], scheme,
             "allocate(0, []) must return []")
    results = []
    for amount in (fund if fund is not None else default, 0, 1, 1_000_000_007):
        result = _pure(scheme, lambda a=amount: scheme.allocate(a, people, loaded), [*people, loaded], "allocate")
        _check_allocation(scheme, result, people, amount)
        results.append(result)
    return results


def _check_allocation(scheme: BonusScheme, result: Any, people: Sequence[Mapping[str, Any]], amount: int) -> None:
    _require(isinstance(result, list) and len(result) == len(people), scheme, "allocate must answer once per person")
    _require([r.get("employee_id") for r in result] == [p["employee_id"] for p in people], scheme,
             "allocations must be in the people's order with their employee_id")
    _require(all(isinstance(r.get("amount"), int) and not isinstance(r["amount"], bool) and r["amount"] >= 0
                 for r in result), scheme, "amounts must be non-negative ints (whole đồng)")
    _require(sum(r["amount"] for r in result) == amount, scheme,
             f"amounts sum to {sum(r['amount'] for r in result)}, not to the fund {amount}")


def _probe_bonus(scheme: BonusScheme, stored: Mapping[str, Any], people: list[dict[str, Any]], fund: int) -> None:
    loaded = scheme.load_settings(scheme.normalise_settings(stored))
    default = _call(scheme, lambda: scheme.default_fund(people, loaded), f"default_fund (settings {dict(stored)})")
    _require(isinstance(default, int) and not isinstance(default, bool) and default >= 0, scheme,
             f"default_fund must be a non-negative int (đồng), got {default!r} (settings {dict(stored)})")
    for amount in (fund, default):
        try:
            result = scheme.allocate(amount, people, loaded)
        except ValueError:
            continue  # a documented refusal: the core answers 422 "The fund cannot be shared"
        except Exception as exc:
            raise ConformanceError(f"{type(scheme).__name__} ({scheme.kind} '{scheme.key}'): allocate({amount}) with "
                                   f"settings {dict(stored)} raised {type(exc).__name__}: {exc}; refuse such "
                                   f"settings in the schema, or raise ValueError for a fund that cannot be "
                                   f"shared") from exc
        _check_allocation(scheme, result, people, amount)


def check_import_connector(connector: ImportConnector, sample: bytes | None = None,
                           settings: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """With ``sample`` (a good file), also checks it parses without errors into rows of
    the connector's columns. Returns the sample's parse result."""
    loaded = check_settings(connector, settings)
    _require(connector.target in IMPORT_TARGETS, connector, f"target must be one of {IMPORT_TARGETS}")
    fields = set(TARGET_FIELDS[connector.target])
    _require(set(connector.key_columns) <= fields, connector, f"key_columns must be fields of {connector.target}")

    def shape(result: Any, label: str) -> None:
        _require(isinstance(result, dict) and isinstance(result.get("rows"), list)
                 and isinstance(result.get("errors"), list), connector, f"parse ({label}) must return rows and errors")
        for row in result["rows"]:
            _require(isinstance(row.get("row"), int) and row["row"] >= 2, connector,
                     f"parse ({label}): row numbers count from the header row (1), got {row.get('row')!r}")
            _require(isinstance(row.get("values"), dict) and set(row["values"]) <= fields, connector,
                     f"parse ({label}): row values may only use the fields of {connector.target}: "
                     f"{sorted(set(row['values']) - fields) if isinstance(row.get('values'), dict) else row}")
        _require(isinstance(result.get("warnings", []), list), connector, f"parse ({label}): warnings must be a list")
        for error in [*result["errors"], *result.get("warnings", [])]:
            _require(isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]
                     and {"row", "column"} <= set(error), connector,
                     f"parse ({label}): each error needs row, column and a message, got {error!r}")

    empty = _call(connector, lambda: connector.parse(b"", loaded), "parse (empty file)")
    shape(empty, "empty file")
    _require(empty["rows"] == [], connector, "an empty file must give no rows")
    header_only = ",".join(connector.columns).encode()
    for label, data in (("binary garbage", b"\x00\xff\xfe\x81" * 64), ("a header only", header_only),
                        ("an unrelated CSV", b"a,b\n1,2\n")):
        try:
            result = connector.parse(data, loaded)
        except Exception as exc:  # noqa: BLE001 - the point is that it must not raise
            raise ConformanceError(f"{type(connector).__name__}: parse ({label}) raised {exc!r}; "
                                   f"report bad input in errors instead") from exc
        shape(result, label)
    if sample is None:
        return None
    result = _pure(connector, lambda: connector.parse(sample, loaded), [sample], "parse")
    shape(result, "the sample")
    _require(result["errors"] == [], connector, f"the sample gave errors: {result['errors'][:3]}")
    _require(len(result["rows"]) > 0, connector, "the sample gave no rows")
    return result


def check_live_connector(connector: LiveConnector, pages: Mapping[str | None, Any] | None = None,
                         settings: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """With ``pages`` (cursor → the JSON body the remote answers), pulls them from no cursor
    until ``more`` is false through a fake ``get``, and checks each page's shape, that the
    cursor moves, and that the connector changes neither its inputs nor its answer when
    called twice. Returns every record."""
    loaded = check_settings(connector, settings)
    target = connector.import_connector_for(loaded)
    _require(isinstance(target, str) and bool(target), connector, "import_connector must name an import connector")
    if pages is None:
        return []
    frozen = copy.deepcopy(dict(pages))
    asked: list[Any] = []

    def get(url: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
        asked.append(dict(params))
        cursor = next((str(v) for v in params.values() if str(v) in frozen), None)
        return copy.deepcopy(frozen[cursor])

    records: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(len(frozen) + 1):
        page = _call(connector, lambda c=cursor: connector.fetch_page(get, loaded, c), "fetch_page")
        _require(isinstance(page, dict) and isinstance(page.get("records"), list) and isinstance(page.get("more"), bool)
                 and (page.get("cursor") is None or isinstance(page["cursor"], str)), connector,
                 "fetch_page must return {'records': [...], 'cursor': str or None, 'more': bool}")
        _require(all(isinstance(r, dict) and all(isinstance(k, str) for k in r) for r in page["records"]),
                 connector, "each record must be a dict keyed by the import connector's column names")
        again = _call(connector, lambda c=cursor: connector.fetch_page(get, loaded, c), "fetch_page (again)")
        _require(again == page, connector, "fetch_page must give the same answer for the same page and cursor")
        records.extend(page["records"])
        if not page["more"]:
            break
        _require(page["cursor"] not in (None, cursor), connector, "a page with more after it must move the cursor")
        cursor = page["cursor"]
    else:
        raise ConformanceError(f"{connector!r}: more pages than the sample holds (the cursor never ends)")
    _require(frozen == dict(pages), connector, "fetch_page must not change the pages it was given")
    return records


def check_component(component: Component, **samples: Any) -> Any:
    """Run the checks of the component's kind; ``samples`` are passed on (items, people, settings, sample…)."""
    checks: dict[type[Component], Callable[..., Any]] = {
        ScoringVariant: check_scoring_variant, ClassificationScheme: check_classification_scheme,
        BonusScheme: check_bonus_scheme, ImportConnector: check_import_connector,
        LiveConnector: check_live_connector,
    }
    for base, check in checks.items():
        if isinstance(component, base):
            return check(component, **samples)
    raise ConformanceError(f"{component!r} is not one of the five component kinds")


# ---------------------------------------------------------------- the plugin as congvu loads it


def check_plugin(plugin: Any, name: str = "plugin-under-test") -> list[Component]:
    """Load ``plugin`` (the module or object an entry point names) exactly as the server
    does at start-up: hookimpl names and signatures (no misspelled hook, no parameter the
    hook does not give, no default values), each registration hook returning a list of
    well-formed component instances, no key used twice. Returns its components."""
    from core.plugins.manager import PluginManager, PluginRecord

    manager = PluginManager(allow_list="none", tenants_dir=None, builtin_package=None)
    record = PluginRecord(name, "installed", None, repr(plugin))
    manager._register(record, lambda: plugin)
    manager._check_pending()
    if record.loaded:
        manager._collect_components(record)
    if manager.problems:
        raise ConformanceError("the plugin would stop congvu's start-up:\n" + "\n".join(manager.problems))
    return list(record.components)


# ---------------------------------------------------------------- extremes (hypothesis)


def _number_bounds(component: Component, name: str, field: Any) -> tuple[Any, Any, Any]:
    from marshmallow import validate as v

    ranges = [r for r in field.validators if isinstance(r, v.Range)]
    low = max((r.min for r in ranges if r.min is not None), default=None)
    high = min((r.max for r in ranges if r.max is not None), default=None)
    _require(low is not None and high is not None, component,
             f"setting '{name}' accepts any number (even negative or huge ones the component cannot use); "
             f"bound it with validate.Range(min=..., max=...)")
    return low, high, ranges


def settings_strategy(component: Component) -> Any:
    """A hypothesis strategy of stored settings: every number setting anywhere in its
    accepted range (the bounds included), every choice, both booleans; other settings
    keep their defaults. A number setting without both bounds is a ConformanceError."""
    from hypothesis import strategies as st
    from marshmallow import fields as f
    from marshmallow import validate as v

    parts: dict[str, Any] = {}
    for name, field in component.settings_schema().fields.items():
        key = field.data_key or name
        choices = [c for r in field.validators if isinstance(r, v.OneOf) for c in r.choices]
        if choices:
            parts[key] = st.sampled_from(choices)
        elif isinstance(field, f.Boolean):
            parts[key] = st.booleans()
        elif isinstance(field, f.Integer):
            low, high, _ = _number_bounds(component, name, field)
            parts[key] = st.integers(int(low), int(high))
        elif isinstance(field, f.Decimal):
            low, high, _ = _number_bounds(component, name, field)
            parts[key] = st.decimals(Decimal(str(low)), Decimal(str(high)), places=3, allow_nan=False).map(str)
        elif isinstance(field, f.Number):
            low, high, _ = _number_bounds(component, name, field)
            parts[key] = st.floats(float(low), float(high), allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries({}, optional=parts) if parts else st.just({})


def items_strategy(max_items: int = 40) -> Any:
    """Hypothesis lists of work items with every field (see ``sample_item``), numbers and
    counts from zero to well past what a real day holds."""
    from hypothesis import strategies as st

    def build(status: str, day: int, late: bool, **rest: Any) -> dict[str, Any]:
        done = status == "done"
        at = datetime(2026, 10, day, 2, 0, tzinfo=UTC)
        return sample_item(status=status, work_date=date(2026, 10, day), completed_at=at if done else None,
                           reported_at=at if done else None, not_reported=late, **rest)

    item = st.builds(
        build, status=st.sampled_from(["done", "done", "in_progress", "planned"]), day=st.integers(1, 31),
        late=st.booleans(),
        quantity=st.decimals(0, 10_000, places=2), product_weight=st.decimals(0, 100, places=3),
        norm_minutes=st.integers(0, 10_000), complexity_coefficient=st.decimals(Decimal("0.1"), 10, places=3),
        complexity_level=st.one_of(st.none(), st.integers(1, 5)), failed_reviews=st.integers(0, 20),
        missed_deadlines=st.integers(0, 20), stars=st.one_of(st.none(), st.integers(1, 5)),
        satisfaction=st.one_of(st.none(), st.integers(1, 5)), role=st.sampled_from(["lead", "support"]),
        priority=st.integers(1, 3), exempt=st.booleans(), planned=st.booleans(),
        group=st.sampled_from(["A", "B", "C", "D"]),
        deadline=st.one_of(st.none(), st.dates(date(2026, 10, 1), date(2026, 11, 30))))
    return st.lists(item, max_size=max_items).map(lambda xs: [dict(x, id=i + 1) for i, x in enumerate(xs)])


# Periods of every kind the core scores, with the working days each can have.
PROBE_PERIODS = (("2026-10-05", 1), ("2026-W41", 5), ("2026-10", 21), ("2026-Q4", 62), ("2026-10", 0))


def _period_sums(variant: ScoringVariant, scores: Sequence[Mapping[str, Any]], items: Sequence[Mapping[str, Any]],
                 settings: Mapping[str, Any]) -> dict[str, float]:
    names = list(variant.item_components)
    if not variant.per_day:
        return {n: sum((float(s[n]) for s in scores), 0.0) for n in names}
    days: dict[Any, dict[str, float]] = {}
    for item, score in zip(items, scores, strict=True):
        day = days.setdefault(item["work_date"], dict.fromkeys(names, 0.0))
        for n in names:
            day[n] += float(score[n])
    total = dict.fromkeys(names, 0.0)
    for day_sums in days.values():
        adjusted = _call(variant, lambda d=day_sums: variant.adjust_day(dict(d), settings), "adjust_day")
        for n in names:
            value = adjusted.get(n, 0)
            _require(_finite(value), variant, f"adjust_day gave {n} = {value!r}, not a finite number")
            total[n] += float(value)
    return total


def _probe_variant(variant: ScoringVariant, stored: Mapping[str, Any], items: list[dict[str, Any]]) -> None:
    settings = variant.load_settings(variant.normalise_settings(stored))
    scores = _call(variant, lambda: variant.score_items(items, settings), f"score_items (settings {dict(stored)})")
    _require(isinstance(scores, list) and len(scores) == len(items), variant, "score_items must answer once per item")
    for item, score in zip(items, scores, strict=True):
        _require(isinstance(score, dict) and set(score) == set(variant.item_components)
                 and all(_finite(x) for x in score.values()), variant,
                 f"item {item}: with settings {dict(stored)} the components are {score!r}")
    sums = _period_sums(variant, scores, items, settings)
    for period, days in PROBE_PERIODS:
        for leader in (False, True):
            facts = {**SAMPLE_FACTS, "period": period, "working_days": days, "is_leader": leader}
            result = _call(variant, lambda f=facts: variant.period_score(sums, settings, f), f"period_score ({period})")
            task = result.get("task_score") if isinstance(result, dict) else result
            _require(_finite(task) and 0 <= float(task) <= variant.task_score_max, variant,
                     f"period_score gave a task score of {task!r} for {period} ({days} working days, "
                     f"{len(items)} items, settings {dict(stored)}): outside 0–{variant.task_score_max:g}; the core refuses "
                     f"the run. Cap it in the formula, or refuse such settings in the schema.")


def _heavy_month() -> list[dict[str, Any]]:
    """A month far busier than any person's: 31 days of 30 large, complex, done items."""
    return [sample_item(id=d * 100 + i, work_date=date(2026, 10, d), quantity=Decimal("100"),
                        complexity_coefficient=Decimal("5"), norm_minutes=600, product_weight=Decimal("10"),
                        completed_at=datetime(2026, 10, d, 2, 0, tzinfo=UTC),
                        reported_at=datetime(2026, 10, d, 2, 0, tzinfo=UTC), stars=5, satisfaction=5)
            for d in range(1, 32) for i in range(30)]


def probe_component(component: Component, max_examples: int = 150, shrink: bool = True) -> None:
    """Search with hypothesis for input the core will give that breaks the component:
    every settings value the schema accepts (number settings must be bounded), extreme
    items and a month far busier than real ones (scoring variants: every task score of a
    day, week, month and quarter within 0–70), random people and funds (bonus: whole đồng
    summing to the fund; classification: a valid level). Raises ConformanceError with a
    falsifying example, made as small as hypothesis can unless ``shrink`` is false (faster
    when a failure is expected)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    check_settings(component)
    strategy = settings_strategy(component)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    run = settings(max_examples=max_examples, deadline=None, database=None, phases=phases,
                   suppress_health_check=list(HealthCheck))

    def accepted(stored: Mapping[str, Any]) -> bool:
        from marshmallow import ValidationError

        try:
            component.normalise_settings(stored)
            return True
        except ValidationError:
            return False  # a cross-field rule refused it: the tenant cannot store it either

    if isinstance(component, ScoringVariant):
        for stored in ({}, *_bound_settings(component)):
            if accepted(stored):
                _probe_variant(component, stored, _heavy_month())

        @run
        @given(stored=strategy, items=items_strategy())
        def scoring(stored: dict[str, Any], items: list[dict[str, Any]]) -> None:
            if accepted(stored):
                _probe_variant(component, stored, items)

        scoring()
    elif isinstance(component, BonusScheme):
        @run
        @given(stored=strategy, people=_people_strategy(), fund=st.integers(0, 10**12))
        def bonus(stored: dict[str, Any], people: list[dict[str, Any]], fund: int) -> None:
            if accepted(stored):
                _probe_bonus(component, stored, people, fund)

        bonus()
    elif isinstance(component, ClassificationScheme):
        @run
        @given(stored=strategy, people=_people_strategy())
        def classification(stored: dict[str, Any], people: list[dict[str, Any]]) -> None:
            if accepted(stored):
                check_classification_scheme(component, people=people, settings=stored)

        classification()
    else:
        @run
        @given(stored=strategy)
        def any_settings(stored: dict[str, Any]) -> None:
            if accepted(stored):
                check_settings(component, stored)

        any_settings()


def _bound_settings(component: Component) -> list[dict[str, Any]]:
    """Every number setting at its lowest and at its highest accepted value, one at a time."""
    from marshmallow import fields as f
    from marshmallow import validate as v

    out: list[dict[str, Any]] = []
    for name, field in component.settings_schema().fields.items():
        if not isinstance(field, f.Number) or any(isinstance(r, v.OneOf) for r in field.validators):
            continue
        low, high, ranges = _number_bounds(component, name, field)
        inclusive_low = all(r.min_inclusive for r in ranges if r.min is not None)
        inclusive_high = all(r.max_inclusive for r in ranges if r.max is not None)
        for value, ok in ((low, inclusive_low), (high, inclusive_high)):
            if ok:
                out.append({field.data_key or name: str(value) if isinstance(field, f.Decimal) else value})
    return out


def _people_strategy() -> Any:
    from hypothesis import strategies as st

    person = st.fixed_dictionaries({
        "total": st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
        "level": st.one_of(st.none(), st.sampled_from(LEVELS)),
        "months_worked": st.integers(0, 12), "months_on_kept_leave": st.integers(0, 12),
        "forced_kht": st.booleans(), "is_leader": st.booleans(),
        "quota_group": st.sampled_from([("AG", "professional"), ("AG", "leadership")]),
        "salary_coefficient": st.decimals(Decimal("1.0"), Decimal("10.0"), places=2),
        "base_salary": st.integers(1, 10_000_000)})

    def complete(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [dict(p, employee_id=i + 1, criteria={}, unit_total=None,
                     task_score=None if p["total"] is None else p["total"] * 0.7) for i, p in enumerate(people)]

    return st.lists(person, min_size=1, max_size=30).map(complete)  # the core shares no fund among nobody
