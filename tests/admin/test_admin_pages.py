"""The tenant admin's screens (core/admin): each screen's happy path, and bad input that
shows its error beside the field, keeps what was typed and changes nothing — on both
databases."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.catalogue.models import Competency, NormVersion, TaskType
from core.extensions import db
from core.org import services as org
from core.org.models import Employee, JobPosition, OrgUnit
from core.tenancy import tenant_context
from core.work.models import ClosedPeriod
from tests.factories import build_world


def sign_in(app, client, world, username: str) -> None:
    """A page session for `username` (the login page itself is tested elsewhere)."""
    from core.auth.services import principal_for_user

    with app.app_context(), tenant_context(world.tenant_id):
        user_id = principal_for_user(db.session.scalar(select(User).where(User.username == username))).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def error_of(html: str, field: str) -> str:
    """The error shown beside `field` (the <p> its input points at)."""
    match = re.search(rf'<p class="error" id="{re.escape(field)}-err">([^<]*)</p>', html)
    assert match, f"no error beside {field}"
    return match.group(1)


def value_of(html: str, field: str) -> str:
    match = re.search(rf'<input id="{re.escape(field)}" name="{re.escape(field)}"[^>]*value="([^"]*)"', html)
    assert match, f"no input {field}"
    return match.group(1)


@pytest.fixture
def world(clean_app, client):
    w = build_world(clean_app, "tinh-a", client)
    sign_in(clean_app, client, w, "admin")
    return w


@pytest.fixture
def token(client, world) -> str:
    return csrf(client.get(f"/t/{world.slug}/admin/").get_data(as_text=True))


def count(app, world, model, *where) -> int:
    with app.app_context(), tenant_context(world.tenant_id):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def actions(app, world) -> list[str]:
    with app.app_context(), tenant_context(world.tenant_id):
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


# ---------------------------------------------------------------- hub and access


def test_hub_links_every_screen_and_home_links_the_hub(client, world):
    html = client.get(f"/t/{world.slug}/admin/").get_data(as_text=True)
    for path in ("employees", "units", "positions", "task-types", "competencies", "periods", "components", "users"):
        assert f'href="/t/{world.slug}/admin/{path}"' in html, path
    english = client.get(f"/t/{world.slug}/admin/?lang=en").get_data(as_text=True)
    assert "Employees and logins" in english and "Closing months" in english
    client.get(f"/t/{world.slug}/admin/?lang=vi")
    home = client.get(f"/t/{world.slug}/").get_data(as_text=True)
    assert f'href="/t/{world.slug}/admin/"' in home and "Cán bộ, đơn vị và danh mục" in home


@pytest.mark.parametrize("who", ["manager", "staff", "auditor"])
def test_the_screens_are_for_tenant_admins(clean_app, client, world, who):
    sign_in(clean_app, client, world, who)
    assert client.get(f"/t/{world.slug}/admin/employees").status_code == 403
    assert f'href="/t/{world.slug}/admin/"' not in client.get(f"/t/{world.slug}/").get_data(as_text=True)


# ---------------------------------------------------------------- employees and logins


def test_employee_list_is_paged_and_searched(clean_app, client, world):
    html = client.get(f"/t/{world.slug}/admin/employees").get_data(as_text=True)
    assert "6/6" in html and "Người staff2" in html and "Trang 1/" not in html  # six people, one page
    found = client.get(f"/t/{world.slug}/admin/employees?q=staff2").get_data(as_text=True)
    assert "1/1" in found and "Người staff2" in found and "Người manager" not in found
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.org import services as org

        for i in range(50):
            org.create_employee({"code": f"E{i:03d}", "full_name": f"Zz {i:03d}", "unit_id": world.ids["dept"]})
        unit_of_work.commit()
    first = client.get(f"/t/{world.slug}/admin/employees").get_data(as_text=True)
    assert "30/56" in first and "Trang 1/2" in first and "Zz 023" in first and "Zz 024" not in first
    second = client.get(f"/t/{world.slug}/admin/employees?page=2").get_data(as_text=True)
    # By name: the 6 "Người …" and Zz 000–023 fill page one (thirty, a few phone screens);
    # Zz 024–049 are page two.
    assert "26/56" in second and "Zz 024" in second and "Zz 049" in second and "Zz 023" not in second


def test_admin_creates_an_employee_with_a_login(clean_app, client, world, token):
    response = client.post(f"/t/{world.slug}/admin/employees/new", data={
        "csrf_token": token, "code": "CV-09", "full_name": "Trần Thị Mai", "unit_id": str(world.ids["dept"]),
        "position_code": "CV", "manager_code": "MANAGER", "salary_coefficient": "3,00",
        "start_date": "2026-01-05", "email": "mai@example.vn", "username": "mai",
        "password": "Song-Huong-2026-x", "roles": ["employee", "manager"]})
    # Back on the list found by the new code (a name can sort onto any page).
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/admin/employees?saved=created&q=CV-09")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        e = db.session.scalar(select(Employee).where(Employee.code == "CV-09"))
        assert (e.full_name, e.unit_id, e.position.code, e.manager_id, str(e.salary_coefficient), e.start_date,
                e.user.username, e.user.roles) == ("Trần Thị Mai", world.ids["dept"], "CV", world.ids["manager"],
                                                   "3.00", date(2026, 1, 5), "mai", ["employee", "manager"])
    assert actions(clean_app, world)[-1] == "employee.create"
    assert client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "mai",
                                                   "password": "Song-Huong-2026-x"}).status_code == 200


def test_bad_employee_shows_errors_beside_fields_and_keeps_input(clean_app, client, world, token):
    before = count(clean_app, world, Employee), count(clean_app, world, User), len(actions(clean_app, world))
    form = {"csrf_token": token, "code": "CV 10", "full_name": "Lê Văn Bình", "unit_id": str(world.ids["dept"]),
            "manager_code": "NOBODY", "email": "not-an-email", "username": "x", "password": "p"}
    response = client.post(f"/t/{world.slug}/admin/employees/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "code") == "Dùng 1–64 ký tự: chữ không dấu, chữ số, &#39;.&#39;, &#39;_&#39; hoặc &#39;-&#39;."
    assert error_of(html, "manager_code") == "Không có cán bộ nào mang mã này."
    assert error_of(html, "email") == "Địa chỉ email không hợp lệ."
    assert value_of(html, "full_name") == "Lê Văn Bình" and value_of(html, "code") == "CV 10"
    assert 'value="p"' not in html  # a typed password is never sent back
    # The schema is satisfied, the service refuses: a taken username, beside its field.
    form.update(code="CV-10", manager_code="", email="", username="staff", password="Song-Huong-2026-x")
    taken = client.post(f"/t/{world.slug}/admin/employees/new", data=form)
    assert taken.status_code == 422 and error_of(taken.get_data(as_text=True), "username") == \
        "Tên đăng nhập này đã được dùng."
    after = count(clean_app, world, Employee), count(clean_app, world, User), len(actions(clean_app, world))
    assert after == before


def test_admin_edits_an_employee_and_their_roles(clean_app, client, world, token):
    url = f"/t/{world.slug}/admin/employees/{world.ids['staff']}"
    page = client.get(url).get_data(as_text=True)
    assert value_of(page, "code") == "STAFF" and value_of(page, "manager_code") == "MANAGER"
    response = client.post(url, data={"csrf_token": token, "code": "STAFF", "full_name": "Người staff đổi tên",
                                      "unit_id": str(world.ids["other"]), "position_code": "CV",
                                      "manager_code": "", "salary_coefficient": "2.67",
                                      "roles": ["employee", "auditor"]})
    assert response.status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        e = db.session.get(Employee, world.ids["staff"])
        assert (e.full_name, e.unit_id, e.manager_id, str(e.salary_coefficient), e.user.roles) == (
            "Người staff đổi tên", world.ids["other"], None, "2.67", ["employee", "auditor"])
    assert actions(clean_app, world)[-2:] == ["employee.update", "user.roles"]


def test_bad_edit_changes_nothing(clean_app, client, world, token):
    url = f"/t/{world.slug}/admin/employees/{world.ids['staff']}"
    before = len(actions(clean_app, world))
    response = client.post(url, data={"csrf_token": token, "code": "STAFF", "full_name": "Đổi tên",
                                      "unit_id": str(world.ids["dept"]), "start_date": "01/05/2026",
                                      "end_date": "30/04/2026", "roles": ["employee"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and error_of(html, "end_date") == "Ngày kết thúc trước ngày bắt đầu."
    assert value_of(html, "full_name") == "Đổi tên" and value_of(html, "end_date") == "30/04/2026"
    # A manager of one's own report would be a cycle: the service says so beside the field.
    cycle = client.post(f"/t/{world.slug}/admin/employees/{world.ids['manager']}", data={
        "csrf_token": token, "code": "MANAGER", "full_name": "Người manager", "unit_id": str(world.ids["dept"]),
        "manager_code": "STAFF", "roles": ["employee", "manager"]})
    assert cycle.status_code == 422 and error_of(cycle.get_data(as_text=True), "manager_code") == \
        "Tạo thành vòng lặp quản lý."
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(Employee, world.ids["staff"]).full_name == "Người staff"
        assert db.session.get(Employee, world.ids["manager"]).manager_id is None
    assert len(actions(clean_app, world)) == before


def test_admin_deactivates_and_reactivates_a_login(clean_app, client, world, token):
    url = f"/t/{world.slug}/admin/employees/{world.ids['staff']}/login"
    assert client.post(url, data={"csrf_token": token, "active": "0"}).status_code == 302
    # The token the staff member held is revoked, and signing in is refused.
    assert client.get(f"/api/v1/tenants/{world.slug}/employees", headers=world.headers("staff")).status_code == 401
    refused = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "staff",
                                                      "password": "Correct-Horse-42"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "account_deactivated"
    page = client.get(f"/t/{world.slug}/admin/employees/{world.ids['staff']}").get_data(as_text=True)
    assert "đã khóa" in page and "Mở lại tài khoản" in page
    assert client.post(url, data={"csrf_token": token, "active": "1"}).status_code == 302
    assert client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "staff",
                                                   "password": "Correct-Horse-42"}).status_code == 200
    assert [a for a in actions(clean_app, world) if a.startswith("user.")] == ["user.deactivate", "user.activate"]


def test_an_admin_cannot_deactivate_their_own_login(clean_app, client, world, token):
    response = client.post(f"/t/{world.slug}/admin/employees/{world.ids['admin']}/login",
                           data={"csrf_token": token, "active": "0"})
    assert response.status_code == 409
    assert error_of(response.get_data(as_text=True), "active") == "Đây là tài khoản của chính bạn."
    assert count(clean_app, world, User, User.username == "admin", User.active.is_(True)) == 1


def test_employee_page_offers_the_existing_password_reset(client, world):
    html = client.get(f"/t/{world.slug}/admin/employees/{world.ids['staff']}").get_data(as_text=True)
    assert re.search(rf'hx-post="/t/{world.slug}/admin/users/\d+/password-reset"', html)


# ---------------------------------------------------------------- units and positions


def test_admin_creates_and_moves_a_unit(clean_app, client, world, token):
    html = client.get(f"/t/{world.slug}/admin/units").get_data(as_text=True)
    assert 'class="depth-1"' in html and "Phòng Một" in html
    response = client.post(f"/t/{world.slug}/admin/units", data={
        "csrf_token": token, "code": "AG-P3", "name": "Phòng Ba", "kind": "department",
        "parent_id": str(world.ids["agency"])})
    assert response.status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "AG-P3"))
        unit_id = unit.id
        assert (unit.name, unit.kind, unit.parent_id) == ("Phòng Ba", "department", world.ids["agency"])
    moved = client.post(f"/t/{world.slug}/admin/units/{unit_id}", data={
        "csrf_token": token, "code": "AG-P3", "name": "Phòng Ba (mới)", "kind": "department",
        "parent_id": str(world.ids["dept"])})
    assert moved.status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        unit = db.session.get(OrgUnit, unit_id)
        assert (unit.name, unit.parent_id) == ("Phòng Ba (mới)", world.ids["dept"])
    assert actions(clean_app, world)[-2:] == ["unit.create", "unit.update"]


def test_admin_flags_a_paying_unit_and_an_edit_keeps_the_flag(clean_app, client, world, token):
    created = client.post(f"/t/{world.slug}/admin/units", data={
        "csrf_token": token, "code": "XA-1", "name": "Xã Một", "kind": "commune", "is_paying_unit": "y"})
    assert created.status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "XA-1"))
        unit_id, flagged = unit.id, unit.is_paying_unit
    assert flagged is True
    html = client.get(f"/t/{world.slug}/admin/units/{unit_id}").get_data(as_text=True)
    assert re.search(r'name="is_paying_unit"[^>]*checked', html) and "Đơn vị dự toán" in html
    assert "đơn vị dự toán" in client.get(f"/t/{world.slug}/admin/units").get_data(as_text=True)
    # The edit form posts the box as it is shown: ticked keeps the flag, unticked clears it.
    kept = {"csrf_token": token, "code": "XA-1", "name": "Xã Một (mới)", "kind": "commune", "is_paying_unit": "y"}
    assert client.post(f"/t/{world.slug}/admin/units/{unit_id}", data=kept).status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(OrgUnit, unit_id).is_paying_unit is True
    cleared = {k: v for k, v in kept.items() if k != "is_paying_unit"}
    assert client.post(f"/t/{world.slug}/admin/units/{unit_id}", data=cleared).status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(OrgUnit, unit_id).is_paying_unit is False


def test_admin_records_the_streamlining_protections_on_the_employee_form(clean_app, client, world, token):
    url = f"/t/{world.slug}/admin/employees/{world.ids['staff']}"
    html = client.get(url).get_data(as_text=True)
    assert "Không thuộc diện tinh giản biên chế trong thời gian (Nghị định 154/2025)" in html
    with clean_app.app_context(), tenant_context(world.tenant_id):
        e = db.session.get(Employee, world.ids["staff"])
        unit_id, code = e.unit_id, e.code
    form = {"csrf_token": token, "code": code, "full_name": "Người staff", "unit_id": str(unit_id),
            "salary_coefficient": "2,34", "youngest_child_born_on": "2025-02-03",
            "discipline_review_to": "2026-01-01"}
    bad = client.post(url, data=form)
    assert bad.status_code == 422
    assert error_of(bad.get_data(as_text=True), "discipline_review_to") == "Có ngày kết thúc thì phải có ngày bắt đầu."
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(Employee, world.ids["staff"]).youngest_child_born_on is None
    form["discipline_review_from"] = "2025-12-01"
    assert client.post(url, data=form).status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        e = db.session.get(Employee, world.ids["staff"])
        assert (e.youngest_child_born_on, e.discipline_review_from) == (date(2025, 2, 3), date(2025, 12, 1))
    # A day box shows dd/mm/yyyy.
    assert value_of(client.get(url).get_data(as_text=True), "youngest_child_born_on") == "03/02/2025"


def test_bad_unit_input_changes_nothing(clean_app, client, world, token):
    before = count(clean_app, world, OrgUnit), len(actions(clean_app, world))
    dup = client.post(f"/t/{world.slug}/admin/units", data={"csrf_token": token, "code": "AG-P1", "name": "Trùng",
                                                            "kind": "department"})
    html = dup.get_data(as_text=True)
    assert dup.status_code == 422 and error_of(html, "code") == "Đã có đơn vị mang mã này."
    assert value_of(html, "name") == "Trùng"
    # Moving the agency under its own department would make a cycle (a forged form: the page
    # does not offer it).
    cycle = client.post(f"/t/{world.slug}/admin/units/{world.ids['agency']}", data={
        "csrf_token": token, "code": "AG", "name": "Sở Thử nghiệm", "kind": "agency",
        "parent_id": str(world.ids["dept"])})
    assert cycle.status_code == 422 and error_of(cycle.get_data(as_text=True), "parent_id").startswith(
        "Tạo thành vòng lặp")
    assert (count(clean_app, world, OrgUnit), len(actions(clean_app, world))) == before
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(OrgUnit, world.ids["agency"]).parent_id is None


def test_admin_merges_a_unit_into_another(clean_app, client, world, token, clock):
    url = f"/t/{world.slug}/admin/units/{world.ids['other']}/merge"
    before = len(actions(clean_app, world))
    unconfirmed = client.post(url, data={"csrf_token": token, "into": "AG-P1", "effective_date": "2026-10-01"})
    html = unconfirmed.get_data(as_text=True)
    assert unconfirmed.status_code == 422 and error_of(html, "merge_confirm") == "Hãy đánh dấu ô để xác nhận."
    assert re.search(r'<option value="AG-P1" selected>', html)
    future = client.post(url, data={"csrf_token": token, "into": "AG-P1", "effective_date": "2026-10-15",
                                    "merge_confirm": "1"})
    assert future.status_code == 422 and error_of(future.get_data(as_text=True), "effective_date") == \
        "Việc sáp nhập có hiệu lực từ hôm nay hoặc trước đó; hãy thực hiện đúng vào ngày đó."
    assert len(actions(clean_app, world)) == before
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(Employee, world.ids["outsider"]).unit_id == world.ids["other"]
    done = client.post(url, data={"csrf_token": token, "into": "AG-P1", "effective_date": "2026-10-01",
                                  "merge_confirm": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/units?saved=merged")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(Employee, world.ids["outsider"]).unit_id == world.ids["dept"]
    assert actions(clean_app, world)[-1] == "unit.merge"
    page = client.get(f"/t/{world.slug}/admin/units/{world.ids['other']}").get_data(as_text=True)
    assert "Đã sáp nhập từ ngày 01/10/2026." in page


def test_positions_show_codes_create_and_edit(clean_app, client, world, token):
    html = client.get(f"/t/{world.slug}/admin/positions").get_data(as_text=True)
    assert "<code>CV</code>" in html and "Chuyên môn, nghiệp vụ" in html
    assert client.post(f"/t/{world.slug}/admin/positions", data={
        "csrf_token": token, "code": "VT-KT", "name": "Kế toán viên", "group": "professional"}).status_code == 302
    assert client.post(f"/t/{world.slug}/admin/positions/{world.ids['position']}", data={
        "csrf_token": token, "code": "CV", "name": "Chuyên viên chính", "group": "professional"}).status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        rows = db.session.execute(select(JobPosition.code, JobPosition.name).order_by(JobPosition.code)).all()
        assert [tuple(r) for r in rows] == [("CV", "Chuyên viên chính"), ("VT-KT", "Kế toán viên")]


def test_bad_position_changes_nothing(clean_app, client, world, token):
    response = client.post(f"/t/{world.slug}/admin/positions", data={
        "csrf_token": token, "code": "CV", "name": "Trùng mã", "group": "boss"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and error_of(html, "group").startswith("Phải là một trong:")
    assert value_of(html, "name") == "Trùng mã"
    assert count(clean_app, world, JobPosition) == 1


# ---------------------------------------------------------------- task catalogue


def task_type_form(token: str, **extra) -> dict:
    return {"csrf_token": token, "code": "VB-01", "name": "Soạn thảo văn bản", "group": "B",
            "unit_of_measure": "văn bản", "norm_minutes": "90", "product_weight": "1",
            "level_0": "1", "coefficient_0": "1", "level_1": "2", "coefficient_1": "1.5",
            "position_codes": ["CV"], **extra}


def test_admin_creates_a_task_type_and_versions_its_norm(clean_app, client, world, token):
    assert client.post(f"/t/{world.slug}/admin/task-types/new", data=task_type_form(token)).status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        tt_id = db.session.scalar(select(TaskType.id).where(TaskType.code == "VB-01"))
    listing = client.get(f"/t/{world.slug}/admin/task-types").get_data(as_text=True)
    assert "90 phút / văn bản" in listing and "Soạn thảo văn bản" in listing
    url = f"/t/{world.slug}/admin/task-types/{tt_id}"
    edit = client.get(url).get_data(as_text=True)
    assert value_of(edit, "norm_minutes") == "90" and value_of(edit, "coefficient_1") == "1,5"
    # A rename keeps the norm: no new version.
    assert client.post(url, data=task_type_form(token, name="Soạn thảo văn bản hành chính")).status_code == 302
    assert count(clean_app, world, NormVersion, NormVersion.task_type_id == tt_id) == 1
    # A new norm from 1 March 2026: items before it keep 90 minutes.
    assert client.post(url, data=task_type_form(token, name="Soạn thảo văn bản hành chính", norm_minutes="75",
                                               effective_from="2026-03-01")).status_code \
        == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        versions = db.session.execute(select(NormVersion.effective_from, NormVersion.norm_minutes)
                                      .where(NormVersion.task_type_id == tt_id)
                                      .order_by(NormVersion.effective_from)).all()
        assert [(d, float(m)) for d, m in versions] == [(date(1970, 1, 1), 90.0), (date(2026, 3, 1), 75.0)]
        assert db.session.get(TaskType, tt_id).name == "Soạn thảo văn bản hành chính"
    page = client.get(url).get_data(as_text=True)
    assert "01/03/2026" in page and "từ đầu" in page


def test_bad_task_type_changes_nothing(clean_app, client, world, token):
    response = client.post(f"/t/{world.slug}/admin/task-types/new",
                           data=task_type_form(token, norm_minutes="abc", coefficient_1="-1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "norm_minutes") == "Phải là số."
    assert error_of(html, "complexity_levels") == "Dòng 2 – Hệ số: Phải lớn hơn 0 và không quá 10."
    assert value_of(html, "norm_minutes") == "abc" and value_of(html, "name") == "Soạn thảo văn bản"
    assert 'value="CV" checked' in html
    unknown = client.post(f"/t/{world.slug}/admin/task-types/new",
                          data=task_type_form(token, position_codes=["CV", "KHONG-CO"]))
    assert unknown.status_code == 422 and error_of(unknown.get_data(as_text=True), "position_codes") == \
        "Không có vị trí việc làm: KHONG-CO."
    assert count(clean_app, world, TaskType) == 0 and count(clean_app, world, NormVersion) == 0


def test_competencies_create_and_refuse(clean_app, client, world, token):
    assert client.post(f"/t/{world.slug}/admin/competencies", data={
        "csrf_token": token, "code": "NL-01", "name": "Soạn thảo văn bản", "max_level": "5"}).status_code == 302
    bad = client.post(f"/t/{world.slug}/admin/competencies", data={
        "csrf_token": token, "code": "NL-01", "name": "Trùng", "max_level": "11"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and error_of(html, "max_level") == "Phải từ 1 đến 10."
    assert count(clean_app, world, Competency) == 1


# ---------------------------------------------------------------- months


def test_admin_closes_and_reopens_a_month_with_confirmation(clean_app, client, world, token, clock):
    clock.set(2026, 12, 6, 9, 0)
    page = client.get(f"/t/{world.slug}/admin/periods").get_data(as_text=True)
    assert "Tháng 12/2026" in page and "tháng 12/2025" in page and "Khóa sổ tháng 11/2026" in page
    assert "Khóa sổ tháng 12/2026" not in page  # the month in progress: no close button
    url = f"/t/{world.slug}/admin/periods/2026-11"
    unconfirmed = client.post(url + "/close", data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert error_of(unconfirmed.get_data(as_text=True), "confirm-2026-11") == "Hãy đánh dấu ô để xác nhận."
    assert count(clean_app, world, ClosedPeriod) == 0
    assert client.post(url + "/close", data={"csrf_token": token, "confirm": "1"}).status_code == 302
    assert count(clean_app, world, ClosedPeriod, ClosedPeriod.period == "2026-11") == 1
    short = client.post(url + "/reopen", data={"csrf_token": token, "reason": "x"})
    assert short.status_code == 422 and error_of(short.get_data(as_text=True), "reason-2026-11") == \
        "Độ dài phải từ 3 đến 2.000."
    assert count(clean_app, world, ClosedPeriod) == 1
    assert client.post(url + "/reopen", data={"csrf_token": token, "reason": "Bổ sung kê khai"}).status_code == 302
    assert count(clean_app, world, ClosedPeriod) == 0
    assert actions(clean_app, world)[-2:] == ["period.close", "period.reopen"]


def test_a_bad_month_in_the_url_is_404(client, world, token):
    assert client.post(f"/t/{world.slug}/admin/periods/2026-13/close",
                       data={"csrf_token": token, "confirm": "1"}).status_code == 404


# ---------------------------------------------------------------- what-if


def test_what_if_page_previews_a_month_and_saves_nothing(clean_app, client, clock):
    from tests.scoring.test_scoring_engine import PERIOD, _snapshot, month_of_staff
    from tests.work.test_work_support import build

    w = build(clean_app)
    month_of_staff(client, w)
    client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    sign_in(clean_app, client, w, "admin")
    before = _snapshot(clean_app, w), len(actions(clean_app, w))
    url = f"/t/{w.slug}/admin/what-if"
    page = client.get(url + "?key=hours-ledger").get_data(as_text=True)
    assert 'name="s.hours_per_day" value="8"' in page and 'name="s.star_factors.5"' in page
    token = csrf(page)
    form = {"csrf_token": token, "key": "hours-ledger", "period": PERIOD, "s.hours_per_day": "8",
            "s.daily_cap_hours": "abc"}
    bad = client.post(url, data=form)
    assert bad.status_code == 422 and error_of(bad.get_data(as_text=True), "s-daily_cap_hours") == "Phải là số."
    form["s.daily_cap_hours"] = "10"
    response = client.post(url, data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Xem trước tháng 10/2026" in html
    # Staff's stored task score (decree 335) is 33.54 (tests/scoring/test_scoring_engine.py), shown with a comma.
    assert re.search(r'<td data-label="Họ và tên">Người staff</td><td data-label="Số việc">4</td>\s*'
                     r'<td data-label="Đã lưu">33,54</td>', html)
    assert (_snapshot(clean_app, w), len(actions(clean_app, w))) == before


# ---------------------------------------------------------------- calendar days and leave


def test_admin_sets_calendar_days_and_records_leave(clean_app, client, world, token, clock):
    from core.work.models import CalendarDay, LeaveRecord

    url = f"/t/{world.slug}/admin/calendar"
    # The day box is typed dd/mm/yyyy, whatever the browser's language.
    assert client.post(url, data={"csrf_token": token, "day": "02/11/2026", "kind": "day_off",
                                  "name": "Nghỉ bù Quốc khánh"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "02/11/2026" in page and "Ngày nghỉ (lễ, tết)" in page and "Nghỉ bù Quốc khánh" in page
    bad_day = client.post(url, data={"csrf_token": token, "day": "31/11/2026", "kind": "holiday", "name": "X"})
    html = bad_day.get_data(as_text=True)
    assert bad_day.status_code == 422 and error_of(html, "day") == "Nhập ngày theo dạng dd/mm/yyyy."
    assert value_of(html, "day") == "31/11/2026"  # kept as typed, to be corrected
    assert error_of(html, "kind").startswith("Phải là một trong:") and value_of(html, "name") == "X"
    assert count(clean_app, world, CalendarDay) == 1

    leave = f"/t/{world.slug}/admin/leave"
    assert client.post(leave, data={"csrf_token": token, "employee_code": "STAFF", "start_date": "2026-10-19",
                                    "end_date": "2026-10-21", "kind": "sick", "approved": "1"}).status_code == 302
    with clean_app.app_context(), tenant_context(world.tenant_id):
        row = db.session.scalar(select(LeaveRecord))
        assert (row.employee_id, row.start_date, row.end_date, row.kind, row.approved) == (
            world.ids["staff"], date(2026, 10, 19), date(2026, 10, 21), "sick", True)
    bad = client.post(leave, data={"csrf_token": token, "employee_code": "NOBODY", "start_date": "2026-10-21",
                                   "end_date": "2026-10-19", "kind": "annual", "reason": "Việc riêng"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and error_of(html, "employee_code") == "Không có cán bộ nào mang mã này."
    assert value_of(html, "reason") == "Việc riêng"
    reversed_dates = client.post(leave, data={"csrf_token": token, "employee_code": "STAFF",
                                              "start_date": "2026-10-21", "end_date": "2026-10-19", "kind": "annual"})
    assert reversed_dates.status_code == 422
    assert error_of(reversed_dates.get_data(as_text=True), "end_date") == "Trước ngày bắt đầu."
    assert count(clean_app, world, LeaveRecord) == 1
    assert [a for a in actions(clean_app, world) if a.startswith(("leave.", "calendar_day."))] == [
        "calendar_day.set", "leave.create"]


# ---------------------------------------------------------------- deputies' fields in charge


def test_admin_puts_a_deputy_in_charge_of_a_unit_or_a_person(clean_app, client, world, token, clock):
    from core.org.models import DeputyField

    url = f"/t/{world.slug}/admin/deputies"
    page = client.get(url).get_data(as_text=True)
    assert "Lĩnh vực phụ trách của cấp phó" in page and "Chưa có cấp phó nào được giao lĩnh vực phụ trách." in page
    assert client.post(url, data={"csrf_token": token, "deputy_code": "STAFF2", "unit_code": "AG-P2",
                                  "start_date": "2026-10-01"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Người staff2" in page and "Phòng Hai" in page and "01/10/2026" in page
    # Unknown codes, both a unit and a person, reversed dates: each beside its field, what
    # was typed kept, nothing written.
    bad = client.post(url, data={"csrf_token": token, "deputy_code": "NOBODY", "unit_code": "AG-P2",
                                 "member_code": "STAFF", "start_date": "2026-10-05", "end_date": "2026-10-01"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and error_of(html, "deputy_code") == "Không có cán bộ nào mang mã này."
    assert error_of(html, "unit_code") == "Chỉ nhập mã đơn vị hoặc mã cán bộ, không nhập cả hai."
    assert value_of(html, "member_code") == "STAFF"
    missing = client.post(url, data={"csrf_token": token, "deputy_code": "STAFF2", "unit_code": "NO-SUCH",
                                     "start_date": "2026-10-01"})
    assert missing.status_code == 422
    assert error_of(missing.get_data(as_text=True), "unit_code") == "Không có đơn vị nào mang mã này."
    assert count(clean_app, world, DeputyField) == 1
    with clean_app.app_context(), tenant_context(world.tenant_id):
        row = db.session.scalar(select(DeputyField))
        assert (row.deputy_id, row.unit_id, row.member_id, row.start_date, row.end_date) == (
            world.ids["staff2"], world.ids["other"], None, date(2026, 10, 1), None)
        audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "deputy_field.create"))
        assert audited.actor.endswith(":admin")
    assert client.post(f"{url}/{row.id}/delete", data={"csrf_token": token}).status_code == 302
    assert count(clean_app, world, DeputyField) == 0
    assert [a for a in actions(clean_app, world) if a.startswith("deputy_field.")] == [
        "deputy_field.create", "deputy_field.delete"]


def test_the_month_in_progress_offers_no_close_button(client, world, clock):
    """Clock: 14 Oct 2026. October is still being worked: no close form, the day it can be
    closed instead; September can be closed."""
    html = client.get(f"/t/{world.slug}/admin/periods").get_data(as_text=True)
    october = html[html.index('id="m-2026-10"'):html.index('id="m-2026-09"')]
    assert "Tháng chưa kết thúc: có thể khóa sổ từ ngày 01/11/2026." in october
    assert "period_close" not in october and "/admin/periods/2026-10/close" not in october
    assert 'action="/t/tinh-a/admin/periods/2026-09/close#m-2026-09"' in html


# ---------------------------------------------------------------- one round: every error at once
# A form whose own checks fail also shows what the service would refuse (a code in use, an
# unknown reference, a cycle), so the admin fixes everything before submitting again.


def test_new_employee_shows_the_forms_and_the_services_errors_at_once(clean_app, client, world, token):
    before = count(clean_app, world, Employee), count(clean_app, world, User), len(actions(clean_app, world))
    response = client.post(f"/t/{world.slug}/admin/employees/new", data={
        "csrf_token": token, "code": "STAFF", "full_name": "Lê Văn Bình", "unit_id": str(world.ids["dept"]),
        "email": "not-an-email", "username": "staff", "password": "Song-Huong-2026-x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "email") == "Địa chỉ email không hợp lệ."  # the form's
    assert error_of(html, "code") == "Đã có cán bộ mang mã này."  # the service's
    assert error_of(html, "username") == "Tên đăng nhập này đã được dùng."
    assert value_of(html, "full_name") == "Lê Văn Bình"
    assert (count(clean_app, world, Employee), count(clean_app, world, User), len(actions(clean_app, world))) == \
        before


def test_employee_edit_shows_a_management_cycle_beside_a_bad_email(clean_app, client, world, token):
    before = len(actions(clean_app, world))
    response = client.post(f"/t/{world.slug}/admin/employees/{world.ids['manager']}", data={
        "csrf_token": token, "code": "MANAGER", "full_name": "Người manager", "unit_id": str(world.ids["dept"]),
        "manager_code": "STAFF", "email": "not-an-email", "roles": ["employee", "manager"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "email") == "Địa chỉ email không hợp lệ."
    assert error_of(html, "manager_code") == "Tạo thành vòng lặp quản lý."
    with clean_app.app_context(), tenant_context(world.tenant_id):
        manager = db.session.get(Employee, world.ids["manager"])
        assert (manager.manager_id, manager.email) == (None, None)
    assert len(actions(clean_app, world)) == before


def test_units_show_a_taken_code_or_a_cycle_with_the_forms_errors(clean_app, client, world, token):
    before = count(clean_app, world, OrgUnit), len(actions(clean_app, world))
    new = client.post(f"/t/{world.slug}/admin/units", data={"csrf_token": token, "code": "AG-P1", "name": "",
                                                           "kind": "department"})
    html = new.get_data(as_text=True)
    assert new.status_code == 422 and error_of(html, "code") == "Đã có đơn vị mang mã này."
    assert error_of(html, "name") == "Bắt buộc nhập."
    moved = client.post(f"/t/{world.slug}/admin/units/{world.ids['agency']}", data={
        "csrf_token": token, "code": "AG", "name": "Sở Thử nghiệm", "kind": "nowhere",
        "parent_id": str(world.ids["dept"])})
    html = moved.get_data(as_text=True)
    assert moved.status_code == 422 and error_of(html, "kind").startswith("Phải là một trong:")
    assert error_of(html, "parent_id").startswith("Tạo thành vòng lặp")
    assert (count(clean_app, world, OrgUnit), len(actions(clean_app, world))) == before
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(OrgUnit, world.ids["agency"]).parent_id is None


def test_positions_show_a_taken_code_with_the_forms_errors(clean_app, client, world, token):
    before = len(actions(clean_app, world))
    new = client.post(f"/t/{world.slug}/admin/positions", data={"csrf_token": token, "code": "CV",
                                                               "name": "Trùng mã", "group": "boss"})
    html = new.get_data(as_text=True)
    assert new.status_code == 422 and error_of(html, "group").startswith("Phải là một trong:")
    assert error_of(html, "code") == "Đã có vị trí việc làm mang mã này."
    with clean_app.app_context(), tenant_context(world.tenant_id):
        position_id = db.session.scalar(select(JobPosition.id).where(JobPosition.code == "CV"))
        other = org.create_position({"code": "KT", "name": "Kế toán", "group": "professional"})
        other_id = other.id
        unit_of_work.commit()
    edit = client.post(f"/t/{world.slug}/admin/positions/{other_id}", data={"csrf_token": token, "code": "CV",
                                                                           "name": "", "group": "support"})
    html = edit.get_data(as_text=True)
    assert edit.status_code == 422 and error_of(html, "code") == "Đã có vị trí việc làm mang mã này."
    assert error_of(html, "name") == "Bắt buộc nhập."
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(JobPosition, other_id).code == "KT"
        assert db.session.get(JobPosition, position_id).name != "Trùng mã"
    assert len(actions(clean_app, world)) == before + 1  # the fixture's own position only


def test_task_type_shows_a_taken_code_unknown_positions_and_the_forms_errors(clean_app, client, world, token):
    assert client.post(f"/t/{world.slug}/admin/task-types/new", data=task_type_form(token)).status_code == 302
    before = count(clean_app, world, TaskType), count(clean_app, world, NormVersion), len(actions(clean_app, world))
    response = client.post(f"/t/{world.slug}/admin/task-types/new", data=task_type_form(
        token, norm_minutes="abc", position_codes=["CV", "KHONG-CO"], level_1="1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "norm_minutes") == "Phải là số."
    assert error_of(html, "code") == "Đã có loại công việc mang mã này."
    assert error_of(html, "position_codes") == "Không có vị trí việc làm: KHONG-CO."
    assert error_of(html, "complexity_levels") == "Mức 1 bị nhập hai lần."
    assert (count(clean_app, world, TaskType), count(clean_app, world, NormVersion),
            len(actions(clean_app, world))) == before


def test_competency_shows_a_taken_code_with_the_forms_error(clean_app, client, world, token):
    assert client.post(f"/t/{world.slug}/admin/competencies", data={
        "csrf_token": token, "code": "NL-01", "name": "Soạn thảo văn bản", "max_level": "5"}).status_code == 302
    bad = client.post(f"/t/{world.slug}/admin/competencies", data={
        "csrf_token": token, "code": "NL-01", "name": "Trùng", "max_level": "11"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and error_of(html, "max_level") == "Phải từ 1 đến 10."
    assert error_of(html, "code") == "Đã có năng lực với mã này."
    assert count(clean_app, world, Competency) == 1


def test_an_id_beyond_bigint_is_a_field_error_beside_the_others(clean_app, client, world, token):
    """A hand-made request naming a unit beyond BIGINT keeps the form and every error: the
    check answers "no such unit" without asking the database, which would refuse the number."""
    before = count(clean_app, world, OrgUnit), len(actions(clean_app, world))
    response = client.post(f"/t/{world.slug}/admin/units", data={
        "csrf_token": token, "code": "", "name": "Phòng mới", "parent_id": "99999999999999999999"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "code") == "Bắt buộc nhập."
    assert error_of(html, "parent_id") == "Không có đơn vị này."
    assert (count(clean_app, world, OrgUnit), len(actions(clean_app, world))) == before


def test_the_periods_page_reads_the_months_states_at_once(clean_app, client, world):
    from tests.work.test_work_support import count_queries

    with count_queries(clean_app) as statements:
        assert client.get(f"/t/{world.slug}/admin/periods").status_code == 200
    assert sum("FROM closed_periods" in s for s in statements) == 1
    assert sum("FROM scored_periods" in s for s in statements) == 1
