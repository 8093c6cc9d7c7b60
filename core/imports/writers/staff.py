"""The staff writer: people, their units, positions, managers and logins."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from marshmallow import ValidationError
from sqlalchemy import bindparam, delete, insert, select, update

from core.auth.models import User
from core.auth.normalize import search_key
from core.catalogue.models import BEGINNING
from core.classification.models import EmployeeRegime
from core.imports.writers.base import BATCH, RowError, Writer, _err, _pg_bulk
from core.org.models import PROTECTION_FIELDS, DeputyField, Employee, JobPosition, OrgUnit
from core.org.schemas import PERSON_DATE, protection_date_errors
from core.tenants.models import Tenant
from core.timeutil import utcnow
from core.work.calendar import local_today

UNUSABLE_PASSWORD = "!imported"  # no hash verifies: the person sets a password through an admin

# The person's dates the API and the admin's form hold to 1900–2099 (core/org/schemas.py
# PERSON_DATE): a file's 01/01/0001 was stored as given.
PERSON_DATE_FIELDS = ("start_date", "end_date", *PROTECTION_FIELDS)
EMPLOYEE_FIELDS = ("full_name", "unit_id", "position_id", "is_leader", "salary_coefficient", "start_date",
                   "end_date", "email", *PROTECTION_FIELDS)


def _out_of_range(row: int, values: dict) -> list[RowError]:
    """The row's person dates outside what PERSON_DATE allows, one error per column."""
    errors: list[RowError] = []
    for name in PERSON_DATE_FIELDS:
        if values.get(name) is not None:
            try:
                PERSON_DATE(values[name])
            except ValidationError as exc:
                errors.append(_err(row, name, str(exc.messages[0])))
    return errors


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

    def check(self, row, values, failed=()):
        code = values.get("code")
        if code is not None:
            if code in self.seen_codes:
                return [_err(row, "code", f"Duplicate of row {self.seen_codes[code]}.")]
            self.seen_codes[code] = row
        return _out_of_range(row, values) + self._references(row, values, failed)

    def _references(self, row: int, values: dict, failed: tuple[str, ...] = ()) -> list[RowError]:
        """The row's codes and login against the tenant's data and the rows before it; a
        field that is absent (blank, or in ``failed``: it did not convert) is not checked."""
        errors: list[RowError] = []
        if "unit_code" in values and values["unit_code"] not in self.units:
            errors.append(_err(row, "unit_code", f"No unit with code {values['unit_code']!r} in this tenant."))
        if "position_code" in values and values["position_code"] not in self.positions:
            errors.append(_err(row, "position_code",
                               f"No position with code {values['position_code']!r} in this tenant."))
        # Whose login it is depends on whose row it is: not checked when the code did not convert.
        known_person = "code" in values
        current = self.existing.get(values["code"]) if known_person else None
        username = values.get("username")
        if username and known_person:
            if username in self.seen_usernames:
                errors.append(_err(row, "username", f"Same username as row {self.seen_usernames[username]}."))
            self.seen_usernames[username] = row
            owner = self.user_by_name.get(username)
            if owner is not None and (current is None or current["user_id"] != owner):
                errors.append(_err(row, "username", "This username belongs to someone else in this tenant."))
            if current is not None and current["user_id"] is not None and owner is None:
                errors.append(_err(row, "username", "This person already has a login with another username; "
                                                    "change usernames in the admin pages."))
        if ("roles" in values and not username and known_person and "username" not in failed
                and (current is None or current["user_id"] is None)):
            errors.append(_err(row, "roles", "Roles need a username (a login)."))
        missing = next((c for c in values.get("field_units") or () if c not in self.units), None)
        if missing is not None:
            errors.append(_err(row, "field_units", f"No unit with code {missing!r} in this tenant."))
        return errors

    def add(self, row, values):
        code = values["code"]
        if code in self.seen_codes:
            return [_err(row, "code", f"Duplicate of row {self.seen_codes[code]}.")]
        self.seen_codes[code] = row
        errors = _out_of_range(row, values) + self._references(row, values)
        if errors:
            return errors
        unit_id = self.units[values["unit_code"]]
        position_id = self.positions[values["position_code"]] if "position_code" in values else None
        current = self.existing.get(code)
        username = values.get("username")
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
            # The key the ORM writes with a name (core/org/models.py), for searches without marks.
            new_row = {"tenant_id": self.tid, "code": code, **full, "search_key": search_key(full["full_name"], code)}
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
                self._queue(self.updates, {"b_id": current["id"], **full,
                                           "search_key": search_key(full["full_name"], code)})
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
            units = {self.units[c] for c in values.get("field_units", [])}  # checked in _references
            self.fields.append((row, code, units, values.get("field_people", []),
                                values.get("field_from") or local_today(self.tenant)))  # the tenant's day
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
                columns = ("id", "tenant_id", "code", *EMPLOYEE_FIELDS, "search_key", "manager_id", "user_id")
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
                                  .values({n: bindparam(n) for n in (*EMPLOYEE_FIELDS, "search_key")}), self.updates)
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
            {"tenant_id": self.tid, "username": name, "search_key": search_key(name)[:100],
             "password_hash": UNUSABLE_PASSWORD, "roles": roles, "active": True, "must_change_password": True,
             "created_at": now} for _, name, roles in logins])
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
