"""The operator's merger wizard: choose the tenants and the date, upload or edit the
mapping, see the dry run's plan and conflicts, commit, follow the job."""

from __future__ import annotations

import json

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, StopValidation

from core.forms import Form
from core.i18n import day_input
from core.jobs.runner import get_run, run_view, submit
from core.mergers import tasks  # noqa: F401 - registers the merger job
from core.tenancy import tenant_context
from core.tenants.services import active_tenants, find_tenant

merger_pages = Blueprint("merger_pages", __name__, template_folder="templates")
MAX_MAPPING_BYTES = 2_000_000


class DayField(StringField):
    """A day typed dd/mm/yyyy in a text box (the app's day box, {{ DAY_INPUT }}), not the
    browser's date input whose format follows the browser's language: `data` is the date,
    `raw` what was typed (shown back beside its error)."""

    raw = ""

    def process_formdata(self, valuelist: list) -> None:
        self.raw = (valuelist[0] if valuelist else "") or ""
        self.data = day_input(self.raw)
        if self.raw.strip() and self.data is None:
            raise ValueError(_("Use the format dd/mm/yyyy."))

    def pre_validate(self, form: FlaskForm) -> None:
        # An empty box (blanks too) is said here: DataRequired would replace the format
        # error of a mistyped day with its own.
        if self.data is None and not self.process_errors:
            raise StopValidation(_("Type the day the merger takes effect (dd/mm/yyyy)."))


class MergeForm(Form):
    source = SelectField(_l("Merging tenant"), validators=[DataRequired()])
    into = SelectField(_l("Into"), validators=[DataRequired()])
    effective_date = DayField(_l("From"))
    mapping_file = FileField(_l("Mapping file (JSON)"))
    mapping = TextAreaField(_l("Mapping"))
    dry_run = SubmitField(_l("Dry run"))
    commit = SubmitField(_l("Merge"))


def _operator() -> None:
    if not current_user.is_operator:
        abort(403)


def _form() -> MergeForm:
    form = MergeForm()
    active = active_tenants()
    form.source.choices = form.into.choices = [(t.slug, f"{t.name} ({t.slug})") for t in active]
    return form


def _mapping(form: MergeForm) -> dict | None:
    """The uploaded file, else the text; a form error (not a 500) when it is not JSON."""
    raw = form.mapping.data or ""
    upload = form.mapping_file.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read(MAX_MAPPING_BYTES + 1)
        if len(data) > MAX_MAPPING_BYTES:
            form.mapping_file.errors = [_("The mapping file is too large.")]
            return None
        raw = data.decode("utf-8", errors="replace")
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        # Python's own text ("Expecting property name enclosed in double quotes") is English:
        # the operator gets where the mistake is, in words of the page's language.
        form.mapping.errors = [_("Not valid JSON: the mistake is at line %(line)s, column %(column)s.",
                                 line=exc.lineno, column=exc.colno)]
        return None
    if not isinstance(value, dict):
        form.mapping.errors = [_("The mapping must be a JSON object.")]
        return None
    form.mapping.data = json.dumps(value, ensure_ascii=False, indent=2)
    return value


@merger_pages.route("/operator/merges", methods=["GET", "POST"])
@login_required
def wizard():
    _operator()
    form = _form()
    if not form.validate_on_submit():
        # A refused form is a 422 with its errors beside the fields; the first visit a 200.
        return render_template("mergers/wizard.html", form=form, run=None), 422 if form.is_submitted() else 200
    mapping = _mapping(form)
    if mapping is None or form.source.data == form.into.data:
        if form.source.data == form.into.data:
            form.into.errors = [_("Choose another tenant than the merging one.")]
        return render_template("mergers/wizard.html", form=form, run=None), 422
    target = find_tenant(form.into.data)
    dry_run = bool(form.dry_run.data)
    params = {"source": form.source.data, "into": target.slug, "effective_date": form.effective_date.data.isoformat(),
              "mapping": mapping, "dry_run": dry_run}
    with tenant_context(target.id):
        run = submit("tenant_merge", f"{form.source.data}:{'dry' if dry_run else 'commit'}", params,
                     current_user.actor)
        view = run_view(run)
    if view["result"] and dry_run and not mapping:
        form.mapping.data = json.dumps(view["result"].get("suggested_mapping", {}), ensure_ascii=False, indent=2)
    return render_template("mergers/wizard.html", form=form, run=view, target=target.slug)


@merger_pages.get("/operator/merges/<target>/<job_id>")
@login_required
def progress(target: str, job_id: str):
    """A merger job's progress (when a worker runs it) and, once done, its report."""
    _operator()
    tenant = find_tenant(target)
    if tenant is None:
        abort(404)
    with tenant_context(tenant.id):
        run = get_run(job_id)
        if run is None or run.kind != "tenant_merge":
            abort(404)
        view = run_view(run)
    return render_template("mergers/wizard.html", form=_form(), run=view, target=target)
