"""What the audit log was done to, named for an inspector (both databases): on the page,
in the CSV/XLSX export and in the API, `employee 208` reads "Nhân sự · Người staff
(STAFF)", a work item its title, owner and day; a deleted object keeps a name; another
tenant's objects are never named; the page's statements do not grow with its rows; and
the person filter finds everything done to or by someone."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import unit_of_work
from core.audit.exports import HEADERS
from core.audit.models import AuditEvent
from core.audit.services import record
from core.audit.views import PAGE_SIZE
from core.bonus.models import BonusRun
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.tenancy import tenant_context
from tests.work.test_work_pages import sign_in
from tests.work.test_work_support import build, count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)

OBJECT = re.compile(r'<td class="object( deleted)?" data-label="[^"]*">(.*?)</td>', re.S)
KIND = re.compile(r'<span class="kind">(.*?)</span>')
NAME = re.compile(r'<strong class="name">(.*?)</strong>')
RAW = re.compile(r'<code class="raw muted"[^>]*>(.*?)</code>')


def page_objects(html: str) -> dict[str, tuple[str, str, bool]]:
    """Each row's object on the page, keyed by its raw "type #id": (kind, name, deleted)."""
    out = {}
    for deleted, cell in OBJECT.findall(html):
        raw = RAW.search(cell)
        if raw is None:
            continue
        name = NAME.search(cell)
        out[htmllib.unescape(raw.group(1))] = (htmllib.unescape(KIND.search(cell).group(1)),
                                               htmllib.unescape(name.group(1)) if name else "", bool(deleted))
    return out


@pytest.fixture
def named(clean_app, client, world, clock):
    """The work world, with a work item of staff's, a bonus run, a classification year, a
    month, staff's login, and an employee deleted since (with and without a name)."""
    item = declare(client, world, "staff", title="Báo cáo quý III", work_date="2026-10-14")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        run = BonusRun(year=2026, requested_by="user:1:admin", status="done")
        db.session.add(run)
        db.session.flush()
        world.ids["run"] = run.id
        record("bonus.run", "bonus_run", run.id, after={"fund": 1000})
        record("classification.run", "classification_year", 2026)
        record("scores.recalculate", "period", "2026-10")
        record("plugin.thing", None, None)  # an action without a name, no object
        record("user.roles", "user", world.principals["staff"].id, after={"roles": ["employee"]})
        record("evaluation.meeting", "evaluation_step", f"2026:{world.ids['staff']}:meeting")
        gone = org.create_employee({"code": "TAM", "full_name": "Trần Thị Tạm", "unit_id": world.ids["dept"],
                                    "position_code": "CV"})
        db.session.flush()
        world.ids["gone"] = gone.id
        org.delete_employee(gone)
        # An id whose event carried no name (deleted since): the id is what is left.
        record("employee.update", "employee", 987654321, after={"is_leader": True})
        unit_of_work.commit()
    world.ids["item"] = item["id"]
    return world


def expected(w) -> dict[str, tuple[str, str]]:
    """The exact kind and name of each object type the fixture touched."""
    i = w.ids
    return {
        f"employee #{i['staff']}": ("Nhân sự", "Người staff (STAFF)"),
        f"user #{w.principals['staff'].id}": ("Tài khoản", "Người staff (STAFF), tài khoản staff"),
        f"work_item #{i['item']}": ("Công việc", "“Báo cáo quý III” của Người staff, ngày 14/10/2026"),
        f"unit #{i['dept']}": ("Đơn vị", "Phòng Một (AG-P1)"),
        f"position #{i['pos_CV']}": ("Vị trí việc làm", "Chuyên viên (CV)"),
        f"task_type #{i['HT01']}": ("Loại công việc", "HT01 — Giải quyết hồ sơ hộ tịch"),
        f"bonus_run #{i['run']}": ("Đợt chia thưởng", f"Chia thưởng năm 2026 #{i['run']}"),
        "classification_year #2026": ("Xếp loại", "Xếp loại năm 2026"),
        "period #2026-10": ("Kỳ", "tháng 10/2026"),
        f"evaluation_step #2026:{i['staff']}:meeting": ("Bước đánh giá", "Người staff (STAFF), năm 2026, họp tập thể"),
        f"employee #{i['gone']}": ("Nhân sự", "Trần Thị Tạm (TAM) (đã xóa)"),
        "employee #987654321": ("Nhân sự", "đã xóa, #987654321"),
    }


