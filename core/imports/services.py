"""The one import pipeline every connector goes through (API, CLI, admin page).

upload → the connector parses the file as a stream → every row is checked against the
tenant's data (codes, duplicates inside the file) → rows are written set-based in
batches inside one transaction → any error, or a dry run, rolls the whole transaction
back, so nothing is written → an audit event records a committed import.

Writes use the transaction's connection with explicit ``tenant_id`` conditions (and
PostgreSQL's row-level security behind them) rather than ORM objects: a million rows
as ORM objects would not fit the memory or the time budget. Re-importing a file
changes nothing, because each row is compared with what is stored under its natural
key and only differences are written.
"""

from __future__ import annotations

import hashlib
import io
import logging
import queue
import threading
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import IO, Any

from sqlalchemy import bindparam, delete, insert, select, update

from core import unit_of_work
from core.audit.services import record
from core.auth.models import User
from core.catalogue.models import BEGINNING, NormVersion, TaskType, TaskTypePosition
from core.catalogue.services import fold
from core.classification.models import EmployeeRegime
from core.extensions import db
from core.imports.readers import FileRejected
from core.org.models import PROTECTION_FIELDS, DeputyField, Employee, JobPosition, OrgUnit
from core.org.schemas import protection_date_errors
from core.tenancy import current_tenant_id
from core.tenants.models import Tenant
from core.timeutil import utcnow
from core.work.models import ClosedPeriod, WorkItem

log = logging.getLogger(__name__)

BATCH = 5000
STAGED_BATCH = 20_000  # rows per COPY-and-merge chunk on PostgreSQL
PROGRESS_SECONDS = 1.0  # between progress reports while reading
MAX_REPORTED = 1000  # errors listed in a result; the total is always given
MAX_WHOLE_FILE = 50 * 1024 * 1024  # a connector without iter_parse reads the file whole
MAX_CATALOGUE_ROWS = 50_000
UNUSABLE_PASSWORD = "!imported"  # no hash verifies: the person sets a password through an admin

RowError = dict[str, Any]


# ---------------------------------------------------------------- the report


@dataclass
class Report:
    rows_total: int = 0
    rows_valid: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    warnings: list[RowError] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    _last_bad_row: int | None = None

    def error(self, error: RowError) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append({"row": error.get("row"), "column": error.get("column"),
                                "message": str(error.get("message") or "Invalid.")})

    def bad_row(self, row: int | None) -> None:
        """Count a data row that failed once, however many errors it has."""
        if row is not None and row != self._last_bad_row:
            self._last_bad_row = row
            self.rows_total += 1

    def result(self, written: bool, dry_run: bool) -> dict:
        return {"rows_total": self.rows_total, "rows_valid": self.rows_valid,
                "rows_written": (self.new + self.updated) if written else 0,
                "errors": self.errors, "errors_total": self.errors_total, "warnings": self.warnings[:MAX_REPORTED],
                "changes": {"new": self.new, "updated": self.updated, "unchanged": self.unchanged},
                "dry_run": dry_run}


# ---------------------------------------------------------------- running an import


