"""Both languages, checked the same way: every page of every role in English on the lived-in
demo shows no Vietnamese UI text (only people's data, and the legal terms the English source
glosses on purpose), no page answers 500; the catalogues are complete (every string the code
and templates wrap has a Vietnamese translation, nothing fuzzy, the same placeholders); and
the main forms, sent empty or typed wrong, answer in the page's language — never with a raw
marshmallow default on a Vietnamese page. The Vietnamese walk of the same pages is
tests/app/test_vietnamese_pages.py; the pages are walked from the URL map, so a new page
joins both walks by itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import String, Text, select

from core import PROJECT_ROOT, unit_of_work
from core.demo import SLUG
from core.extensions import db
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from core.timeutil import utcnow
from tests.app.test_vietnamese_pages import (
    PLUGINS_PO,
    ROLES,
    VI_PO,
    _import_report,
    _login,
    _problems,
    _urls,
    demo,  # noqa: F401 - the fixture, shared with the Vietnamese walk
    english_phrases,
    english_vocabulary,
    visible_text,
)

EN_PO = PROJECT_ROOT / "core" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
VI_LETTERS = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
VI_WORD = re.compile(rf"[^\W\d_]*[{VI_LETTERS}][^\W\d_]*", re.I)
# Vietnamese an English page shows on purpose: the language picker names Vietnamese in
# Vietnamese, the built-in components' titles name the province whose style they follow,
# and money is in đồng.
NAMED = ("Tiếng Việt", "Khánh Hòa", "đồng")
ISO_DAY_OR_MONTH = re.compile(r"(?<![\d/.-])(19|20)\d\d-\d\d(-\d\d)?(?![\d-])")
# "40,29" is a Vietnamese decimal; English groups thousands by three digits ("1,234").
DECIMAL_COMMA = re.compile(r"(?<![\d.,])\d+,\d{1,2}(?![\d,])")
# "2.340.000": thousands grouped the Vietnamese way (two groups at least: "1.125" may be a decimal).
VI_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3}){2,}(?![\d.,])")
OPERATOR = ("root", "Vinh-Nha-Trang-xanh-42")


def _read(path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _texts(message) -> list[str]:
    return list(message.string) if isinstance(message.string, list | tuple) else [message.string]


def glossed_words() -> set[str]:
    """Vietnamese words written in the English source itself: legal terms glossed in
    brackets ("Paying unit (đơn vị dự toán)"), a sheet's Vietnamese name."""
    words = set()
    for po in (VI_PO, PLUGINS_PO):
        for message in _read(po):
            for msgid in (message.id if isinstance(message.id, list | tuple) else [message.id]):
                words.update(w.lower() for w in VI_WORD.findall(msgid or ""))
    return words


def vietnamese_phrases() -> list[str]:
    """The Vietnamese catalogue's translations, as phrases of three words or more between
    placeholders that the English source does not contain: one on an English page is a
    string shown in the wrong language."""
    phrases = set()
    for po in (VI_PO, PLUGINS_PO):
        for message in _read(po):
            source = " ".join(message.id) if isinstance(message.id, list | tuple) else message.id
            for text in _texts(message) if message.id else []:
                for fragment in re.split(r"%\(\w+\)[sd]|%[sd]", text or ""):
                    fragment = fragment.strip(" .,:;()·—-")
                    if len(fragment.split()) >= 3 and VI_WORD.search(fragment) and fragment not in source:
                        phrases.add(fragment)
    return sorted(phrases, key=len, reverse=True)


def data_values(app) -> list[str]:
    """Every text the demo tenant stores with a Vietnamese letter (people's and units' names,
    task types, positions, notes): data, shown as typed in either language. A column kept
    per language (scoring_stamps.title_vi) is not data: its English twin must show instead."""
    values: set[str] = set()
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug=SLUG).one()
        with tenant_context(tenant.id):
            for table in db.metadata.sorted_tables:
                for column in table.columns:
                    if not isinstance(column.type, String | Text) or column.name.endswith("_vi"):
                        continue
                    for (value,) in db.session.execute(select(column).distinct()):
                        if isinstance(value, str) and len(value) < 300 and VI_WORD.search(value):
                            values.add(value.strip())
        db.session.remove()
    return sorted(values, key=len, reverse=True)


