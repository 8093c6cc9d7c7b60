"""A whole tenant as files, and back: `congvu tenant export` / `tenant import`, and the
export a merger writes before it commits (core/mergers/export.py) with its restore.

An export is a folder with one JSON-lines file per table — the `tenants` row and every
row of every tenant table (every table with a `tenant_id` column, found in the metadata,
so a table added later is exported without touching this module) — and `manifest.json`:
the tenant's id and slug, the schema revision (Alembic's `alembic_version`), and for
each file its row count and SHA-256.

What is not exported: API tokens (`api_tokens`, platform-level bearer credentials that
expire within hours) and operators. Login sessions are signed cookies, not rows. Users
are exported with their password hashes, so people log in on the target with the
passwords they had; they only sign in again.

Ids are global (one sequence per table), so rows keep their ids: the audit chain hashes
the tenant id, and every reference between rows stays as it was. An import therefore
refuses — before writing anything — when the target already holds the slug, the tenant
id or any id of any exported row, when its schema revision differs, or when a file does
not match its checksum or row count. It runs in the caller's transaction: all or nothing.

On PostgreSQL each row is serialised by the database (`row_to_json`) and streamed with
COPY TO, and rows go back through COPY into a staging table (core/bulk.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Numeric, Table, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from core.bulk import copy_rows
from core.errors import Conflict, Invalid
from core.extensions import db
from core.tenancy import tenant_tables, unscoped
from core.timeutil import utcnow
from core.work.closed_guard import writing_closed_months

MANIFEST = "manifest.json"
FORMAT = 1
NOT_EXPORTED = {
    "api_tokens": "bearer tokens are platform-level credentials that expire; people sign in again",
    "operators": "platform operators belong to the installation, not to a tenant",
}

# progress(table, tables done, tables in all, rows of that table)
Progress = Callable[[str, int, int, int], None]


def _quiet(table: str, done: int, total: int, rows: int) -> None:
    return None


def tables() -> list[Table]:
    """`tenants`, then every tenant table in an order that satisfies the foreign keys."""
    names = set(tenant_tables(db.metadata))
    return [db.metadata.tables["tenants"], *(t for t in db.metadata.sorted_tables if t.name in names)]


def schema_revision(conn) -> str | None:
    try:
        with conn.begin_nested():
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


# ---------------------------------------------------------------- export


def write_tables(conn, tenant_id: int, directory: Path, progress: Progress = _quiet) -> dict[str, dict]:
    """Write the tenant's rows with `conn` (unscoped, in one snapshot); returns, per file,
    its row count and SHA-256."""
    files: dict[str, dict] = {}
    every = tables()
    for done, table in enumerate(every):
        column = "id" if table.name == "tenants" else "tenant_id"
        files[f"{table.name}.jsonl"] = _write(conn, table, column, tenant_id, directory)
        progress(table.name, done + 1, len(every), files[f"{table.name}.jsonl"]["rows"])
    return files


def write_manifest(directory: Path, tenant_id: int, slug: str, revision: str | None, files: dict[str, dict],
                   audit_checkpoint: dict | None = None) -> dict:
    """The manifest, written last: a folder without one is not an export."""
    manifest = {
        "format": FORMAT, "tenant_id": tenant_id, "slug": slug, "exported_at": utcnow().isoformat(),
        "schema_revision": revision, "files": files,
        "counts": {name.removesuffix(".jsonl"): f["rows"] for name, f in files.items()},
        "not_exported": NOT_EXPORTED,
    }
    if audit_checkpoint is not None:
        manifest["audit_checkpoint"] = audit_checkpoint
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return {**manifest, "path": str(directory)}


def export_tenant(tenant_id: int, slug: str, directory: Path, progress: Progress = _quiet) -> dict:
    """Write every row of the tenant into `directory` (created; it must not exist or be
    empty), in the caller's transaction; returns the manifest. On PostgreSQL call it at the
    start of a REPEATABLE READ transaction so every table is read from one snapshot."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise Conflict(f"{directory} is not empty.", {"out": ["Give a new or empty folder."]})
    directory.mkdir(parents=True, exist_ok=True)
    with unscoped():
        conn = db.session.connection()
        revision = schema_revision(conn)
        files = write_tables(conn, tenant_id, directory, progress)
        checkpoint = audit_checkpoint(conn, tenant_id)
    return write_manifest(directory, tenant_id, slug, revision, files, checkpoint)


