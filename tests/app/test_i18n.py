"""Vietnamese everywhere: the compiled catalogues travel with the package, the app will not
start without them, and what pages, reports and errors show is translated and formatted
the Vietnamese way."""

from __future__ import annotations

import importlib.util

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from core import PROJECT_ROOT, create_app
from core.i18n import MissingCatalogue

pytest_plugins = ("tests.work.test_work_support",)

VI_PO = PROJECT_ROOT / "core" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def _setup_module():
    spec = importlib.util.spec_from_file_location("congvu_setup", PROJECT_ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: setup() does not run
    return module


def test_the_package_build_compiles_every_catalogue(tmp_path):
    written = _setup_module().compile_catalogues(PROJECT_ROOT, tmp_path)
    relative = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert relative == ["core/plugins/translations/vi/LC_MESSAGES/plugins.mo",
                        "core/translations/en/LC_MESSAGES/messages.mo",
                        "core/translations/vi/LC_MESSAGES/messages.mo"]
    with VI_PO.open("rb") as handle:
        catalog = read_po(handle)
    compiled = Translations.load(str(tmp_path / "core" / "translations"), ["vi"])
    # Every translated entry of the .po is in the .mo, word for word.
    entries = [m for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)]
    assert len(entries) > 400
    assert [compiled.gettext(m.id) for m in entries] == [m.string for m in entries]
    assert compiled.gettext("Log out") == "Đăng xuất"


def test_the_app_refuses_to_start_without_the_vietnamese_catalogue(tmp_path, monkeypatch):
    monkeypatch.setattr("core.i18n.VI_CATALOGUE", tmp_path / "missing" / "messages.mo")
    with pytest.raises(MissingCatalogue, match=r"Vietnamese message catalogue is missing .*make translations"):
        create_app({"CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CONGVU_INSTANCE_PATH": str(tmp_path)})


def test_the_favicon_is_served(client):
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", path
        assert response.get_data(as_text=True).lstrip().startswith("<svg")


# ---------------------------------------------------------------- formats and messages

def test_numbers_days_months_and_actors_are_written_the_readers_way(clean_app):
    from core.errors import Invalid
    from core.i18n import actor_label, day_label, money, month_label, num
    from core.messages import error_text, localise

    with clean_app.test_request_context("/?lang=vi"):
        assert [num(12345.5), num(70.0), num(0.25), num(-1234567.891), num(None)] == \
            ["12.345,5", "70", "0,25", "-1.234.567,89", "—"]
        assert money(45995040) == "45.995.040"
        assert (month_label("2026-12"), day_label("2026-12-06")) == ("tháng 12/2026", "06/12/2026")
        assert (actor_label("user:28:admin"), actor_label("cli"), actor_label("system")) == \
            ("admin", "dòng lệnh", "hệ thống")
        assert localise("Some fields are invalid.") == "Một số trường không hợp lệ."
        assert localise("The period 2026-11 is closed.") == "Kỳ tháng 11/2026 đã khóa sổ."
        assert localise("Duplicate of row 7.") == "Trùng với dòng 7."
        assert localise("No unit with code 'X-1' in this tenant.") == "Không có đơn vị mã 'X-1'."
        assert localise("A done item cannot become planned.") == "Công việc hoàn thành không thể chuyển sang đã lên kế hoạch."
        assert localise("Nothing the catalogue knows.") == "Nothing the catalogue knows."
        # A connector's reason inside the pipeline's message is translated as well.
        assert localise("Invalid value 'abc': not a number.") == "Giá trị 'abc' không hợp lệ: không phải số."
        assert localise("Invalid value '0': must be at least 1.") == "Giá trị '0' không hợp lệ: phải từ 1 trở lên."
        refused = Invalid("Give a reason for refusing.", {"reason": ["Give a reason for refusing."]})
        assert error_text(refused) == "Hãy nêu lý do không xác nhận."  # once, not twice
    with clean_app.test_request_context("/?lang=en"):
        assert [num(12345.5), money(45995040), month_label("2026-12")] == ["12,345.5", "45,995,040", "12/2026"]
        assert localise("The period 2026-11 is closed.") == "The period 2026-11 is closed."


def test_a_filter_of_a_constant_follows_each_readers_language(clean_app):
    """Jinja folds a filter applied to a constant into the compiled template, cached per app:
    "HTXS"|level_label compiled for a Vietnamese reader showed every later English reader
    the code. The display filters run at render time, so each reader gets their language."""
    source = '{{ "HTXS"|level_label }} · {{ "KHT"|level_text }} · {{ 1234.5|num }} · {{ "2026-12"|month_label }}'
    with clean_app.test_request_context("/?lang=vi"):
        template = clean_app.jinja_env.from_string(source)  # compiled once, for a Vietnamese reader, as a page is
    shown = {}
    for lang in ("vi", "en", "vi"):
        with clean_app.test_request_context(f"/?lang={lang}"):
            shown.setdefault(lang, []).append(template.render())
    assert shown == {"vi": ["HTXS · KHT · 1.234,5 · tháng 12/2026"] * 2,
                     "en": ['<abbr title="HTXS">Excellent</abbr> · Not completed (KHT) · 1,234.5 · 12/2026']}