def parse_events(connector: Any, stream: IO[bytes], settings: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The connector's rows, errors and warnings as a stream of events. Connectors with
    ``iter_parse`` stream; others (a vendor's, written against ``parse`` only) get the
    file whole, which the upload limit keeps small."""
    streaming = getattr(connector, "iter_parse", None)
    try:
        if callable(streaming):
            yield from streaming(stream, settings)
            return
        data = stream.read(MAX_WHOLE_FILE + 1)
        if len(data) > MAX_WHOLE_FILE:
            yield "error", {"row": None, "column": None,
                            "message": f"This connector reads files of at most {MAX_WHOLE_FILE // 2**20} MB."}
            return
        result = connector.parse(data, settings)
        for row in result.get("rows", []):
            yield "row", row
        for error in result.get("errors", []):
            yield "error", error
        for warning in result.get("warnings", []) or []:
            yield "warning", warning
    except FileRejected as exc:
        yield "error", {"row": None, "column": None, "message": exc.message}
    except Exception:  # noqa: BLE001 - a plugin's bug must not leave a half-read import
        log.exception("import connector %s failed", getattr(connector, "key", connector))
        yield "error", {"row": None, "column": None,
                        "message": "The connector failed while reading the file; nothing was imported."}


def run_import(connector_key: str, path: str | Path, dry_run: bool = False, actor: str | None = None,
               progress: Callable[[int, int, str | None], None] | None = None, filename: str | None = None) -> dict:
    """Import the file at ``path`` with the tenant's connector ``connector_key``, in the
    caller's tenant context. Commits only when every row is valid and it is not a dry
    run; returns the contract's result (plus the change counts and warnings)."""
    from core.tenants.services import connector_for

    chosen = connector_for(connector_key)
    connector = chosen.component
    tenant = db.session.get(Tenant, current_tenant_id())
    writer = WRITERS[connector.target](tenant, dry_run)
    try:
        return _run(connector_key, connector, chosen.settings, writer, Path(path), dry_run, actor, progress, filename)
    finally:
        writer.close()


def _run(connector_key, connector, settings, writer, path: Path, dry_run, actor, progress, filename) -> dict:
    report = Report()
    size = path.stat().st_size
    digest = hashlib.sha256()
    next_report = 0.0
    with path.open("rb") as raw:
        stream = _Hashing(raw, digest)
        for kind, payload in parse_events(connector, stream, settings):
            if kind == "row":
                report.rows_total += 1
                problems = writer.add(payload["row"], payload["values"])
                if problems:
                    report._last_bad_row = payload["row"]
                    for problem in problems:
                        report.error(problem)
                    writer.failed = True
                else:
                    report.rows_valid += 1
                if progress is not None and report.rows_total % BATCH == 0 and monotonic() >= next_report:
                    # Each report is a short transaction of its own: once a second is plenty.
                    progress(min(raw.tell(), size), size, "reading")
                    next_report = monotonic() + PROGRESS_SECONDS
            elif kind == "error":
                report.bad_row(payload.get("row") if (payload.get("row") or 0) > 1 else None)
                report.error(payload)
                writer.failed = True
            else:
                report.warnings.append(payload)
    if progress is not None:
        progress(size, size, "writing")
    for problem in writer.finish():
        report.error(problem)
    report.new, report.updated, report.unchanged = writer.new, writer.updated, writer.unchanged
    commit = not report.errors_total and not dry_run
    if commit:
        record("import.commit", "import", connector_key, actor=actor, after={
            "connector": connector_key, "version": connector.version, "file": filename or path.name,
            "sha256": digest.hexdigest(), "rows": report.rows_total,
            "new": report.new, "updated": report.updated, "unchanged": report.unchanged})
        unit_of_work.commit()
    else:
        db.session.rollback()
    if report.errors_total:
        report.new = report.updated = report.unchanged = 0  # nothing would change: nothing is written
    return report.result(commit, dry_run)


class _Hashing(io.RawIOBase):
    """A seekable read-through that hashes what the reader reads first-time, for the
    audit event; readers that peek and seek back are fine (positions are tracked)."""

    def __init__(self, raw: IO[bytes], digest):
        self.raw, self.digest, self.hashed_to = raw, digest, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readinto(self, buffer) -> int:
        start = self.raw.tell()
        count = self.raw.readinto(buffer)
        if count and start <= self.hashed_to < start + count:
            self.digest.update(bytes(memoryview(buffer)[self.hashed_to - start:count]))
            self.hashed_to = start + count
        return count or 0


# ---------------------------------------------------------------- writers


class Writer(ABC):
    """Checks rows against the tenant's data and writes them in batches. After the
    first error (``failed``) it keeps checking but stops writing: the transaction will
    be rolled back anyway. Each target (staff, catalogue, work items) has its own."""

    def __init__(self, tenant: Tenant, dry_run: bool = False):
        self.tenant = tenant
        self.tid = tenant.id
        self.dry_run = dry_run  # a writer may count instead of writing; the transaction is rolled back anyway
        self.conn = db.session.connection()
        self.failed = False
        self.new = self.updated = self.unchanged = 0

    @abstractmethod
    def add(self, row: int, values: dict[str, Any]) -> list[RowError]:
        """Check one row (its number in the file, its converted values); its errors."""

    def finish(self) -> list[RowError]:
        return []

    def close(self) -> None:  # noqa: B027 - a hook: only writers with a helper thread override it
        """Stop any helper (always called, also when the import fails half-way)."""


def _pg_bulk(conn, staging: str, shape_sql: str, columns: tuple[str, ...], rows: list[tuple], merge_sql: str,
             params: dict) -> int:
    """Many rows into PostgreSQL in one statement: COPY them into a temporary table (the
    fastest way in; COPY itself cannot write to a table under row-level security) and
    run ``merge_sql`` from it, which RLS checks as usual. Returns its row count."""
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS {shape_sql}")
    conn.exec_driver_sql(f"TRUNCATE {staging}")
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {staging} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return conn.exec_driver_sql(merge_sql, params).rowcount


def _err(row: int, column: str | None, message: str) -> RowError:
    return {"row": row, "column": column, "message": message}


# ---------------------------------------------------------------- staff


EMPLOYEE_FIELDS = ("full_name", "unit_id", "position_id", "is_leader", "salary_coefficient", "start_date",
                   "end_date", "email", *PROTECTION_FIELDS)


class StaffWriter(Writer):
    def __init__(self, tenant: Tenant, dry_run: bool = False):
        super().__init__(tenant, dry_run)
        t = Employee.__table__
        self.units = dict(self.conn.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.tenant_id == self.tid)).all())
        self.positions = dict(self.conn.execute(
            select(JobPosition.code, JobPosition.id).where(JobPosition.tenant_id == self.tid)).all())
        self.existing: dict[str, dict] = {}
        code_of: dict[int, str] = {}
        for row in self.conn.execute(select(t).where(t.c.tenant_id == self.tid)).mappings():
            self.existing[row["code"]] = dict(row)
            code_of[row["id"]] = row["code"]
        self.manager_code = {code: code_of.get(e["manager_id"]) for code, e in self.existing.items()}
        self.users: dict[int, tuple[str, str]] = {}
        self.user_by_name: dict[str, int] = {}
        for uid, name, roles in self.conn.execute(
                select(User.id, User.username, User.roles_csv).where(User.tenant_id == self.tid)):
            self.users[uid] = (name, roles)
            self.user_by_name[name] = uid
        self.seen_codes: dict[str, int] = {}
        self.seen_usernames: dict[str, int] = {}
        # On PostgreSQL a new person's id is taken from the sequence when the row is read,
        # so the row is inserted with its manager (already known: in the tenant or earlier
        # in the file) and its new login: updating 50,000 rows afterwards costs more than
        # inserting them (employees has seven indexes and twenty foreign keys point at it).
        self.ahead = self.conn.dialect.name == "postgresql"
        self.ids = {code: e["id"] for code, e in self.existing.items()}
        self.free_ids: list[int] = []
        self.manager_set: set[str] = set()  # new people inserted with their manager
        self.inserts: list[dict] = []
        self.updates: list[dict] = []
        self.managers: list[tuple[int, str, str]] = []  # (row, code, manager code)
        self.new_users: list[tuple[str, str, str]] = []  # (code, username, roles csv)
        self.role_updates: list[dict] = []
        r = EmployeeRegime.__table__
        self.regimes_known = {(e, f): (i, g) for i, e, f, g in self.conn.execute(
            select(r.c.id, r.c.employee_id, r.c.valid_from, r.c.regime).where(r.c.tenant_id == self.tid))}
        self.regimes: list[tuple[str, str, date]] = []  # (code, regime, from): written in finish()
        # (row, deputy code, unit ids, people codes, from): a deputy's field, written in finish().
        self.fields: list[tuple[int, str, set[int], list[str], date]] = []
        self.fields_changed = False

    def add(self, row, values):
        errors: list[RowError] = []
        code = values["code"]
        if code in self.seen_codes:
            return [_err(row, "code", f"Duplicate of row {self.seen_codes[code]}.")]
        self.seen_codes[code] = row
        unit_id = self.units.get(values["unit_code"])
        if unit_id is None:
            errors.append(_err(row, "unit_code", f"No unit with code {values['unit_code']!r} in this tenant."))
        position_id = None
        if "position_code" in values:
            position_id = self.positions.get(values["position_code"])
            if position_id is None:
                errors.append(_err(row, "position_code",
                                   f"No position with code {values['position_code']!r} in this tenant."))
        current = self.existing.get(code)
        username = values.get("username")
        if username:
            if username in self.seen_usernames:
                errors.append(_err(row, "username", f"Same username as row {self.seen_usernames[username]}."))
            self.seen_usernames[username] = row
            owner = self.user_by_name.get(username)
            if owner is not None and (current is None or current["user_id"] != owner):
                errors.append(_err(row, "username", "This username belongs to someone else in this tenant."))
            if current is not None and current["user_id"] is not None and owner is None:
                errors.append(_err(row, "username", "This person already has a login with another username; "
                                                    "change usernames in the admin pages."))
        if "roles" in values and not username and (current is None or current["user_id"] is None):
            errors.append(_err(row, "roles", "Roles need a username (a login)."))
        if errors:
            return errors
        desired = {"full_name": values["full_name"], "unit_id": unit_id}
        for name in ("is_leader", "start_date", "end_date", "email", *PROTECTION_FIELDS):
            if name in values:
                desired[name] = values[name]
        dates = protection_date_errors({name: desired.get(name, current and current[name]) for name in PROTECTION_FIELDS})
        if dates:
            return [_err(row, column, messages[0]) for column, messages in dates.items()]
        if "position_code" in values:
            desired["position_id"] = position_id
        if "salary_coefficient" in values:
            desired["salary_coefficient"] = values["salary_coefficient"].quantize(Decimal("0.01"))
        roles_csv = None
        if "roles" in values:
            roles_csv = ",".join(r for r in ("employee", "manager", "tenant_admin", "auditor") if r in values["roles"])
        changed = False
        manager_code = values.get("manager_code")
        if current is None:
            full = {"is_leader": False, "salary_coefficient": Decimal("2.34"), "position_id": None,
                    "start_date": None, "end_date": None, "email": None,
                    **dict.fromkeys(PROTECTION_FIELDS), **desired}
            new_row = {"tenant_id": self.tid, "code": code, **full}
            if self.ahead:
                new_row["id"] = self.ids[code] = self._new_id()
                new_row["manager_id"] = self.ids.get(manager_code) if manager_code else None
                if new_row["manager_id"] is not None:
                    self.manager_set.add(code)
                new_row["login"] = (username, roles_csv or "employee") if username else None
            elif username:
                self.new_users.append((code, username, roles_csv or "employee"))
            self._queue(self.inserts, new_row)
            changed = True
        else:
            full = {name: desired.get(name, current[name]) for name in EMPLOYEE_FIELDS}
            if any(full[name] != current[name] for name in EMPLOYEE_FIELDS):
                self._queue(self.updates, {"b_id": current["id"], **full})
                changed = True
            user_id = current["user_id"]
            if username and user_id is None:
                self.new_users.append((code, username, roles_csv or "employee"))
                changed = True
            elif user_id is not None and roles_csv is not None and self.users[user_id][1] != roles_csv:
                self.role_updates.append({"b_id": user_id, "roles": roles_csv})
                changed = True
        if manager_code:
            self.managers.append((row, code, manager_code))
            changed = changed or self.manager_code.get(code) != manager_code
        if "field_units" in values or "field_people" in values:
            units = {self.units.get(c) for c in values.get("field_units", [])}
            if None in units:
                missing = next(c for c in values["field_units"] if c not in self.units)
                return [_err(row, "field_units", f"No unit with code {missing!r} in this tenant.")]
            self.fields.append((row, code, units, values.get("field_people", []),
                                values.get("field_from") or date.today()))
        if values.get("regime"):
            since = values.get("regime_from") or desired.get("start_date", current and current["start_date"]) \
                or BEGINNING
            self.regimes.append((code, values["regime"], since))
            known = self.regimes_known.get((current["id"], since)) if current is not None else None
            changed = changed or known is None or known[1] != values["regime"]
        if changed:
            self.new += current is None
            self.updated += current is not None
        else:
            self.unchanged += 1
        return []

    def _queue(self, batch: list[dict], values: dict) -> None:
        batch.append(values)
        if len(batch) >= BATCH:
            self._flush()

    def _new_id(self) -> int:
        if not self.free_ids:
            self.free_ids = list(self.conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('employees', 'id')) FROM generate_series(1, %(n)s)",
                {"n": BATCH}).scalars())[::-1]
        return self.free_ids.pop()

    def _flush(self) -> None:
        t = Employee.__table__
        if not self.failed:
            if self.inserts and self.ahead:
                logins = [(row["code"], *row["login"]) for row in self.inserts if row["login"]]
                user_ids = self._insert_users(logins)
                for row in self.inserts:
                    row["user_id"] = user_ids[row["login"][0]] if row["login"] else None
                columns = ("id", "tenant_id", "code", *EMPLOYEE_FIELDS, "manager_id", "user_id")
                # One statement per chunk: a manager later in the same chunk is there when
                # the foreign key is checked, at the statement's end.
                _pg_bulk(self.conn, "import_employees",
                         f"SELECT {', '.join(columns)} FROM employees WITH NO DATA", columns,
                         [tuple(row[c] for c in columns) for row in self.inserts],
                         f"INSERT INTO employees ({', '.join(columns)}) SELECT {', '.join(columns)} "
                         f"FROM import_employees", {})
            elif self.inserts:
                self.conn.execute(insert(t), self.inserts)
            if self.updates:
                self.conn.execute(update(t).where(t.c.id == bindparam("b_id"), t.c.tenant_id == self.tid)
                                  .values({n: bindparam(n) for n in EMPLOYEE_FIELDS}), self.updates)
        self.inserts, self.updates = [], []

    def finish(self):
        self._flush()
        errors = self._check_managers()
        if errors or self.failed:
            return errors
        t = Employee.__table__
        ids = self.ids if self.ahead else dict(
            self.conn.execute(select(t.c.code, t.c.id).where(t.c.tenant_id == self.tid)).all())
        current_manager = {code: e["manager_id"] for code, e in self.existing.items()}
        changes = [{"b_id": ids[code], "manager_id": ids[manager]} for _, code, manager in self.managers
                   if code not in self.manager_set and current_manager.get(code) != ids[manager]]
        if changes and self.conn.dialect.name == "postgresql":
            _pg_bulk(self.conn, "import_managers", "SELECT id, manager_id FROM employees WITH NO DATA",
                     ("id", "manager_id"), [(c["b_id"], c["manager_id"]) for c in changes],
                     "UPDATE employees e SET manager_id = s.manager_id FROM import_managers s "
                     "WHERE e.id = s.id AND e.tenant_id = %(t)s", {"t": self.tid})
        else:
            for start in range(0, len(changes), BATCH):
                self.conn.execute(update(t).where(t.c.id == bindparam("b_id"), t.c.tenant_id == self.tid)
                                  .values(manager_id=bindparam("manager_id")), changes[start:start + BATCH])
        self._write_users(ids)
        self._write_regimes(ids)
        errors = self._write_fields(ids)
        if errors:
            return errors
        if (self.new or self.updated or self.fields_changed) and not self.dry_run:
            from core.scoring.services import people_changed

            # New people, other leaders or units move leaders' unit results: the months
            # with scores go stale (the nightly job recalculates stale months).
            people_changed()
        return []

    def _write_regimes(self, ids: dict[str, int]) -> None:
        """The regime column: a row per person and start date (no column, no row: công chức)."""
        r = EmployeeRegime.__table__
        inserts, updates = [], []
        for code, regime, since in self.regimes:
            known = self.regimes_known.get((ids[code], since))
            if known is None:
                inserts.append({"tenant_id": self.tid, "employee_id": ids[code], "regime": regime, "valid_from": since})
            elif known[1] != regime:
                updates.append({"b_id": known[0], "regime": regime})
        for start in range(0, len(inserts), BATCH):
            self.conn.execute(insert(r), inserts[start:start + BATCH])
        if updates:
            self.conn.execute(update(r).where(r.c.id == bindparam("b_id"), r.c.tenant_id == self.tid)
                              .values(regime=bindparam("regime")), updates)

    def _write_fields(self, ids: dict[str, int]) -> list[RowError]:
        """The field columns of deputies: the row lists the whole field from its date, so
        what the deputy held before and is not listed ends the day before (a part that
        began on or after that date is removed), and what is listed and not yet held
        begins on it. Re-importing the same file changes nothing."""
        if not self.fields:
            return []
        errors = [_err(row, "field_people", f"No employee with code {c!r} (in the file or the tenant).")
                  for row, _, _, people, _ in self.fields for c in people if c not in ids]
        if errors:
            return errors
        f = DeputyField.__table__
        deputies = [ids[code] for _, code, _, _, _ in self.fields]
        held: dict[int, list] = {}
        for r in self.conn.execute(select(f.c.id, f.c.deputy_id, f.c.unit_id, f.c.member_id, f.c.start_date,
                                          f.c.end_date).where(f.c.tenant_id == self.tid,
                                                              f.c.deputy_id.in_(deputies))):
            held.setdefault(r.deputy_id, []).append(r)
        inserts, ends, removed = [], [], []
        for _, code, units, people, since in self.fields:
            deputy = ids[code]
            wanted = {("unit", u) for u in units} | {("member", ids[c]) for c in people}
            current = [r for r in held.get(deputy, []) if r.end_date is None or r.end_date >= since]
            kept = set()
            for r in current:
                key = ("unit", r.unit_id) if r.unit_id is not None else ("member", r.member_id)
                if key in wanted and r.end_date is None:
                    kept.add(key)
                elif r.start_date >= since:
                    removed.append(r.id)
                else:
                    ends.append({"b_id": r.id, "end_date": since - timedelta(days=1)})
            for kind, target in sorted(wanted - kept):
                inserts.append({"tenant_id": self.tid, "deputy_id": deputy, "start_date": since, "end_date": None,
                                "unit_id": target if kind == "unit" else None,
                                "member_id": target if kind == "member" else None})
        self.fields_changed = bool(inserts or ends or removed)
        if removed:
            self.conn.execute(delete(f).where(f.c.tenant_id == self.tid, f.c.id.in_(removed)))
        if ends:
            self.conn.execute(update(f).where(f.c.id == bindparam("b_id"), f.c.tenant_id == self.tid)
                              .values(end_date=bindparam("end_date")), ends)
        if inserts:
            self.conn.execute(insert(f), inserts)
        return []

    def _check_managers(self) -> list[RowError]:
        known = set(self.existing) | set(self.seen_codes)
        manager_of = dict(self.manager_code)
        errors = []
        for row, code, manager in self.managers:
            if manager not in known:
                errors.append(_err(row, "manager_code", f"No employee with code {manager!r} (in the file or the tenant)."))
            manager_of[code] = manager
        if errors:
            return errors
        for row, code, _ in self.managers:
            seen, step = {code}, manager_of.get(code)
            while step is not None:
                if step in seen:
                    errors.append(_err(row, "manager_code", "This would make a management cycle."))
                    break
                seen.add(step)
                step = manager_of.get(step)
        return errors

    def _insert_users(self, logins: list[tuple[str, str, str]]) -> dict[str, int]:
        """New logins (code, username, roles csv) without a usable password; their ids by username."""
        if not logins:
            return {}
        u = User.__table__
        now = utcnow()
        self.conn.execute(insert(u), [
            {"tenant_id": self.tid, "username": name, "password_hash": UNUSABLE_PASSWORD, "roles": roles,
             "active": True, "must_change_password": True, "created_at": now} for _, name, roles in logins])
        return dict(self.conn.execute(select(u.c.username, u.c.id).where(
            u.c.tenant_id == self.tid, u.c.username.in_([name for _, name, _ in logins]))).all())

    def _write_users(self, ids: dict[str, int]) -> None:
        """Logins for people inserted without one (SQLite) or already in the tenant."""
        u, t = User.__table__, Employee.__table__
        for start in range(0, len(self.new_users), BATCH):
            chunk = self.new_users[start:start + BATCH]
            user_ids = self._insert_users(chunk)
            self.conn.execute(update(t).where(t.c.id == bindparam("b_id"), t.c.tenant_id == self.tid)
                              .values(user_id=bindparam("user_id")),
                              [{"b_id": ids[code], "user_id": user_ids[name]} for code, name, _ in chunk])
        if self.role_updates:
            self.conn.execute(update(u).where(u.c.id == bindparam("b_id"), u.c.tenant_id == self.tid)
                              .values(roles=bindparam("roles")), self.role_updates)


