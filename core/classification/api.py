"""Classifications, their review, finalising, appeals, discipline records and the caller's
notifications (api.md, "Scores and decisions")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member, path_object
from core.classification import services
from core.classification.models import ClassificationAppeal, DisciplineRecord
from core.classification.schemas import (
    AppealArgs,
    AppealIn,
    AppealSchema,
    ClassificationArgs,
    ClassificationSchema,
    DisciplineArgs,
    DisciplineIn,
    DisciplineSchema,
    InboxArgs,
    InboxSchema,
    NotificationSchema,
    OverrideIn,
    ReadAllSchema,
    ResolveIn,
    YearSchema,
)
from core.jobs.runner import submit
from core.notifications import services as notifications
from core.notifications.models import Notification
from core.scoring.schemas import JobAccepted

blp = Blueprint("classification", __name__, url_prefix="/api/v1/tenants/<t>",
                description="Classification, reviews, appeals and discipline")
ADMIN = "tenant_admin"


@blp.route("/classifications")
class Classifications(MethodView):
    @blp.arguments(ClassificationArgs, location="query")
    @blp.response(200, ClassificationSchema(many=True))
    def get(self, args, t):
        """A year's classifications of the people the caller may see (filter by unit)."""
        principal = api_member()
        rows, headers = services.classifications(principal, args["year"], args.get("unit_id"), args)
        return rows, 200, headers


@blp.route("/classifications/<int:year>")
class ClassificationYear(MethodView):
    @blp.response(200, YearSchema)
    def get(self, t, year):
        """The year's state: draft or final, the scheme, the appeal window, counts per level."""
        api_member()
        return services.year_view(year)


@blp.route("/classifications/<int:year>/run")
class ClassificationRun(MethodView):
    @blp.response(202, JobAccepted)
    def post(self, t, year):
        """Classify the year (a job); a final year is refused with 409."""
        principal = api_member(ADMIN)
        services.check_runnable(year)
        run = submit("classification", str(year), {"year": year}, principal.actor)
        return {"job_id": run.id}


@blp.route("/classifications/<int:year>/finalize")
class ClassificationFinalize(MethodView):
    @blp.response(200, YearSchema)
    def post(self, t, year):
        """Lock the year: no run, override or appeal changes it afterwards."""
        principal = api_member(ADMIN)
        services.finalize(principal, year)
        unit_of_work.commit()
        return services.year_view(year)


@blp.route("/classifications/<int:year>/<int:employee_id>")
class ClassificationOverride(MethodView):
    @blp.arguments(OverrideIn)
    @blp.response(200, ClassificationSchema)
    def put(self, data, t, year, employee_id):
        """The manager (or tenant admin) sets a person's level, with a reason (422 without one)."""
        principal = api_member("manager", ADMIN)
        row = services.override(principal, year, employee_id, data["level"], data.get("reason"))
        unit_of_work.commit()
        return services.view(row, services.year_state(year))


@blp.route("/classifications/<int:year>/<int:employee_id>/appeal")
class ClassificationAppeals(MethodView):
    @blp.arguments(AppealIn)
    @blp.response(201, AppealSchema)
    def post(self, data, t, year, employee_id):
        """The person classified appeals, within the tenant's window after the run."""
        principal = api_member()
        appeal = services.file_appeal(principal, year, employee_id, data.get("reason"))
        unit_of_work.commit()
        return services.appeal_view(appeal)


@blp.route("/classifications/<int:year>/appeals")
class AppealList(MethodView):
    @blp.arguments(AppealArgs, location="query")
    @blp.response(200, AppealSchema(many=True))
    def get(self, args, t, year):
        """The year's appeals of the people the caller may see."""
        principal = api_member()
        return services.appeals(principal, year, args.get("status"))


@blp.route("/appeals/<int:appeal_id>/resolve")
class AppealResolve(MethodView):
    @blp.arguments(ResolveIn)
    @blp.response(200, AppealSchema)
    def post(self, data, t, appeal_id):
        """Uphold (optionally with a new level) or reject an appeal, with a reason."""
        principal = api_member("manager", ADMIN)
        appeal = services.resolve_appeal(principal, appeal_id, data["decision"], data.get("reason"), data.get("level"))
        unit_of_work.commit()
        return services.appeal_view(appeal)


@blp.route("/discipline-records")
class DisciplineRecords(MethodView):
    @blp.arguments(DisciplineArgs, location="query")
    @blp.response(200, DisciplineSchema(many=True))
    def get(self, args, t):
        """Discipline records of the people the caller may see."""
        principal = api_member(ADMIN, "auditor", "manager")
        return services.disciplines(principal, args.get("year"), args.get("employee_id"))

    @blp.arguments(DisciplineIn)
    @blp.response(201, DisciplineSchema)
    def post(self, data, t):
        """Record a discipline decision: reprimand or higher makes the year KHT at the next run."""
        principal = api_member(ADMIN)
        record = services.add_discipline(principal, data)
        unit_of_work.commit()
        return services.discipline_view(record)


@blp.route("/discipline-records/<int:discipline_id>")
class DisciplineRecordOne(MethodView):
    @blp.response(204)
    def delete(self, t, discipline_id):
        """Remove a discipline record entered by mistake (not once its year is final)."""
        principal = api_member(ADMIN)
        services.delete_discipline(principal, discipline_id)
        unit_of_work.commit()


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(InboxArgs, location="query")
    @blp.response(200, InboxSchema)
    def get(self, args, t):
        """The caller's notifications, newest first."""
        items, unread = notifications.inbox(api_member(), args["unread"])
        return {"items": items, "unread": unread}


@blp.route("/notifications/read")
class NotificationsReadAll(MethodView):
    @blp.response(200, ReadAllSchema)
    def post(self, t):
        """Mark every unread notification of the caller read."""
        marked = notifications.mark_all_read(api_member())
        unit_of_work.commit()
        return {"marked": marked, "unread": 0}


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, NotificationSchema)
    def post(self, t, notification_id):
        """Mark one of the caller's notifications read."""
        n = notifications.mark_read(api_member(), notification_id)
        unit_of_work.commit()
        return notifications.view(n)


path_object("appeal_id", ClassificationAppeal)
path_object("discipline_id", DisciplineRecord)
path_object("notification_id", Notification)
