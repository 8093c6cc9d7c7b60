"""Every page of every role, in Vietnamese, on the lived-in demo: no English string of the
app's own catalogue (a msgid shown untranslated), no ISO month or day, no decimal point,
no actor key (<code> holds literal data and is left out). The pages are walked from the URL map, so a new page joins by itself."""

from __future__ import annotations

import html
import io
import re

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from core import PROJECT_ROOT, unit_of_work
from core.catalogue.models import Competency, TaskType
from core.demo import DEMO_PASSWORD, SLUG, build_demo
from core.extensions import db
from core.org.models import Employee, JobPosition, OrgUnit
from core.tenancy import tenant_context
from core.tenants.models import Tenant

VI_PO = PROJECT_ROOT / "core" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
# The plugin pages' own catalogue (domain "plugins"): its English shows on the same pages.
PLUGINS_PO = PROJECT_ROOT / "core" / "plugins" / "translations" / "vi" / "LC_MESSAGES" / "plugins.po"
# Pages that are not HTML for a person to read, or need an object the demo lacks.
SKIPPED = {"static", "plugin_pages.static", "pages.favicon", "observability.healthz", "observability.metrics",
           "api-docs.openapi_json", "import_pages.export_page", "import_pages.template_page",
           "audit_pages.audit_export", "merger_pages.progress", "dashboard_pages.merge_bar"}
ROLES = {"tenant_admin": "admin", "manager": "truongphong", "employee": "snv-p1-cv-02", "auditor": "thanhtra"}

ISO_DAY_OR_MONTH = re.compile(r"(?<![\d/.-])(19|20)\d\d-\d\d(-\d\d)?(?![\d-])")
DECIMAL_POINT = re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d.])")
ACTOR_KEY = re.compile(r"\buser:\d+:")
# "2,340,000": thousands grouped the English way (two groups at least: "1,125" may be a decimal).
EN_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3}){2,}(?![\d.,])")


def english_phrases() -> list[str]:
    """The catalogue's msgids that read as English sentences or phrases (two words or more
    of literal text) and whose Vietnamese differs: seeing one on a vi page is a miss."""
    messages = []
    for po in (VI_PO, PLUGINS_PO):
        with po.open("rb") as handle:
            messages += list(read_po(handle))
    phrases = set()
    for message in messages:
        if not message.id or not isinstance(message.id, str) or not message.string or message.string == message.id:
            continue
        for fragment in re.split(r"%\(\w+\)[sd]|%[sd]", message.id):
            fragment = fragment.strip(" .,:;()·—-")
            if len(fragment.split()) >= 2 and re.search(r"[a-z]{3}", fragment) and fragment not in message.string:
                phrases.add(fragment)
    return sorted(phrases, key=len, reverse=True)


def visible_text(page: str, attributes: bool = True) -> str:
    """The page's text, and with `attributes` what else a reader sees (placeholders, labels
    for screen readers, titles)."""
    # <code> holds literal data (settings keys and values, an audit event's JSON), not prose.
    page = re.sub(r"<(script|style|template|code)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    extra = " ".join(m.group(2) for m in re.finditer(r'\b(placeholder|aria-label|title|alt)="([^"]*)"', page)) \
        if attributes else ""
    # A day box shows its value as text: it must read dd/mm/yyyy like the page around it.
    days = " ".join(m.group(1) for m in re.finditer(r'<input\b[^>]*\bdata-day\b[^>]*\bvalue="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(text + " " + extra + " " + days).split())


def _login(app, username: str, tenant: str | None = SLUG, password: str = DEMO_PASSWORD):
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed_in = browser.post("/login", data={"csrf_token": token, "tenant": tenant or "__operator__",
                                             "username": username, "password": password})
    assert signed_in.status_code == 302, username
    return browser, token


@pytest.fixture
def demo(clean_app):
    with clean_app.app_context():
        build_demo(with_work=True)
        unit_of_work.commit()
        tenant = db.session.query(Tenant).filter_by(slug=SLUG).one()
        with tenant_context(tenant.id):
            ids = {e.user.username: e.id for e in db.session.query(Employee).join(Employee.user)
                   .filter(Employee.user.has()).all() if e.user.username in ROLES.values()}
            # One real object of each kind, so their edit pages are walked (not their 404s).
            for param, model in (("unit_id", OrgUnit), ("position_id", JobPosition), ("task_type_id", TaskType),
                                 ("competency_id", Competency)):
                ids[param] = db.session.scalar(select(func.min(model.id)))
    return ids


def _import_report(app) -> str:
    """An import with errors, through the admin page, so its report is one of the pages."""
    browser, token = _login(app, "admin")
    rows = "code,full_name,unit_code,salary_coefficient\nNV1,Lê Văn A,KHONG-CO,abc\nNV1,Lê Văn B,SNV,2.5\n"
    response = browser.post(f"/t/{SLUG}/admin/imports", content_type="multipart/form-data",
                            data={"csrf_token": token, "connector": "staff-csv", "dry_run": "1",
                                  "file": (io.BytesIO(rows.encode()), "nhan-su.csv")})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].split("job=")[1]


def _urls(app, params: dict[str, str]) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        path = rule.rule
        for name in re.findall(r"<(?:\w+:)?(\w+)>", rule.rule):
            path = re.sub(rf"<(?:\w+:)?{name}>", params.get(name, "0"), path)
        urls.append((rule.endpoint, path))
    return sorted(urls)


def english_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """The words of the catalogue's English that Vietnamese never writes ("save", "review",
    "the"), and those both write ("to", "an", "tin"): three of the first in a run of English
    words on a Vietnamese page are English that was never wrapped in _(), which the msgids
    alone cannot find."""
    english, vietnamese = set(), set()
    for po in (VI_PO, PLUGINS_PO):
        with po.open("rb") as handle:
            for message in read_po(handle):
                ids = message.id if isinstance(message.id, list | tuple) else [message.id]
                texts = message.string if isinstance(message.string, list | tuple) else [message.string]
                for words, texts_of in ((english, ids), (vietnamese, texts)):
                    for text in texts_of:
                        words.update(w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"%\(\w+\)[sd]", " ", text or "")))
    return frozenset(w for w in english - vietnamese if len(w) >= 2), frozenset(english & vietnamese)


ASCII_RUN = re.compile(r"(?<![\w-])(?:[A-Za-z]+[,.:;]?\s+){2,}[A-Za-z]+(?![\w-])")


def _problems(path: str, page: str, phrases: list[str],
              vocabulary: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())) -> list[str]:
    text = visible_text(page)
    found = []
    for phrase in phrases:
        if re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text):
            found.append(f"{path}: English {phrase!r}")
            text = text.replace(phrase, " ")
    for run in ASCII_RUN.finditer(text):
        english, shared = vocabulary
        words, streak = re.findall(r"[A-Za-z]+", run.group(0)), 0
        for word in (w.lower() for w in words):
            # A word both languages write neither counts nor breaks the run; any other does.
            streak = streak + 1 if word in english else streak if word in shared else 0
            if streak == 3:
                found.append(f"{path}: English (not wrapped) {run.group(0)!r}")
                break
    # Formats in what is shown, not in an input's format hint (placeholder="2026-10").
    shown = visible_text(page, attributes=False)
    for pattern, what in ((ISO_DAY_OR_MONTH, "ISO date"), (DECIMAL_POINT, "decimal point"),
                          (ACTOR_KEY, "actor key"), (EN_THOUSANDS, "English thousands")):
        found += [f"{path}: {what} {m.group(0)!r}" for m in pattern.finditer(shown)]
    return found


