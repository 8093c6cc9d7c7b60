"""The work-items writer: a million rows streamed in, each built by the same
function as an item entered through the API (core.work.building)."""

from __future__ import annotations

import queue
import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from core.catalogue.models import NormVersion, TaskType
from core.imports.writers.base import BATCH, STAGED_BATCH, RowError, Writer, _err
from core.org.models import Employee
from core.tenants.models import Tenant
from core.timeutil import utcnow
from core.work import building
from core.work.models import ClosedPeriod, WorkItem

STAGING = "import_work_items"
ITEM_FIELDS = building.FIELDS
ITEM_COLUMNS = ("external_id", *ITEM_FIELDS)  # the order of an item's tuple
ONE = Decimal("1")
MIDNIGHT = time(0, 0)


def _copy_str(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


# A value as PostgreSQL's COPY text format spells it, by the value's exact type.
_COPY_TEXT: dict[type, Callable[[Any], str]] = {
    str: _copy_str, int: int.__repr__, Decimal: Decimal.__str__, date: date.isoformat,
    datetime: datetime.isoformat, bool: lambda flag: "t" if flag else "f", type(None): lambda _: "\\N",
}


class CopyRows:
    """Rows as PostgreSQL's COPY text (tab-separated, ``\\N`` for NULL, special characters
    escaped), written in Python while the file is read, so the merger thread only sends
    bytes. The text of each column's values is remembered (at most ``LIMIT`` per
    column): a million rows hold few distinct dates, codes and norms, and formatting a
    datetime costs more than looking it up. Columns in ``unique`` (keys, titles) are
    formatted every time."""

    LIMIT = 4096

    def __init__(self, width: int, unique: tuple[int, ...] = ()):
        self.texts: list[dict[Any, str] | None] = [None if i in unique else {} for i in range(width)]

    def line(self, values: tuple) -> str:
        parts = []
        for texts, value in zip(self.texts, values, strict=True):
            text = texts.get(value) if texts is not None else None
            if text is None:
                text = _COPY_TEXT.get(value.__class__, _copy_other)(value)
                if texts is not None and len(texts) < self.LIMIT:
                    texts[value] = text  # one type per column: 1 == True never meet here
            parts.append(text)
        return "\t".join(parts)


def _copy_other(value: Any) -> str:
    return _copy_str(str(value))


def _duplicate(row: int, first: int) -> RowError:
    return _err(row, "external_id", f"Duplicate of row {first}.")


def _no_employee(row: int, code: str) -> RowError:
    return _err(row, "employee_code", f"No employee with code {code!r}.")


def _no_task_type(row: int, code: str) -> RowError:
    return _err(row, "task_type_code", f"No task type with code {code!r}.")


def _closed(row: int, month: str) -> RowError:
    return _err(row, "work_date", f"The period {month} is closed.")


@dataclass
class _Norm:
    effective: list[date]
    # (version id, norm minutes, product weight, {level: coefficient}, level used when the file gives none)
    versions: list[tuple[int, Decimal, Decimal, dict[int, Decimal], int | None]]


@dataclass
class _Day:
    month: str
    closed: bool
    cutoff: datetime  # declared before it: planned
    midnight: datetime  # declared_at when the file gives none


class WorkItemWriter(Writer):
    def __init__(self, tenant: Tenant, dry_run: bool = False):
        super().__init__(tenant, dry_run)
        from core.work import calendar as cal

        self.cal = cal
        self.zone = cal.zone(tenant.timezone)
        self.employees = dict(self.conn.execute(
            select(Employee.code, Employee.id).where(Employee.tenant_id == self.tid)).all())
        self.task_types: dict[str, tuple[int, str]] = {
            code: (tid_, name[:300]) for code, tid_, name in self.conn.execute(
                select(TaskType.code, TaskType.id, TaskType.name).where(TaskType.tenant_id == self.tid))}
        norms: dict[int, list] = {}
        for row in self.conn.execute(select(NormVersion.task_type_id, NormVersion.effective_from, NormVersion.id,
                                            NormVersion.norm_minutes, NormVersion.product_weight,
                                            NormVersion.complexity_levels)
                                     .where(NormVersion.tenant_id == self.tid).order_by(NormVersion.effective_from)):
            levels = {int(x["level"]): Decimal(str(x["coefficient"])) for x in row.complexity_levels or []}
            default = next((lv for lv, c in sorted(levels.items()) if c == 1), min(levels)) if levels else None
            norms.setdefault(row.task_type_id, []).append(
                (row.effective_from, (row.id, row.norm_minutes, row.product_weight, levels, default)))
        self.norms = {k: _Norm([e for e, _ in rows], [n for _, n in rows]) for k, rows in norms.items()}
        self.closed = set(self.conn.execute(select(ClosedPeriod.period).where(ClosedPeriod.tenant_id == self.tid))
                          .scalars())
        # A result reported late is flagged by the same rule as on the API path (Measure),
        # against the whole tenant calendar read once: it has a row per declared day only.
        from core.work.models import CalendarDay
        from core.work.services.measure import Measure
        from core.work.services.settings import work_settings

        days = dict(self.conn.execute(select(CalendarDay.day, CalendarDay.kind)
                                      .where(CalendarDay.tenant_id == self.tid)).all())
        today = cal.local_today(tenant)
        self.measure = Measure(tenant, today, [today], work_settings().report_within_working_days,
                               cal.WorkCalendar(date.min, date.max, days))
        self.seen: dict[int, int] = {}
        self.batch: list[tuple] = []  # items (SQLite), or rows of COPY text (PostgreSQL)
        self.months: set[str] = set()
        self.days: dict[date, _Day] = {}
        # On PostgreSQL rows are streamed with COPY into a temporary table and merged
        # chunk by chunk with one set-based statement (see _merge); COPY cannot write to
        # a table under row-level security, and INSERT … SELECT from it is checked as usual.
        self.staged = self.conn.dialect.name == "postgresql"
        if self.staged:
            self.copy_rows = CopyRows(len(ITEM_COLUMNS), unique=(ITEM_COLUMNS.index("external_id"),
                                                                 ITEM_COLUMNS.index("title")))
            self.conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {STAGING} ON COMMIT DROP AS "
                f"SELECT {', '.join(ITEM_COLUMNS)} FROM work_items WITH NO DATA")
            self._start_merger()

    def check(self, row, values, failed=()):
        # The same checks as add's first ones, on the fields that converted.
        if "external_id" in values:
            key = hash(values["external_id"])
            if key in self.seen:
                return [_duplicate(row, self.seen[key])]
            self.seen[key] = row
        errors: list[RowError] = []
        if "employee_code" in values and values["employee_code"] not in self.employees:
            errors.append(_no_employee(row, values["employee_code"]))
        if "task_type_code" in values and values["task_type_code"] not in self.task_types:
            errors.append(_no_task_type(row, values["task_type_code"]))
        if "work_date" in values:
            day = self.days.get(values["work_date"]) or self._day(values["work_date"])
            if day.closed:
                errors.append(_closed(row, day.month))
        return errors

    def add(self, row, values):
        errors: list[RowError] = []
        # Python's 64-bit string hash: stable within one process, and small for a million
        # keys; a collision (odds about 3 in 10^8 for a million rows) would be reported
        # as a duplicate, never written twice.
        key = hash(values["external_id"])
        if key in self.seen:
            return [_duplicate(row, self.seen[key])]
        self.seen[key] = row
        employee_id = self.employees.get(values["employee_code"])
        if employee_id is None:
            errors.append(_no_employee(row, values["employee_code"]))
        task_type = self.task_types.get(values["task_type_code"])
        if task_type is None:
            errors.append(_no_task_type(row, values["task_type_code"]))
        work_date: date = values["work_date"]
        day = self.days.get(work_date) or self._day(work_date)
        if day.closed:
            errors.append(_closed(row, day.month))
        if errors:
            return errors
        norm = self.norms.get(task_type[0])
        index = bisect_right(norm.effective, work_date) - 1 if norm else -1
        if index < 0:
            return [_err(row, "work_date", "The task type has no norm in force on this date.")]
        version_id, minutes, weight, levels, default_level = norm.versions[index]
        level = values.get("complexity_level")
        if levels:
            if level is None:
                level = default_level
            if level not in levels:
                return [_err(row, "complexity_level", f"Use one of {sorted(levels)}.")]
            coefficient = levels[level]
        elif level is not None:
            return [_err(row, "complexity_level", "This task type has no complexity levels.")]
        else:
            coefficient = ONE
        item = self._item(values, day, employee_id, task_type, version_id, minutes, weight, level, coefficient)
        if item.__class__ is dict:
            return [{"row": row, **item}]
        self.months.add(day.month)
        self.batch.append(self.copy_rows.line(item) if self.staged else item)
        if len(self.batch) >= (STAGED_BATCH if self.staged else BATCH):
            self._flush()
        return []

    def _item(self, values, day: _Day, employee_id, task_type, version_id, minutes, weight, level,
              coefficient) -> tuple | dict:
        """The item as a tuple in ITEM_COLUMNS order, or the error of its column."""
        norm = building.Norm(task_type[0], task_type[1], version_id, minutes, weight, level, coefficient)
        try:
            return (values["external_id"],
                    *building.item_values(values, employee_id, norm, day.cutoff, day.midnight, self.measure))
        except building.Refused as exc:
            return {"column": exc.column, "message": exc.message}

    def _day(self, work_date: date) -> _Day:
        month = f"{work_date.year:04d}-{work_date.month:02d}"
        day = self.days[work_date] = _Day(month, month in self.closed, self.cal.cutoff_moment(work_date, self.tenant),
                                          datetime.combine(work_date, MIDNIGHT, tzinfo=self.zone))
        return day

    def _flush(self) -> None:
        batch, self.batch = self.batch, []
        if self.failed or not batch:
            return
        if self.staged:
            if self.merge_error is None:
                self.queue.put(("\n".join(batch) + "\n").encode())
            return
        t = WorkItem.__table__
        items = [dict(zip(ITEM_COLUMNS, item, strict=True)) for item in batch]
        existing = {r["external_id"]: r for r in self.conn.execute(
            select(t.c.id, t.c.external_id, *[t.c[n] for n in ITEM_FIELDS])
            .where(t.c.tenant_id == self.tid, t.c.external_id.in_([i["external_id"] for i in items]))).mappings()}
        now = utcnow()
        inserts, updates = [], []
        for item in items:
            current = existing.get(item["external_id"])
            if current is None:
                inserts.append({**item, "tenant_id": self.tid, "missed_before": 0,
                                "verification": "pending", "outside_position": False, "updated_at": now})
            elif any(current[n] != item[n] for n in ITEM_FIELDS):
                updates.append({"b_id": current["id"], **{n: item[n] for n in ITEM_FIELDS}, "updated_at": now})
            else:
                self.unchanged += 1
        if not self.dry_run:
            if inserts:
                self.conn.execute(insert(t), inserts)
            if updates:
                self.conn.execute(update(t).where(t.c.id == bindparam("b_id"), t.c.tenant_id == self.tid)
                                  .values({n: bindparam(n) for n in (*ITEM_FIELDS, "updated_at")}), updates)
        self.new += len(inserts)
        self.updated += len(updates)

    # ------------------------------------------------------------ PostgreSQL: staged, in a thread

    def _start_merger(self) -> None:
        """The merger thread owns the transaction's connection while the file is read:
        PostgreSQL merges one chunk while Python parses the next (the thread waits on
        the server with the GIL released). The queue holds two chunks at most, so
        memory stays bounded whatever the file's size."""
        columns = ", ".join(ITEM_FIELDS)
        self.copy_sql = f"COPY {STAGING} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
        if self.dry_run:
            # Nothing is written: each row is looked up by its key (the planner cannot
            # see the staging rows; OFFSET 0 keeps the lookup a nested index probe).
            self.merge_sql = (
                f"SELECT count(*) FILTER (WHERE e.differs IS NULL), count(*) FILTER (WHERE e.differs) "
                f"FROM {STAGING} s LEFT JOIN LATERAL (SELECT ({', '.join('w.' + n for n in ITEM_FIELDS)}) "
                f"IS DISTINCT FROM ({', '.join('s.' + n for n in ITEM_FIELDS)}) AS differs FROM work_items w "
                f"WHERE w.tenant_id = %(t)s AND w.external_id = s.external_id OFFSET 0) e ON true")
        else:
            # One pass through the unique (tenant_id, external_id) index: new rows are
            # inserted, rows that differ are updated, and equal rows are left as they are
            # (locked, not rewritten). A row the statement inserted has no xmax.
            self.merge_sql = (
                f"WITH merged AS (INSERT INTO work_items AS w (tenant_id, external_id, {columns}, missed_before, "
                f"verification, outside_position, updated_at) SELECT %(t)s, s.external_id, "
                f"{', '.join('s.' + n for n in ITEM_FIELDS)}, 0, 'pending', false, now() FROM {STAGING} s "
                f"ON CONFLICT (tenant_id, external_id) DO UPDATE SET "
                f"{', '.join(f'{n} = excluded.{n}' for n in ITEM_FIELDS)}, updated_at = now() "
                f"WHERE ({', '.join('w.' + n for n in ITEM_FIELDS)}) IS DISTINCT FROM "
                f"({', '.join('excluded.' + n for n in ITEM_FIELDS)}) RETURNING w.xmax = 0 AS inserted) "
                f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged")
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self.merge_error: BaseException | None = None
        self.merger = threading.Thread(target=self._merge_chunks, name="import-merge", daemon=True)
        self.merger.start()

    def _merge_chunks(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.merge_error is not None:
                continue  # drain: the main thread sees the error at finish()
            try:
                self._merge(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
                self.merge_error = exc

    def _merge(self, chunk: bytes) -> None:
        """One chunk: COPY its rows into the staging table, then merge them (or, in a dry
        run, count what would change)."""
        self.conn.exec_driver_sql(f"TRUNCATE {STAGING}")
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(self.copy_sql) as copy:
            copy.write(chunk)
        rows = cursor.rowcount
        inserted, updated = self.conn.exec_driver_sql(self.merge_sql, {"t": self.tid}).one()
        self.new += inserted
        self.updated += updated
        self.unchanged += rows - inserted - updated

    def close(self) -> None:
        if self.staged and self.merger.is_alive():
            self.merge_error = self.merge_error or RuntimeError("import stopped")
            self.queue.put(None)
            self.merger.join()

    def finish(self):
        self._flush()
        if self.staged:
            self.queue.put(None)
            self.merger.join()
            if self.merge_error is not None:
                raise self.merge_error
        if not self.failed and not self.dry_run and (self.new or self.updated):
            from core.scoring.stale import mark_stale

            # Imported items are not scored one by one: their months are recalculated.
            mark_stale(self.months, "Work items were imported; recalculate to score them.")
        return []
