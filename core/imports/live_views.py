""""Kết nối tự động": a tenant admin's page to point live connectors at the province's
other systems, pull now, pause, and read every pull's result. Auditors read it."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from core import unit_of_work
from core.auth.guards import request_principal, tenant_member
from core.errors import Invalid, ServiceError
from core.imports import live
from core.imports.live_api import public
from core.jobs.runner import run_view
from core.messages import localise
from core.plugins.forms import describe_settings, flat_errors, form_values, localise_errors, settings_from_form
from core.plugins.manager import current_manager, current_tenant_slug

live_pages = Blueprint("live_pages", __name__, template_folder="templates")


READ, WRITE = ("tenant_admin", "auditor"), ("tenant_admin",)


def _reader(write: bool = False) -> None:
    tenant_member(current_user, *(WRITE if write else READ))


def _locale() -> str:
    return str(get_locale() or "vi")[:2]


def _connectors() -> list:
    return [r.component for r in current_manager().available("live_connector", current_tenant_slug())]


def _index(status: int = 200, chosen=None, values: dict | None = None, errors: dict | None = None):
    locale = _locale()
    return render_template(
        "imports/live_sources.html", tenant=g.tenant, sources=live.sources(), connectors=_connectors(),
        chosen=chosen, fields=describe_settings(chosen, locale) if chosen else [],
        values=values or ({**form_values(chosen, {}), "every_minutes": "60"} if chosen else {}), errors=errors or {},
        may_write=current_user.has_role("tenant_admin"), locale=locale), status


def _chosen(key: str | None):
    return next((c for c in _connectors() if c.key == key), None) if key else None


@live_pages.get("/t/<t>/admin/live-sources")
@login_required
def index(t):
    _reader()
    return _index(chosen=_chosen(request.args.get("connector")))


@live_pages.post("/t/<t>/admin/live-sources")
@login_required
def create(t):
    _reader(write=True)
    chosen = _chosen(request.form.get("connector"))
    if chosen is None:
        return _index(422, errors={"connector": [localise_errors("Choose a connector.", _locale())]})
    settings, errors = settings_from_form(chosen, request.form)
    values = {**form_values(chosen, {}), **{n[2:]: v for n, v in request.form.items() if n.startswith("s.")},
              "name": request.form.get("name", "").strip(), "every_minutes": request.form.get("every_minutes", "60")}
    try:
        every = int(values["every_minutes"] or "60")
    except ValueError:
        errors["every_minutes"] = ["Not a whole number."]
        every = 60
    if not 5 <= every <= 7 * 24 * 60:
        errors["every_minutes"] = ["From 5 minutes to 7 days (10080)."]
    if not values["name"]:
        errors["name"] = ["Required."]
    try:
        if errors:
            raise Invalid("Some fields are invalid.", {})
        source = live.create({"name": values["name"], "connector": chosen.key, "settings": settings,
                              "every_minutes": every}, request_principal().actor)
        unit_of_work.commit()
    except ServiceError as exc:
        unit_of_work.rollback()
        nested = (exc.errors or {}).get("settings") or {}
        for key, messages in (exc.errors or {}).items():
            if key != "settings":
                errors[key] = messages if isinstance(messages, list) else [str(messages)]
        errors.update(nested if isinstance(nested, dict) else {"_": nested})
        if not errors:
            errors["_"] = [exc.message]
        shown = {k: flat_errors(localise_errors(v, _locale())) for k, v in errors.items()}
        return _index(exc.status, chosen, values, shown)
    return redirect(url_for("live_pages.detail", t=t, live_source_id=source.id))


@live_pages.get("/t/<t>/admin/live-sources/<int:live_source_id>")
@login_required
def detail(t, live_source_id):
    _reader()
    source = live.find_source(live_source_id) or abort(404)
    component = _chosen(source.connector)
    runs = [run_view(r) for r in live.runs(source)]
    for run in runs:  # the job keeps its messages in English; the page speaks the reader's language
        run["error"] = localise(run["error"]) if run["error"] else None
        for error in (run["result"] or {}).get("errors") or []:
            error["message"] = localise(error.get("message") or "")
    return render_template("imports/live_source.html", tenant=g.tenant, source=source, shown=public(source),
                           component=component, runs=runs, may_write=current_user.has_role("tenant_admin"),
                           last_error=localise(source.last_error) if source.last_error else None)


@live_pages.post("/t/<t>/admin/live-sources/<int:live_source_id>/pull")
@login_required
def pull_now(t, live_source_id):
    _reader(write=True)
    source = live.find_source(live_source_id) or abort(404)
    live.start(source, request_principal().actor)
    return redirect(url_for("live_pages.detail", t=t, live_source_id=live_source_id))


@live_pages.post("/t/<t>/admin/live-sources/<int:live_source_id>/active")
@login_required
def set_active(t, live_source_id):
    _reader(write=True)
    source = live.find_source(live_source_id) or abort(404)
    live.update(source, {"enabled": request.form.get("enabled") == "1"})
    unit_of_work.commit()
    return redirect(url_for("live_pages.detail", t=t, live_source_id=live_source_id))
