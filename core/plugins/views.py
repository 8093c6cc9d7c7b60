"""The admin page that picks a tenant's components and edits their settings.

The settings form is generated from the component's marshmallow schema; the same
service as PATCH …/settings saves it, so the page and the API validate alike. Texts
come from this package's own translation domain (core/plugins/translations), so the
page needs nothing from the core's catalogue.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import Domain, get_locale
from flask_login import current_user, login_required

from core import unit_of_work
from core.errors import Invalid, ServiceError
from core.i18n import day_input
from core.plugins.forms import (
    describe_settings,
    flat_errors,
    form_values,
    localise_errors,
    settings_from_form,
    settings_lines,
)
from core.plugins.manager import current_manager, current_tenant_slug, describe_component
from core.tenants import choices as tenant_choices
from core.tenants import services as tenant_services
from core.tenants.models import BEGINNING

plugin_pages = Blueprint("plugin_pages", __name__, template_folder="templates", static_folder="static",
                         static_url_path="/static/plugins")
domain = Domain(translation_directories=[str(Path(__file__).parent / "translations")], domain="plugins")
SINGLE_KINDS = ("scoring_variant", "classification_scheme", "bonus_scheme")


def _t(text: str, **variables) -> str:
    return domain.gettext(text, **variables)


def _locale() -> str:
    return str(get_locale() or "vi")


def _member(*roles: str) -> None:
    """The signed-in user must belong to the URL's tenant (else 404) with one of `roles` (else 403)."""
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    if not current_user.has_role(*roles):
        abort(403)


def _kind_titles() -> dict[str, str]:
    return {"scoring_variant": _t("Scoring variant"), "classification_scheme": _t("Classification scheme"),
            "bonus_scheme": _t("Bonus scheme"), "import_connector": _t("Import connectors")}


def _shown_settings(manager, kind: str, key: str, stored: dict, slug: str | None,
                    version: str | None = None) -> list[tuple[str, str]]:
    """What the component computes with (the adopted version's defaults filled in; as
    stored when it cannot be used), as labelled lines in the reader's language."""
    try:
        settings = manager.choose(kind, key, stored, slug, version=version).stored
    except ServiceError:
        settings = stored
    registered = manager.registered(kind, key, slug, version) or manager.registered(kind, key, slug)
    if registered is None:
        return [(name, str(value)) for name, value in settings.items()]
    return settings_lines(registered.component, settings, _locale(), _t("yes"), _t("no"))


@plugin_pages.get("/t/<t>/admin/components")
@login_required
def overview(t):
    _member("tenant_admin", "auditor")
    manager, slug, locale = current_manager(), current_tenant_slug(), _locale()
    titles = {(k, reg.component.key): reg.component.title(locale) for k in (*SINGLE_KINDS, "import_connector")
              for reg in manager.available(k, slug)}
    kinds = []
    for kind in SINGLE_KINDS:
        in_force = tenant_choices.choice_in_force(kind)
        kinds.append({
            "kind": kind, "title": _kind_titles()[kind],
            "in_force": in_force.key if in_force else None,
            "schedule": [{"key": c.key, "title": titles.get((kind, c.key)), "version": c.version,
                          "effective_from": None if c.effective_from == BEGINNING else c.effective_from,
                          "settings": _shown_settings(manager, kind, c.key, c.settings, slug, c.version)}
                         for c in tenant_choices.schedule(kind)],
            "available": [describe_component(r.component, locale) for r in manager.available(kind, slug)],
        })
    connectors = tenant_choices.choice_in_force("import_connectors")
    return render_template(
        "plugins/components.html", t=_t, tenant=g.tenant, kinds=kinds,
        warnings=tenant_choices.component_warnings(),
        connectors=[describe_component(r.component, locale) for r in manager.available("import_connector", slug)],
        enabled_connectors=set(connectors.settings.get("keys", [])) if connectors else set(),
        can_edit=current_user.has_role("tenant_admin"), saved=request.args.get("saved"),
        connectors_title=_kind_titles()["import_connector"])


@plugin_pages.get("/t/<t>/admin/components/choose")
@login_required
def choose(t):
    """The overview's picker (a plain GET form, so it works without JavaScript)."""
    _member("tenant_admin")
    kind, key = request.args.get("kind", ""), request.args.get("key", "")
    if kind not in SINGLE_KINDS or not key:
        abort(404)
    return redirect(url_for("plugin_pages.edit", t=t, kind=kind, key=key))


@plugin_pages.route("/t/<t>/admin/components/<kind>/<key>", methods=["GET", "POST"])
@login_required
def edit(t, kind, key):
    _member("tenant_admin")
    if kind not in SINGLE_KINDS:
        abort(404)
    manager, slug = current_manager(), current_tenant_slug()
    # The version to adopt ("" follows the newest installed); its schema draws the form.
    version = request.values.get("version", "").strip()[:40] or None
    registered = manager.registered(kind, key, slug, version)
    if registered is None:
        abort(404)  # another tenant's component (or a version not installed) looks exactly like a missing one
    component, locale = registered.component, _locale()
    errors: dict = {}
    effective_from = request.values.get("effective_from", "").strip()
    if request.method == "POST":
        settings, errors = settings_from_form(component, request.form)
        # Every problem at once: the schema's verdict too, even when the date is wrong.
        try:
            manager.validate_component(kind, key, settings, version)
        except Invalid as exc:
            for name, messages in (exc.errors.get(kind, {}).get("settings") or {"key": [exc.message]}).items():
                errors.setdefault(name, messages)
        day = None
        if effective_from:
            day = day_input(effective_from)
            if day is None:
                errors["effective_from"] = [_t("Use the format dd/mm/yyyy.")]
        if not errors:
            tenant_services.update_settings(
                g.tenant, {kind: {"key": key, "version": version, "settings": settings, "effective_from": day}},
                manager.validate_component)
            unit_of_work.commit()
            return redirect(url_for("plugin_pages.overview", t=t, saved=kind))
        values = {**form_values(component, {}), **{name[2:]: v for name, v in request.form.items()
                                                   if name.startswith("s.")}}
        # An unticked checkbox sends nothing: show it unticked again, not at its default.
        values.update({f["name"]: request.form.get("s." + f["name"], "") for f in describe_settings(component)
                       if f["type"] == "boolean"})
    else:
        current = tenant_choices.choice_in_force(kind)
        values = form_values(component, current.settings if current and current.key == key else None)
    return render_template(
        "plugins/component_form.html", t=_t, tenant=g.tenant, kind=kind, kind_title=_kind_titles()[kind],
        component=describe_component(component, locale), version=version,
        versions=manager.versions(kind, key, slug),
        description=component.description_en if locale.startswith("en") else component.description_vi,
        fields=describe_settings(component, locale), values=values, effective_from=effective_from,
        errors={name: flat_errors(messages) for name, messages in localise_errors(errors, locale).items()}), \
        (422 if errors else 200)


@plugin_pages.post("/t/<t>/admin/components/import-connectors")
@login_required
def connectors(t):
    _member("tenant_admin")
    keys = request.form.getlist("connector")
    try:
        tenant_services.update_settings(g.tenant, {"import_connectors": keys}, current_manager().validate_component)
    except Invalid:
        unit_of_work.rollback()
        abort(422)  # only a forged form names a connector the page did not offer
    unit_of_work.commit()
    return redirect(url_for("plugin_pages.overview", t=t, saved="import_connector"))
