"""REST endpoints of the daily work loop (api.md, "Daily work"), plus what it is
measured against: leave, the tenant's calendar days, working days and work settings.

Thin on purpose: arguments in, one service call, commit (which then emits
`congvu_work_item_changed`), the view out.
"""

from __future__ import annotations

from datetime import timedelta

from flask import g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core import unit_of_work
from core.auth.guards import api_member
from core.pagination import paginate
from core.work import calendar as cal
from core.work import services
from core.work.models import CalendarDay
from core.work.schemas import (
    CalendarDayListArgs,
    CalendarDaySchema,
    ExtendSchema,
    LeaveListArgs,
    LeaveSchema,
    QueueSchema,
    ReasonSchema,
    ReviewSchema,
    UnitDayArgs,
    UnitDaySchema,
    VerifySchema,
    WorkingDaysArgs,
    WorkingDaysSchema,
    WorkItemBatchResultSchema,
    WorkItemBatchSchema,
    WorkItemCreateSchema,
    WorkItemListArgs,
    WorkItemPatchSchema,
    WorkItemPostSchema,
    WorkItemSchema,
    WorkSettingsSchema,
    dump_item,
)

blp = Blueprint("work", __name__, url_prefix="/api/v1/tenants/<t>", description="Daily work items")
ADMIN = "tenant_admin"


@blp.before_request
def _resolve_path_objects() -> None:
    """Find the item (or leave record, calendar day) of the path before the body is
    validated, so an object the caller may not see is a 404 whatever they send."""
    view_args = request.view_args or {}
    if "item_id" in view_args:
        g.work_item = services.get_item(api_member(), view_args["item_id"])
    elif "leave_id" in view_args:
        g.leave = services.get_leave(api_member(), view_args["leave_id"])
    elif "day_id" in view_args:
        g.calendar_day = services.get_calendar_day(view_args["day_id"])


def _args(args: dict) -> dict:
    # marshmallow cannot name an attribute "from"; the contract's query string does.
    out = dict(args)
    if "from_" in out:
        out["from"] = out.pop("from_")
    return out


# The busiest endpoints take schema instances: given a class, webargs builds the schema
# anew on every request.
@blp.route("/work-items")
class WorkItems(MethodView):
    @blp.arguments(WorkItemListArgs(), location="query")
    @blp.response(200, WorkItemSchema(many=True))
    def get(self, args, t):
        """Work items the caller may see: their own; a manager's, those of the people they
        manage; tenant admins and auditors, all. `status` takes a comma-separated list."""
        principal = api_member()
        items, headers = paginate(services.items_query(principal, _args(args)), args)
        return services.views(list(items)), 200, headers

    @blp.arguments(WorkItemPostSchema(), example={"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": 2})
    @blp.response(201, WorkItemSchema)
    # The body and the answer are one item or a batch; the docs say both.
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "oneOf": [WorkItemCreateSchema, WorkItemBatchSchema]}}}},
        responses={"201": {"description": "The item, or a batch's items in the order sent.",
                           "content": {"application/json": {"schema": {
                               "oneOf": [WorkItemSchema, WorkItemBatchResultSchema]}}}}})
    def post(self, data, t):
        """Declare an item for myself, or assign one to a person I manage. A body
        `{"items": [...]}` (1–50 items, each as the single form) declares them all or
        none: 422 with `errors.items` keyed by index when any is invalid."""
        principal = api_member()
        confirmed = bool(data.pop("confirm_long_day", False))
        if "items" in data:
            for each in data["items"]:
                each.pop("confirm_long_day", None)  # a batch is confirmed as a whole
            declared = services.declare_batch(principal, data["items"])
            _long_days([item for item, _ in declared], confirmed)
            out_items = services.views([item for item, _ in declared])
            for out_item, (_, warnings) in zip(out_items, declared, strict=True):
                out_item["warnings"] = warnings
            unit_of_work.commit()
            # A response object passes the single item's schema by (flask-smorest leaves it as is).
            response = jsonify({"items": [dump_item(out_item) for out_item in out_items]})
            response.status_code = 201
            return response
        item, warnings = services.declare(principal, data)
        _long_days([item], confirmed)
        out = services.view(item)
        unit_of_work.commit()
        out["warnings"] = warnings
        # Dumped as WorkItemSchema would (schemas.dump_item), without its cost per field; a
        # response object passes flask-smorest's dump by.
        response = jsonify(dump_item(out))
        response.status_code = 201
        return response


