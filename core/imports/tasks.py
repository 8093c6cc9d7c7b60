"""The import job, and where uploaded files wait for it.

Uploads are stored under CONGVU_UPLOAD_DIR (default instance/uploads), one folder per
tenant and upload, and deleted when the job has read them. With RQ workers on several
hosts that folder must be shared (NFS or similar): the job runs where a worker is.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import IO

from flask import current_app

from core.errors import ServiceError
from core.jobs.runner import task
from core.tenancy import current_tenant_id


class UploadFolderUnwritable(ServiceError):
    status = 503


def upload_root() -> Path:
    configured = current_app.config.get("CONGVU_UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def store_upload(source: IO[bytes], filename: str) -> Path:
    """Save an upload in its own folder under the tenant's; a clear 503 when the folder
    cannot be written (a deployment problem, not the user's)."""
    folder = upload_root() / str(current_tenant_id()) / uuid.uuid4().hex
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in (filename or "upload"))[-100:] or "upload"
    try:
        folder.mkdir(parents=True, exist_ok=False)
        path = folder / safe
        with path.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except OSError as exc:
        raise UploadFolderUnwritable(
            "The server cannot store the upload: its upload folder is not writable; tell the operator "
            "(CONGVU_UPLOAD_DIR).", code="upload_folder_unwritable") from exc
    return path


def discard_upload(path: str | Path) -> None:
    path = Path(path)
    root = upload_root().resolve()
    try:
        folder = path.resolve().parent
        if root in folder.parents:  # never delete outside the upload folder (CLI files stay)
            shutil.rmtree(folder, ignore_errors=True)
    except OSError:
        pass


@task("import", queue="imports", timeout=3600)
def import_file(progress, connector: str, path: str, dry_run: bool = False, filename: str | None = None,
                actor: str | None = None, discard: bool = True) -> dict:
    from core.imports.services import run_import

    # `actor` (the requester, kept in the job's arguments by older submitters) is not passed
    # on: the job's events name the requester through the run row, "... via job ID".
    result = run_import(connector, path, dry_run=dry_run, progress=progress, filename=filename)
    # Deleted only after a result: a crash leaves the file for RQ's retry.
    if discard:
        discard_upload(path)
    return result