def english_problems(path: str, page: str, phrases: list[str], data: re.Pattern[str] | None,
                     glossed: set[str]) -> list[str]:
    """What an English page shows that is not English: a Vietnamese phrase of the catalogue,
    a Vietnamese word that is neither data nor a glossed term, a Vietnamese date or decimal."""
    text = visible_text(page)
    if data is not None:
        text = data.sub(" ", text)
    found = []
    for phrase in phrases:
        if phrase in text:
            found.append(f"{path}: Vietnamese {phrase!r}")
            text = text.replace(phrase, " ")
    for name in NAMED:
        text = text.replace(name, " ")
    for match in VI_WORD.finditer(text):
        if match.group(0).lower() not in glossed:
            found.append(f"{path}: Vietnamese word {match.group(0)!r} in "
                         f"{text[max(0, match.start() - 50):match.end() + 50]!r}")
    shown = visible_text(page, attributes=False)
    for pattern, what in ((ISO_DAY_OR_MONTH, "ISO date"), (DECIMAL_COMMA, "decimal comma"),
                          (VI_THOUSANDS, "Vietnamese thousands")):
        found += [f"{path}: {what} {m.group(0)!r}" for m in pattern.finditer(shown)]
    return found


def _data_pattern(app) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(v) for v in data_values(app)))


def _walkers(app, ids: dict) -> Iterator[tuple[str, object, dict[str, str]]]:
    """Each role's signed-in browser and the values that fill its URL map's parameters."""
    from core.auth.services import create_operator

    job = _import_report(app)
    with app.app_context():
        create_operator(*OPERATOR)
        unit_of_work.commit()
    logins = [(role, _login(app, username)[0], ids[username]) for role, username in ROLES.items()]
    logins.append(("operator", _login(app, OPERATOR[0], None, OPERATOR[1])[0], 0))
    for role, browser, employee_id in logins:
        params = {"t": SLUG, "employee_id": str(employee_id), "job_id": job, "run_id": "1", "kind": "scoring_variant",
                  "key": "decree335", "target": SLUG,
                  **{k: str(v) for k, v in ids.items() if k.endswith("_id") and v is not None}}
        yield role, browser, params


def test_every_page_of_every_role_reads_english(clean_app, demo):  # noqa: F811 - the fixture
    phrases, glossed = vietnamese_phrases(), glossed_words()
    assert "Hãy nêu lý do không xác nhận" in phrases  # a translation of ≥ 3 words
    assert "đơn" in glossed and "công" in glossed  # "Paying unit (đơn vị dự toán)", "công chức"
    failures, seen, data = [], 0, None
    for role, browser, params in _walkers(clean_app, demo):
        data = data or _data_pattern(clean_app)  # after the import report: its rows are data too
        browser.get("/login?lang=en")  # the language is the session's from here on
        for _endpoint, path in _urls(clean_app, params):
            response = browser.get(path)
            assert response.status_code < 500, (role, path)
            if response.status_code in (301, 302, 303) or response.mimetype != "text/html":
                continue
            seen += 1
            page = response.get_data(as_text=True)
            assert 'lang="en"' in page or "<html" not in page, (role, path)
            failures += [f"{role} {problem}" for problem in english_problems(path, page, phrases, data, glossed)]
    assert seen >= 60
    assert failures == []


def test_the_english_walk_sees_what_it_looks_for():
    """The checks themselves: a translated phrase, a stray Vietnamese word, a Vietnamese
    date or decimal are found; data, glossed terms and English pass."""
    data = re.compile(re.escape("Nguyễn Văn An"))
    page = ('<p>Hãy nêu lý do không xác nhận.</p><p title="Đã lưu">x</p><p>2026-11 · 40,29 · 1,234.5 · 2.340.000'
            ' · 1.125 · 2,340,000</p>'
            '<p>Nguyễn Văn An · Paying unit (đơn vị dự toán) · Tiếng Việt</p>')
    found = english_problems("/x", page, ["Hãy nêu lý do không xác nhận"], data, {"đơn", "vị", "dự", "toán"})
    assert [problem.split(" in ")[0] for problem in found] == [
        "/x: Vietnamese 'Hãy nêu lý do không xác nhận'", "/x: Vietnamese word 'Đã'", "/x: Vietnamese word 'lưu'",
        "/x: ISO date '2026-11'", "/x: decimal comma '40,29'", "/x: Vietnamese thousands '2.340.000'"]


