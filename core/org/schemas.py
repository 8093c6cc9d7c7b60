from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.auth.models import ROLES
from core.org.models import POSITION_GROUPS, UNIT_KINDS
from core.pagination import PageArgs
from core.plugins.components import PROTECTION_PAIRS, REGIMES, protection_date_errors  # noqa: F401 - re-exported
from core.text import Line

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Use 1–64 letters, digits, '.', '_' or '-'.")
NAME = validate.Length(min=1, max=200)
# A person's dates (start, end, the streamlining exclusions): 0001-01-01 and 9999-12-31
# were stored as given, typos that then decide who is employed in a month and who is
# protected from streamlining.
PERSON_DATE = validate.Range(min=date(1900, 1, 1), max=date(2099, 12, 31), error="Use a date between 1900 and 2099.")


class UnitSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = Line(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(allow_none=True, load_default=None)
    official_code = fields.Integer(dump_only=True, allow_none=True)
    is_paying_unit = fields.Boolean(load_default=False, metadata={
        "description": "A paying unit (đơn vị dự toán) owns a bonus fund (Decree 73/2024)"})


class UnitPatchSchema(Schema):
    code = fields.String(validate=CODE)
    name = Line(validate=NAME)
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.Integer(allow_none=True)
    is_paying_unit = fields.Boolean()


class UnitListArgs(PageArgs):
    parent_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))


class PositionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = Line(required=True, validate=NAME)
    group = fields.String(required=True, validate=validate.OneOf(POSITION_GROUPS))
    regime = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(REGIMES), metadata={
        "description": "The regime of whoever holds the post when none is recorded for the person "
                       "(can_bo for an elected office); null: cong_chuc"})


class PositionPatchSchema(Schema):
    code = fields.String(validate=CODE)
    name = Line(validate=NAME)
    group = fields.String(validate=validate.OneOf(POSITION_GROUPS))
    regime = fields.String(allow_none=True, validate=validate.OneOf(REGIMES))


class _EmployeeFields(Schema):
    full_name = Line(validate=NAME)
    unit_id = fields.Integer()
    position_code = fields.String(allow_none=True, validate=CODE)
    manager_id = fields.Integer(allow_none=True)
    is_leader = fields.Boolean()
    salary_coefficient = fields.Float(validate=validate.Range(min=0, max=20), allow_nan=False)
    start_date = fields.Date(allow_none=True, validate=PERSON_DATE)
    end_date = fields.Date(allow_none=True, validate=PERSON_DATE)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(max=len(ROLES)))
    # Decree 154/2025's exclusions from streamlining (core/org/models.PROTECTION_FIELDS).
    pregnant_from = fields.Date(allow_none=True, validate=PERSON_DATE)
    pregnant_to = fields.Date(allow_none=True, validate=PERSON_DATE)
    maternity_leave_from = fields.Date(allow_none=True, validate=PERSON_DATE)
    maternity_leave_to = fields.Date(allow_none=True, validate=PERSON_DATE)
    youngest_child_born_on = fields.Date(allow_none=True, validate=PERSON_DATE)
    discipline_review_from = fields.Date(allow_none=True, validate=PERSON_DATE)
    discipline_review_to = fields.Date(allow_none=True, validate=PERSON_DATE)

    @validates_schema
    def _dates(self, data, **kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            raise ValidationError("The end date is before the start date.", "end_date")
        errors = protection_date_errors(data)
        if errors:
            raise ValidationError(errors)


class EmployeeSchema(_EmployeeFields):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    full_name = Line(required=True, validate=NAME)
    unit_id = fields.Integer(required=True)
    username = Line(allow_none=True, validate=validate.Length(min=1, max=100))
    password = fields.String(load_only=True, validate=validate.Length(max=1024))


class EmployeePatchSchema(_EmployeeFields):
    code = fields.String(validate=CODE)


class EmployeeListArgs(PageArgs):
    unit_id = fields.Integer()
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "Part of a name or code; matches with or without diacritics."})


class EmployeeOutSchema(Schema):
    """What an employee looks like to callers (dumped from `services.employee_view`)."""

    id = fields.Integer()
    code = fields.String()
    full_name = fields.String()
    unit_id = fields.Integer()
    position_code = fields.String(allow_none=True)
    manager_id = fields.Integer(allow_none=True)
    is_leader = fields.Boolean()
    salary_coefficient = fields.Float()
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    email = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    pregnant_from = fields.Date(allow_none=True)
    pregnant_to = fields.Date(allow_none=True)
    maternity_leave_from = fields.Date(allow_none=True)
    maternity_leave_to = fields.Date(allow_none=True)
    youngest_child_born_on = fields.Date(allow_none=True)
    discipline_review_from = fields.Date(allow_none=True)
    discipline_review_to = fields.Date(allow_none=True)


class DeputyFieldSchema(Schema):
    """One part of a deputy's field in charge: a unit (its own people) or one person."""

    id = fields.Integer(dump_only=True)
    deputy_id = fields.Integer(required=True)
    unit_id = fields.Integer(allow_none=True, load_default=None)
    member_id = fields.Integer(allow_none=True, load_default=None)
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, load_default=None)

    @validates_schema
    def _shape(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        if (data.get("unit_id") is None) == (data.get("member_id") is None):
            errors["unit_id"] = ["Give either a unit or a person (member_id), not both."]
        if data.get("member_id") is not None and data.get("member_id") == data.get("deputy_id"):
            errors["member_id"] = ["A deputy is not in charge of themselves."]
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            errors["end_date"] = ["Before the start date."]
        if errors:
            raise ValidationError(errors)


class DeputyFieldPatchSchema(Schema):
    """Only the end of a field changes (a deputy handing a field over); anything else is a new row."""

    end_date = fields.Date(required=True, allow_none=True)


class DeputyFieldListArgs(PageArgs):
    deputy_id = fields.Integer()
