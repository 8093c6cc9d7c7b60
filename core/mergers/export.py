"""The full export of a tenant a merger writes before it commits, and its restore.

Written under `<instance>/exports/<slug>-<utc time>/` in the format of `congvu tenant
export` (core/tenants/backup.py: one JSON-lines file per table, a manifest with row
counts, checksums and the schema revision), so the files restore the tenant exactly as
it was, ids included, into a database that does not hold it (a fresh one, or the same
one after the tenant was taken out): `congvu tenant restore DIR`.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from core.extensions import db
from core.tenancy import rls
from core.tenants import backup
from core.timeutil import utcnow

MANIFEST = backup.MANIFEST
read_manifest = backup.read_manifest


def export_dir(slug: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    return Path(current_app.instance_path) / "exports" / f"{slug}-{stamp}"


def export_tenant(tenant_id: int, slug: str, directory: Path | None = None) -> dict:
    """Write every row of the tenant; returns the manifest. Runs in the caller's transaction,
    so the export is the very state the merger then moves."""
    directory = directory or export_dir(slug)
    directory.mkdir(parents=True, exist_ok=False)
    return backup.export_tenant(tenant_id, slug, directory)


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
                rls.apply(conn, unscoped=True)
                revision = backup.schema_revision(conn)
                files = backup.write_tables(conn, tenant_id, self.directory)
                checkpoint = backup.audit_checkpoint(conn, tenant_id)
                conn.rollback()
                self._result = backup.write_manifest(self.directory, tenant_id, slug, revision, files, checkpoint)
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


def restore_tenant(directory: str | Path) -> dict:
    """Insert a merger's export back, ids included, in the caller's transaction, as a
    tenant on its own again (active, merged into nothing). Conflict when the database
    already holds the tenant. Exports written before manifests carried checksums and the
    schema revision are still accepted (their row counts are checked)."""
    return backup.import_tenant(directory, standalone=True, strict=False)
