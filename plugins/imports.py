"""Built-in import connectors: staff rosters, the task catalogue, work items and
one-stop-shop dossiers (api.md, "Data in and out", fixes their keys and columns).

Pure like every component: bytes (or a binary stream) in, rows and errors out. Besides
``parse`` they offer ``iter_parse(stream, settings)``, which yields the same rows and
errors one at a time; the core's import pipeline uses it so that a million-row file
is never held in memory. Columns may come in any order; unknown columns are warnings.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import IO, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.plugins import toolkit as v
from core.plugins.toolkit import (
    PROTECTION_FIELDS,
    REGIMES,
    FileRejected,
    ImportConnector,
    ParseResult,
    RowError,
    Schema,
    cell_text,
    column_for_header,
    fields,
    hookimpl,
    iter_jsonl,
    iter_table,
    protection_date_errors,
    sniff,
    validate,
)

VERSION = "1.0.0"
ROLES = ("employee", "manager", "tenant_admin", "auditor")
STATUSES = ("planned", "in_progress", "done", "cancelled")
# One-stop-shop results that mean the dossier was withdrawn, not handled.
WITHDRAWN = {"cancelled", "withdrawn", "huy", "hủy", "rut", "rút", "rút hồ sơ"}

# ("row", ParsedRow) | ("error", RowError) | ("warning", RowError), and after a row's errors
# ("partial", {"row", "values", "failed"}): what of the row did convert, in the target's field
# names, so the pipeline checks its codes in the same run (see TableConnector.iter_parse).
Event = tuple[str, Any]


class TimezoneSettings(Schema):
    timezone = fields.String(load_default="Asia/Ho_Chi_Minh", metadata={
        "label_vi": "Múi giờ của thời điểm không ghi múi giờ", "label_en": "Time zone of times given without one"})


class DossierSettings(TimezoneSettings):
    task_type_code = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "label_vi": "Mã loại công việc cho mọi hồ sơ (trống: dùng mã thủ tục)",
        "label_en": "Task type code for every dossier (empty: the procedure code)"})
    external_id_prefix = fields.String(load_default="dossier:", validate=validate.Length(max=30), metadata={
        "label_vi": "Tiền tố mã ngoài của hồ sơ", "label_en": "Prefix of the dossiers' external ids"})


def _zone(settings: Mapping[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(settings.get("timezone") or "Asia/Ho_Chi_Minh")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Ho_Chi_Minh")


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = v.to_text(value, 32).lower()
        if text not in choices:
            raise ValueError(f"use one of {', '.join(choices)}")
        return text
    return convert


def _roles(value: Any) -> list[str]:
    roles = [r.lower() for r in v.to_list(value)]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; use {', '.join(ROLES)} separated by ';'")
    return roles


def _codes(value: Any) -> list[str]:
    """A deputy's field: codes separated by ';' (units in one column, people in another)."""
    return [v.to_code(code) for code in v.to_list(value)]


def _email(value: Any) -> str:
    text = v.to_text(value, 200)
    if "@" not in text or " " in text:
        raise ValueError("not an e-mail address")
    return text


def _group(value: Any) -> str:
    text = v.to_text(value, 1).upper()
    if text not in ("A", "B", "C", "D"):
        raise ValueError("use A, B, C or D")
    return text


def _blank_row(cells: list[Any]) -> bool:
    # Called for every row: stops at the first filled cell, which is usually the first.
    for cell in cells:
        if cell is not None and cell != "" and (cell.__class__ is not str or not cell.isspace()):
            return False
    return True


# Converted values remembered per column, for text cells (see TableConnector._convert).
_MEMO_LIMIT = 4096
_MEMO_KEPT = frozenset((str, int, bool, Decimal, date, datetime))
_MISSING, _BLANK = object(), object()

Plan = list[tuple[str, dict[str, Any], Callable[[Any], Any], bool]]  # column, memo, converter, required


