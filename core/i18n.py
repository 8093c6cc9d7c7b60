"""Language: Vietnamese first, English on request (?lang=en, remembered in the session)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import request, session
from markupsafe import Markup

if TYPE_CHECKING:
    from datetime import date

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


def remember_language() -> None:
    """Keep a ?lang= choice in the session on every request, before the view runs: Flask-Babel
    asks select_locale only when something is translated, so a page that only redirects (the
    site root to the login page or home) dropped the choice and the next page was Vietnamese."""
    lang = request.args.get("lang")
    if lang in LANGUAGES and session.get("lang") != lang:
        session["lang"] = lang


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
        return lang
    return session.get("lang") if session.get("lang") in LANGUAGES else "vi"


def language_url(code: str) -> str:
    """The page itself in another language, its query kept (a filtered log, an import's
    result, a month): `?lang=en` alone dropped them, and the reader landed on another page."""
    from urllib.parse import urlencode

    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", code)]
    return "?" + urlencode(pairs)


def _labels():
    from flask_babel import lazy_gettext as _l

    return {
        "role": {"employee": _l("employee"), "manager": _l("manager"), "tenant_admin": _l("tenant admin"),
                 "auditor": _l("auditor")},
        "unit_kind": {"agency": _l("agency"), "department": _l("department"), "commune": _l("commune"),
                      "ward": _l("ward"), "special_zone": _l("special zone")},
        # core/tenants/models.TENANT_STATUSES, as the operator reads them.
        "tenant_status": {"active": _l("in use"), "merged": _l("merged into another province"),
                          "archived": _l("archived"), "suspended": _l("suspended")},
    }


def _vi() -> bool:
    """Whether this request reads Vietnamese: asked once per request (filters run per cell)."""
    from flask import has_request_context, request
    from flask_babel import get_locale

    if not has_request_context():
        return True
    # Kept on the request, not on g: g belongs to the app context, which a request shares
    # with whatever context was already pushed (a script's, a test's), so an earlier
    # request's language would stick to the next one's levels and numbers.
    vi = getattr(request, "_congvu_vi", None)
    if vi is None:
        vi = request._congvu_vi = str(get_locale() or "vi").startswith("vi")
    return vi


def _grouped(text: str, vi: bool) -> str:
    """"12345.5" with thousands grouped: 12.345,5 in Vietnamese, 12,345.5 in English."""
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    point, thousands = (",", ".") if vi else (".", ",")
    return sign + thousands.join(groups) + (point + fraction if fraction else "")


def num(value, places: int = 2) -> str:
    """A number for reading: at most `places` decimals, no trailing zeros, the reader's
    decimal mark and thousands separator (12.345,5 · 70 · 0,25); "—" for none."""
    if value is None or value == "":
        return "—"
    number = round(float(value), places)
    text = str(int(number)) if number.is_integer() else f"{number:.{places}f}".rstrip("0")
    return _grouped(text, _vi())


def decimal_input(text: str) -> str:
    """A typed number with the reader's decimal mark as the schemas read it (a point):
    "0,5" and "0.5" are one half, "1.234,5" and "1,234.5" the same number — the mark that
    comes last is the decimal one. Anything else comes back as typed (minus spaces) for
    the schema to refuse beside its field."""
    value = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in value and "." in value:
        mark, thousands = (",", ".") if value.rfind(",") > value.rfind(".") else (".", ",")
        value = value.replace(thousands, "")
        return value.replace(",", ".") if mark == "," else value
    if value.count(",") == 1:
        return value.replace(",", ".")  # Vietnamese writes 0,5 for one half
    return value


def decimal_text(value) -> str:
    """A number inside an input box: every decimal kept (a setting of 0.125 stays exact),
    no thousands mark (the box is typed back), a decimal comma in Vietnamese."""
    from decimal import Decimal, InvalidOperation

    if value is None or value == "" or isinstance(value, bool):
        return "" if value is None else str(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number.normalize(), "f") if number != number.to_integral_value() else str(int(number))
    return text.replace(".", ",") if _vi() else text


def month_input(text: str | None) -> str | None:
    """A month as people type it — "12/2026", "tháng 12/2026", "12-2026" or "2026-12" —
    as YYYY-MM; None when it is none of these (the caller answers with a field error)."""
    import re

    value = (text or "").strip().lower()
    for word in ("tháng", "thang", "month"):
        value = value.removeprefix(word).strip()
    found = re.fullmatch(r"(\d{4})-(\d{2})", value)  # ISO as the API writes it: 2026-1 is not one
    if found:
        year, month = int(found[1]), int(found[2])
    else:
        found = re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{4})", value)
        if not found:
            return None
        month, year = int(found[1]), int(found[2])
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        return None
    return f"{year:04d}-{month:02d}"


# A day box: text read as dd/mm/yyyy whatever the browser's language (an <input
# type=date> shows the browser's own format), with a picker button added by day.js.
DAY_INPUT = Markup('type="text" inputmode="numeric" autocomplete="off" placeholder="dd/mm/yyyy" '
                   'maxlength="10" data-day')


def day_input(text: str | None) -> date | None:
    """A day as people type it — "06/12/2026", "6/12/2026", "06-12-2026", "06.12.2026", "06122026" —
    or as the API and older forms write it ("2026-12-06"), as a date; None when it is none
    of these or no such day (the caller answers with a field error)."""
    import re
    from datetime import date

    value = (text or "").strip()
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if found:
        year, month, day = int(found[1]), int(found[2]), int(found[3])
    else:
        # 06122026 too: a phone's number pad may have no slash.
        found = (re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", value)
                 or re.fullmatch(r"(\d{2})(\d{2})(\d{4})", value))
        if not found:
            return None
        day, month, year = int(found[1]), int(found[2]), int(found[3])
    if not 1900 <= year <= 2199:  # a slip of the keyboard, not a day anyone plans
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def day_value(value) -> str:
    """What a day box shows: "06/12/2026", from a date or "2026-12-06"; what someone typed
    that is not a day is shown back unchanged (beside its error)."""
    from datetime import date

    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    day = day_input(str(value))
    return day.strftime("%d/%m/%Y") if day is not None else str(value)


def iso_day(text: str | None) -> str | None:
    """A typed day as the API's YYYY-MM-DD (for a schema that reads ISO dates); the text
    unchanged when it is not a day, so the schema reports it; None for an empty box."""
    value = (text or "").strip()
    if not value:
        return None
    day = day_input(value)
    return day.isoformat() if day is not None else value


def month_value(period) -> str:
    """What a month box shows: "12/2026" (its label reads "tháng"), from "2026-12"."""
    text = str(period or "")
    if len(text) == 7 and text[4] == "-" and (text[:4] + text[5:]).isdigit():
        return f"{text[5:]}/{text[:4]}"
    return text


def first_upper(text: object) -> str:
    """A phrase that opens a line, its first letter a capital ("tự đánh giá" → "Tự đánh giá");
    unlike Jinja's `capitalize`, the rest is left as written (names, acronyms)."""
    value = str(text)
    return value[:1].upper() + value[1:]


