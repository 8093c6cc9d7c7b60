"""Imports (upload → job), connector templates and exports (api.md, "Data in and out")."""

from __future__ import annotations

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from core.auth.guards import api_member
from core.errors import Conflict, Invalid, NotFound
from core.imports import exports
from core.imports import tasks as import_tasks
from core.imports.readers import sniff
from core.imports.templates import template_xlsx
from core.jobs.runner import active_run, submit
from core.scoring.schemas import JobAccepted

blp = Blueprint("imports", __name__, url_prefix="/api/v1/tenants/<t>", description="Imports and exports")
ADMIN = "tenant_admin"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportUpload(Schema):
    connector = fields.String(required=True, validate=validate.Length(min=1, max=100))
    dry_run = fields.Boolean(load_default=False)
    file = Upload(required=True)


class ExportArgs(Schema):
    period = fields.String(validate=validate.Length(max=10))
    year = fields.String(validate=validate.Regexp(r"^\d{4}$"))
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))


def enabled_connector(key: str):
    from core.tenants.choices import connector_for

    return connector_for(key).component


@blp.route("/imports")
class Imports(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": ImportUpload}}})
    @blp.response(202, JobAccepted)
    def post(self, t):
        """Upload a file for one of the tenant's connectors; the import runs as a job
        (its result: rows_total, rows_valid, rows_written and errors by row and column).
        With dry_run nothing is written and the result says what would change."""
        principal = api_member(ADMIN)
        # Form fields and the file are read here (webargs takes one body location per
        # schema, and OpenAPI 3 documents them as one multipart body, above).
        errors = ImportUpload().validate({**request.form.to_dict(), **request.files.to_dict()})
        if errors:
            raise Invalid("Some fields are invalid.", errors)
        form = ImportUpload().load({**request.form.to_dict(), **request.files.to_dict()})
        return {"job_id": start_import(form["connector"], form["file"], form["dry_run"], principal.actor).id}


def usable_file_name(name: str) -> bool:
    """A name that is a file's: not `.`, `..` or only dots and spaces, no path, no control
    characters (the name is kept for the report; the stored copy gets its own folder)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return bool(base.strip(". ")) and not any(ord(c) < 32 or c == "\x7f" for c in name)


def start_import(connector: str, upload, dry_run: bool, actor: str):
    """Store an upload and submit its job; shared by the API and the admin page."""
    enabled_connector(connector)
    if active_run("import", connector) is not None:
        raise Conflict(f"An import with '{connector}' is already running; wait for it to finish.",
                       {"connector": ["An import with this connector is running."]})
    if upload is None or not getattr(upload, "filename", None):
        raise Invalid("A file is required.", {"file": ["Choose a file."]})
    if not usable_file_name(upload.filename):
        message = "The file name is not usable (such as “..”): rename the file and upload it again."
        raise Invalid(message, {"file": [message]}, code="bad_file_name")
    _refuse_text_named_xlsx(upload)
    path = import_tasks.store_upload(upload.stream, upload.filename)
    try:
        return submit("import", connector, {"connector": connector, "path": str(path), "dry_run": bool(dry_run),
                                            "filename": upload.filename, "actor": actor}, actor)
    except BaseException:
        import_tasks.discard_upload(path)
        raise


NOT_EXCEL = ("The file is named .xlsx but is not an Excel workbook: it is plain text. Open it in Excel and "
             "save it as an Excel workbook (.xlsx), or upload it with a connector that reads CSV.")


def _refuse_text_named_xlsx(upload) -> None:
    """A text file renamed .xlsx would be read as CSV and reported as a header missing
    its columns; say what it is instead, before anything is stored. Other files named
    .xlsx that are no workbook (an image, an old .xls) get the readers' own message."""
    if not str(upload.filename).lower().endswith((".xlsx", ".xlsm")):
        return
    stream = upload.stream
    position = stream.tell()
    head = stream.read(4096)
    stream.seek(position)
    if not head or sniff(head) not in ("text", "jsonl") or b"\x00" in head:
        return
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if control <= len(head) // 100:
        raise Invalid(NOT_EXCEL, {"file": [NOT_EXCEL]}, code="not_an_excel_file")


@blp.route("/imports/templates/<connector>")
class ImportTemplate(MethodView):
    @blp.response(200, content_type=XLSX)
    def get(self, t, connector):
        """An .xlsx template for one of the tenant's connectors: the header row and a sheet
        explaining each column."""
        api_member(ADMIN)
        try:
            component = enabled_connector(connector)
        except Invalid as exc:
            raise NotFound(exc.message) from exc
        import io

        return send_file(io.BytesIO(template_xlsx(component)), mimetype=XLSX, as_attachment=True,
                         download_name=f"mau-{connector}.xlsx")


@blp.route("/exports/<kind>")
class Exports(MethodView):
    @blp.arguments(ExportArgs, location="query")
    @blp.response(200, content_type=XLSX)
    def get(self, args, t, kind):
        """Scores (``period``), classifications or bonus (``year``) as xlsx or csv, with
        Vietnamese headers (tenant admin, auditor)."""
        api_member(ADMIN, "auditor")
        return export_response(kind, args.get("period"), args.get("year"), args["format"])


def export_response(kind: str, period: str | None, year: str | None, fmt: str):
    export = exports.build(kind, period, year)
    if fmt == "csv":
        return send_file(exports.write_csv(export), mimetype="text/csv; charset=utf-8", as_attachment=True,
                         download_name=f"{export.name}.csv")
    return send_file(exports.write_xlsx(export), mimetype=XLSX, as_attachment=True,
                     download_name=f"{export.name}.xlsx")