# ---------------------------------------------------------------- catalogue


class CatalogueWriter(Writer):
    """Catalogues are small (hundreds of task types): rows are kept and written with the
    ORM at the end, so a task type's identity and its norm versions change together."""

    def __init__(self, tenant: Tenant, dry_run: bool = False):
        super().__init__(tenant, dry_run)
        self.rows: list[tuple[int, dict]] = []
        self.seen: dict[tuple[str, date], int] = {}
        self.positions = dict(db.session.execute(select(JobPosition.code, JobPosition.id)).all())

    def add(self, row, values):
        key = (values["code"], values.get("effective_from") or BEGINNING)
        if key in self.seen:
            return [_err(row, "effective_from", f"Same code and effective date as row {self.seen[key]}.")]
        if len(self.rows) >= MAX_CATALOGUE_ROWS:
            return [_err(row, None, f"A catalogue file holds at most {MAX_CATALOGUE_ROWS} rows.")]
        self.seen[key] = row
        unknown = [c for c in values.get("position_codes", []) if c not in self.positions]
        if unknown:
            return [_err(row, "position_codes", f"No position with code {unknown[0]!r} in this tenant.")]
        self.rows.append((row, values))
        return []

    def finish(self):
        if self.failed:
            return []
        by_code: dict[str, list[tuple[int, dict]]] = {}
        for row, values in self.rows:
            by_code.setdefault(values["code"], []).append((row, values))
        existing = {tt.code: tt for tt in db.session.scalars(select(TaskType).where(TaskType.code.in_(list(by_code))))}
        for code, rows in by_code.items():
            rows.sort(key=lambda rv: rv[1].get("effective_from") or BEGINNING)
            latest = rows[-1][1]
            tt = existing.get(code)
            identity_changed = tt is None
            if tt is None:
                tt = TaskType(code=code, name=latest["name"], group=latest["group"],
                              unit_of_measure=latest["unit_of_measure"])
                db.session.add(tt)
            for name in ("name", "group", "unit_of_measure"):
                if getattr(tt, name) != latest[name]:
                    setattr(tt, name, latest[name])
                    identity_changed = True
            tt.search_text = fold(f"{tt.code} {tt.name}")
            if "position_codes" in latest:
                wanted = [self.positions[c] for c in latest["position_codes"]]
                if sorted(p.position_id for p in tt.positions) != sorted(wanted):
                    tt.positions = [TaskTypePosition(position_id=p) for p in wanted]
                    identity_changed = True
            db.session.flush()
            versions = {nv.effective_from: nv for nv in db.session.scalars(
                select(NormVersion).where(NormVersion.task_type_id == tt.id))}
            for index, (_, values) in enumerate(rows):
                changed = self._version(tt, versions, values)
                if changed == "new":
                    self.new += 1
                elif changed == "updated" or (identity_changed and index == len(rows) - 1):
                    self.updated += 1
                else:
                    self.unchanged += 1
        db.session.flush()
        return []

    def _version(self, tt: TaskType, versions: dict[date, NormVersion], values: dict) -> str:
        effective = values.get("effective_from") or BEGINNING
        wanted = {"norm_minutes": values["norm_minutes"].quantize(Decimal("0.01")),
                  "product_weight": values.get("product_weight", Decimal("1")).quantize(Decimal("0.001")),
                  "complexity_levels": values.get("complexity_levels", [])}
        version = versions.get(effective)
        if version is None:
            db.session.add(NormVersion(task_type_id=tt.id, effective_from=effective, **wanted))
            return "new"
        if (version.norm_minutes != wanted["norm_minutes"] or version.product_weight != wanted["product_weight"]
                or list(version.complexity_levels or []) != wanted["complexity_levels"]):
            for name, value in wanted.items():
                setattr(version, name, value)
            return "updated"
        return "unchanged"