def test_the_page_names_each_object(clean_app, client, named):
    sign_in(client, named, "auditor")
    response = client.get(f"/t/{named.slug}/admin/audit")
    assert response.status_code == 200
    shown = page_objects(response.get_data(as_text=True))
    for raw, (kind, name) in expected(named).items():
        assert shown[raw][:2] == (kind, name), raw
    assert shown[f"employee #{named.ids['gone']}"][2] and shown["employee #987654321"][2]
    assert not shown[f"employee #{named.ids['staff']}"][2]
    # The action as read, the stored one beside it; an action without a name as stored.
    page = response.get_data(as_text=True)
    assert '<span class="what">Kê khai công việc</span> <code>work_item.create</code>' in page
    assert '<span class="what">Xóa nhân sự</span> <code>employee.delete</code>' in page
    assert '<td class="action" data-label="Hành động"><code>plugin.thing</code></td>' in page
    # The details say what changed, field by field, Vietnamese letters as written.
    assert ('<dt><span title="roles">Vai trò đăng nhập</span></dt><dd><ins><code>[&#34;employee&#34;]</code></ins></dd>'
            in page)
    deleted = page.split(f"employee #{named.ids['gone']}</code>", 1)[1].split("</tr>", 1)[0]
    assert '<dt><span title="full_name">Họ và tên</span></dt><dd><del><code>Trần Thị Tạm</code></del></dd>' in deleted
    assert "\\u" not in page


def test_a_sign_ins_channel_reads_in_words(clean_app, client, named):
    """A sign-in's "via" was shown as the stored "page"; it reads as the actor column words it."""
    with clean_app.app_context(), tenant_context(named.tenant_id):
        record("auth.login", "user", named.principals["staff"].id, after={"via": "page"})
        unit_of_work.commit()
    sign_in(client, named, "auditor")
    page = client.get(f"/t/{named.slug}/admin/audit", query_string={"action": "auth.login"}).get_data(as_text=True)
    assert ('<dt><span title="via">Thực hiện qua</span></dt><dd><ins><span class="muted">qua trang web</span></ins></dd>'
            in page)


def test_ids_in_a_change_read_as_the_rows_they_name(clean_app, client, named):
    """A person moved between units read "unit_id 12 → 13": the inspector had to look the
    numbers up. Each side reads by the unit's name and code, the id kept; an id no row of
    this tenant has stays a number; the page still reads one query per object type."""
    from core.org.models import OrgUnit

    i = named.ids
    with clean_app.app_context(), tenant_context(named.tenant_id):
        other = db.session.get(OrgUnit, i["other"])
        other_name = f"{other.name} ({other.code})"
        record("employee.update", "employee", i["staff"],
               before={"unit_id": i["dept"], "manager_id": None}, after={"unit_id": i["other"], "manager_id": 99999})
        unit_of_work.commit()
    sign_in(client, named, "auditor")
    url = f"/t/{named.slug}/admin/audit"
    with count_queries(clean_app) as counted:
        page = client.get(url, query_string={"action": "employee.update"}).get_data(as_text=True)
    row = page.split(f"employee #{i['staff']}</code>", 1)[1].split("</tr>", 1)[0]
    assert (f'<dt><span title="unit_id">Đơn vị (mã số)</span></dt><dd><del><span class="muted">Phòng Một (AG-P1) · '
            f'#{i["dept"]}</span></del> → <ins><span class="muted">{htmllib.escape(other_name, quote=False)} · '
            f'#{i["other"]}</span></ins></dd>') in row
    assert "<ins><code>99999</code></ins>" in row
    unit_reads = [s for s in counted if "FROM org_units" in s]
    assert len(unit_reads) == 1, unit_reads


def test_switching_language_keeps_the_page_and_its_filters(clean_app, client, named):
    """"English" on a filtered log (or an import's result, a month) was `?lang=en` alone:
    the reader landed on the unfiltered log. The links keep the query, with the language."""
    sign_in(client, named, "auditor")
    page = client.get(f"/t/{named.slug}/admin/audit",
                      query_string={"action": "auth.login", "employee": "staff", "lang": "vi"}).get_data(as_text=True)
    assert re.search(r'<a href="\?action=auth.login&amp;employee=staff&amp;lang=en"\s+lang="en">English</a>', page)
    assert re.search(r'<a href="\?action=auth.login&amp;employee=staff&amp;lang=vi"\s+aria-current="true"', page)
    english = client.get(f"/t/{named.slug}/admin/audit?action=auth.login&employee=staff&lang=en").get_data(as_text=True)
    assert "Action: <strong>Signed in</strong>" in english


