"""A tenant's full export (JSON lines, one file per table) and its restore.

Written before a merger commits, under `<instance>/exports/<slug>-<utc time>/`: the
`tenants` row and every row of every tenant table, as the database holds them, plus
a manifest with the row count of each file. Ids are global (one sequence per table),
so the files restore the tenant exactly as it was, ids included, into a database that
does not hold it (a fresh one, or the same one after the tenant was taken out).

On PostgreSQL each row is serialised by the database (`row_to_json`) and streamed
with COPY TO — millions of rows in seconds, no Python object per row.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Numeric, Table, select, text
from sqlalchemy.exc import DBAPIError

from core.bulk import copy_rows
from core.errors import Conflict, Invalid
from core.extensions import db
from core.tenancy import tenant_tables, unscoped
from core.timeutil import utcnow

MANIFEST = "manifest.json"


def export_dir(slug: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    return Path(current_app.instance_path) / "exports" / f"{slug}-{stamp}"


def _tables() -> list[Table]:
    names = set(tenant_tables(db.metadata))
    return [t for t in db.metadata.sorted_tables if t.name in names]


def export_tenant(tenant_id: int, slug: str, directory: Path | None = None) -> dict:
    """Write every row of the tenant; returns the manifest. Runs in the caller's transaction,
    so the export is the very state the merger then moves."""
    directory = directory or export_dir(slug)
    directory.mkdir(parents=True, exist_ok=False)
    counts: dict[str, int] = {}
    with unscoped():
        conn = db.session.connection()
        counts["tenants"] = _write(conn, db.metadata.tables["tenants"], "id", tenant_id, directory)
        for table in _tables():
            counts[table.name] = _write(conn, table, "tenant_id", tenant_id, directory)
    return _manifest(directory, tenant_id, slug, counts)


class BackgroundExport:
    """The export, written by a second connection while the merger moves rows (PostgreSQL).

    The merger's transaction exports its snapshot (`pg_export_snapshot`) before it
    writes anything; the second connection adopts it, so the files hold exactly the state
    the merger started from while both run at once. `wait()` before committing: the
    snapshot lives only as long as the merger's transaction.
    """

    def __init__(self, tenant_id: int, slug: str) -> None:
        self.directory = export_dir(slug)
        self.directory.mkdir(parents=True, exist_ok=False)
        snapshot = db.session.connection().execute(text("SELECT pg_export_snapshot()")).scalar()
        if not re.fullmatch(r"[0-9A-F-]+", snapshot or ""):
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        self._result: dict | None = None
        self._error: BaseException | None = None
        app = current_app._get_current_object()
        self._thread = threading.Thread(target=self._run, args=(app, snapshot, tenant_id, slug),
                                        name=f"export-{slug}", daemon=True)
        self._thread.start()

    def _run(self, app, snapshot: str, tenant_id: int, slug: str) -> None:
        try:
            with app.app_context(), db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                conn.execute(text("SELECT set_config('app.unscoped', 'on', true)"))
                counts = {"tenants": _write(conn, db.metadata.tables["tenants"], "id", tenant_id, self.directory)}
                for table in _tables():
                    counts[table.name] = _write(conn, table, "tenant_id", tenant_id, self.directory)
                conn.rollback()
            self._result = _manifest(self.directory, tenant_id, slug, counts)
        except BaseException as exc:  # noqa: BLE001 - handed to the merger's thread by wait()
            self._error = exc

    def wait(self) -> dict:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def start_export(tenant_id: int, slug: str):
    """The export running beside the caller's transaction (PostgreSQL), or done at once;
    either way `.wait()` gives the manifest."""
    if db.session.get_bind().dialect.name == "postgresql":
        return BackgroundExport(tenant_id, slug)
    manifest = export_tenant(tenant_id, slug)
    return type("Done", (), {"wait": staticmethod(lambda: manifest)})()


def _manifest(directory: Path, tenant_id: int, slug: str, counts: dict) -> dict:
    manifest = {"tenant_id": tenant_id, "slug": slug, "exported_at": utcnow().isoformat(), "counts": counts}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return {**manifest, "path": str(directory)}


def _write(conn, table: Table, column: str, tenant_id: int, directory: Path) -> int:
    path = directory / f"{table.name}.jsonl"
    if conn.dialect.name == "postgresql":
        return _write_postgresql(conn, table.name, column, tenant_id, path)
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        rows = conn.execute(select(table).where(table.c[column] == tenant_id).order_by(table.c.id))
        for row in rows.mappings():
            fh.write(json.dumps(dict(row), default=_plain, ensure_ascii=False) + "\n")
            count += 1
    return count


def _write_postgresql(conn, table: str, column: str, tenant_id: int, path: Path) -> int:
    # CSV with quote and delimiter characters JSON never contains unescaped, so COPY
    # passes each row_to_json line through untouched (text format would double backslashes).
    sql = (f'COPY (SELECT row_to_json(x)::text FROM "{table}" x WHERE x."{column}" = {int(tenant_id)} '
           f"ORDER BY x.id) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')")
    raw = conn.connection.dbapi_connection
    count = 0
    with raw.cursor() as cur, path.open("wb") as fh, cur.copy(sql) as copy:
        for chunk in copy:
            fh.write(chunk)
            count += bytes(chunk).count(b"\n")
    return count


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")


# ---------------------------------------------------------------- restore


def read_manifest(directory: Path) -> dict:
    try:
        return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{directory} is not a tenant export.", {"export": [f"No readable {MANIFEST}."]}) from exc


def restore_tenant(directory: str | Path) -> dict:
    """Insert an export back, ids included, in the caller's transaction; Conflict when the
    database already holds that tenant (restore into one that does not)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    tenants = db.metadata.tables["tenants"]
    with unscoped():
        exists = db.session.scalar(select(tenants.c.id).where(
            (tenants.c.id == manifest["tenant_id"]) | (tenants.c.slug == manifest["slug"])))
        if exists is not None:
            raise Conflict(f"This database already holds tenant {manifest['slug']} (id {manifest['tenant_id']}).",
                           {"export": ["Restore into a database without that tenant."]})
        counts = {"tenants": _restore_table(tenants, directory, tenant_row=True)}
        for table in _tables():
            counts[table.name] = _restore_table(table, directory)
    if counts != manifest["counts"]:
        raise Invalid("The export's files do not match its manifest.", {"export": [f"Read {counts}."]})
    behind = _advance_sequences() if db.session.get_bind().dialect.name == "postgresql" else []
    return {"tenant_id": manifest["tenant_id"], "slug": manifest["slug"], "counts": counts,
            "sequences_behind": behind}


