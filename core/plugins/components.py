"""Base classes of the five component kinds a plugin can provide.

A component is a small object with a ``key`` (what a tenant's settings name), a
``version`` (recorded with every result it computes), a Vietnamese and an English
title, a marshmallow settings schema whose fields all have defaults, and optionally
the tenants allowed to select it. Its methods are pure functions of plain data: no
database session, no request, no clock, no randomness — so the core can call them in
a web request or a worker, in batches, and get the same answer every time.

Settings exist in two forms. The *stored* form is JSON (what ``settings_schema``
dumps); it is what the tenant's settings hold and what the settings hash is taken of.
The *loaded* form is what ``settings_schema`` loads (dates, Decimals…); it is what the
component's methods receive.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import string
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, NotRequired, TypedDict

from marshmallow import Schema, ValidationError

KINDS = ("scoring_variant", "classification_scheme", "bonus_scheme", "import_connector", "live_connector")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
# The task score's ceiling when a variant names none (ScoringVariant.task_score_max): the
# rest of a month's total, up to 100, is the general criteria.
TASK_SCORE_MAX = 70.0
LEVELS = ("HTXS", "HTT", "HT", "KHT")
# A person's legal regime (cán bộ, công chức, viên chức, người lao động): which law
# evaluates them. Here, beside the levels, so import connectors can check it without
# reaching into the core's models.
REGIMES = ("cong_chuc", "vien_chuc", "can_bo", "nguoi_lao_dong")
# The dates that protect a person from being a streamlining candidate (Decree 154/2025):
# on the employee, in the staff import, checked the same way everywhere.
PROTECTION_FIELDS = ("pregnant_from", "pregnant_to", "maternity_leave_from", "maternity_leave_to",
                     "youngest_child_born_on", "discipline_review_from", "discipline_review_to")
PROTECTION_PAIRS = (("pregnant_from", "pregnant_to"), ("maternity_leave_from", "maternity_leave_to"),
                    ("discipline_review_from", "discipline_review_to"))


def protection_date_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """An end without its start, or before it: the same words for the API, the form and the import."""
    errors: dict[str, list[str]] = {}
    for start_name, end_name in PROTECTION_PAIRS:
        start, end = values.get(start_name), values.get(end_name)
        if end and not start:
            errors[end_name] = ["An end date needs its start date."]
        elif start and end and end < start:
            errors[end_name] = ["Before the start date."]
    return errors
# What an import connector's rows become, and the fields a row may give for each
# (the built-in connectors' columns in api.md, "Data in and out").
TARGET_FIELDS: dict[str, tuple[str, ...]] = {
    "staff": ("code", "full_name", "unit_code", "position_code", "manager_code", "is_leader",
              "salary_coefficient", "start_date", "end_date", "username", "email", "roles"),
    "catalogue": ("code", "name", "group", "unit_of_measure", "norm_minutes", "product_weight",
                  "complexity_levels", "position_codes", "effective_from"),
    "work_items": ("external_id", "employee_code", "task_type_code", "title", "work_date", "quantity",
                   "complexity_level", "deadline", "declared_at", "completed_at", "reported_at", "status",
                   "failed_reviews", "missed_deadlines", "stars", "satisfaction", "role", "priority", "exempt"),
}
IMPORT_TARGETS = tuple(TARGET_FIELDS)


def round_score(value: float, places: int = 2) -> float:
    """Round half up, as a person checking by hand would (Python's round() goes to even).
    The core stores every task score rounded so; a variant that rounds its own uses this."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


# How pages name the item fields the core gives every variant (ScoringVariant's docstring),
# Vietnamese then English; a component's own `labels` name what it computes.
ITEM_FIELD_LABELS: Mapping[str, tuple[str, str]] = {
    "task_type_code": ("loại công việc", "task type"), "group": ("nhóm", "group"),
    "quantity": ("số lượng", "quantity"), "product_weight": ("hệ số sản phẩm quy đổi", "converted-product weight"),
    "norm_minutes": ("định mức phút mỗi đơn vị", "norm minutes per unit"),
    "complexity_coefficient": ("hệ số phức tạp", "complexity coefficient"),
    "complexity_level": ("mức độ phức tạp", "complexity level"), "deadline": ("hạn hoàn thành", "deadline"),
    "completed_at": ("hoàn thành lúc", "completed at"), "reported_at": ("báo cáo lúc", "reported at"),
    "failed_reviews": ("số lần phải làm lại", "failed reviews"),
    "missed_deadlines": ("số lần trễ hạn", "missed deadlines"), "stars": ("số sao chất lượng", "quality stars"),
    "satisfaction": ("mức độ hài lòng", "satisfaction"),
    "exempt": ("miễn trừ (nguyên nhân khách quan)", "exempted (objective cause)"),
    "planned": ("đã lên kế hoạch", "planned"), "role": ("vai trò", "role"), "priority": ("mức ưu tiên", "priority"),
    "not_reported": ("không báo cáo", "not reported"),
}


class NoSettings(Schema):
    """The settings schema of a component that has no settings."""


class Component:
    """What every component has. Subclass one of the four kinds below, not this."""

    kind: ClassVar[str] = ""
    key: ClassVar[str] = ""
    version: ClassVar[str] = ""
    title_vi: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    description_vi: ClassVar[str] = ""
    description_en: ClassVar[str] = ""
    settings_schema: ClassVar[type[Schema]] = NoSettings
    # Slugs of the tenants that may select this component; None means every tenant.
    allowed_tenants: ClassVar[frozenset[str] | None] = None
    # How pages name the keys this component puts in its results (item and period
    # components, sums): {"points": ("điểm quy đổi", "converted points")}, Vietnamese then
    # English. They are kept with each month's stamp, so a month keeps its words after an
    # upgrade; an unnamed key is shown as it is, underscores as spaces. A description
    # may show settings as {name}, filled in with the tenant's values on the pages.
    labels: ClassVar[Mapping[str, tuple[str, str]]] = {}

    # ------------------------------------------------------------ settings

    def load_settings(self, stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The loaded form of ``stored`` settings, defaults filled in.

        Raises ``marshmallow.ValidationError`` with field messages when they are invalid.
        """
        return self.settings_schema().load(dict(stored or {}))

    def normalise_settings(self, stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The stored (JSON) form of ``stored`` settings, validated and defaults filled in."""
        schema = self.settings_schema()
        return schema.dump(schema.load(dict(stored or {})))

    def default_settings(self) -> dict[str, Any]:
        """The stored form of the defaults: what a tenant gets when it sets nothing."""
        return self.normalise_settings({})

    @staticmethod
    def settings_hash(stored: Mapping[str, Any]) -> str:
        """A stable hash of stored settings, recorded with every result (key order does not matter)."""
        canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    # ------------------------------------------------------------ description

    def title(self, locale: str = "vi") -> str:
        return self.title_en if str(locale).startswith("en") and self.title_en else self.title_vi

    def allows(self, tenant_slug: str | None) -> bool:
        return self.allowed_tenants is None or tenant_slug in self.allowed_tenants

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}:{self.key} {self.version}>"


# ---------------------------------------------------------------- scoring


class ScoringVariant(Component):
    """Turns an employee's work items of a period into a task score 0–70.

    Scoring is split so that aggregation can be SQL (architecture.md, "Scoring at scale"):

    1. ``score_items`` scores items into named numeric components (``item_components``);
       the core stores them on each item's score row.
    2. The core sums each component per employee and period (``GROUP BY``).
    3. ``period_score`` turns one employee's sums into the task score.

    **Items** are dicts with these fields (docs/writing-a-plugin.md, "Item fields", says
    what each means): ``id``, ``employee_id``, ``task_type_code``, ``group`` (A–D),
    ``norm_minutes``, ``product_weight``, ``quantity``, ``complexity_coefficient``,
    ``complexity_level`` (int or None), ``work_date`` (date), ``deadline`` (date or None),
    ``declared_at``, ``completed_at``, ``reported_at`` (aware datetimes or None),
    ``completed_on`` (the completion date in the tenant's time zone, or None), ``as_of``
    (the date unfinished items are judged on), ``planned`` (declared before the morning
    cut-off), ``status`` (``planned``, ``in_progress`` or ``done``; cancelled items never
    reach a variant), ``not_reported`` (the result was not entered by the reporting
    deadline), ``report_late`` (done, but reported after that deadline),
    ``failed_reviews`` and ``missed_deadlines`` (ints), ``stars`` and ``satisfaction``
    (1–5 or None), ``role`` (``lead``/``support``), ``priority`` (1–3), ``exempt``
    (bool). Numbers may be int, float or Decimal. A variant ignores fields it does not
    use, and must not fail on fields it does not know.

    **Facts** given to ``period_score``: ``period`` (e.g. ``2026-10``), ``working_days``
    (the employee's working days in the period, less public holidays and approved
    leave), ``is_leader`` (bool: a head, or a deputy with a field in charge); for those,
    ``unit_people`` (how many they lead), what the variant's own ``leader_facts`` gives
    when they lead anyone (by default ``unit_any_kht``, bool, and ``organising_pct``,
    the share of the led people's items done on time), ``leadership_pct`` (the
    evaluator's leadership score, 0–100, when set) and ``deputy`` (True for a deputy's
    field). The core may add more, and variants that need them document which.
    """

    kind = "scoring_variant"
    # The names of the numeric components score_items returns for every item; the
    # core keeps one summable column per name.
    item_components: ClassVar[tuple[str, ...]] = ()
    # True: the core sums the item components per employee and day first and passes each
    # day's sums through adjust_day before adding the days up (daily caps, flags).
    per_day: ClassVar[bool] = False

    # ------------------------------------------------------------ the rule's policy
    # What the core reads of the rule besides the methods. The defaults are Decree
    # 335/2025's; a variant for another decree overrides them.

    # The highest task score period_score may return; a result above it (or below 0) is
    # refused as the plugin's fault, never clamped. The general criteria make up the rest
    # of a month's total, to 100.
    task_score_max: ClassVar[float] = TASK_SCORE_MAX
    # The bands of a month's total (task score + general criteria), highest first, each
    # (name, lowest total in it); the last band's edge is 0. The unit summary counts people
    # per band, and ``leader_facts`` asks whether anyone led is in the last band.
    total_bands: ClassVar[tuple[tuple[str, float], ...]] = (("HTXS", 90), ("HTT", 70), ("HT", 50), ("KHT", 0))
    # The edges of the what-if preview's task-score histogram, ascending from 0 to
    # ``task_score_max``: each bin holds the scores from its edge up to the next, the last
    # bin its top edge too.
    task_histogram_edges: ClassVar[tuple[float, ...]] = (0, 35, 49, 56, 63, 70)
    # Two of ``item_components`` whose sums over the people a leader leads give the
    # leader's ``organising_pct`` fact: (items, items done on time). None: the variant
    # measures no organising, and leaders get no ``organising_pct``.
    organising_components: ClassVar[tuple[str, str] | None] = None

    def band(self, total: Any) -> str:
        """The band (``total_bands``) of a month's total."""
        for name, edge in self.total_bands:
            if total >= edge:
                return name
        return self.total_bands[-1][0]

    def leader_facts(self, members: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> dict[str, Any]:
        """The facts of a leader's unit that ``period_score`` receives beside ``is_leader``
        and ``unit_people``, from the people they lead (never empty). Each member is
        ``{"total": Decimal (task score + general criteria), "sums": {component: Σ}}``,
        the sums as the member's month row stores them (6 decimals), so a refresh and a
        full run agree.

        The default gives ``unit_any_kht`` (anyone led is in the last of ``total_bands``)
        and, when ``organising_components`` names them, ``organising_pct``: the share of
        the members' items done on time (100 when they have no items).
        """
        lowest = self.total_bands[-1][0]
        facts: dict[str, Any] = {"unit_any_kht": any(self.band(m["total"]) == lowest for m in members)}
        if self.organising_components is not None:
            all_items, on_time_items = self.organising_components
            items = sum(round(m["sums"].get(all_items, 0.0), 6) for m in members)
            on_time = sum(round(m["sums"].get(on_time_items, 0.0), 6) for m in members)
            facts["organising_pct"] = 100.0 * on_time / items if items else 100.0
        return facts

    def score_items(self, items: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[dict[str, float]]:
        """One dict per item, in the same order, mapping each of ``item_components`` to a finite number."""
        raise NotImplementedError

    def item_components_sql(self, item: Any, settings: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Optional: ``item_components`` as SQL expressions over ``item`` (a
        ``core.plugins.sql.SqlItem``), computing exactly what ``score_items`` computes, so
        the core can score a month with one ``INSERT … SELECT`` (core/plugins/sql.py says
        how to stay bit-identical). ``None`` (the default) keeps the Python path.
        """
        return None

    def adjust_day(self, sums: Mapping[str, float], settings: Mapping[str, Any]) -> Mapping[str, float]:
        """Only with ``per_day``: one employee's sums of one day, adjusted (e.g. capped).
        Returns the same keys; a key left out counts 0. The default keeps the sums."""
        return sums

    def period_score(self, sums: Mapping[str, float], settings: Mapping[str, Any],
                     facts: Mapping[str, Any]) -> PeriodScore:
        """The task score (0–70) of one employee and period from the sums of its item components.

        ``sums`` maps each of ``item_components`` to its total over the period (0 when the
        employee has no items). Returns ``{"task_score": 0..70, "components": {name: number},
        "provisional": bool}``; ``components`` explains the score.
        """
        raise NotImplementedError


class PeriodScore(TypedDict, total=False):
    task_score: float
    components: dict[str, float]
    provisional: bool


# ---------------------------------------------------------------- classification


class ClassificationScheme(Component):
    """Turns a year's totals of the people of a tenant into classification levels.

    **People** are dicts: ``employee_id``, ``total`` (the annual total 0–100, or None
    when not scored), ``task_score``, ``quota_group`` (a hashable naming the agency and
    group of similar positions the quota is counted in), ``months_worked`` (months
    actually worked), ``months_on_kept_leave`` (months that sick and maternity leave
    took out of them), ``forced_kht`` (bool: discipline or, for leaders, corruption in
    the unit), ``criteria`` (a dict of counts for criteria-based schemes), ``is_leader``
    and, for heads, ``unit_total`` (the mean total of the people they lead, a decimal
    string, or None). Schemes ignore keys they do not use.
    """

    kind = "classification_scheme"

    def classify(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Classification]:
        """One answer per person, in the same order: ``{"employee_id", "level": one of LEVELS or None
        (not classified), "demoted_by_quota": bool}``."""
        raise NotImplementedError


class Classification(TypedDict):
    employee_id: int
    level: str | None
    demoted_by_quota: bool


# ---------------------------------------------------------------- bonus


class BonusScheme(Component):
    """Shares a bonus fund, in whole đồng, among the people of a year.

    **People** are dicts: ``employee_id``, ``level`` (one of LEVELS or None),
    ``months_worked`` (0–12), ``salary_coefficient`` (Decimal or string) and
    ``base_salary`` (đồng per month, int).
    """

    kind = "bonus_scheme"

    def default_fund(self, people: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> int:
        """The fund in whole đồng when the tenant gives none."""
        raise NotImplementedError

    def allocate(self, fund: int, people: Sequence[Mapping[str, Any]],
                 settings: Mapping[str, Any]) -> list[Allocation]:
        """One ``{"employee_id", "amount"}`` per person, in the same order; amounts are
        non-negative ints summing exactly to ``fund`` (use ``toolkit.allocate_exact``)."""
        raise NotImplementedError


class Allocation(TypedDict):
    employee_id: int
    amount: int


# ---------------------------------------------------------------- import


class ImportConnector(Component):
    """Reads an uploaded file into rows for one import target.

    ``parse`` only reads and checks: the core's import service looks codes up, writes
    the rows in one transaction, and writes nothing when any row has an error.
    """

    kind = "import_connector"
    target: ClassVar[str] = ""  # one of IMPORT_TARGETS: what the rows become
    columns: ClassVar[tuple[str, ...]] = ()  # the file's columns (the template's header row)
    key_columns: ClassVar[tuple[str, ...]] = ()  # the target fields that make a row unique (re-imports update)
    file_extensions: ClassVar[tuple[str, ...]] = (".csv",)

    def parse(self, data: bytes, settings: Mapping[str, Any]) -> ParseResult:
        """Read ``data`` (the uploaded file's bytes).

        Returns ``{"rows": [{"row": n, "values": {field: value}}], "errors": [{"row", "column",
        "message"}]}``. ``values`` uses the target's field names (``TARGET_FIELDS[target]``),
        whatever the file calls its columns, with dates, numbers and booleans already
        converted. ``row`` counts from 1 at the header row, so the first data row is 2
        (as a spreadsheet shows it). Empty input gives no rows. Bad input is reported in
        ``errors``, never raised; what is worth saying but not fatal (extra columns) goes
        in ``warnings``.
        """
        raise NotImplementedError


class LivePage(TypedDict):
    records: list[dict[str, Any]]  # each with the import connector's column names
    cursor: str | None  # where the next page (or the next run) starts; None: unchanged
    more: bool  # another page is waiting now


class LiveConnector(Component):
    """Pulls records from another system's HTTP API, a page at a time from a stored cursor,
    and hands them to an import connector, whose checks and all-or-nothing writer apply
    exactly as to an uploaded file.

    ``fetch_page`` is pure apart from the ``get`` it is given: the core's HTTP client
    (timeouts, retries with back-off, the outbound address check, JSON decoding), called
    as ``get(url, params, headers)`` and returning the decoded JSON body or raising. No
    database, no clock: the core stores the cursor and decides when to pull.
    """

    kind = "live_connector"
    import_connector: ClassVar[str] = ""  # the import connector the records go through

    def import_connector_for(self, settings: Mapping[str, Any]) -> str:
        """The import connector for these settings (a generic connector may let the tenant choose)."""
        return self.import_connector

    def settings_errors(self, settings: Mapping[str, Any]) -> dict[str, list[str]]:
        """What a tenant must still fill in before the source can run (e.g. its URL)."""
        return {}

    def fetch_page(self, get: Any, settings: Mapping[str, Any], cursor: str | None) -> LivePage:
        raise NotImplementedError


class ParsedRow(TypedDict):
    row: int
    values: dict[str, Any]


class RowError(TypedDict):
    row: int | None
    column: str | None
    message: str


class ParseResult(TypedDict):
    rows: list[ParsedRow]
    errors: list[RowError]  # any error: nothing is written
    warnings: NotRequired[list[RowError]]  # reported, not fatal (e.g. extra columns)


BASE_FOR_KIND: dict[str, type[Component]] = {
    "scoring_variant": ScoringVariant,
    "classification_scheme": ClassificationScheme,
    "bonus_scheme": BonusScheme,
    "import_connector": ImportConnector,
    "live_connector": LiveConnector,
}
HOOK_FOR_KIND = {
    "scoring_variant": "congvu_scoring_variants",
    "classification_scheme": "congvu_classification_schemes",
    "bonus_scheme": "congvu_bonus_schemes",
    "import_connector": "congvu_import_connectors",
    "live_connector": "congvu_live_connectors",
}


def _description_problem(component: Component) -> str | None:
    """A description may show settings as ``{name}``: each must name one of the settings."""
    names = {f.data_key or n for n, f in component.settings_schema().fields.items()}
    for attr in ("description_vi", "description_en"):
        text = getattr(component, attr)
        if not isinstance(text, str):
            return f"{attr} must be a string"
        try:
            parsed = [(name, spec, conv) for _lit, name, spec, conv in string.Formatter().parse(text)
                      if name is not None]
        except ValueError as exc:
            return f"{attr} has a stray brace ({exc}); write {{{{ or }}}} for a brace itself"
        for name, spec, conv in parsed:
            if name not in names:
                return f"{attr} shows {{{name}}}, which is not one of its settings ({', '.join(sorted(names)) or 'none'})"
            if spec or conv:
                return f"{attr} formats {{{name}}}; write {{{name}}} alone (the page formats numbers per language)"
    return None


def check_component(component: Any, kind: str) -> str | None:
    """What is wrong with a component a registration hook returned, or None."""
    base = BASE_FOR_KIND[kind]
    if isinstance(component, type) and issubclass(component, base):
        return f"a class, not an instance (return [{component.__name__}()])"
    if not isinstance(component, base):
        return f"not a {base.__name__} instance"
    if not isinstance(component.key, str) or not KEY_PATTERN.match(component.key):
        return "key must be 1–100 lower-case letters, digits, '.', '_' or '-'"
    for attr in ("version", "title_vi", "title_en"):
        if not isinstance(getattr(component, attr), str) or not getattr(component, attr).strip():
            return f"{attr} must be a non-empty string"
    if not (isinstance(component.settings_schema, type) and issubclass(component.settings_schema, Schema)):
        return "settings_schema must be a marshmallow Schema class"
    labels = component.labels
    if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, tuple | list) and len(v) == 2
            and all(isinstance(t, str) and t.strip() for t in v) for k, v in labels.items()):
        return 'labels must map each key to a (Vietnamese, English) pair of texts, e.g. {"points": ("điểm", "points")}'
    problem = _description_problem(component)
    if problem:
        return problem
    allowed = component.allowed_tenants
    if allowed is not None and not (isinstance(allowed, frozenset | set | tuple | list)
                                    and all(isinstance(s, str) for s in allowed)):
        return "allowed_tenants must be None or a set of tenant slugs"
    try:
        json.dumps(component.default_settings())
    except (ValidationError, TypeError, ValueError) as exc:
        return f"its settings schema does not load its own defaults into JSON: {exc}"
    if kind == "scoring_variant":
        names = component.item_components
        if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            return "item_components must name at least one component (identifiers)"
        problem = scoring_policy_problem(component)
        if problem is not None:
            return problem
    if kind == "import_connector":
        if component.target not in IMPORT_TARGETS:
            return f"target must be one of {', '.join(IMPORT_TARGETS)}"
        if not component.columns:
            return "columns must list the file's columns"
    if kind == "live_connector":
        target = component.import_connector_for(component.load_settings())
        if not isinstance(target, str) or not KEY_PATTERN.match(target):
            return "import_connector must name the import connector its records go through"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def scoring_policy_problem(variant: Any) -> str | None:
    """What is wrong with a scoring variant's policy attributes (ScoringVariant), or None."""
    ceiling = variant.task_score_max
    if not _number(ceiling) or not 0 < ceiling <= 100:
        return "task_score_max must be a number above 0 and at most 100"
    bands = variant.total_bands
    if not (isinstance(bands, tuple) and bands and all(
            isinstance(b, tuple) and len(b) == 2 and isinstance(b[0], str) and b[0] and _number(b[1]) for b in bands)):
        return 'total_bands must be a tuple of (name, lowest total) pairs, e.g. (("HT", 50), ("KHT", 0))'
    edges = [edge for _, edge in bands]
    if edges != sorted(edges, reverse=True) or len(set(edges)) != len(edges) or edges[-1] != 0:
        return "total_bands must go from the highest edge down, each edge once, the last one 0"
    bins = variant.task_histogram_edges
    if not (isinstance(bins, tuple) and len(bins) >= 2 and all(_number(e) for e in bins)
            and list(bins) == sorted(set(bins)) and bins[0] == 0 and bins[-1] == ceiling):
        return "task_histogram_edges must rise from 0 to task_score_max, each edge once"
    organising = variant.organising_components
    if organising is not None and not (isinstance(organising, tuple) and len(organising) == 2
                                       and all(n in variant.item_components for n in organising)):
        return "organising_components must be None or two of item_components: (items, items done on time)"
    return None