def test_an_update_shows_only_what_changed():
    from core.audit.views import changes

    assert changes({"a": 1, "b": "Hà", "c": None}, {"a": 2, "b": "Hà", "d": [1]}) == \
        [("a", "1", "2"), ("d", None, "[1]")]
    assert changes(None, {"title": "Báo cáo", "note": None}) == [("title", None, "Báo cáo")]
    assert changes({"x": {"y": "ễ"}}, None) == [("x", '{"y": "ễ"}', None)]
    assert changes([1], {"a": 1}) == []


def test_every_action_the_code_records_has_a_name():
    """A census of record(...) calls in core/: each action (with the values an f-string's
    part takes) is named in core/audit/actions.py, so no event reads as a bare code."""
    import ast
    from pathlib import Path

    from core import PROJECT_ROOT
    from core.audit.actions import ACTIONS
    from core.classification.models import STEPS

    expansions = {"work_item.{action}": ["update", "complete", "cancel"], "evaluation.{step}": list(STEPS)}
    recorded = set()
    for path in Path(PROJECT_ROOT, "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record"):
                continue
            first = node.args[0]
            if isinstance(first, ast.JoinedStr):
                pattern = ast.unparse(first)[2:-1]
                recorded.update(pattern.split("{")[0] + v for v in expansions[pattern])
            else:
                recorded.update(c.value for c in ast.walk(first) if isinstance(c, ast.Constant)
                                and isinstance(c.value, str) and "." in c.value)
    assert len(recorded) > 80
    assert sorted(recorded - ACTIONS.keys()) == []


def test_the_page_in_english(clean_app, client, named):
    sign_in(client, named, "auditor")
    with client.session_transaction() as session:
        session["lang"] = "en"
    shown = page_objects(client.get(f"/t/{named.slug}/admin/audit").get_data(as_text=True))
    assert shown[f"user #{named.principals['staff'].id}"] == ("Login account", "Người staff (STAFF), login staff",
                                                              False)
    assert shown[f"work_item #{named.ids['item']}"][:2] == ("Work item", "“Báo cáo quý III” of Người staff, 14/10/2026")
    assert shown["employee #987654321"][:2] == ("Staff member", "deleted, #987654321")


def _file_objects(rows: list[list]) -> dict[str, tuple[str, str]]:
    return {f"{r[4]} #{r[5]}": (r[13], r[14]) for r in rows if r[4]}


def test_the_export_names_each_object_in_two_new_last_columns(clean_app, client, named):
    assert HEADERS[:12] == ["Số thứ tự (seq)", "Thời điểm (at, UTC)", "Người thực hiện (actor)", "Hành động (action)",
                            "Loại đối tượng (object_type)", "Mã đối tượng (object_id)", "Trước khi đổi (before, JSON)",
                            "Sau khi đổi (after, JSON)", "Mã băm sự kiện trước (prev_hash)", "Mã băm (hash)",
                            "Mã tổ chức (tenant_id)", "Họ tên người thực hiện"]
    assert HEADERS[12:15] == ["Mã băm nội dung (content_hash)", "Loại đối tượng", "Đối tượng"]
    url = f"/api/v1/tenants/{named.slug}/audit-events/export"
    text = client.get(url, query_string={"format": "csv"}, headers=named.h("auditor")).data.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == HEADERS
    in_csv = _file_objects(rows)
    workbook = load_workbook(io.BytesIO(client.get(url, headers=named.h("auditor")).data), read_only=True)
    in_xlsx = _file_objects([list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)][1:])
    for raw, want in expected(named).items():
        assert in_csv[raw] == want, raw
        assert in_xlsx[raw] == want, raw
    # The file is Vietnamese whatever the page's language, as its headers are.
    sign_in(client, named, "auditor")
    with client.session_transaction() as session:
        session["lang"] = "en"
    text = client.get(f"/t/{named.slug}/admin/audit/export?format=csv").data.decode("utf-8-sig")
    assert _file_objects(list(csv.reader(io.StringIO(text)))[1:])[f"work_item #{named.ids['item']}"] == \
        ("Công việc", "“Báo cáo quý III” của Người staff, ngày 14/10/2026")


def test_the_api_names_each_object_as_new_fields(clean_app, client, named):
    r = client.get(f"/api/v1/tenants/{named.slug}/audit-events", query_string={"per_page": 500},
                   headers=named.h("auditor"))
    assert r.status_code == 200
    events = r.get_json()
    by_raw = {f"{e['object_type']} #{e['object_id']}": (e["object_kind"], e["object_label"]) for e in events
              if e["object_type"]}
    for raw, want in expected(named).items():
        assert by_raw[raw] == want, raw
    # The stored fields are all still there, unchanged.
    assert {"id", "seq", "at", "actor", "action", "object_type", "object_id", "before", "after", "hash",
            "prev_hash"} <= set(events[0])