def test_every_page_of_every_role_reads_vietnamese(clean_app, demo):
    from core.auth.services import create_operator

    job = _import_report(clean_app)
    with clean_app.app_context():
        create_operator("root", "Vinh-Nha-Trang-xanh-42")
        unit_of_work.commit()
    phrases, vocabulary = english_phrases(), english_vocabulary()
    assert "Some fields are invalid" in phrases and "Give a reason for refusing" in phrases
    assert "Periods before this date keep the component that was in force then" in phrases  # plugins.po
    failures, seen = [], 0
    logins = [(role, _login(clean_app, username)[0], demo[username]) for role, username in ROLES.items()]
    logins.append(("operator", _login(clean_app, "root", None, "Vinh-Nha-Trang-xanh-42")[0], 0))
    for role, browser, employee_id in logins:
        params = {"t": SLUG, "employee_id": str(employee_id), "job_id": job, "run_id": "1", "kind": "scoring_variant",
                  "key": "decree335", "target": SLUG,
                  **{k: str(v) for k, v in demo.items() if k.endswith("_id") and v is not None}}
        for _endpoint, path in _urls(clean_app, params):
            response = browser.get(path)
            if response.status_code in (301, 302, 303) or response.mimetype != "text/html":
                continue
            assert response.status_code < 500, (role, path)
            seen += 1
            page = response.get_data(as_text=True)
            assert 'lang="vi"' in page or "<html" not in page, (role, path)
            failures += [f"{role} {problem}" for problem in _problems(path, page, phrases, vocabulary)]
    assert seen >= 60  # each role's pages, its 403/404 pages, and the fragments
    assert failures == []


def test_the_walk_sees_what_it_looks_for():
    """The checks themselves: each kind of miss is found, Vietnamese text passes."""
    phrases = ["Give a reason for refusing", "Some fields are invalid"]
    page = ('<p>Give a reason for refusing.</p><p title="Some fields are invalid.">x</p><p>2026-11 · 40.29 · 2,340,000</p>'
            '<p>user:28:admin</p><script>var a = "2026-12 Give a reason for refusing";</script>'
            '<input id="d" name="d" type="text" data-day value="2026-12-06">')
    assert _problems("/x", page, phrases) == [
        "/x: English 'Give a reason for refusing'", "/x: English 'Some fields are invalid'",
        "/x: ISO date '2026-11'", "/x: ISO date '2026-12-06'", "/x: decimal point '40.29'",
        "/x: actor key 'user:28:'", "/x: English thousands '2,340,000'"]
    fine = "<p>Hãy nêu lý do không xác nhận. tháng 11/2026 · 40,29 · 1.234 · 2.340.000 · 06/12/2026 · phiên bản 1.1.0</p>"
    assert _problems("/x", fine, phrases) == []
    vocabulary = english_vocabulary()
    unwrapped = "<p>Nam Nha Trang · qua trang web IP · tin trong ID token</p><p>Nothing to review today.</p>"
    assert _problems("/x", unwrapped, phrases, vocabulary) == [
        "/x: English (not wrapped) 'tin trong ID token Nothing to review today'"]
