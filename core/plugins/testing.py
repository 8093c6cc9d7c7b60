"""The conformance kit: checks a plugin author runs on each component in their own tests.

    from core.plugins.testing import check_component

    def test_my_variant_conforms():
        check_component(MyVariant())                        # the kit's sample data
        check_component(MyVariant(), settings={"target": 5}, items=[sample_item(quantity=3)])

Each check raises ``ConformanceError`` (an AssertionError, so pytest shows it) saying
what is wrong. What is checked, for every kind: the component is well formed (what the
plugin manager refuses at start-up), its settings schema loads its own defaults,
dumps them to JSON and loads them back unchanged, and normalising is idempotent; the
component answers the same on the same input, does not change its input, and handles
empty input; its answers have the documented shape and ranges. Scoring variants are
also checked to give the same item scores whether items come one at a time or in a
batch (the core scores in batches of any size).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
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
from core.plugins.manager import check_component as _well_formed

__all__ = [
    "SAMPLE_FACTS",
    "SAMPLE_MEMBER_TOTALS",
    "ConformanceError",
    "check_bonus_scheme",
    "check_classification_scheme",
    "check_component",
    "check_import_connector",
    "check_leader_facts",
    "check_scoring_variant",
    "check_settings",
    "sample_items",
    "sample_item",
    "sample_people",
]


class ConformanceError(AssertionError):
    """A component does not do what the core relies on."""


def _require(condition: bool, component: Component, message: str) -> None:
    if not condition:
        raise ConformanceError(f"{type(component).__name__} ({component.kind} '{component.key}'): {message}")


# ---------------------------------------------------------------- sample data


def sample_item(**overrides: Any) -> dict[str, Any]:
    """A work item as the core hands it to a scoring variant (fields: see ``ScoringVariant``)."""
    item: dict[str, Any] = {
        "id": 1, "task_type_code": "B-01", "group": "B", "norm_minutes": 30, "product_weight": Decimal("1.0"),
        "quantity": Decimal("2"), "complexity_coefficient": Decimal("1.0"), "work_date": date(2026, 10, 5),
        "deadline": date(2026, 10, 6), "declared_at": datetime(2026, 10, 5, 0, 45, tzinfo=UTC),
        "completed_at": datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
        "reported_at": datetime(2026, 10, 5, 9, 5, tzinfo=UTC), "planned": True, "status": "done",
        "failed_reviews": 0, "missed_deadlines": 0, "stars": 4, "satisfaction": 5, "role": "lead",
        "priority": 1, "exempt": False,
    }
    item.update(overrides)
    return item


def sample_items() -> list[dict[str, Any]]:
    """A varied handful: done and open, late, reworked, exempt, unrated, support, urgent, zero quantity."""
    return [
        sample_item(id=1),
        sample_item(id=2, quantity=Decimal("0.5"), complexity_coefficient=Decimal("1.2"), stars=5, priority=3),
        sample_item(id=3, status="in_progress", completed_at=None, reported_at=None, stars=None, satisfaction=None),
        sample_item(id=4, missed_deadlines=2, failed_reviews=1, stars=3),
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
        _require(isinstance(result, list) and len(result) == len(people), scheme,
                 "allocate must answer once per person")
        _require([r.get("employee_id") for r in result] == [p["employee_id"] for p in people], scheme,
                 "allocations must be in the people's order with their employee_id")
        _require(all(isinstance(r.get("amount"), int) and not isinstance(r["amount"], bool) and r["amount"] >= 0
                     for r in result), scheme, "amounts must be non-negative ints (whole đồng)")
        _require(sum(r["amount"] for r in result) == amount, scheme,
                 f"amounts sum to {sum(r['amount'] for r in result)}, not to the fund {amount}")
        results.append(result)
    return results


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