def _restore_table(table: Table, directory: Path, tenant_row: bool = False) -> int:
    path = directory / f"{table.name}.jsonl"
    if not path.exists():
        return 0
    columns = [c.name for c in table.columns]
    copying = db.session.get_bind().dialect.name == "postgresql"  # COPY takes JSON as text
    convert = [_converter(c.type, copying) for c in table.columns]

    def rows() -> Iterator[tuple]:
        for line in _ordered(table, path):
            values = [fn(line.get(name)) for name, fn in zip(columns, convert, strict=True)]
            if tenant_row:  # the restored tenant stands alone again
                row = dict(zip(columns, values, strict=True))
                row.update(status="active", merged_into_id=None)
                values = [row[c] for c in columns]
            yield tuple(values)

    return copy_rows(table, columns, rows())


def _ordered(table: Table, path: Path) -> list[dict] | Iterator[dict]:
    """Rows in an order that satisfies a self-reference (a unit's parent, a manager)."""
    self_refs = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not self_refs:
        return (json.loads(line) for line in path.open(encoding="utf-8"))
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    done: set = set()
    ordered: list[dict] = []
    pending = rows
    while pending:
        ready = [r for r in pending if all(r.get(c) is None or r[c] in done or r[c] == r["id"] for c in self_refs)]
        if not ready:  # a reference outside the export: keep the rest as they are
            ordered += pending
            break
        done.update(r["id"] for r in ready)
        ordered += ready
        pending = [r for r in pending if r["id"] not in done]
    return ordered


def _converter(type_, json_as_text: bool):
    if isinstance(type_, JSON):
        return (lambda v: None if v is None else json.dumps(v, ensure_ascii=False)) if json_as_text else (lambda v: v)
    if isinstance(type_, DateTime) or isinstance(getattr(type_, "impl", None), DateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(type_, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(type_, Numeric) and type_.asdecimal:
        return lambda v: None if v is None else Decimal(str(v))
    if isinstance(type_, Boolean):
        return lambda v: None if v is None else bool(v)
    return lambda v: v


def _advance_sequences() -> list[str]:
    """Restored ids came from the sequences of the old database; move each one past them.
    Needs UPDATE on the sequences (the owner's role); without it, say which to advance."""
    behind = []
    for table in [db.metadata.tables["tenants"], *_tables()]:
        if "id" not in table.c or not isinstance(table.c.id.type, Integer):
            continue
        try:
            with db.session.begin_nested():
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM \"{table.name}\")) WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"))
        except DBAPIError:
            behind.append(table.name)
    return behind
