from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from core.catalogue.models import TASK_GROUPS
from core.org.schemas import CODE
from core.pagination import PageArgs
from core.text import Line

NAME = validate.Length(min=1, max=300)
POSITIVE = validate.Range(min=0, min_inclusive=False, max=100_000)
# 1970-01-01 means "from the beginning"; later than 2099 would overflow date arithmetic.
EFFECTIVE = validate.Range(min=date(1970, 1, 1), max=date(2099, 12, 31), error="Use a date between 1970 and 2099.")


class ComplexityLevelSchema(Schema):
    level = fields.Integer(required=True, validate=validate.Range(min=1, max=10))
    coefficient = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False,
                                                                                       max=10))


class _TaskTypeFields(Schema):
    code = fields.String(validate=CODE)
    name = Line(validate=NAME)
    group = fields.String(validate=validate.OneOf(TASK_GROUPS))
    unit_of_measure = Line(validate=validate.Length(min=1, max=64))
    norm_minutes = fields.Float(allow_nan=False, validate=POSITIVE)
    product_weight = fields.Float(allow_nan=False, validate=POSITIVE)
    complexity_levels = fields.List(fields.Nested(ComplexityLevelSchema), validate=validate.Length(max=10))
    position_codes = fields.List(fields.String(validate=CODE), validate=validate.Length(max=500))
    max_quantity = fields.Float(allow_nan=False, validate=validate.Range(min=0, min_inclusive=False, max=1_000_000),
                                metadata={"description": "The most one work item of this type may declare "
                                                         "(default 100)."})
    effective_from = fields.Date(allow_none=True, validate=EFFECTIVE, metadata={
        "description": "The day the norm applies from; items of earlier work dates keep the norm before it."})


class TaskTypeSchema(_TaskTypeFields):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = Line(required=True, validate=NAME)
    group = fields.String(required=True, validate=validate.OneOf(TASK_GROUPS))
    unit_of_measure = Line(required=True, validate=validate.Length(min=1, max=64))
    norm_minutes = fields.Float(required=True, allow_nan=False, validate=POSITIVE)
    product_weight = fields.Float(load_default=1.0, allow_nan=False, validate=POSITIVE)
    complexity_levels = fields.List(fields.Nested(ComplexityLevelSchema), load_default=list,
                                    validate=validate.Length(max=10))
    position_codes = fields.List(fields.String(validate=CODE), load_default=list, validate=validate.Length(max=500))
    norm_version_id = fields.Integer(dump_only=True, allow_none=True)


class TaskTypePatchSchema(_TaskTypeFields):
    pass


class TaskTypeListArgs(PageArgs):
    position_code = fields.String(validate=CODE, metadata={"description": "Types that apply to this position."})
    mine = fields.Boolean(metadata={"description": "Types that apply to the caller's position."})
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "Code or name; matches with or without diacritics."})
    group = fields.String(validate=validate.OneOf(TASK_GROUPS))
    on = fields.Date(validate=EFFECTIVE, metadata={"description": "Show the norm in force on this day (default: today)."})


class TaskTypeOnArgs(Schema):
    on = fields.Date(validate=EFFECTIVE)


class NormVersionSchema(Schema):
    id = fields.Integer()
    effective_from = fields.Date(allow_none=True)
    norm_minutes = fields.Float()
    product_weight = fields.Float()
    complexity_levels = fields.List(fields.Nested(ComplexityLevelSchema))


class CompetencySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = Line(required=True, validate=NAME)
    description = fields.String(allow_none=True, validate=validate.Length(max=5000))
    max_level = fields.Integer(load_default=5, validate=validate.Range(min=1, max=10))


class CompetencyPatchSchema(Schema):
    code = fields.String(validate=CODE)
    name = Line(validate=NAME)
    description = fields.String(allow_none=True, validate=validate.Length(max=5000))
    max_level = fields.Integer(validate=validate.Range(min=1, max=10))


class RequirementSchema(Schema):
    competency_code = fields.String(required=True, validate=CODE)
    competency_name = fields.String(dump_only=True)
    required_level = fields.Integer(required=True, validate=validate.Range(min=1, max=10))


class RequirementsSchema(Schema):
    requirements = fields.List(fields.Nested(RequirementSchema), required=True, validate=validate.Length(max=200))


class ToolkitSchema(Schema):
    positions = fields.List(fields.Dict())
    task_types = fields.Integer(metadata={"description": "How many task types the catalogue has."})
    competencies = fields.List(fields.Dict())
    requirements = fields.Dict(metadata={"description": "Per position code: what it requires."})
    indicator_set = fields.Dict(allow_none=True, metadata={"description": "The tenant's scoring variant and its "
                                                                          "settings in force today."})