def test_another_tenants_objects_are_never_named(clean_app, client, named):
    other = build(clean_app, "tinh-khac")
    with clean_app.app_context(), tenant_context(other.tenant_id):
        their = db.session.scalar(select(Employee).where(Employee.id == other.ids["staff"]))
        assert their.full_name == "Người staff"  # the same name: the code tells them apart below
        their_unit = other.ids["dept"]
    with clean_app.app_context(), tenant_context(named.tenant_id):
        # Ids of the other tenant written into this tenant's log (as a forged event would).
        record("employee.update", "employee", other.ids["staff"])
        record("unit.update", "unit", their_unit)
        record("user.roles", "user", other.principals["admin"].id)
        unit_of_work.commit()
    sign_in(client, named, "auditor")
    shown = page_objects(client.get(f"/t/{named.slug}/admin/audit").get_data(as_text=True))
    assert shown[f"employee #{other.ids['staff']}"] == ("Nhân sự", f"đã xóa, #{other.ids['staff']}", True)
    assert shown[f"unit #{their_unit}"] == ("Đơn vị", f"đã xóa, #{their_unit}", True)
    assert shown[f"user #{other.principals['admin'].id}"] == ("Tài khoản", f"đã xóa, #{other.principals['admin'].id}",
                                                              True)
    # Nor can this tenant's inspector reach the other's log, nor name its people in a filter.
    assert client.get(f"/t/{other.slug}/admin/audit").status_code == 404
    assert client.get(f"/api/v1/tenants/{other.slug}/audit-events", headers=named.h("auditor")).status_code == 404
    refused = client.get(f"/t/{named.slug}/admin/audit?employee=employee:{other.ids['outsider']}")
    assert refused.status_code == 422


def test_the_page_makes_as_many_statements_for_a_full_page_as_for_16_rows(clean_app, client, named):
    """One query per object type on the page, never one per row."""
    sign_in(client, named, "auditor")
    url = f"/t/{named.slug}/admin/audit?action=test.many"
    types = [("employee", named.ids["staff"]), ("user", named.principals["staff"].id),
             ("work_item", named.ids["item"]), ("unit", named.ids["dept"]), ("task_type", named.ids["HT01"]),
             ("leave", 424242), ("bonus_run", named.ids["run"]), ("deputy_field", 5)]

    def add(n: int) -> None:
        with clean_app.app_context(), tenant_context(named.tenant_id):
            for k in range(n):
                object_type, object_id = types[k % len(types)]
                record("test.many", object_type, object_id if k % 3 else 900000 + k)
            unit_of_work.commit()

    client.get(url)  # warm: the first request of a session loads what later ones reuse

    def statements() -> list[str]:
        with count_queries(clean_app) as seen:
            response = client.get(url)
        assert response.status_code == 200
        return seen

    add(16)
    few = statements()
    add(PAGE_SIZE - 16)  # a full page
    many = statements()
    assert len(OBJECT.findall(client.get(url).get_data(as_text=True))) == PAGE_SIZE
    assert len(many) == len(few), (len(few), len(many))
    # The names were looked up (a type's query is there), once per type.
    assert sum("FROM work_items" in s for s in many) == 1 and sum("FROM task_types" in s for s in many) == 1