# ---------------------------------------------------------------- work items


STAGING = "import_work_items"
ITEM_FIELDS = ("employee_id", "task_type_id", "norm_version_id", "title", "work_date", "quantity", "complexity_level",
               "norm_minutes", "product_weight", "complexity_coefficient", "status", "progress", "planned", "role",
               "priority", "deadline", "original_deadline", "missed_deadlines", "declared_at", "completed_at",
               "reported_at", "failed_reviews", "stars", "satisfaction", "exempt", "not_reported")
ITEM_COLUMNS = ("external_id", *ITEM_FIELDS)  # the order of an item's tuple
ONE, CENT = Decimal("1"), Decimal("0.01")
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


@dataclass
class _Norm:
    effective: list[date]
    # (version id, norm minutes, product weight, {level: coefficient}, level used when the file gives none)
    versions: list[tuple[int, Decimal, Decimal, dict[int, Decimal], int | None]]


@dataclass
class _Facts:
    """What Measure.not_reported reads of an item, for a row not yet written."""
    status: str
    completed_at: datetime | None
    reported_at: datetime | None
    deadline: date | None
    work_date: date


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
        from core.work.services import Measure, work_settings

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

    def add(self, row, values):
        errors: list[RowError] = []
        # Python's 64-bit string hash: stable within one process, and small for a million
        # keys; a collision (odds about 3 in 10^8 for a million rows) would be reported
        # as a duplicate, never written twice.
        key = hash(values["external_id"])
        if key in self.seen:
            return [_err(row, "external_id", f"Duplicate of row {self.seen[key]}.")]
        self.seen[key] = row
        employee_id = self.employees.get(values["employee_code"])
        if employee_id is None:
            errors.append(_err(row, "employee_code", f"No employee with code {values['employee_code']!r}."))
        task_type = self.task_types.get(values["task_type_code"])
        if task_type is None:
            errors.append(_err(row, "task_type_code", f"No task type with code {values['task_type_code']!r}."))
        work_date: date = values["work_date"]
        day = self.days.get(work_date) or self._day(work_date)
        if day.closed:
            errors.append(_err(row, "work_date", f"The period {day.month} is closed."))
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
        get = values.get
        completed, deadline = get("completed_at"), get("deadline")
        status = get("status") or ("done" if completed else "planned")
        declared = get("declared_at") or day.midnight
        missed = get("missed_deadlines")
        if missed is None:
            missed = int(bool(completed and deadline and completed.astimezone(self.zone).date() > deadline))
        if completed is not None and completed < declared:
            return {"column": "completed_at", "message": "Before the item was declared."}
        done = status == "done"
        reported = get("reported_at") or (completed if done else None)
        late = self.measure.not_reported(_Facts(status, completed, reported, deadline, values["work_date"]))
        return (values["external_id"], employee_id, task_type[0], version_id, get("title") or task_type[1],
                values["work_date"], get("quantity", ONE).quantize(CENT), level, minutes, weight, coefficient,
                status, 100 if done else 0, declared < day.cutoff, get("role", "lead"), get("priority", 1),
                deadline, deadline, missed, declared, completed, reported,
                get("failed_reviews", 0), get("stars"), get("satisfaction"), get("exempt", False), late)

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
            from core.scoring.services import mark_stale

            # Imported items are not scored one by one: their months are recalculated.
            mark_stale(self.months, "Work items were imported; recalculate to score them.")
        return []


WRITERS: dict[str, Callable[[Tenant, bool], Writer]] = {
    "staff": StaffWriter, "catalogue": CatalogueWriter, "work_items": WorkItemWriter,
}