@blp.route("/work-items/<int:item_id>")
class WorkItemById(MethodView):
    @blp.response(200, WorkItemSchema)
    def get(self, t, item_id):
        """One work item with its deadline history; another's item I may not see is a 404."""
        api_member()
        item = g.work_item
        out = services.view(item)
        out["extensions"] = services.extensions(item)
        return out

    @blp.arguments(WorkItemPatchSchema())
    @blp.response(200, WorkItemSchema)
    def patch(self, data, t, item_id):
        """Update progress and results; complete (status done) or cancel."""
        principal = api_member()
        confirmed = bool(data.pop("confirm_long_day", False))
        before = g.work_item.quantity
        item = services.update_item(principal, g.work_item, data)
        if "quantity" in data and item.quantity > before:  # only a larger plan is asked about
            _long_days([item], confirmed)
        out = services.view(item)
        unit_of_work.commit()
        return out


def _long_days(items: list, confirmed: bool) -> None:
    """The page's 12-hour rule (services.check_long_days); refused, nothing is written."""
    try:
        services.check_long_days(items, confirmed)
    except Exception:
        unit_of_work.rollback()
        raise


def _action(item_id: int, fn) -> dict:
    principal = api_member()
    item = fn(principal, g.work_item)
    out = services.view(item)
    unit_of_work.commit()
    return out


@blp.route("/work-items/<int:item_id>/extend")
class Extend(MethodView):
    @blp.arguments(ExtendSchema)
    @blp.response(200, WorkItemSchema)
    def post(self, data, t, item_id):
        """Extend the deadline (the assigner or a manager); a deadline already passed counts as missed."""
        return _action(item_id, lambda p, i: services.extend_deadline(p, i, data["deadline"], data["reason"]))


@blp.route("/work-items/<int:item_id>/review")
class Review(MethodView):
    @blp.arguments(ReviewSchema)
    @blp.response(200, WorkItemSchema)
    def post(self, data, t, item_id):
        """Review a finished item (the assigner or a manager). A failed review counts one
        failed review and sends the item back for rework."""
        return _action(item_id, lambda p, i: services.review(p, i, data))


@blp.route("/work-items/<int:item_id>/exempt")
class Exempt(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, WorkItemSchema)
    def post(self, data, t, item_id):
        """Exempt for an objective cause (a manager): no failed reviews or missed deadlines count."""
        return _action(item_id, lambda p, i: services.exempt(p, i, data["reason"]))


@blp.route("/work-items/<int:item_id>/verify")
class Verify(MethodView):
    @blp.arguments(VerifySchema)
    @blp.response(200, WorkItemSchema)
    def post(self, data, t, item_id):
        """Check a declaration (a manager): accept it, or refuse it with a reason (it is cancelled)."""
        return _action(item_id, lambda p, i: services.verify(p, i, data["accepted"], data.get("reason")))


@blp.route("/work-queue")
class Queue(MethodView):
    @blp.response(200, QueueSchema)
    def get(self, t):
        """A manager's queue: declarations of the people they manage to check, finished items to review."""
        principal = api_member()
        queue = services.queue(principal)
        every = queue["declarations"] + queue["reviews"]
        by_id = {v["id"]: v for v in services.views(every)}
        return {key: [by_id[i.id] for i in items] for key, items in queue.items()}