# A picker ends at this month: every caller reads or recalculates months that have data
# (dashboards, exports, what-if, recalculation); a future month there is an empty page.
# A caller planning ahead passes `ahead`.
MONTHS_BACK, MONTHS_AHEAD = 36, 0


def month_options(selected: str | None = None, back: int = MONTHS_BACK, ahead: int = MONTHS_AHEAD
                  ) -> list[tuple[str, str]]:
    """The months a month picker offers, newest first, each (YYYY-MM, "tháng 12/2026"):
    a native select reads the same on every phone, whatever the browser's language (an
    <input type=month> shows the browser's own format). The selected month is offered even
    when it lies outside the window."""
    from datetime import date

    from flask import g, has_request_context

    from core.work.calendar import local_today

    tenant = g.get("tenant") if has_request_context() else None
    today = local_today(tenant) if tenant is not None else date.today()
    now = today.year * 12 + today.month - 1
    indices = list(range(now + ahead, now - back - 1, -1))
    chosen = month_input(selected) if selected else None
    if chosen is not None:
        index = int(chosen[:4]) * 12 + int(chosen[5:]) - 1
        if index not in indices:
            indices = sorted([*indices, index], reverse=True)
    periods = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in indices]
    return [(p, month_label(p)) for p in periods]


def money(value) -> str:
    """Whole đồng: 45.995.040."""
    return _grouped(str(int(value or 0)), _vi())


def day_label(value) -> str:
    """A day as dd/mm/yyyy (a date, or text as an ISO string or as someone typed it —
    a form shown back carries the box's text). Text that is no day is shown as it is."""
    from datetime import datetime

    if not value:
        return ""
    if isinstance(value, str):
        return day_value(value)
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime("%d/%m/%Y")


def month_label(period, locale: str | None = None) -> str:
    """A month ("2026-12") as read: "tháng 12/2026" in Vietnamese, "12/2026" in English."""
    from flask_babel import force_locale, gettext

    if not period:
        return ""
    text = str(period)
    if len(text) == 7 and text[4:6] == "-Q" and text[6] in "1234" and text[:4].isdigit():
        # A quarter (2026-Q4): "Quý IV/2026", Roman numerals as Vietnamese write quarters.
        msgid, values = "Quarter %(roman)s/%(year)s", {"roman": ("I", "II", "III", "IV")[int(text[6]) - 1],
                                                        "year": text[:4]}
    elif len(text) < 7 or text[4] != "-" or not (text[:4] + text[5:7]).isdigit():
        return text
    else:
        msgid, values = "%(month)s/%(year)s", {"month": text[5:7], "year": text[:4]}
    if locale is not None:
        with force_locale(locale):
            return gettext(msgid, **values)
    return gettext(msgid, **values)


def moment_label(value) -> str:
    """A stored UTC moment in the tenant's zone: dd/mm/yyyy hh:mm."""
    from zoneinfo import ZoneInfo

    from flask import g

    if not value:
        return ""
    zone = ZoneInfo(getattr(getattr(g, "tenant", None), "timezone", None) or "Asia/Ho_Chi_Minh")
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M")


