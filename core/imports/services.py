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

This module runs an import and reports on it; the writers (one per target: staff,
catalogue, work items) are in core.imports.writers and are importable from here too.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import IO, Any

from core import unit_of_work
from core.audit.services import record
from core.extensions import db
from core.imports.readers import FileRejected
from core.imports.writers import WRITERS, CatalogueWriter, StaffWriter, WorkItemWriter
from core.imports.writers.base import BATCH, RowError, Writer
from core.imports.writers.work_items import CopyRows
from core.tenancy import current_tenant_id
from core.tenants.models import Tenant

__all__ = ["BATCH", "WRITERS", "CatalogueWriter", "CopyRows", "Report", "RowError", "StaffWriter", "WorkItemWriter",
           "Writer", "parse_events", "run_import"]

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0  # between progress reports while reading
MAX_REPORTED = 1000  # errors listed in a result; the total is always given
MAX_WHOLE_FILE = 50 * 1024 * 1024  # a connector without iter_parse reads the file whole


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
    from core.tenants.choices import connector_for

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
            elif kind == "partial":  # after the row's own errors: its codes, checked too
                writer.failed = True
                for problem in writer.check(payload["row"], payload["values"], tuple(payload.get("failed") or ())):
                    report.error(problem)
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
