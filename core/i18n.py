"""Language: Vietnamese first, English on request (?lang=en, remembered in the session)."""

from __future__ import annotations

from pathlib import Path

from flask import request, session

LANGUAGES = ("vi", "en")

# The compiled Vietnamese catalogue. Flask-Babel reads only .mo files and, without one,
# silently answers every page in English; the package build (setup.py) compiles it.
VI_CATALOGUE = Path(__file__).resolve().parent / "translations" / "vi" / "LC_MESSAGES" / "messages.mo"


class MissingCatalogue(RuntimeError):
    pass


def require_catalogue(path: Path | None = None) -> None:
    """Refuse to start without the Vietnamese catalogue: the platform's first language."""
    path = path or VI_CATALOGUE
    if not path.is_file():
        raise MissingCatalogue(
            f"The compiled Vietnamese message catalogue is missing ({path}). Install congvu as a package "
            f"(`pip install .` compiles it) or, in a source checkout, run `make translations` "
            f"(`pybabel compile -d core/translations`).")


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