# Zones a Vietnamese reader knows by the country's name; any other by its offset and name.
VIETNAM_ZONES = ("Asia/Ho_Chi_Minh", "Asia/Saigon")


def zone_label(name) -> str:
    """A tenant's time zone in words: "giờ Việt Nam, UTC+7", not "Asia/Ho_Chi_Minh" (it
    reads inside the time column's brackets too)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from flask_babel import gettext

    text = str(name or "")
    try:
        offset = datetime.now(ZoneInfo(text)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return text
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    utc = f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    if text in VIETNAM_ZONES:
        return gettext("Vietnam time, %(utc)s", utc=utc)
    return f"{utc}, {text}"


def actor_label(actor) -> str:
    """Who did something, by name: "user:28:admin" is the login admin, "cli" the command
    line, "system" the platform itself; anything else as written."""
    from flask_babel import gettext

    text = str(actor or "")
    if text.startswith("user:"):
        parts = text.split(":", 2)
        return parts[2] if len(parts) == 3 and parts[2] else text
    named = {"cli": gettext("command line"), "system": gettext("the system"),
             "scheduler": gettext("the scheduler")}
    return named.get(text, text)


def scope_label(scope) -> str:
    """What a job ran on (or an audit event's object), by name: a month as a month, a day
    as a day, an import connector by its title."""
    text = str(scope or "")
    if len(text) == 7 and text[4] == "-":
        return month_label(text)
    if len(text) == 10 and text[4] == text[7] == "-" and text.replace("-", "").isdigit():
        return day_label(text)
    try:
        from flask_babel import get_locale

        from core.plugins.manager import current_manager, current_tenant_slug

        found = current_manager().registered("import_connector", text, current_tenant_slug())
        if found is not None:
            return found.component.title(str(get_locale() or "vi"))
    except Exception:  # noqa: BLE001 - no plugin manager or tenant here: the scope as written
        pass
    return text


def column_label(column) -> str:
    """An import column as the reader's templates head it (Vietnamese), or its name."""
    from core.imports.templates import header_of

    if not column:
        return ""
    return header_of(str(column)) if _vi() else str(column)


# The classification levels (Decree 335/2025) in words for an English reader; Vietnamese
# pages, exports and the API keep the legal abbreviations (docs/domain.md).
LEVEL_WORDS = {"HTXS": "Excellent", "HTT": "Good", "HT": "Completed", "KHT": "Not completed"}


def level_label(code) -> Markup:
    """A level as a page shows it: "HTXS" in Vietnamese; in English the word, the
    abbreviation in its tooltip (<abbr title="HTXS">Excellent</abbr>). Empty for none,
    so `level|level_label or "—"` works; any other text (a band's "none") as written."""
    from markupsafe import escape

    if not code:
        return Markup("")
    word = LEVEL_WORDS.get(str(code))
    if word is None or _vi():
        return escape(str(code))
    return Markup('<abbr title="{}">{}</abbr>').format(str(code), word)


def level_text(code) -> str:
    """A level where no markup may go (a list's option, a chart's title, a sentence's
    value): "HTXS" in Vietnamese, "Excellent (HTXS)" in English."""
    if not code:
        return ""
    word = LEVEL_WORDS.get(str(code))
    return str(code) if word is None or _vi() else f"{word} ({code})"


def _at_render(function):
    """`function` as a filter Jinja never runs at compile time. Jinja folds a filter applied
    to a constant ("HTXS"|level_label) into the compiled template, which is cached per app:
    the first reader's language would then be every reader's. A filter that takes the
    context is left to render time."""
    from jinja2 import pass_context

    @pass_context
    def at_render(_context, *args, **kwargs):
        return function(*args, **kwargs)

    return at_render


def register_filters(app) -> None:
    """The one set of display filters for every page: numbers, money, days, months and
    moments the reader's way, English messages through the catalogue, names for keys."""
    from flask_babel import get_locale

    from core.messages import localise

    labels = _labels()
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["month_options"] = month_options
    app.jinja_env.globals["DAY_INPUT"] = DAY_INPUT
    app.jinja_env.globals["language_url"] = language_url
    filters = {
        "role_label": lambda v: str(labels["role"].get(v, v)),
        "unit_kind_label": lambda v: str(labels["unit_kind"].get(v, v)),
        "tenant_status": lambda v: str(labels["tenant_status"].get(v, v)),
        "num": num, "qty": num, "money": money, "vn_date": day_label, "month_label": month_label,
        "vn_datetime": moment_label, "actor_label": actor_label, "first_upper": first_upper, "zone_label": zone_label,
        "msg": localise, "scope_label": scope_label, "column_label": column_label, "decimal_text": decimal_text,
        "level_label": level_label, "level_text": level_text, "month_value": month_value, "day_value": day_value,
    }
    for name, function in filters.items():
        app.add_template_filter(_at_render(function), name)