@blp.route("/unit-day")
class UnitDay(MethodView):
    @blp.arguments(UnitDayArgs, location="query")
    @blp.response(200, UnitDaySchema(many=True))
    def get(self, args, t):
        """Per person the caller may see (in `unit_id` and its sub-units): items declared
        for `day` (default today), planned minutes, done, overdue."""
        principal = api_member()
        return services.unit_day(principal, args.get("day") or cal.local_today(g.tenant), args.get("unit_id"))


@blp.route("/leave-records")
class LeaveRecords(MethodView):
    @blp.arguments(LeaveListArgs, location="query")
    @blp.response(200, LeaveSchema(many=True))
    def get(self, args, t):
        """Leave of the people the caller may see."""
        principal = api_member()
        items, headers = paginate(services.leave_query(principal, _args(args)), args)
        return [services.leave_view(r) for r in items], 200, headers

    @blp.arguments(LeaveSchema)
    @blp.response(201, LeaveSchema)
    def post(self, data, t):
        """Record leave (a manager of the employee, or a tenant admin)."""
        principal = api_member()
        row = services.create_leave(principal, data)
        unit_of_work.commit()
        return services.leave_view(row)


@blp.route("/leave-records/<int:leave_id>")
class LeaveById(MethodView):
    @blp.response(200, LeaveSchema)
    def get(self, t, leave_id):
        """One leave record."""
        api_member()
        return services.leave_view(g.leave)

    @blp.response(204)
    def delete(self, t, leave_id):
        """Remove a leave record (a manager of the employee, or a tenant admin)."""
        principal = api_member()
        services.delete_leave(principal, g.leave)
        unit_of_work.commit()


@blp.route("/calendar-days")
class CalendarDays(MethodView):
    @blp.arguments(CalendarDayListArgs, location="query")
    @blp.response(200, CalendarDaySchema(many=True))
    def get(self, args, t):
        """The tenant's own days off and make-up working days (over the national calendar)."""
        api_member()
        stmt = select(CalendarDay).order_by(CalendarDay.day)
        if args.get("from_"):
            stmt = stmt.where(CalendarDay.day >= args["from_"])
        if args.get("to"):
            stmt = stmt.where(CalendarDay.day <= args["to"])
        items, headers = paginate(stmt, args)
        return [services.calendar_day_view(r) for r in items], 200, headers

    @blp.arguments(CalendarDaySchema)
    @blp.response(201, CalendarDaySchema)
    def post(self, data, t):
        """Set a day off or a make-up working day (tenant admin); a day already set is replaced."""
        api_member(ADMIN)
        row = services.set_calendar_day(data)
        unit_of_work.commit()
        return services.calendar_day_view(row)


@blp.route("/calendar-days/<int:day_id>")
class CalendarDayById(MethodView):
    @blp.response(204)
    def delete(self, t, day_id):
        """Remove a tenant calendar day (tenant admin)."""
        api_member(ADMIN)
        services.delete_calendar_day(g.calendar_day)
        unit_of_work.commit()


@blp.route("/working-days")
class WorkingDays(MethodView):
    @blp.arguments(WorkingDaysArgs, location="query")
    @blp.response(200, WorkingDaysSchema)
    def get(self, args, t):
        """Working days in [from, to]: national holidays and the tenant's days, less an
        employee's approved leave when `employee_id` is given."""
        principal = api_member()
        start = args.get("from_") or cal.local_today(g.tenant).replace(day=1)
        end = args.get("to") or (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return services.working_days_view(principal, start, end, args.get("employee_id"))


@blp.route("/work-settings")
class WorkSettingsView(MethodView):
    @blp.response(200, WorkSettingsSchema)
    def get(self, t):
        """How declarations are checked (members)."""
        api_member()
        return services.settings_view(services.work_settings())

    @blp.arguments(WorkSettingsSchema)
    @blp.response(200, WorkSettingsSchema)
    def patch(self, data, t):
        """Change how declarations are checked (tenant admin)."""
        api_member(ADMIN)
        out = services.update_work_settings(data)
        unit_of_work.commit()
        return out