def audit_checkpoint(conn, tenant_id: int) -> dict:
    """A signed checkpoint of the audit head the export holds (same snapshot as the files):
    `congvu audit verify --checkpoints EXPORT` later proves the log has not lost its tail
    or been rewritten since, even if the checkpoint folder is gone."""
    from core.audit import checkpoints
    from core.audit.models import AuditEvent
    from core.audit.services import GENESIS

    events = AuditEvent.__table__
    head = conn.execute(select(events.c.seq, events.c.hash).where(events.c.tenant_id == tenant_id)
                        .order_by(events.c.seq.desc()).limit(1)).first()
    count = conn.scalar(select(func.count()).select_from(events).where(events.c.tenant_id == tenant_id))
    made = checkpoints.sign(tenant_id, head.seq if head else 0, head.hash if head else GENESIS, count or 0)
    checkpoints.write(made)
    return json.loads(made.to_json())


def _write(conn, table: Table, column: str, tenant_id: int, directory: Path) -> dict:
    path = directory / f"{table.name}.jsonl"
    if conn.dialect.name == "postgresql":
        return _write_postgresql(conn, table, column, tenant_id, path)
    digest, count = hashlib.sha256(), 0
    with path.open("wb") as fh:
        rows = conn.execute(select(table).where(table.c[column] == tenant_id).order_by(*table.primary_key.columns))
        for row in rows.mappings():
            line = (json.dumps(dict(row), default=_plain, ensure_ascii=False) + "\n").encode("utf-8")
            fh.write(line)
            digest.update(line)
            count += 1
    return {"rows": count, "sha256": digest.hexdigest()}


def _write_postgresql(conn, table: Table, column: str, tenant_id: int, path: Path) -> dict:
    # CSV with quote and delimiter characters JSON never contains unescaped, so COPY
    # passes each row_to_json line through untouched (text format would double backslashes).
    # Rows in primary-key order (item_scores is keyed by (tenant_id, work_item_id), not an id).
    order = ", ".join(f'x."{c.name}"' for c in table.primary_key.columns)
    sql = (f'COPY (SELECT row_to_json(x)::text FROM "{table.name}" x WHERE x."{column}" = {int(tenant_id)} '
           f"ORDER BY {order}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')")
    raw = conn.connection.dbapi_connection
    digest, count = hashlib.sha256(), 0
    with raw.cursor() as cur, path.open("wb") as fh, cur.copy(sql) as copy:
        for chunk in copy:
            data = bytes(chunk)
            fh.write(data)
            digest.update(data)
            count += data.count(b"\n")
    return {"rows": count, "sha256": digest.hexdigest()}


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")


# ---------------------------------------------------------------- import


def read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{directory} is not a tenant export.", {"export": [f"No readable {MANIFEST}."]}) from exc
    if not isinstance(manifest, dict) or not {"tenant_id", "slug", "counts"} <= manifest.keys():
        raise Invalid(f"{directory} is not a tenant export.", {"export": [f"{MANIFEST} lacks tenant_id, slug or counts."]})
    return manifest


_LEADING_ID = re.compile(rb'^\{"id":\s*(-?\d+)[,}]')


def check_files(directory: Path, manifest: dict, strict: bool = True) -> dict[str, list[int]]:
    """Each file against its row count and checksum; returns each table's ids. With
    `strict`, a manifest without checksums (written before they existed) is refused."""
    files = manifest.get("files")
    if files is None:
        if strict:
            raise Invalid("The export has no checksums.", {"export": ["Written by an older congvu: use tenant restore."]})
        files = {f"{name}.jsonl": {"rows": n} for name, n in manifest["counts"].items()}
    known = {f"{t.name}.jsonl" for t in tables()}
    unknown = sorted(set(files) - known)
    if unknown:
        raise Invalid("The export holds tables this database does not have.", {"export": unknown})
    ids: dict[str, list[int]] = {}
    # Tables keyed by something else than an id (item_scores: tenant_id, work_item_id)
    # are only counted: their keys lead with the tenant's own id.
    with_id = {f"{t.name}.jsonl" for t in tables() if "id" in t.c}
    for name, expected in files.items():
        path = Path(directory) / name
        digest, found = hashlib.sha256(), []
        try:
            with path.open("rb") as fh:
                for line in fh:
                    digest.update(line)
                    if name not in with_id:
                        found.append(0)
                        continue
                    match = _LEADING_ID.match(line)
                    found.append(int(match.group(1)) if match else json.loads(line)["id"])
        except OSError as exc:
            raise Invalid(f"{name} cannot be read.", {"export": [exc.strerror or str(exc)]}) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid(f"{name} is not JSON lines with an id.", {"export": [f"Line {len(found) + 1}."]}) from exc
        if "sha256" in expected and digest.hexdigest() != expected["sha256"]:
            raise Invalid(f"{name} does not match its checksum.", {"export": ["The file was changed or is incomplete."]})
        if len(found) != expected["rows"]:
            raise Invalid(f"{name} holds {len(found)} rows, the manifest {expected['rows']}.",
                          {"export": ["The file was changed or is incomplete."]})
        if name in with_id:
            ids[name.removesuffix(".jsonl")] = found
    return ids


