"""GET /api/v1/tenants/{t}/audit-events: the tenant's audit log for admins and inspectors."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core.audit.models import AuditEvent
from core.audit.schemas import AuditEventSchema, AuditQuery
from core.auth.guards import api_member
from core.pagination import paginate

blp = Blueprint("audit", __name__, url_prefix="/api/v1/tenants/<t>", description="Audit log")


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    def get(self, args, t):
        """The audit log in chain order (tenant admin, auditor); filter by dates, actor, action."""
        api_member("tenant_admin", "auditor")
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        if args.get("from_"):
            stmt = stmt.where(AuditEvent.at >= datetime.combine(args["from_"], time.min, UTC))
        if args.get("to"):
            stmt = stmt.where(AuditEvent.at < datetime.combine(args["to"] + timedelta(days=1), time.min, UTC))
        if args.get("actor"):
            stmt = stmt.where(AuditEvent.actor == args["actor"])
        if args.get("action"):
            stmt = stmt.where(AuditEvent.action == args["action"])
        items, headers = paginate(stmt, args)
        return items, 200, headers
