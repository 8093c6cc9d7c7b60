"""What the tenant admin (Sở Nội vụ) and the auditor read on the classification and
evaluation pages (both databases), in Vietnamese: finalising the year asks first and says
what it ends; the refusals read Vietnamese; numbers with a decimal comma; a unit named
twice shows its parent; statuses and schemes by their names; the agencies list is searched
and paged on the server."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from core import unit_of_work
from core.classification.models import ClassificationYear
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.classification.test_classification_api import TOTALS_2026, run, set_totals
from tests.classification.test_evaluation_procedure import open_agency
from tests.work.test_work_pages import csrf, sign_in
from tests.work.test_work_support import count_queries

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def get(client, w, who: str, path: str, status: int = 200) -> str:
    sign_in(client, w, who)
    r = client.get(f"/t/{w.slug}{path}")
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    return unescape(r.get_data(as_text=True))


def text(html: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def year_status(app, w) -> str | None:
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(ClassificationYear.status).where(ClassificationYear.year == 2026))


def test_finalising_asks_first_and_says_what_it_ends(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    html = get(client, world, "admin", "/classification/province?year=2026")
    # No form locks the year from the province page: a link leads to the confirmation.
    assert "/classification/2026/finalize" in html and 'action="/t/tinh-w/classification/2026/finalize"' not in html
    confirm = get(client, world, "admin", "/classification/2026/finalize")
    words = text(confirm)
    assert "Phê duyệt chính thức sẽ làm gì" in words
    assert "nút «Mở kỳ đánh giá» sẽ bị từ chối" in words
    # The world's one agency (Sở Nội vụ) has not opened its evaluation; the deadline is 15 December.
    assert "1 cơ quan chưa mở kỳ đánh giá năm 2026; hạn chót là 15/12/2026." in words
    assert 'type="checkbox" name="confirm" value="yes" required' in confirm
    # "Hủy" is a button beside the one it is the alternative to (a 24-px link before).
    assert re.search(r'<a class="button" id="finalize-cancel" href="/t/[^"]+/classification/province\?year=2026">Hủy</a>',
                     confirm)
    # Without the ticked box nothing is locked: the confirmation again, with its reason (422).
    r = client.post(f"/t/{world.slug}/classification/2026/finalize", data={"csrf_token": csrf(confirm)})
    assert r.status_code == 422 and "Hãy đánh dấu ô xác nhận rằng năm sẽ bị khóa." in r.get_data(as_text=True)
    assert year_status(clean_app, world) == "draft"
    r = client.post(f"/t/{world.slug}/classification/2026/finalize",
                    data={"csrf_token": csrf(confirm), "confirm": "yes"})
    assert r.status_code == 302 and year_status(clean_app, world) == "final"
    # A final year has nothing to confirm: back to the province page.
    sign_in(client, world, "admin")
    assert client.get(f"/t/{world.slug}/classification/2026/finalize").status_code == 302
    get(client, world, "manager", "/classification/2026/finalize", status=403)
    get(client, world, "auditor", "/classification/2026/finalize", status=403)


def test_an_opened_agency_without_a_decision_blocks_the_lock_in_vietnamese(clean_app, proc, client):
    w = proc
    assert open_agency(client, w).status_code == 200
    assert client.post(w.url("/classifications/2026/run"), headers=w.h("admin")).status_code == 202
    confirm = get(client, w, "admin", "/classification/2026/finalize")
    words = text(confirm)
    assert ("Còn 1 cơ quan đã mở kỳ đánh giá nhưng chưa có quyết định: chưa thể phê duyệt chính thức cho đến "
            "khi các cơ quan này quyết định. Sở Nội vụ.") in words
    assert "1 cơ quan chưa mở kỳ đánh giá năm 2026" in words  # Sở Tài chính
    assert 'name="confirm"' not in confirm  # refused anyway: no box to tick
    # Posted all the same (an old page): the service refuses it, said in Vietnamese with the count.
    r = client.post(f"/t/{w.slug}/classification/2026/finalize",
                    data={"csrf_token": csrf(confirm), "confirm": "yes"}, follow_redirects=True)
    assert ("Chưa thể khóa năm: còn 1 cơ quan đã mở kỳ đánh giá nhưng chưa có quyết định: Sở Nội vụ."
            in unescape(r.get_data(as_text=True)))
    assert year_status(clean_app, w) == "draft"


def test_a_locked_year_says_so_on_the_evaluation_page_and_its_refusal_reads_vietnamese(clean_app, proc, client):
    w = proc
    assert client.post(w.url("/classifications/2026/run"), headers=w.h("admin")).status_code == 202
    assert client.post(w.url("/classifications/2026/finalize"), headers=w.h("admin")).status_code == 200
    html = get(client, w, "admin", "/evaluation?year=2026")
    assert "Kết quả xếp loại năm 2026 đã được phê duyệt chính thức (năm đã khóa)" in html
    assert "Mở kỳ đánh giá" not in html  # no button that can only be refused
    r = client.post(f"/t/{w.slug}/evaluation/open?year=2026",
                    data={"csrf_token": csrf(html), "agency_id": w.ids["agency"]})
    assert r.status_code == 409
    page = unescape(r.get_data(as_text=True))
    assert "Kết quả xếp loại năm 2026 đã chốt, không thể thay đổi." in page and "is final" not in page


def test_service_refusals_are_catalogue_messages_with_their_values(clean_app):
    """The classification and bonus services' messages carry their values as %(name)s
    placeholders: each is a msgid, and a page reads it in Vietnamese."""
    from core.messages import localise

    with clean_app.test_request_context("/?lang=vi"):
        assert localise("The classification of 2026 is final and cannot change.") == \
            "Kết quả xếp loại năm 2026 đã chốt, không thể thay đổi."
        assert localise("2 appeal(s) of 2026 are not resolved yet.") == \
            "Còn 2 khiếu nại về xếp loại năm 2026 chưa được giải quyết."
        assert localise("The time to appeal the classification of 2026 is over.") == \
            "Đã hết thời hạn khiếu nại kết quả xếp loại năm 2026."
        assert localise("A per cent from 0 to 100.") == "Một tỷ lệ phần trăm từ 0 đến 100."


def test_bonus_share_out_of_range_reads_vietnamese(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    assert client.post(world.url("/classifications/2026/finalize"), headers=world.h("admin")).status_code == 200
    html = get(client, world, "admin", "/classification/province?year=2026")
    r = client.post(f"/t/{world.slug}/classification/2026/bonus",
                    data={"csrf_token": csrf(html), "fund": "1.000.000", "adhoc_percent": "abc"}, follow_redirects=True)
    page = unescape(r.get_data(as_text=True))
    assert ("Tỷ lệ dành cho thưởng đột xuất nằm ngoài giới hạn. Một tỷ lệ phần trăm từ 0 đến 100." in page
            and "out of range" not in page)


def test_numbers_read_with_a_decimal_comma(clean_app, world, client):
    set_totals(clean_app, world, {**TOTALS_2026, "staff": 69.64})
    run(client, world)
    mine = text(get(client, world, "staff", "/classification?year=2026"))
    assert "Điểm cả năm 69,64" in mine and "69.64" not in mine
    province = text(get(client, world, "admin", "/classification/province?year=2026"))
    # KHT: the auditor alone, 1 of 7 people.
    assert "KHT: 1 (14,3%)" in province and "14.3%" not in province


def test_a_unit_named_twice_shows_its_parent_and_cells_say_what_they_hold(clean_app, world, client):
    with clean_app.app_context(), tenant_context(world.tenant_id):
        finance = org.create_unit({"code": "TC", "name": "Sở Tài chính", "kind": "agency"})
        twin = org.create_unit({"code": "TC-P1", "name": "Phòng Một", "kind": "department", "parent_id": finance.id})
        db.session.get(Employee, world.ids["outsider"]).unit_id = twin.id
        unit_of_work.commit()
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    html = get(client, world, "auditor", "/classification/province?year=2026")
    table = html.split('id="dist-h"', 1)[1].split("</table>", 1)[0]
    rows = [text(row) for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)]
    assert [r.split(" ", 4)[:4] for r in rows if r.startswith("Phòng Một")] == [
        ["Phòng", "Một", "—", "Sở"], ["Phòng", "Một", "—", "Sở"]]
    assert [r for r in rows if r.startswith("Phòng Một")][0].startswith("Phòng Một — Sở Nội vụ")
    assert [r for r in rows if r.startswith("Phòng Một")][1].startswith("Phòng Một — Sở Tài chính")
    # Every cell of the distribution and quota tables is labelled for the phone's one-column cards.
    for name in ("dist-h", "quota-h"):
        body = html.split(f'id="{name}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
        cells = re.findall(r"<td[^>]*>", body)
        assert cells and all("data-label=" in c for c in cells), name
    assert '<td data-label="không xếp loại">' in table and '<td data-label="HTXS">' in table
    # The parents come with the names, in the same queries: a third "Phòng Một" costs no query.
    with count_queries(clean_app) as before:
        get(client, world, "auditor", "/classification/province?year=2026")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        justice = org.create_unit({"code": "TP", "name": "Sở Tư pháp", "kind": "agency"})
        third = org.create_unit({"code": "TP-P1", "name": "Phòng Một", "kind": "department", "parent_id": justice.id})
        db.session.get(Employee, world.ids["accountant"]).unit_id = third.id
        unit_of_work.commit()
    run(client, world)
    with count_queries(clean_app) as after:
        html = get(client, world, "auditor", "/classification/province?year=2026")
    assert "Phòng Một — Sở Tư pháp" in text(html)
    assert sum("org_units" in q for q in after) == sum("org_units" in q for q in before)


def test_statuses_and_the_scheme_by_their_names(clean_app, world, client):
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    html = text(get(client, world, "admin", "/classification/province?year=2026"))
    assert "Cách xếp loại: decree335" not in html and re.search(r"Cách xếp loại: \S.*? 1\.\d+\.\d+ ·", html)
    assert client.post(world.url("/classifications/2026/finalize"), headers=world.h("admin")).status_code == 200
    page = get(client, world, "admin", "/classification/province?year=2026")
    client.post(f"/t/{world.slug}/classification/2026/bonus", data={"csrf_token": csrf(page), "fund": "1.000.000"})
    html = get(client, world, "admin", "/classification/province?year=2026")
    item = text(html.split('id="bonus-h"', 1)[1].split("</ul>", 1)[0])
    assert " · hoàn thành · 1.000.000 đ" in item and "finished" not in item
    assert re.search(r"Đợt chia thưởng #\d+ · hoàn thành", item)  # was a bare "#1"
    run_id = re.search(r"/classification/bonus/(\d+)", html).group(1)
    bonus = get(client, world, "auditor", f"/classification/bonus/{run_id}")
    assert "finished" not in text(bonus) and " · hoàn thành" in text(bonus)
    cells = re.findall(r"<td[^>]*>", bonus.split('class="stack bonus-allocations"', 1)[1].split("<tbody>", 1)[1])
    assert len(cells) >= 4 and len(cells) % 4 == 0 and all("data-label=" in c for c in cells)
    # Folded on a phone, each person with their code (two people may share a name), and the
    # export a button in words, not a bare "xlsx".
    assert '<table class="stack bonus-allocations">' in bonus
    assert 'Người staff <span class="code">(STAFF)</span>' in bonus
    assert re.search(r'<a class="button" href="[^"]+/xlsx">Xuất tệp Excel</a>', bonus) and ">xlsx<" not in bonus


def test_a_bonus_run_reads_by_level_then_a_page_of_people_found_without_marks(clean_app, world, client,
                                                                               monkeypatch):
    """A province's run is thousands of people on one page: the totals by level come first
    (equal to the allocations' own sums), then the people by name a page at a time, and a
    search that finds "Người staff" typed "nguoi staff"."""
    from sqlalchemy import func, select

    from core.bonus import services as bonus_services
    from core.bonus.models import BonusAllocation

    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    assert client.post(world.url("/classifications/2026/finalize"), headers=world.h("admin")).status_code == 200
    page = get(client, world, "admin", "/classification/province?year=2026")
    client.post(f"/t/{world.slug}/classification/2026/bonus", data={"csrf_token": csrf(page), "fund": "1.000.000"})
    run_id = int(re.search(r"/classification/bonus/(\d+)", get(client, world, "admin",
                                                                "/classification/province?year=2026")).group(1))
    with clean_app.app_context(), tenant_context(world.tenant_id):
        by_level = {level: (people, amount) for level, people, amount in db.session.execute(
            select(BonusAllocation.level, func.count(), func.sum(BonusAllocation.amount))
            .where(BonusAllocation.bonus_run_id == run_id).group_by(BonusAllocation.level))}
    people = sum(n for n, _ in by_level.values())
    assert people >= 3
    monkeypatch.setattr(bonus_services, "ALLOCATIONS_PAGE", 2)
    html = get(client, world, "auditor", f"/classification/bonus/{run_id}")
    levels = text(html.split('class="bonus-levels"', 1)[1].split("</table>", 1)[0])
    for level, (n, amount) in by_level.items():
        assert f"{level or '—'} {n} {amount:,} đ".replace(",", ".") in levels, (level, levels)
    total = sum(a for _, a in by_level.values())
    assert f"Cộng {people} {total:,} đ".replace(",", ".") in levels
    allocations = html.split('class="stack bonus-allocations"', 1)[1].split("</table>", 1)[0]
    assert allocations.count('<td class="name"') == 2
    assert f"Trang 1/{-(-people // 2)}" in text(html) and f"{people} người." in text(html)
    # The shared pager (core/templates/_macros.html) keeps the run, the search and the list's anchor.
    second = get(client, world, "auditor", f"/classification/bonus/{run_id}?q=nguoi&page=2")
    pager = re.search(r'<nav class="pager".*?</nav>', second, re.S).group(0)
    base = f"/t/{world.slug}/classification/bonus/{run_id}"
    assert re.findall(r'<a href="([^"]+)" rel="(\w+)">', pager) == [(f"{base}?q=nguoi&page=1#people", "prev")] + (
        [(f"{base}?q=nguoi&page=3#people", "next")] if people > 4 else [])
    found = get(client, world, "auditor", f"/classification/bonus/{run_id}?q=nguoi+staff")
    rows = found.split('class="stack bonus-allocations"', 1)[1].split("</table>", 1)[0]
    names = re.findall(r'<td class="name"[^>]*>([^<]*) <span', rows)
    assert "Người staff" in names and set(names) <= {"Người staff", "Người staff2"} and len(names) < people
    assert f"{len(names)} trong {people} người khớp với “nguoi staff”." in text(found)
    nobody = get(client, world, "auditor", f"/classification/bonus/{run_id}?q=zzz")
    assert "Không có ai khớp." in text(nobody)


def test_the_province_page_folds_a_long_streamlining_list_under_its_counts(clean_app, world, client, monkeypatch):
    """A province's streamlining list is a hundred people and more, two lines each (20,000
    px on a phone): past STREAM_SHOWN it folds under how many stand on each ground."""
    from core.classification import views
    from core.reports import services as reports

    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.auth.models import User
        from core.auth.services import principal_for_user

        admin = principal_for_user(db.session.scalar(select(User).where(User.username == "admin")))
        candidates = reports.streamlining(admin, 2026)["candidates"]
    kht = sum(any(g["kind"] == "kht" for g in c["grounds"]) for c in candidates)
    surplus = sum(any(g["kind"] == "surplus" for g in c["grounds"]) for c in candidates)
    assert candidates and kht >= 1
    html = get(client, world, "admin", "/classification/province?year=2026")
    section = html.split('id="stream-h"', 1)[1].split("</section>", 1)[0]
    assert "<details" not in section  # a short list stays open
    assert (f"{kht} người xếp loại KHT; {surplus} người ở vị trí có số người vượt nhu cầu đo được."
            in text(section))
    monkeypatch.setattr(views, "STREAM_SHOWN", len(candidates) - 1)
    section = get(client, world, "admin", "/classification/province?year=2026").split('id="stream-h"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert '<details class="stream-list"><summary>' in section
    assert f"Xem danh sách {len(candidates)} người" in text(section)
    assert section.split("<details", 1)[1].count('<li class="item">') >= len(candidates)


def test_the_agencies_list_is_searched_and_paged_without_script(clean_app, proc, client):
    w = proc
    with clean_app.app_context(), tenant_context(w.tenant_id):
        for n in range(1, 24):  # 25 agencies in all: two pages of 20
            org.create_unit({"code": f"XA{n:02d}", "name": f"Ủy ban nhân dân xã Số {n}", "kind": "commune"})
        unit_of_work.commit()
    html = get(client, w, "admin", "/evaluation?year=2026")
    section = html.split('id="agencies-h"', 1)[1].split("</section>", 1)[0]
    assert "(25/25)" in section and section.count('name="agency_id"') == 20 and "Trang 1/2" in text(section)
    assert 'method="get" role="search"' in section and 'name="q"' in section
    second = get(client, w, "admin", "/evaluation?year=2026&page=2").split('id="agencies-h"', 1)[1]
    assert second.split("</section>", 1)[0].count('name="agency_id"') == 5
    # Diacritics need not be typed: "tai chinh" finds Sở Tài chính, alone.
    found = get(client, w, "admin", "/evaluation?year=2026&q=tai+chinh").split('id="agencies-h"', 1)[1]
    found = found.split("</section>", 1)[0]
    assert "(1/25)" in found and "Sở Tài chính" in found and "Sở Nội vụ" not in found
    assert 'value="tai chinh"' in found
    none = text(get(client, w, "admin", "/evaluation?year=2026&q=zzz"))
    assert "(0/25)" in none and "Không có cơ quan nào phù hợp." in none
    # Opened agencies only; the open form posts the search back, so the redirect keeps it.
    assert open_agency(client, w).status_code == 200
    opened = get(client, w, "admin", "/evaluation?year=2026&show=open").split('id="agencies-h"', 1)[1]
    assert "(1/25)" in opened and "Sở Nội vụ" in opened.split("</section>", 1)[0]
    r = client.post(f"/t/{w.slug}/evaluation/open?year=2026",
                    data={"csrf_token": csrf(html), "agency_id": w.ids["agency2"], "q": "tai", "show": "all",
                          "page": "1"})
    assert r.status_code == 302 and "q=tai" in r.headers["Location"] and "page=" not in r.headers["Location"]
    get(client, w, "admin", "/evaluation?year=2026&page=x")  # a bad page is the first, not a 500


def test_the_lock_warns_of_people_still_within_their_appeal_window(clean_app, proc, client, clock):
    """AG decided its staff on 3 December (3 people classified, 15 days to appeal): locking
    the year then would end their appeals before 18/12/2026, and the confirmation says so;
    once the window has passed it says nothing of it."""
    from tests.classification.test_evaluation_procedure import step

    w = proc
    assert open_agency(client, w).status_code == 200
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            assert step(client, w, who, name, kind).status_code == 200, (name, kind)
    assert client.post(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision"),
                       json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h("head")).status_code == 201
    words = text(get(client, w, "admin", "/classification/2026/finalize"))
    assert ("3 người còn trong hạn khiếu nại mức xếp loại đã quyết định, muộn nhất đến hết ngày 18/12/2026: khóa năm "
            "lúc này sẽ chấm dứt quyền khiếu nại của họ trước thời hạn.") in words
    clock.set(2026, 12, 19, 9, 0)
    assert "còn trong hạn khiếu nại" not in text(get(client, w, "admin", "/classification/2026/finalize"))


def test_levels_read_as_words_in_english_and_as_abbreviations_in_vietnamese(clean_app, world, client):
    """An English reader met HTXS/HTT/HT/KHT, Vietnamese legal abbreviations: English pages
    show the word with the abbreviation in its tooltip; Vietnamese pages, the lists' values
    and the API keep the codes."""
    set_totals(clean_app, world, TOTALS_2026)
    run(client, world)
    rows = client.get(world.url("/classifications"), query_string={"year": 2026, "lang": "en"},
                      headers=world.h("admin")).get_json()
    assert {r["level"] for r in rows} >= {"HTXS", "KHT"} and {r["level"] for r in rows} <= {"HTXS", "HTT", "HT", "KHT"}
    english = get(client, world, "admin", "/classification/province?year=2026&lang=en")
    counts = english.split('class="counts"', 1)[1].split("</thead>", 1)[0]
    assert re.findall(r"<th scope=\"col\">(.*?)</th>", counts)[1:5] == [
        '<abbr title="HTXS">Excellent</abbr>', '<abbr title="HTT">Good</abbr>', '<abbr title="HT">Completed</abbr>',
        '<abbr title="KHT">Not completed</abbr>']
    assert 'data-label="Excellent (HTXS)"' in english
    vietnamese = get(client, world, "admin", "/classification/province?year=2026&lang=vi")
    counts = vietnamese.split('class="counts"', 1)[1].split("</thead>", 1)[0]
    assert re.findall(r"<th scope=\"col\">(.*?)</th>", counts)[1:5] == ["HTXS", "HTT", "HT", "KHT"]
    assert "<abbr" not in vietnamese
