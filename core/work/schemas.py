from __future__ import annotations

from datetime import UTC, date, datetime

from marshmallow import INCLUDE, Schema, fields, validate
from webargs.fields import DelimitedList

from core.ids import MAX_ID
from core.pagination import PageArgs
from core.text import Line
from core.work.models import CALENDAR_KINDS, POSITION_CHECKS, PRIORITIES, ROLES, STATUSES, VERIFICATION

TEXT = validate.Length(max=5000)
# Ids beyond BIGINT would reach PostgreSQL as an error; dates far off would overflow the calendar.
ID = validate.Range(min=1, max=MAX_ID, error="No such object.")
DAY = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31), error="Use a date between 2000 and 2099.")
QUANTITY = validate.Range(min=0, min_inclusive=False, max=1_000_000, error="Must be greater than 0.")


class WorkItemCreateSchema(Schema):
    employee_id = fields.Integer(allow_none=True, load_default=None, validate=ID,
                                 metadata={"description": "Default: me. Another person's id makes an assignment "
                                                          "(managers, for the people they manage)."})
    task_type_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(validate=validate.Length(min=1, max=300),
                          metadata={"description": "Default: the type's name."})
    work_date = fields.Date(required=True, validate=DAY)
    quantity = fields.Float(load_default=1.0, allow_nan=False, validate=QUANTITY)
    complexity_level = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=10))
    deadline = fields.Date(allow_none=True, validate=DAY)
    priority = fields.Integer(load_default=1, validate=validate.OneOf(PRIORITIES))
    role = fields.String(load_default="lead", validate=validate.OneOf(ROLES))
    external_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    confirm_long_day = fields.Boolean(load_default=False, metadata={
        "description": "Declare even though the owner's plan for that day goes above 12 hours "
                       "(without it such a declaration is a 422 on this field)."})


BATCH_MAX = 50


class WorkItemBatchSchema(Schema):
    items = fields.List(fields.Nested(WorkItemCreateSchema), required=True,
                        validate=validate.Length(min=1, max=BATCH_MAX),
                        metadata={"description": f"1–{BATCH_MAX} items, declared all or nothing; errors are "
                                                 "keyed by the item's index."})
    confirm_long_day = fields.Boolean(load_default=False, metadata={
        "description": "Declare even though the owner's plan for that day goes above 12 hours "
                       "(without it such a declaration is a 422 on this field)."})


class WorkItemPostSchema(Schema):
    """One item (WorkItemCreateSchema) or a batch {"items": [...]} (WorkItemBatchSchema):
    a body with an `items` key is a batch. Loads to the item's fields, or {"items": [...]}."""

    class Meta:
        unknown = INCLUDE

    def load(self, data, *, many=None, partial=None, unknown=None):  # type: ignore[override]
        if isinstance(data, dict) and "items" in data:
            return _BATCH.load(data, partial=partial)
        return _ONE.load(data, partial=partial)


# Built once: a schema's construction (its fields deep-copied and bound) cost about as
# much Python as loading a declaration's body, and `load` keeps no state in the instance.
_ONE, _BATCH = WorkItemCreateSchema(), WorkItemBatchSchema()


class WorkItemBatchResultSchema(Schema):
    items = fields.List(fields.Nested(lambda: WorkItemSchema()))


class WorkItemPatchSchema(Schema):
    progress = fields.Integer(validate=validate.Range(min=0, max=100))
    status = fields.String(validate=validate.OneOf(("in_progress", "done", "cancelled")))
    completed_at = fields.AwareDateTime(allow_none=True, validate=validate.Range(
                                            min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2100, 1, 1, tzinfo=UTC),
                                            error="Use a time between 2000 and 2099."),
                                        metadata={"description": "When the work ended (default: now); with done."})
    result_note = fields.String(allow_none=True, validate=TEXT)
    quantity = fields.Float(allow_nan=False, validate=QUANTITY)
    title = fields.String(validate=validate.Length(min=1, max=300))
    confirm_long_day = fields.Boolean(load_default=False, metadata={
        "description": "Raise the quantity even though the owner's plan for the day goes above 12 hours."})


class ExtendSchema(Schema):
    deadline = fields.Date(required=True, validate=DAY)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReviewSchema(Schema):
    passed = fields.Boolean(required=True)
    stars = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    satisfaction = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True, validate=TEXT)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class VerifySchema(Schema):
    accepted = fields.Boolean(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000),
                           metadata={"description": "Required when refusing."})