def _extracted(root, keywords: dict | None = None, mapping: list | None = None) -> set[str]:
    """The msgids the code and templates under `root` wrap, as `pybabel extract` finds them."""
    from babel.messages.extract import DEFAULT_KEYWORDS

    mapping = mapping or [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(root), mapping, {}, keywords={**DEFAULT_KEYWORDS, **(keywords or {})}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue_problems(catalog: Catalog, name: str, translated: bool) -> list[str]:
    """A fuzzy entry (msgfmt leaves it out), an empty translation where one is needed, a
    translation whose placeholders differ from its msgid's (gettext would raise KeyError)."""
    problems = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        if message.fuzzy:
            problems.append(f"{name}: fuzzy {msgid!r}")
        texts = _texts(message)
        if translated and not all(texts):
            problems.append(f"{name}: no translation of {msgid!r}")
        wanted = set(re.findall(r"%\((\w+)\)", msgid))
        for text in texts:
            if text and set(re.findall(r"%\((\w+)\)", text)) != wanted:
                problems.append(f"{name}: placeholders of {msgid!r} differ in {text!r}")
    return problems


def test_the_catalogues_translate_every_string_of_the_app():
    """English is the source language: the English catalogue may leave a msgid as it is
    (an empty msgstr reads the msgid), never fuzzy or with other placeholders; Vietnamese
    translates every msgid the code and templates wrap, and the component pages' own
    domain ("plugins", t() and _t()) every one of theirs."""
    vi, en, plugins = _read(VI_PO), _read(EN_PO), _read(PLUGINS_PO)
    problems = (catalogue_problems(vi, "vi", True) + catalogue_problems(en, "en", False)
                + catalogue_problems(plugins, "plugins vi", True))
    wrapped = _extracted(PROJECT_ROOT / "core") | _extracted(PROJECT_ROOT / "plugins", mapping=[("**.py", "python")])
    problems += [f"vi: {msgid!r} is wrapped but not in messages.po" for msgid in sorted(wrapped) if msgid not in vi]
    plugin_pages = _extracted(PROJECT_ROOT / "core" / "plugins", keywords={"t": None, "_t": None},
                              mapping=[("views.py", "python"), ("templates/**.html", "jinja2")])
    problems += [f"plugins vi: {msgid!r} is wrapped but in neither catalogue" for msgid in sorted(plugin_pages)
                 if msgid not in plugins and msgid not in vi]
    assert len(wrapped) > 1000 and "Choose a task type." in wrapped
    assert problems == []


def test_the_catalogue_check_sees_what_it_looks_for():
    catalog = Catalog(locale="vi")
    catalog.add("Saved.", "")
    catalog.add("Declared %(num)d item.", "Đã khai %(n)d việc.")
    catalog.add("Choose a date.", "Hãy chọn ngày.", flags=["fuzzy"])
    assert catalogue_problems(catalog, "vi", True) == [
        "vi: no translation of 'Saved.'",
        "vi: placeholders of 'Declared %(num)d item.' differ in 'Đã khai %(n)d việc.'",
        "vi: fuzzy 'Choose a date.'"]
    assert catalogue_problems(catalog, "en", False)[0] == "en: placeholders of 'Declared %(num)d item.' differ in " \
                                                         "'Đã khai %(n)d việc.'"


def raw_defaults() -> list[str]:
    """The English texts marshmallow and WTForms answer with when nobody translated them,
    as literal fragments of two words or more ("Not a valid integer", "Missing data for
    required field"): one on a Vietnamese page is an error shown in the wrong language."""
    import inspect

    from marshmallow import fields, schema, validate

    texts: list[str] = ["This field is required", "Invalid input", "Field must be", "Not a valid choice"]
    for module in (fields, schema):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            texts += [str(m) for m in getattr(cls, "default_error_messages", {}).values()]
    for _name, cls in inspect.getmembers(validate, inspect.isclass):
        texts += [str(v) for k, v in vars(cls).items() if k.startswith(("message", "default_message"))
                  and isinstance(v, str)]
    fragments = set()
    for text in texts:
        for fragment in re.split(r"\{\w*\}", text):
            fragment = fragment.strip(" .,:;")
            if len(fragment.split()) >= 2:
                fragments.add(fragment)
    return sorted(fragments, key=len, reverse=True)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def _open_item(app, employee_id: int) -> int:
    from core.work.models import WorkItem

    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug=SLUG).one()
        with tenant_context(tenant.id):
            item_id = db.session.scalar(select(WorkItem.id).where(WorkItem.employee_id == employee_id,
                                                                  WorkItem.status.in_(("planned", "in_progress")))
                                        .order_by(WorkItem.id))
        db.session.remove()
    assert item_id is not None
    return item_id


