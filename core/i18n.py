"""Language: Vietnamese first, English on request (?lang=en, remembered in the session)."""

from __future__ import annotations

from flask import request, session

LANGUAGES = ("vi", "en")


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
        return lang
    return session.get("lang") if session.get("lang") in LANGUAGES else "vi"


def _labels():
    from flask_babel import lazy_gettext as _l

    return {
        "role": {"employee": _l("employee"), "manager": _l("manager"), "tenant_admin": _l("tenant admin"),
                 "auditor": _l("auditor")},
        "unit_kind": {"agency": _l("agency"), "department": _l("department"), "commune": _l("commune"),
                      "ward": _l("ward"), "special_zone": _l("special zone")},
    }


def register_filters(app) -> None:
    from flask_babel import get_locale

    labels = _labels()
    app.jinja_env.globals["get_locale"] = get_locale
    app.add_template_filter(lambda v: str(labels["role"].get(v, v)), "role_label")
    app.add_template_filter(lambda v: str(labels["unit_kind"].get(v, v)), "unit_kind_label")