class ExtensionSchema(Schema):
    old_deadline = fields.Date(allow_none=True)
    new_deadline = fields.Date()
    old_missed = fields.Boolean(metadata={"description": "The old deadline had passed, unfinished, when replaced."})
    reason = fields.String()
    by_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class WorkItemSchema(Schema):
    id = fields.Integer()
    employee_id = fields.Integer(validate=ID)
    task_type_id = fields.Integer()
    task_type_code = fields.String()
    task_type_name = fields.String()
    group = fields.String()
    unit_of_measure = fields.String()
    title = fields.String()
    work_date = fields.Date()
    quantity = fields.Float()
    complexity_level = fields.Integer(allow_none=True)
    complexity_coefficient = fields.Float()
    norm_version_id = fields.Integer()
    norm_minutes = fields.Float(metadata={"description": "Per unit, from the norm in force on the work date."})
    product_weight = fields.Float()
    planned_minutes = fields.Float(metadata={"description": "norm minutes × quantity × complexity coefficient"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    progress = fields.Integer()
    planned = fields.Boolean(metadata={"description": "Declared before the tenant's morning cut-off."})
    role = fields.String()
    priority = fields.Integer()
    assigned_by_id = fields.Integer(allow_none=True)
    outside_position = fields.Boolean()
    deadline = fields.Date(allow_none=True)
    original_deadline = fields.Date(allow_none=True)
    missed_deadlines = fields.Integer()
    overdue = fields.Boolean()
    declared_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    reported_at = fields.DateTime(allow_none=True)
    not_reported = fields.Boolean()
    result_note = fields.String(allow_none=True)
    failed_reviews = fields.Integer()
    stars = fields.Integer(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    review_comment = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_by_id = fields.Integer(allow_none=True)
    exempt = fields.Boolean()
    exempt_reason = fields.String(allow_none=True)
    exempted_by_id = fields.Integer(allow_none=True)
    verification = fields.String(validate=validate.OneOf(VERIFICATION))
    verification_note = fields.String(allow_none=True)
    verified_by_id = fields.Integer(allow_none=True)
    external_id = fields.String(allow_none=True)
    warnings = fields.List(fields.String())
    extensions = fields.List(fields.Nested(ExtensionSchema),
                             metadata={"description": "Deadline history (GET of one item only)."})


class WorkItemListArgs(PageArgs):
    employee_id = fields.Integer(validate=ID)
    unit_id = fields.Integer(validate=ID, metadata={"description": "People of this unit and its sub-units."})
    work_date = fields.Date(validate=DAY)
    from_ = fields.Date(data_key="from", validate=DAY)
    to = fields.Date(validate=DAY)
    status = DelimitedList(fields.String(validate=validate.OneOf(STATUSES)))
    verification = fields.String(validate=validate.OneOf(VERIFICATION))
    overdue = fields.Boolean()


class QueueSchema(Schema):
    declarations = fields.List(fields.Nested(WorkItemSchema), metadata={"description": "Declarations to check."})
    reviews = fields.List(fields.Nested(WorkItemSchema), metadata={"description": "Finished items to review."})


class UnitDayArgs(Schema):
    day = fields.Date(validate=DAY)
    unit_id = fields.Integer(validate=ID)


class UnitDaySchema(Schema):
    employee_id = fields.Integer(validate=ID)
    code = fields.String()
    full_name = fields.String()
    unit_name = fields.String()
    declared = fields.Integer()
    planned_items = fields.Integer()
    done = fields.Integer()
    planned_minutes = fields.Float()
    overloaded = fields.Boolean(metadata={"description": "planned_minutes above 8 hours (480): flagged for the manager"})
    overdue = fields.Integer()


# Sick and maternity leave matter apart from the rest: such people are classified on the
# time they actually worked (domain.md, "Regimes and who decides").
LEAVE_KINDS = ("sick", "maternity", "annual", "unpaid", "study", "other")


class LeaveSchema(Schema):
    id = fields.Integer(dump_only=True)
    employee_id = fields.Integer(required=True, validate=ID)
    start_date = fields.Date(required=True, validate=DAY)
    end_date = fields.Date(required=True, validate=DAY)
    kind = fields.String(load_default="annual", validate=validate.OneOf(LEAVE_KINDS))
    approved = fields.Boolean(load_default=True)
    reason = fields.String(allow_none=True, validate=TEXT)


class LeaveListArgs(PageArgs):
    employee_id = fields.Integer(validate=ID)
    from_ = fields.Date(data_key="from", validate=DAY)
    to = fields.Date(validate=DAY)


class CalendarDaySchema(Schema):
    id = fields.Integer(dump_only=True)
    day = fields.Date(required=True, validate=DAY)
    kind = fields.String(required=True, validate=validate.OneOf(CALENDAR_KINDS))
    name = Line(allow_none=True, validate=validate.Length(max=200))


class CalendarDayListArgs(PageArgs):
    from_ = fields.Date(data_key="from", validate=DAY)
    to = fields.Date(validate=DAY)


class WorkingDaysArgs(Schema):
    from_ = fields.Date(data_key="from", validate=DAY, metadata={"description": "Default: the first day of this month."})
    to = fields.Date(validate=DAY, metadata={"description": "Default: the last day of the month of `from`."})
    employee_id = fields.Integer(validate=ID)


class WorkingDaysSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    employee_id = fields.Integer(allow_none=True)
    count = fields.Integer()
    days = fields.List(fields.Date())


class WorkSettingsSchema(Schema):
    position_check = fields.String(validate=validate.OneOf(POSITION_CHECKS), metadata={
        "description": "A task type outside the employee's position: refuse (422) or accept with a warning."})
    report_within_working_days = fields.Integer(validate=validate.Range(min=0, max=10), metadata={
        "description": "Working days after completion within which a result must be reported."})


_ITEM_FIELDS = frozenset(WorkItemSchema._declared_fields)


def dump_item(view: dict) -> dict:
    """`WorkItemSchema().dump(view)` of an item's view (core/work/services/item_views.py,
    whose values already have the schema's types: int, float, bool, str, None, a list of
    warnings, dates and times), without marshmallow's machinery per field: ~385 Python
    calls an item, a tenth of a declaration's answer. Dates and times are written in ISO
    8601 as the schema writes them, and only the schema's fields are kept;
    test_an_items_answer_is_what_its_schema_would_dump proves the two equal."""
    return {key: value.isoformat() if isinstance(value, date) else value
            for key, value in view.items() if key in _ITEM_FIELDS}