def _unit_id(app, code: str) -> int:
    from core.org.models import OrgUnit

    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug=SLUG).one()
        with tenant_context(tenant.id):
            unit_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
        db.session.remove()
    return unit_id


# Each main form, empty and typed wrong: (who, the page that holds the form, where it posts,
# what is sent besides the token, the msgid of an error the answer must show).
FORMS = [
    ("employee", "/t/{t}/today", "/t/{t}/today/declare", {}, "Choose at least one task type."),
    ("employee", "/t/{t}/today", "/t/{t}/today/declare",
     {"task_type_code": "KHONG-CO", "quantity": "abc", "deadline": "31/02/2026", "title": "x"},
     "Choose a date."),
    ("employee", "/t/{t}/today", "/t/{t}/items/{item}/update", {"progress": "150"},
     "A whole number from 0 to 100."),
    ("employee", "/t/{t}/today", "/t/{t}/items/{item}/update", {"progress": "nửa"}, "Enter a number."),
    # Last year's evaluation, opened late by the admin (any day is after 1 December of last year).
    ("tenant_admin", "/t/{t}/evaluation", "/t/{t}/evaluation/open",
     {"year": "{year}", "agency_id": "{agency}", "late_reason": "Mở lại để kiểm thử"}, "The evaluation is open."),
    ("employee", "/t/{t}/evaluation", "/t/{t}/evaluation/step",
     {"year": "{year}", "employee_id": "{me}", "step": "self", "level": "", "comment": ""}, "Choose a level."),
    ("employee", "/t/{t}/evaluation", "/t/{t}/evaluation/step",
     {"year": "{year}", "employee_id": "{me}", "step": "self", "level": "XUAT-SAC"}, "Choose a level."),
    ("tenant_admin", "/t/{t}/admin/task-types/new", "/t/{t}/admin/task-types/new", {},
     "Nothing was saved: correct the fields marked below."),
    ("tenant_admin", "/t/{t}/admin/task-types/new", "/t/{t}/admin/task-types/new",
     {"code": "A B", "name": "x" * 400, "group": "Z", "unit_of_measure": "", "norm_minutes": "mười",
      "product_weight": "-1", "effective_from": "32/13/2026", "level_0": "x", "coefficient_0": "abc"},
     "Nothing was saved: correct the fields marked below."),
    ("tenant_admin", "/t/{t}/admin/employees/new", "/t/{t}/admin/employees/new", {},
     "Nothing was saved: correct the fields marked below."),
    # The admin's other forms, sent empty: each refuses in the page's language.
    *[("tenant_admin", page, page, {}, None) for page in (
        "/t/{t}/admin/units", "/t/{t}/admin/positions", "/t/{t}/admin/competencies", "/t/{t}/admin/calendar",
        "/t/{t}/admin/deputies", "/t/{t}/admin/what-if", "/t/{t}/admin/webhooks", "/t/{t}/admin/live-sources")],
    ("tenant_admin", "/t/{t}/admin/leave", "/t/{t}/admin/leave", {"start_date": "31/02/2026"}, None),
    ("employee", "/account/password", "/account/password", {"new_password": "123"}, "This field is required."),
    # WTForms' own messages: the login and the operator's merger wizard.
    ("anonymous", "/login", "/login", {"tenant": "khong-co", "username": "x" * 101}, "This field is required."),
    ("operator", "/operator/merges", "/operator/merges", {"effective_date": "31/02/2026"}, "This field is required."),
    # A form without its CSRF token (a page left open past the token's life): the 400 page.
    ("employee", "/t/{t}/today", "/t/{t}/today/declare", {"csrf_token": ""}, "The CSRF token is missing."),
]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_form_errors_are_in_the_pages_language(clean_app, demo, lang):  # noqa: F811 - the fixture
    from flask_babel import force_locale, gettext

    english, vietnamese, defaults = english_phrases(), vietnamese_phrases(), raw_defaults()
    vocabulary = english_vocabulary()
    assert "Missing data for required field" in defaults and "Not a valid integer" in defaults
    glossed, data = glossed_words(), _data_pattern(clean_app)
    from core.auth.services import create_operator

    with clean_app.app_context():
        create_operator(*OPERATOR)
        unit_of_work.commit()
    browsers = {role: _login(clean_app, ROLES[role])[0] for role in ("employee", "tenant_admin")}
    browsers["operator"] = _login(clean_app, OPERATOR[0], None, OPERATOR[1])[0]
    browsers["anonymous"] = clean_app.test_client()
    me = demo[ROLES["employee"]]
    values = {"t": SLUG, "item": _open_item(clean_app, me), "me": me, "year": utcnow().year - 1,
              "agency": _unit_id(clean_app, "SNV")}
    failures = []
    for role, form_page, target, sent, expected in FORMS:
        browser = browsers[role]
        token = _token(browser.get(form_page.format(**values) + f"?lang={lang}").get_data(as_text=True))
        fields = {k: v.format(**values) for k, v in sent.items()}
        response = browser.post(target.format(**values), data={"csrf_token": token, **fields},
                                follow_redirects=True)
        where = f"{lang} {target.format(**values)} {sorted(sent)}"
        assert response.status_code < 500, where
        page = response.get_data(as_text=True)
        assert f'lang="{lang}"' in page, where
        if expected is not None:
            with clean_app.test_request_context(), force_locale(lang):
                wanted = gettext(expected)
            assert wanted in visible_text(page), (where, wanted)
            assert lang == "en" or wanted != expected, (where, "not translated")
        if lang == "vi":
            text = visible_text(page)
            failures += [f"{where}: raw default {d!r}" for d in defaults if d in text]
            failures += [f"{where}: {p}" for p in _problems(target, page, english, vocabulary) if " English " in p]
        else:
            failures += [f"{where}: {p}" for p in english_problems(target, page, vietnamese, data, glossed)]
    assert failures == []