def test_day_boxes_read_a_typed_day_as_dd_mm_yyyy():
    """A day box on a page is text: what people type (with any usual separator, or a
    phone's number pad without one) and the API's ISO both read as the same day; what
    is not a day is None (the page answers with a field error); a box shows dd/mm/yyyy."""
    from datetime import date

    from core.i18n import day_input, day_value, iso_day

    for typed in ("06/12/2026", "6/12/2026", " 06-12-2026 ", "06.12.2026", "06122026", "2026-12-06"):
        assert day_input(typed) == date(2026, 12, 6), typed
    for wrong in ("31/02/2026", "12/2026", "2026-12-6", "6/12/26", "hôm nay", "", None, "0612202", "06/12/0026"):
        assert day_input(wrong) is None, wrong
    assert (day_value(date(2026, 1, 9)), day_value("2026-01-09"), day_value("9/1/2026")) == ("09/01/2026",) * 3
    assert (day_value(None), day_value("ngày mai")) == ("", "ngày mai")
    assert (iso_day("09/01/2026"), iso_day(""), iso_day("31/02/2026")) == ("2026-01-09", None, "31/02/2026")


def _sign_in(client, w, who: str) -> str:
    import re

    with client.session_transaction() as session:
        session["_user_id"] = w.principals[who].get_id()
        session["_fresh"] = True
        session["lang"] = "vi"
    page = client.get(f"/t/{w.slug}/today").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _flashes(page: str) -> list[str]:
    import html
    import re

    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-error">(.*?)</p>', page, re.S)]


def test_refusing_without_a_reason_and_a_closed_month_say_so_once_in_vietnamese(client, world):
    from tests.work.test_work_support import declare

    item = declare(client, world, who="staff2")
    assert client.post(world.url("/periods/2026-09/close"), headers=world.h("admin")).status_code == 200
    token = _sign_in(client, world, "manager")
    refused = client.post(f"/t/{world.slug}/items/{item['id']}/verify", data={"csrf_token": token, "accepted": "0"},
                          follow_redirects=True)
    assert _flashes(refused.get_data(as_text=True)) == ["Hãy nêu lý do không xác nhận."]
    token = _sign_in(client, world, "staff")
    closed = client.post(f"/t/{world.slug}/today/declare", follow_redirects=True,
                         data={"csrf_token": token, "task_type_code": "HT01", "work_date": "2026-09-30"})
    # The morning form answers beside its field (422), once, in Vietnamese.
    assert closed.status_code == 422 and closed.get_data(as_text=True).count("đã khóa sổ") == 1


def test_api_errors_speak_vietnamese_when_asked(client, world):
    body = {"task_type_code": "HT01", "work_date": "2026-09-30", "quantity": 1}
    assert client.post(world.url("/periods/2026-09/close"), headers=world.h("admin")).status_code == 200
    english = client.post(world.url("/work-items"), json=body, headers=world.h("staff"))
    vietnamese = client.post(world.url("/work-items"), json=body, headers={**world.h("staff"), "Accept-Language": "vi"})
    assert english.status_code == vietnamese.status_code == 409
    assert english.get_json()["message"] == "The period 2026-09 is closed."
    assert vietnamese.get_json()["message"] == "Kỳ tháng 09/2026 đã khóa sổ."
    assert vietnamese.get_json()["code"] == english.get_json()["code"]  # machine codes never change
    assert all(m == ["Kỳ tháng 09/2026 đã khóa sổ."] for m in vietnamese.get_json()["errors"].values())


