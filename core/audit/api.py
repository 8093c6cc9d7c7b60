"""GET /api/v1/tenants/{t}/audit-events: the tenant's audit log for admins and inspectors,
and /audit-events/export: all of it (or the matching part) as xlsx or csv."""

from __future__ import annotations

from flask import g, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from core.audit import exports as audit_exports
from core.audit import objects
from core.audit.schemas import AuditEventSchema, AuditExportQuery, AuditQuery
from core.auth.guards import api_member
from core.imports import exports
from core.pagination import paginate

blp = Blueprint("audit", __name__, url_prefix="/api/v1/tenants/<t>", description="Audit log")


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    def get(self, args, t):
        """The audit log in chain order (tenant admin, auditor); filter by dates, actor, action."""
        api_member("tenant_admin", "auditor")
        items, headers = paginate(audit_exports.events_query(args), args)
        return named(items), 200, headers


STORED = ("id", "seq", "at", "actor", "action", "object_type", "object_id", "before", "after", "hash", "prev_hash",
          "via", "client_ip", "request_id")


def named(events: list) -> list[dict]:
    """The page's events with their objects named (one query per object type)."""
    found = objects.Objects((e.object_type, e.object_id) for e in events)
    out = []
    for e in events:
        obj = found.of(e.object_type, e.object_id, e.before, e.after)
        out.append({**{k: getattr(e, k) for k in STORED}, "object_kind": obj.kind or None,
                    "object_label": obj.label or None})
    return out


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


@blp.route("/audit-events/export")
class AuditExport(MethodView):
    @blp.arguments(AuditExportQuery, location="query")
    @blp.response(200, content_type=XLSX)
    @blp.doc(responses={"200": {"description": "The events as a file", "content": {
        XLSX: {"schema": {"type": "string", "format": "binary"}},
        "text/csv": {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, args, t):
        """Every matching event in chain order as xlsx or csv, Vietnamese headers, with the
        sequence number, previous hash and hash, so an inspector can re-check the chain
        offline (tenant admin, auditor). Filters as in the list."""
        api_member("tenant_admin", "auditor")
        return export_response(args, g.tenant.slug)


def export_response(args: dict, slug: str):
    """The file for the API and the audit log page alike."""
    export = audit_exports.build(args, slug)
    if args.get("format") == "csv":
        return send_file(exports.write_csv(export), mimetype=CSV, as_attachment=True,
                         download_name=f"{export.name}.csv")
    return send_file(exports.write_xlsx(export), mimetype=XLSX, as_attachment=True,
                     download_name=f"{export.name}.xlsx")
