from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.classification.models import APPEAL_STATUSES, DISCIPLINE_KINDS
from core.ids import MAX_ID
from core.pagination import PageArgs
from core.plugins.components import LEVELS

YEAR = validate.Range(min=2000, max=2100)
REASON = validate.Length(max=2000)
ID = validate.Range(min=1, max=MAX_ID, error="No such object.")  # ids are BIGINT


class ClassificationArgs(PageArgs):
    year = fields.Integer(required=True, validate=YEAR)
    unit_id = fields.Integer(validate=ID)


class OverrideSchema(Schema):
    level = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    by = fields.String(allow_none=True)
    at = fields.DateTime(allow_none=True)


class AppealSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    employee_id = fields.Integer()
    level_appealed = fields.String(allow_none=True)
    reason = fields.String()
    status = fields.String(validate=validate.OneOf(APPEAL_STATUSES))
    filed_at = fields.DateTime()
    resolution = fields.String(allow_none=True)
    new_level = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)


class ClassificationSchema(Schema):
    employee_id = fields.Integer()
    year = fields.Integer()
    unit_id = fields.Integer()
    total = fields.Float(allow_none=True)
    task_score = fields.Float(allow_none=True)
    level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS))
    computed_level = fields.String(allow_none=True)
    demoted_by_quota = fields.Boolean()
    override = fields.Nested(OverrideSchema, allow_none=True)
    final = fields.Boolean()
    months_worked = fields.Integer()
    forced_kht = fields.Boolean()
    quota_group = fields.String()
    criteria = fields.Dict()
    appeal = fields.Nested(AppealSchema, allow_none=True)


class OverrideIn(Schema):
    # Checked by the service, so a missing reason is the contract's 422 with its own message.
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    reason = fields.String(load_default=None, allow_none=True, validate=REASON)


class YearSchema(Schema):
    year = fields.Integer()
    status = fields.String()
    scheme = fields.Dict()
    run_at = fields.DateTime()
    appeal_until = fields.DateTime()
    finalized_at = fields.DateTime(allow_none=True)
    finalized_by = fields.String(allow_none=True)
    levels = fields.Dict(keys=fields.String(), values=fields.Integer())
    pending_appeals = fields.Integer()


class AppealIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=REASON)


class AppealArgs(Schema):
    status = fields.String(validate=validate.OneOf(APPEAL_STATUSES))


class ResolveIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("upheld", "rejected")))
    reason = fields.String(load_default=None, allow_none=True, validate=REASON)
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS))


class DisciplineIn(Schema):
    employee_id = fields.Integer(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(DISCIPLINE_KINDS))
    decided_on = fields.Date(required=True)
    year = fields.Integer(validate=YEAR)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DisciplineSchema(Schema):
    id = fields.Integer()
    employee_id = fields.Integer()
    year = fields.Integer()
    kind = fields.String()
    decided_on = fields.Date()
    reason = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()


class DisciplineArgs(Schema):
    year = fields.Integer(validate=YEAR)
    employee_id = fields.Integer(validate=ID)


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Boolean()


class InboxSchema(Schema):
    unread = fields.Integer()
    items = fields.List(fields.Nested(NotificationSchema))


class ReadAllSchema(Schema):
    marked = fields.Integer()
    unread = fields.Integer()


class InboxArgs(Schema):
    unread = fields.Boolean(load_default=False)