class TableConnector(ImportConnector):
    """A connector reading one header row and then one record per row."""

    file_extensions = (".xlsx", ".csv")
    formats: ClassVar[tuple[str, ...]] = ("xlsx", "csv")
    required: ClassVar[tuple[str, ...]] = ()
    settings_schema = TimezoneSettings

    def converters(self, settings: Mapping[str, Any]) -> dict[str, Callable[[Any], Any]]:
        raise NotImplementedError

    def check_row(self, values: dict[str, Any], number: int, settings: Mapping[str, Any]) -> list[RowError]:
        """Checks across the columns of one row (e.g. end date after start date)."""
        return []

    def to_target(self, values: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
        """The file's record in the target's field names."""
        return values

    def to_target_partial(self, values: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
        """What a row with errors still says, in the target's field names: only the cells
        that converted (a bad date is absent, the unit's code is there)."""
        return values

    # ------------------------------------------------------------ reading

    def records(self, stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | str]]:
        """``(row, {column: cell})`` per non-blank row, or ``(row, message)`` for a row
        that cannot be read; the header problems come first as ``(1, message)``."""
        rows = iter_table(stream, self.formats)
        header: list[str] | None = None
        for number, cells in rows:
            if header is None:
                if _blank_row(cells):
                    continue  # blank lines above the header
                # The templates' Vietnamese headers or the column names themselves.
                header = [column_for_header(cell_text(c).lstrip("\ufeff").strip().lower()) for c in cells]
                header_row = number
                yield from self._header_problems(header, header_row)
                continue
            if _blank_row(cells):
                continue
            if len(cells) > len(header) and not _blank_row(cells[len(header):]):
                yield number, f"The row has {len(cells)} cells but the header has {len(header)}."
                continue
            # zip stops at the shorter list: a short row's missing cells are simply absent.
            yield number, dict(zip(header, cells, strict=False))
        if header is None:
            yield 0, "empty"

    def _header_problems(self, header: list[str], number: int) -> Iterator[tuple[int, str]]:
        seen: set[str] = set()
        for name in header:
            if name and name in seen:
                yield number, f"duplicate:{name}"
            seen.add(name)
        for name in self.required:
            if name not in seen:
                yield number, f"missing:{name}"
        for name in header:
            if name and name not in self.columns:
                yield number, f"extra:{name}"

    def iter_parse(self, stream: IO[bytes], settings: Mapping[str, Any]) -> Iterator[Event]:
        converters = self.converters(settings)
        plan: Plan = [(column, {"": _BLANK}, converters[column], column in self.required) for column in self.columns]
        fatal = False
        try:
            for number, record in self.records(stream):
                if isinstance(record, str):
                    event = self._record_problem(number, record)
                    # A wrong header makes every row's errors noise: report it alone.
                    fatal = fatal or record.startswith(("missing:", "duplicate:"))
                    yield event
                    continue
                if fatal:
                    return
                values, errors = self._convert(record, number, plan, settings)
                if errors:
                    for error in errors:
                        yield "error", error
                    # The rest of the row is still checked against the tenant (its unit's and
                    # position's codes...): a bad date and a bad code are reported in one run,
                    # not one after the other as the person fixes and uploads again.
                    partial = self.to_target_partial(values, settings)
                    if partial:
                        yield "partial", {"row": number, "values": partial,
                                          "failed": sorted({e["column"] for e in errors if e.get("column")})}
                    continue
                yield "row", {"row": number, "values": self.to_target(values, settings)}
        except FileRejected as exc:
            yield "error", {"row": None, "column": None, "message": exc.message}

    def _record_problem(self, number: int, message: str) -> Event:
        if number == 0 and message == "empty":
            return "error", {"row": None, "column": None, "message": "The file is empty: it has no header row."}
        kind, _, name = message.partition(":")
        if kind == "missing" and name:
            return "error", {"row": number, "column": name, "message": "Required column is missing from the header."}
        if kind == "duplicate" and name:
            return "error", {"row": number, "column": name, "message": "The column appears more than once."}
        if kind == "extra" and name:
            return "warning", {"row": number, "column": name, "message": "Unknown column (ignored)."}
        return "error", {"row": number, "column": None, "message": message}

    def _convert(self, record: Mapping[str, Any], number: int, plan: Plan,
                 settings: Mapping[str, Any]) -> tuple[dict[str, Any], list[RowError]]:
        """The row's cells converted, or its errors. The hot loop of a large import: a
        text cell seen before in its column (a date, a code, a status: most cells of
        a large file) takes one dictionary lookup. Only immutable results are
        remembered, at most ``_MEMO_LIMIT`` per column, so memory stays bounded; errors
        are never remembered. Cells that are not text (numbers and dates from xlsx) are
        converted each time: 1, 1.0 and True are one key to a dictionary."""
        values: dict[str, Any] = {}
        errors: list[RowError] | None = None
        get = record.get
        for column, memo, convert, required in plan:
            cell = get(column)
            if cell.__class__ is str:
                value = memo.get(cell, _MISSING)
                if value is not _MISSING and value is not _BLANK:
                    values[column] = value
                    continue
                blank = value is _BLANK or cell.isspace()
            else:
                blank = cell is None
            if blank:
                if required:
                    errors = errors or []
                    errors.append({"row": number, "column": column, "message": "Required."})
                continue
            try:
                value = convert(cell)
            except (ValueError, ArithmeticError) as exc:
                shown = cell_text(cell)[:40]
                errors = errors or []
                errors.append({"row": number, "column": column, "message": f"Invalid value {shown!r}: {exc}."})
                continue
            values[column] = value
            if cell.__class__ is str and value.__class__ in _MEMO_KEPT and len(memo) < _MEMO_LIMIT:
                memo[cell] = value
        if errors:
            return values, errors
        return values, self.check_row(values, number, settings)

    def parse(self, data: bytes, settings: Mapping[str, Any]) -> ParseResult:
        rows, errors, warnings = [], [], []
        for kind, payload in self.iter_parse(io.BytesIO(data), settings):
            if kind != "partial":  # checked against the tenant's data by the pipeline only
                {"row": rows, "error": errors, "warning": warnings}[kind].append(payload)
        return {"rows": rows, "errors": errors, "warnings": warnings}


# ---------------------------------------------------------------- staff


class StaffConnector(TableConnector):
    target = "staff"
    version = VERSION
    columns = ("code", "full_name", "unit_code", "position_code", "manager_code", "is_leader",
               "salary_coefficient", "start_date", "end_date", "username", "email", "roles", "regime", "regime_from",
               "field_units", "field_people", "field_from", *PROTECTION_FIELDS)
    key_columns = ("code",)
    required = ("code", "full_name", "unit_code")

    def converters(self, settings):
        return {
            "code": v.to_code, "full_name": partial(v.to_text, max_length=200, line=True), "unit_code": v.to_code,
            "position_code": v.to_code, "manager_code": v.to_code, "is_leader": v.to_bool,
            "salary_coefficient": partial(v.to_decimal, low=Decimal("0"), high=Decimal("20")),
            "start_date": v.to_date, "end_date": v.to_date, "username": partial(v.to_text, max_length=100, line=True),
            "email": _email, "roles": _roles, "regime": _one_of(REGIMES), "regime_from": v.to_date,
            "field_units": _codes, "field_people": _codes, "field_from": v.to_date,
            **{name: v.to_date for name in PROTECTION_FIELDS},
        }

    def check_row(self, values, number, settings):
        start, end = values.get("start_date"), values.get("end_date")
        if start and end and end < start:
            return [{"row": number, "column": "end_date", "message": "Before the start date."}]
        if values.get("regime_from") and not values.get("regime"):
            return [{"row": number, "column": "regime", "message": "A regime date needs the regime."}]
        if values.get("manager_code") and values.get("manager_code") == values.get("code"):
            return [{"row": number, "column": "manager_code", "message": "A person cannot manage themselves."}]
        if values.get("field_from") and not (values.get("field_units") or values.get("field_people")):
            return [{"row": number, "column": "field_units", "message": "A field date needs the units or people."}]
        if values.get("code") in (values.get("field_people") or ()):
            return [{"row": number, "column": "field_people", "message": "A deputy is not in charge of themselves."}]
        # A blank cell keeps the stored date, so an end without its start is checked by the
        # writer against what is stored; here only an end before its start in the same row.
        return [{"row": number, "column": column, "message": messages[0]}
                for column, messages in protection_date_errors(values).items()
                if messages[0] == "Before the start date."]


class StaffXlsx(StaffConnector):
    """A staff roster saved from Excel (xlsx; CSV accepted too)."""

    key = "staff-xlsx"
    title_vi = "Danh sách cán bộ, công chức (Excel)"
    title_en = "Staff roster (Excel)"
    file_extensions = (".xlsx",)
    formats = ("xlsx", "csv")


class StaffCsv(StaffConnector):
    """A staff roster as CSV (UTF-8 with or without BOM, UTF-16, Windows-1258)."""

    key = "staff-csv"
    title_vi = "Danh sách cán bộ, công chức (CSV)"
    title_en = "Staff roster (CSV)"
    file_extensions = (".csv",)
    formats = ("csv",)


# ---------------------------------------------------------------- catalogue


class CatalogueXlsx(TableConnector):
    """Task types with their norms, one row per (code, effective date)."""

    key = "catalogue-xlsx"
    version = VERSION
    title_vi = "Danh mục công việc và định mức (Excel)"
    title_en = "Task catalogue and norms (Excel)"
    target = "catalogue"
    columns = ("code", "name", "group", "unit_of_measure", "norm_minutes", "product_weight", "complexity_levels",
               "position_codes", "effective_from")
    key_columns = ("code", "effective_from")
    required = ("code", "name", "group", "unit_of_measure", "norm_minutes")

    def converters(self, settings):
        return {
            "code": v.to_code, "name": partial(v.to_text, max_length=300, line=True), "group": _group,
            "unit_of_measure": partial(v.to_text, max_length=64, line=True),
            "norm_minutes": partial(v.to_decimal, low=Decimal("0.01"), high=Decimal("99999999")),
            "product_weight": partial(v.to_decimal, low=Decimal("0"), high=Decimal("9999999")),
            "complexity_levels": v.to_levels, "position_codes": v.to_list, "effective_from": v.to_date,
        }


# ---------------------------------------------------------------- work items


class WorkItemsCsv(TableConnector):
    """Work items from another system (e-office), keyed on its own id."""

    key = "work-items-csv"
    version = VERSION
    title_vi = "Đầu mục công việc (CSV)"
    title_en = "Work items (CSV)"
    target = "work_items"
    columns = ("external_id", "employee_code", "task_type_code", "title", "work_date", "quantity",
               "complexity_level", "deadline", "declared_at", "completed_at", "reported_at", "status",
               "failed_reviews", "missed_deadlines", "stars", "satisfaction", "role", "priority", "exempt")
    key_columns = ("external_id",)
    required = ("external_id", "employee_code", "task_type_code", "work_date")
    file_extensions = (".csv",)
    formats = ("csv", "xlsx")

    def converters(self, settings):
        moment = partial(v.to_datetime, zone=_zone(settings))
        return {
            "external_id": partial(v.to_text, max_length=100), "employee_code": v.to_code,
            "task_type_code": v.to_code, "title": partial(v.to_text, max_length=300), "work_date": v.to_date,
            "quantity": partial(v.to_decimal, low=Decimal("0.01"), high=Decimal("9999999999")),
            "complexity_level": partial(v.to_int, low=1, high=10), "deadline": v.to_date,
            "declared_at": moment, "completed_at": moment, "reported_at": moment,
            "status": _one_of(STATUSES), "failed_reviews": partial(v.to_int, low=0, high=100),
            "missed_deadlines": partial(v.to_int, low=0, high=100), "stars": partial(v.to_int, low=1, high=5),
            "satisfaction": partial(v.to_int, low=1, high=5), "role": _one_of(("lead", "support")),
            "priority": partial(v.to_int, low=1, high=3), "exempt": v.to_bool,
        }

    def check_row(self, values, number, settings):
        if values.get("status") == "done" and not values.get("completed_at"):
            return [{"row": number, "column": "completed_at", "message": "Required when the status is done."}]
        return []


class OneStopDossiers(TableConnector):
    """Administrative-procedure dossiers of a one-stop-shop system (CSV or JSON lines):
    each becomes a work item of its handler, timed against its due date and rated by
    the citizen."""

    key = "one-stop-dossiers"
    version = VERSION
    title_vi = "Hồ sơ thủ tục hành chính (một cửa)"
    title_en = "One-stop-shop dossiers"
    target = "work_items"
    columns = ("dossier_code", "procedure_code", "procedure_name", "handler_code", "received_at", "due_at",
               "finished_at", "result", "citizen_rating")
    key_columns = ("external_id",)
    required = ("dossier_code", "procedure_code", "handler_code", "received_at")
    file_extensions = (".csv", ".jsonl")
    formats = ("csv",)
    settings_schema = DossierSettings

    def converters(self, settings):
        moment = partial(v.to_datetime, zone=_zone(settings))
        return {
            "dossier_code": partial(v.to_text, max_length=80), "procedure_code": v.to_code,
            "procedure_name": partial(v.to_text, max_length=250), "handler_code": v.to_code,
            "received_at": moment, "due_at": moment, "finished_at": moment,
            "result": partial(v.to_text, max_length=100), "citizen_rating": partial(v.to_int, low=1, high=5),
        }

    def check_row(self, values, number, settings):
        if values.get("finished_at") and values["finished_at"] < values["received_at"]:
            return [{"row": number, "column": "finished_at", "message": "Before the dossier was received."}]
        if values.get("due_at") and values["due_at"] < values["received_at"]:
            return [{"row": number, "column": "due_at", "message": "Before the dossier was received."}]
        return []

    def to_target(self, values, settings):
        zone = _zone(settings)

        def local_day(moment: datetime):
            return moment.astimezone(zone).date()

        received: datetime = values["received_at"]
        finished: datetime | None = values.get("finished_at")
        withdrawn = str(values.get("result", "")).strip().lower() in WITHDRAWN
        name = values.get("procedure_name") or values["procedure_code"]
        out: dict[str, Any] = {
            "external_id": f"{settings.get('external_id_prefix', 'dossier:')}{values['dossier_code']}",
            "employee_code": values["handler_code"],
            "task_type_code": settings.get("task_type_code") or values["procedure_code"],
            "title": f"{name} — {values['dossier_code']}"[:300],
            "work_date": local_day(received),
            "quantity": Decimal("1"),
            "deadline": local_day(values["due_at"]) if values.get("due_at") else None,
            "declared_at": received,
            "completed_at": finished,
            "reported_at": finished,
            "status": "cancelled" if withdrawn else ("done" if finished else "in_progress"),
            "satisfaction": values.get("citizen_rating"),
            "role": "lead",
            "priority": 1,
        }
        return {k: val for k, val in out.items() if val is not None}

    def to_target_partial(self, values, settings):
        # The codes the work-items writer checks: the handler and the task type.
        out = {}
        if values.get("handler_code"):
            out["employee_code"] = values["handler_code"]
        if settings.get("task_type_code") or values.get("procedure_code"):
            out["task_type_code"] = settings.get("task_type_code") or values["procedure_code"]
        return out

    def records(self, stream: IO[bytes]):
        position = stream.tell()
        head = stream.read(4096)
        stream.seek(position)
        if sniff(head) != "jsonl":
            yield from super().records(stream)
            return
        any_line, extra = False, set()
        for number, item in iter_jsonl(stream):
            any_line = True
            if isinstance(item, str):
                yield number, item
                continue
            record = {str(k).strip().lower(): (None if val is None else val) for k, val in item.items()}
            for name in record:
                if name not in self.columns and name not in extra:
                    extra.add(name)
                    yield 0, f"extra:{name}"
            yield number, {k: (str(val) if isinstance(val, int | float) and k in ("dossier_code",) else val)
                           for k, val in record.items()}
        if not any_line:
            yield 0, "empty"

    def _record_problem(self, number, message):
        kind, event = super()._record_problem(number, message)
        if message.startswith("extra:"):
            event = {**event, "row": None}
        return kind, event


BUILT_IN = (StaffXlsx(), StaffCsv(), CatalogueXlsx(), WorkItemsCsv(), OneStopDossiers())


@hookimpl
def congvu_import_connectors():
    return list(BUILT_IN)