def component_text_problems(component) -> list[str]:
    """What a component's pages would show in one language only: a title, description,
    setting label or description, choice or key label, or result label given in Vietnamese
    and not English (or the reverse), or the same text for both."""
    pairs = [("title", component.title_vi, component.title_en),
             ("description", component.description_vi, component.description_en)]
    for name, field in component.settings_schema().fields.items():
        meta = field.metadata
        pairs += [(name, meta.get("label_vi"), meta.get("label_en")),
                  (f"{name} description", meta.get("description_vi"), meta.get("description_en"))]
        for words in ("choice_labels", "key_labels"):
            vi, en = meta.get(f"{words}_vi") or {}, meta.get(f"{words}_en") or {}
            pairs += [(f"{name} {words} {key}", vi.get(key), en.get(key)) for key in sorted(set(vi) | set(en), key=str)]
    pairs += [(f"result label {key}", vi, en) for key, (vi, en) in (component.labels or {}).items()]
    where = f"{component.kind}:{component.key} {component.version}"
    problems = []
    for name, vi, en in pairs:
        if name != "description" and " description" not in name and not (vi and en):
            problems.append(f"{where}: {name} lacks {'English' if vi else 'Vietnamese'}")
        elif bool(vi) != bool(en):
            problems.append(f"{where}: {name} lacks {'English' if vi else 'Vietnamese'}")
        elif vi and vi == en:
            problems.append(f"{where}: {name} is the same in both languages: {vi!r}")
    return problems


def test_every_built_in_component_speaks_both_languages():
    """The components' own texts (plugins/, picked per language by core/plugins/forms.py):
    a page shows the English one on an English page, falling back to Vietnamese."""
    from core.plugins.manager import PluginManager

    manager = PluginManager().load()
    components = [r.component for kind in ("scoring_variant", "classification_scheme", "bonus_scheme",
                                           "import_connector") for r in manager.available(kind, None)]
    assert len(components) >= 14
    assert [p for c in components for p in component_text_problems(c)] == []


def test_the_component_check_sees_what_it_looks_for():
    from marshmallow import Schema, fields

    from core.plugins.components import ScoringVariant

    class Settings(Schema):
        weight = fields.Float(metadata={"label_vi": "Trọng số", "label_en": ""})
        mode = fields.String(metadata={"label_vi": "Cách", "label_en": "Mode", "choice_labels_vi": {"a": "Một"},
                                       "choice_labels_en": {"a": "Một"}})

    class Half(ScoringVariant):
        key, version, title_vi, title_en, description_vi = "half", "1.0.0", "Nửa", "Half", "Mô tả"
        settings_schema = Settings

    assert component_text_problems(Half()) == [
        "scoring_variant:half 1.0.0: description lacks English",
        "scoring_variant:half 1.0.0: weight lacks English",
        "scoring_variant:half 1.0.0: mode choice_labels a is the same in both languages: 'Một'"]