def test_the_person_filter_finds_everything_done_to_or_by_them(clean_app, client, named):
    sign_in(client, named, "auditor")

    def theirs(who: str) -> set[tuple]:
        employee, user = str(named.ids[who]), named.principals[who].id
        items = {str(named.ids["item"])} if who == "staff" else set()
        with clean_app.app_context(), tenant_context(named.tenant_id):
            return {(e.action, e.object_type, e.object_id) for e in db.session.scalars(select(AuditEvent))
                    if e.actor.startswith(f"user:{user}:") or (e.object_type == "employee" and e.object_id == employee)
                    or (e.object_type == "user" and e.object_id == str(user))
                    or (e.object_type == "work_item" and e.object_id in items)
                    or (e.object_type == "evaluation_step" and e.object_id.split(":")[1] == employee)}

    def shown(page: str) -> set[tuple]:
        return set(re.findall(r'<td class="action" data-label="[^"]*">(?:<span class="what">[^<]*</span> )?'
                              r'<code>([^<]*)</code></td>\s*'
                              r'<td class="object[^"]*" data-label="[^"]*">(?:(?!</td>).)*?'
                              r'<code class="raw muted"[^>]*>([^ <]*) #([^<]*)</code>', page, re.S))

    mine = theirs("staff")
    assert ("work_item.create", "work_item", str(named.ids["item"])) in mine
    assert ("user.roles", "user", str(named.principals["staff"].id)) in mine
    assert ("employee.create", "employee", str(named.ids["staff"])) in mine
    assert ("evaluation.meeting", "evaluation_step", f"2026:{named.ids['staff']}:meeting") in mine
    # By id, or by a code (any case) that is no part of anyone else's name: exactly theirs.
    for value, want in ((f"employee:{named.ids['staff']}", mine), ("staff2", theirs("staff2")),
                        ("STAFF2", theirs("staff2")),
                        # Part of a name finds everyone it names: "Người staff" and "Người staff2".
                        ("STAFF", mine | theirs("staff2"))):
        response = client.get(f"/t/{named.slug}/admin/audit", query_string={"employee": value})
        assert response.status_code == 200, value
        page = response.get_data(as_text=True)
        assert shown(page) == want, value
        assert f'href="/t/{named.slug}/admin/audit/export?format=csv&amp;employee=' in page
    # The export under the filter has the same events.
    text = client.get(f"/t/{named.slug}/admin/audit/export?format=csv&employee=employee:{named.ids['staff']}"
                      ).data.decode("utf-8-sig")
    assert {(r[3], r[4], r[5]) for r in list(csv.reader(io.StringIO(text)))[1:]} == mine
    # And the API's.
    api = client.get(f"/api/v1/tenants/{named.slug}/audit-events",
                     query_string={"employee": "Người staff2", "per_page": 500}, headers=named.h("auditor")).get_json()
    assert {(e["action"], e["object_type"], e["object_id"]) for e in api} == theirs("staff2")


def test_the_person_filter_finds_who_changed_their_classification(clean_app, client, named):
    """"Who changed this person's level, when and from where": a change of their year's
    level (keyed "<year>:<employee id>") is theirs; another person's whose id merely ends
    or begins with the same digits is not."""
    staff = named.ids["staff"]
    with clean_app.app_context(), tenant_context(named.tenant_id):
        record("classification.override", "employee_classification", f"2026:{staff}",
               before={"level": "HT"}, after={"level": "HTT", "reason": "Đề án chuyển đổi số"},
               actor="user:1:admin")
        record("classification.override", "employee_classification", f"2026:{staff}0", after={"level": "KHT"})
        record("classification.override", "employee_classification", f"2026:1{staff}", after={"level": "KHT"})
        record("evaluation.self", "evaluation_step", f"2026:{staff}0:self", after={"level": "HTXS"})
        unit_of_work.commit()
    sign_in(client, named, "auditor")
    page = client.get(f"/t/{named.slug}/admin/audit",
                      query_string={"employee": f"employee:{staff}", "action": "classification.override"}
                      ).get_data(as_text=True)
    assert re.findall(r'<code class="raw muted"[^>]*>([^<]*)</code>', page) == [
        f"employee_classification #2026:{staff}"]
    everything = client.get(f"/t/{named.slug}/admin/audit", query_string={"employee": f"employee:{staff}"}
                            ).get_data(as_text=True)
    assert f"#2026:{staff}0" not in everything and f"#2026:1{staff}<" not in everything
    assert f"evaluation_step #2026:{staff}:meeting" in everything


def test_a_person_nobody_is_is_a_field_error(clean_app, client, named):
    sign_in(client, named, "auditor")
    for value, message in (("Không Ai Cả", "Không có nhân sự nào của tỉnh khớp với “Không Ai Cả”."),
                           ("employee:99999999", "Không có nhân sự nào của tỉnh khớp với “employee:99999999”.")):
        response = client.get(f"/t/{named.slug}/admin/audit", query_string={"employee": value})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, value
        assert htmllib.unescape(re.search(r'<p class="error" id="employee-err">([^<]*)</p>', page).group(1)) == message
        assert 'aria-invalid="true"' in re.search(r'<input id="employee"[^>]*>', page).group(0)
        assert "Xuất tệp CSV" not in page  # no export of a filter that was refused
        assert client.get(f"/t/{named.slug}/admin/audit/export", query_string={"employee": value}).status_code == 422
    too_long = client.get(f"/t/{named.slug}/admin/audit", query_string={"employee": "x" * 201})
    assert too_long.status_code == 422 and 'id="employee-err"' in too_long.get_data(as_text=True)
    api = client.get(f"/api/v1/tenants/{named.slug}/audit-events", query_string={"employee": "x" * 201},
                     headers=named.h("auditor"))
    assert api.status_code == 422 and "employee" in api.get_json()["errors"]
