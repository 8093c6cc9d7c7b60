from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.documents.services import FORMATS

YEAR = validate.Range(min=2000, max=2100)
FORMAT = validate.OneOf(FORMATS)


class FormArgs(Schema):
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$",
                                                                   error="Use YYYY-MM for a month or YYYY-Qn for a quarter."),
                           metadata={"description": "A month (2026-11) or a quarter (2026-Q4)."})
    format = fields.String(load_default="pdf", validate=FORMAT)


class YearFormArgs(Schema):
    year = fields.Integer(required=True, validate=YEAR)
    format = fields.String(load_default="pdf", validate=FORMAT)


class DecisionArgs(YearFormArgs):
    number = fields.String(validate=validate.Regexp(r"^[0-9]{1,6}$", error="Digits only, at most 6."),
                           metadata={"description": "The number in the agency's register (blank when omitted)."})
    scope = fields.String(load_default="staff", validate=validate.OneOf(("staff", "leaders")),
                          metadata={"description": "Under the evaluation procedure: the decision on the agency's "
                                                   "staff (its head's) or on its head and deputies (the level above)."})


class YearArgs(Schema):
    year = fields.Integer(required=True, validate=YEAR)


class IssuedDecisionSchema(Schema):
    id = fields.Integer()
    agency_id = fields.Integer()
    year = fields.Integer()
    number = fields.String(allow_none=True)
    sha256 = fields.String()
    status = fields.String(metadata={"description": "issued, or signed once a verified signed copy was uploaded"})
    issued_at = fields.DateTime()
    decider_id = fields.Integer(allow_none=True)
    signer_subject = fields.String(allow_none=True)
    signer_id = fields.Integer(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    decision_id = fields.Integer(allow_none=True, metadata={
        "description": "the evaluation procedure's decision the PDF was printed from"})


class TemplateSchema(Schema):
    kind = fields.String()
    custom = fields.Boolean()
    filename = fields.String(allow_none=True)
    uploaded_at = fields.DateTime(allow_none=True)
    uploaded_by = fields.String(allow_none=True)
    required = fields.List(fields.String())
    available = fields.List(fields.String())
