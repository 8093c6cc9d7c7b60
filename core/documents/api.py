"""Official documents (docs/documents.md): the evaluation and classification forms of a
person, an agency's decision with its list, the signed decision uploaded back, and the
tenant's DOCX templates."""

from __future__ import annotations

from io import BytesIO

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member
from core.documents import services
from core.documents.schemas import (
    DecisionArgs,
    FormArgs,
    IssuedDecisionSchema,
    TemplateSchema,
    YearArgs,
    YearFormArgs,
)
from core.errors import Invalid

blp = Blueprint("documents", __name__, url_prefix="/api/v1/tenants/<t>",
                description="Official documents: forms, decisions, signatures, templates")
FILE_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}
FILE_RESPONSE = {"200": {"description": "The document", "content": {
    services.MIME["pdf"]: {"schema": {"type": "string", "format": "binary"}},
    services.MIME["docx"]: {"schema": {"type": "string", "format": "binary"}}}}}


def send(rendered: services.Rendered):
    return send_file(BytesIO(rendered.content), mimetype=rendered.mimetype, as_attachment=True,
                     download_name=rendered.filename)


def uploaded() -> tuple[str, bytes]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("No file.", {"file": ["Required."]})
    return upload.filename, upload.read()


@blp.route("/employees/<int:employee_id>/evaluation-form")
class EvaluationForm(MethodView):
    @blp.arguments(FormArgs, location="query")
    @blp.response(200, content_type=services.MIME["pdf"])
    @blp.doc(responses=FILE_RESPONSE)
    def get(self, args, t, employee_id):
        """The person's evaluation form of a month or quarter (self part, manager part), PDF or DOCX."""
        principal = api_member()
        rendered = services.evaluation_form(principal, employee_id, args["period"], args["format"])
        return send(rendered)


@blp.route("/employees/<int:employee_id>/classification-form")
class ClassificationForm(MethodView):
    @blp.arguments(YearFormArgs, location="query")
    @blp.response(200, content_type=services.MIME["pdf"])
    @blp.doc(responses=FILE_RESPONSE)
    def get(self, args, t, employee_id):
        """The person's annual evaluation and classification form, PDF or DOCX."""
        principal = api_member()
        return send(services.classification_form(principal, employee_id, args["year"], args["format"]))


@blp.route("/units/<int:unit_id>/decision")
class Decision(MethodView):
    @blp.arguments(DecisionArgs, location="query")
    @blp.response(200, content_type=services.MIME["pdf"])
    @blp.doc(responses=FILE_RESPONSE)
    def get(self, args, t, unit_id):
        """The agency's classification decision with its list (PDF to sign, or DOCX). Each PDF
        is recorded as issued, so its signed copy can be matched when uploaded."""
        principal = api_member()
        rendered = services.decision(principal, unit_id, args["year"], args["format"], args.get("number"),
                                     scope=args["scope"])
        unit_of_work.commit()
        return send(rendered)


@blp.route("/units/<int:unit_id>/decisions")
class Decisions(MethodView):
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, IssuedDecisionSchema(many=True))
    def get(self, args, t, unit_id):
        """The decisions issued for the agency and year, and which one is signed."""
        principal = api_member()
        return services.signed_decisions(principal, unit_id, args["year"])


@blp.route("/units/<int:unit_id>/decision/signed")
class SignedDecision(MethodView):
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, content_type=services.MIME["pdf"])
    @blp.doc(responses={"200": {"description": "The signed PDF", "content": {
        services.MIME["pdf"]: {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, args, t, unit_id):
        """The signed decision as uploaded."""
        principal = api_member()
        return send(services.signed_pdf(principal, unit_id, args["year"]))

    @blp.arguments(YearArgs, location="query")
    @blp.response(201, IssuedDecisionSchema)
    @blp.doc(requestBody=FILE_BODY)
    def post(self, args, t, unit_id):
        """Upload the signed decision (multipart field `file`): accepted only when its PAdES
        signature is valid and trusted, covers the whole file, was made on a PDF issued here
        for this agency and year whose list is unchanged, by the agency's deciding person
        (that person or the tenant admin uploads)."""
        principal = api_member()  # the service lets in the deciding person, whatever their roles, and the admin
        _, content = uploaded()
        issued = services.upload_signed(principal, unit_id, args["year"], content)
        unit_of_work.commit()
        return services.issued_view(issued)


@blp.route("/document-templates")
class Templates(MethodView):
    @blp.response(200, TemplateSchema(many=True))
    def get(self, t):
        """Each kind of document: whether the tenant replaced its template, and the placeholders."""
        api_member("tenant_admin", "auditor")
        return services.templates()


@blp.route("/document-templates/<kind>")
class Template(MethodView):
    @blp.response(200, content_type=services.MIME["docx"])
    @blp.doc(responses={"200": {"description": "The DOCX template in force", "content": {
        services.MIME["docx"]: {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, t, kind):
        """The template in force for a kind (the built-in one unless replaced): a starting point."""
        api_member("tenant_admin", "auditor")
        return send(services.template_file(kind))

    @blp.response(200, TemplateSchema)
    @blp.doc(requestBody=FILE_BODY)
    def put(self, t, kind):
        """Replace the template (multipart field `file`); refused when a required placeholder
        is missing or an unknown one is used."""
        principal = api_member("tenant_admin")
        filename, content = uploaded()
        view = services.upload_template(principal, kind, filename, content)
        unit_of_work.commit()
        return view

    @blp.response(204)
    def delete(self, t, kind):
        """Go back to the built-in template."""
        principal = api_member("tenant_admin")
        services.reset_template(principal, kind)
        unit_of_work.commit()