def test_import_form_errors_stay_on_the_form_in_vietnamese(clean_app, client, world):
    import io
    import re

    token = _sign_in(client, world, "admin")
    page = client.post(f"/t/{world.slug}/admin/imports", content_type="multipart/form-data",
                       data={"csrf_token": token, "connector": "staff-csv",
                             "file": (io.BytesIO(b"code,full_name\nA,B\n"), "danh-sach.xlsx")})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    error = re.search(r'<p class="error" id="file-error" role="alert">(.*?)</p>', text, re.S).group(1)
    assert error.startswith("Tệp có đuôi .xlsx nhưng không phải tệp Excel")
    assert 'aria-describedby="file-error"' in text
    # What was chosen is kept: the connector, and "dry run" unticked.
    assert '<option value="staff-csv" selected>' in text and 'name="dry_run" value="1" >' in text
    clean_app.config["MAX_CONTENT_LENGTH"], limit = 2**20, clean_app.config["MAX_CONTENT_LENGTH"]
    try:
        big = client.post(f"/t/{world.slug}/admin/imports", content_type="multipart/form-data",
                          data={"csrf_token": token, "connector": "staff-csv",
                                "file": (io.BytesIO(b"x" * (2**20 + 10)), "big.csv")})
    finally:
        clean_app.config["MAX_CONTENT_LENGTH"] = limit
    # Refused before the page runs (the CSRF check reads the form): back to the form.
    assert big.status_code == 303 and big.headers["Location"].endswith("/admin/imports?too_large=1")
    again = client.get(big.headers["Location"])
    text = again.get_data(as_text=True)
    assert again.status_code == 200 and '<form method="post" enctype="multipart/form-data"' in text
    assert re.search(r'id="file-error" role="alert">Tệp lớn hơn 10 MB\.</p>', text)


def test_job_stages_statuses_and_scopes_are_named(clean_app):
    from flask import render_template_string

    with clean_app.test_request_context("/?lang=vi"):
        shown = render_template_string(
            "{{ 'writing'|msg }} · {{ 'finished'|job_status }} · {{ '2026-11'|scope_label }} · "
            "{{ '2026-08-26'|scope_label }} · {{ 'user:28:admin'|actor_label }}")
    assert shown == "đang ghi · hoàn thành · tháng 11/2026 · 26/08/2026 · admin"


def test_export_headers_come_from_the_catalogue(clean_app):
    from core.imports.exports import EXPORTS

    with clean_app.test_request_context("/?lang=vi"):
        vi = EXPORTS["scores"]("2026-10", None).headers
    with clean_app.test_request_context("/?lang=en"):
        en = EXPORTS["scores"]("2026-10", None).headers
    assert vi[:5] == ["Mã cán bộ", "Họ và tên", "Mã đơn vị", "Đơn vị", "Kỳ đánh giá"]
    assert en[:5] == ["Employee code", "Full name", "Unit code", "Unit", "Assessment period"]


def test_the_language_asked_of_the_site_root_outlives_its_redirects(client, world):
    # The root only redirects, so nothing was translated there and the choice was never
    # kept: the login page (and, signed in, the home page) came back in Vietnamese.
    login = client.get("/?lang=en", follow_redirects=True)
    assert login.request.path == "/login" and '<html lang="en">' in login.get_data(as_text=True)
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    with client.session_transaction() as session:
        session["_user_id"] = world.principals["staff"].get_id()
        session["_fresh"] = True
        session["lang"] = "vi"
    home = client.get("/?lang=en", follow_redirects=True)
    assert home.request.path == f"/t/{world.slug}/" and '<html lang="en">' in home.get_data(as_text=True)
    back = client.get("/?lang=vi", follow_redirects=True)
    assert '<html lang="vi">' in back.get_data(as_text=True)


def test_one_pager_macro_serves_every_list(clean_app):
    """The admin lists, the bonus run, the logins, a webhook's deliveries and the agencies
    list share core/templates/_macros.html's pager: the page's own arguments are kept in
    their order, the page number last, and a fragment brings the reader back to the list."""
    from flask import render_template_string

    source = ('{% from "_macros.html" import pager %}'
              "{{ pager(page, 3, 'classification_pages.bonus_run', '#people', t='tinh', run_id=7, q=q or none) }}")
    with clean_app.test_request_context("/?lang=en"):
        middle = render_template_string(source, page=2, q="an")
        first = render_template_string(source, page=1, q="")
        alone = render_template_string(source.replace(", 3,", ", 1,"), page=1, q="")
    assert " ".join(middle.split()) == (
        '<nav class="pager" aria-label="Pages"> '
        '<a href="/t/tinh/classification/bonus/7?q=an&amp;page=1#people" rel="prev">‹ Previous</a> '
        "<span>Page 2 of 3</span> "
        '<a href="/t/tinh/classification/bonus/7?q=an&amp;page=3#people" rel="next">Next ›</a> </nav>')
    assert 'rel="prev"' not in first and 'href="/t/tinh/classification/bonus/7?page=2#people"' in first
    assert alone.strip() == ""
    duplicates = [str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "core").rglob("*.html")
                  if 'class="pager"' in p.read_text(encoding="utf-8")]
    # The manager's sections keep their own: theirs swaps only its section (htmx).
    assert sorted(duplicates) == ["core/templates/_macros.html", "core/work/templates/work/manager/_macros.html"]