def import_tenant(directory: str | Path, as_slug: str | None = None, standalone: bool = False,
                  strict: bool = True, progress: Progress = _quiet) -> dict:
    """Insert an export, ids included, in the caller's transaction (commit it, or roll back).

    Refuses with a ServiceError before writing anything when the files do not match the
    manifest, the schema revision differs (`strict`), or the slug, the tenant id or any
    row id is already taken. `standalone` (a merger's way back) makes the restored tenant
    active and merged into nothing again; otherwise the tenant row is kept as it was.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    slug = as_slug or manifest["slug"]
    ids = check_files(directory, manifest, strict)
    tenants = db.metadata.tables["tenants"]
    with unscoped():
        conn = db.session.connection()
        revision = schema_revision(conn)
        if strict and revision != manifest.get("schema_revision"):
            raise Conflict(f"The export is of schema revision {manifest.get('schema_revision')}, this database "
                           f"is at {revision}.", {"export": ["Import into a database at the same revision."]})
        if db.session.scalar(select(tenants.c.id).where(tenants.c.slug == slug)) is not None:
            raise Conflict(f"This database already holds a tenant {slug}.",
                           {"slug": ["Import into a database without it, or give another with --as."]})
        if db.session.scalar(select(tenants.c.id).where(tenants.c.id == manifest["tenant_id"])) is not None:
            raise Conflict(f"This database already holds tenant id {manifest['tenant_id']} (ids are kept).",
                           {"export": ["Import into a database without that tenant."]})
        row = _tenant_row(directory)
        if not standalone and row.get("merged_into_id") is not None and db.session.scalar(
                select(tenants.c.id).where(tenants.c.id == row["merged_into_id"])) is None:
            raise Conflict(f"The tenant was merged into tenant id {row['merged_into_id']}, which this database "
                           "does not hold.", {"export": ["Import the tenant it merged into first."]})
        for table in tables():
            taken = _taken(conn, table, ids.get(table.name, []))
            if taken:
                raise Conflict(f"Ids of {table.name} are taken in this database ({len(taken)}, e.g. {taken[0]}).",
                               {"export": ["Import into a database whose rows do not use these ids."]})
        counts: dict[str, int] = {}
        every = tables()
        # The tenant's history comes back whole, its closed months' items with it: the
        # database lets this transaction through its closed-month guard (migration 0042).
        with writing_closed_months(conn, "tenant import"):
            for done, table in enumerate(every):
                fields = {"slug": slug} if table.name == "tenants" else None
                if table.name == "tenants" and standalone:
                    fields = {"slug": slug, "status": "active", "merged_into_id": None}
                counts[table.name] = _insert(table, directory, fields)
                progress(table.name, done + 1, len(every), counts[table.name])
    if any(counts.get(name, 0) != n for name, n in manifest["counts"].items()) or \
            sum(counts.values()) != sum(manifest["counts"].values()):
        raise Invalid("The export's files do not match its manifest.", {"export": [f"Read {counts}."]})
    behind = advance_sequences({t: max(v) for t, v in ids.items() if v})
    return {"tenant_id": manifest["tenant_id"], "slug": slug, "counts": counts, "sequences_behind": behind,
            "schema_revision": revision}


def _tenant_row(directory: Path) -> dict:
    try:
        with (directory / "tenants.jsonl").open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
    except OSError as exc:
        raise Invalid("The export has no tenants.jsonl.", {"export": [exc.strerror or str(exc)]}) from exc
    if len(rows) != 1:
        raise Invalid("tenants.jsonl must hold exactly one tenant.", {"export": [f"It holds {len(rows)}."]})
    return rows[0]


def _taken(conn, table: Table, ids: list[int]) -> list[int]:
    """The ids of `ids` that `table` already holds, in any tenant (the caller is unscoped)."""
    if not ids:
        return []
    low, high = min(ids), max(ids)
    if not conn.execute(select(table.c.id).where(table.c.id.between(low, high)).limit(1)).first():
        return []  # the usual case on a fresh database: one indexed range probe
    taken: list[int] = []
    step = 20_000 if conn.dialect.name == "postgresql" else 900
    ordered = sorted(ids)
    for start in range(0, len(ordered), step):
        chunk = ordered[start:start + step]
        taken += conn.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars().all()
    return sorted(taken)


def _insert(table: Table, directory: Path, fields: dict | None) -> int:
    path = directory / f"{table.name}.jsonl"
    if not path.exists():
        return 0
    conn = db.session.connection()
    if conn.dialect.name == "postgresql" and not fields:
        return _insert_postgresql(conn, table, path)
    columns = [c.name for c in table.columns]
    copying = db.session.get_bind().dialect.name == "postgresql"  # COPY takes JSON as text
    convert = [_converter(c.type, copying) for c in table.columns]

    def rows() -> Iterator[tuple]:
        for line in _ordered(table, path):
            if fields:
                line = {**line, **fields}
            yield tuple(fn(line.get(name)) for name, fn in zip(columns, convert, strict=True))

    return copy_rows(table, columns, rows())


def _insert_postgresql(conn, table: Table, path: Path) -> int:
    """The file's lines COPYed as they are into a staging table of JSON values, and turned
    into rows by the database (`json_populate_record` against the table's own row type):
    no Python object per row. One INSERT … SELECT per table, checked by the tenant policy
    like any insert; foreign keys (a unit's parent too) are checked at the statement's end,
    so the order of the lines does not matter."""
    quoted = ", ".join(f'"{c.name}"' for c in table.columns)
    picked = ", ".join(f'r."{c.name}"' for c in table.columns)
    conn.exec_driver_sql('CREATE TEMP TABLE IF NOT EXISTS "_import_lines" (line json) ON COMMIT DROP')
    cursor = conn.connection.driver_connection.cursor()
    # The export's own CSV trick: quote and delimiter characters JSON never holds unescaped.
    with path.open("rb") as fh, cursor.copy("COPY \"_import_lines\" (line) FROM STDIN "
                                            "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')") as copy:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    count = conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {picked} FROM "_import_lines" l, '
        f'json_populate_record(NULL::"{table.name}", l.line) r').rowcount
    conn.exec_driver_sql('TRUNCATE "_import_lines"')
    return count


def _ordered(table: Table, path: Path) -> list[dict] | Iterator[dict]:
    """Rows in an order that satisfies a self-reference (a unit's parent, a manager)."""
    self_refs = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not self_refs or table.name == "tenants":
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


def advance_sequences(max_ids: dict[str, int]) -> list[str]:
    """Imported ids came from another database's sequences: move each sequence of this one
    past them, never backwards (PostgreSQL; SQLite takes max(id) + 1 by itself).

    `setval` needs UPDATE on the sequence, which the app role lacks: it runs on the owner's
    connection (CONGVU_DATABASE_OWNER_URL) when one is set, else on the session's; returns
    the tables whose sequence could not be moved. Sequences are not transactional, so a
    rolled-back import leaves at most a gap in the ids.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return []
    wanted = [(db.metadata.tables[name], high) for name, high in max_ids.items()
              if "id" in db.metadata.tables[name].c and isinstance(db.metadata.tables[name].c.id.type, Integer)]
    owner_url = current_app.config.get("CONGVU_DATABASE_OWNER_URL")
    behind: list[str] = []
    if owner_url:
        engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for table, high in wanted:
                    try:
                        conn.execute(_SETVAL, {"t": table.name, "high": high})
                    except DBAPIError:
                        behind.append(table.name)
        finally:
            engine.dispose()
        return behind
    for table, high in wanted:
        try:
            with db.session.begin_nested():
                db.session.execute(_SETVAL, {"t": table.name, "high": high})
        except DBAPIError:
            behind.append(table.name)
    return behind


_SETVAL = text(
    "SELECT setval(s.seq, CAST(:high AS bigint)) FROM (SELECT pg_get_serial_sequence(:t, 'id') AS seq) s "
    "WHERE s.seq IS NOT NULL AND CAST(:high AS bigint) > coalesce(pg_sequence_last_value(s.seq::regclass), 0)"
)
