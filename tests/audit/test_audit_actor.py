"""Who the audit log names (both databases): the authenticated person for every write,
whether it came through a page or the API, and for a job the person who asked for it
("user:N:name via job ID") — never `system` or `job`.

Each audited write a page can make is made once through its page and once through the
API, and the event it leaves must name the same person. The route census at the end
fails when a page that writes is added without a case here."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.jobs.models import JobRun
from core.tenancy import tenant_context
from tests.classification import test_procedure_deadline as procedure_deadline
from tests.classification.test_classification_api import TOTALS_2026, set_totals
from tests.documents import test_procedure_documents as procedure_documents
from tests.work.test_work_pages import csrf, sign_in
from tests.work.test_work_support import PASSWORD, declare

pytest_plugins = ("tests.work.test_work_support",
                  "tests.classification.test_evaluation_procedure",
                  "tests.documents.test_documents_support")


def last(app, w, action: str) -> AuditEvent:
    with app.app_context(), tenant_context(w.tenant_id):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.seq.desc()).limit(1)).first()
        assert event is not None, action
        db.session.expunge(event)
        return event


def actors(app, w, action: str, seq: int = 0) -> list[str]:
    """Who the events of `action` name, oldest first (those after `seq` only)."""
    with app.app_context(), tenant_context(w.tenant_id):
        return list(db.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == action,
                                                                      AuditEvent.seq > seq)
                                       .order_by(AuditEvent.seq)))


def last_run(app, w, kind: str) -> str:
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(JobRun.id).where(JobRun.kind == kind).order_by(JobRun.created_at.desc(),
                                                                                       JobRun.id.desc()).limit(1))


def page_post(client, w, who: str, path: str, data: dict | None = None, status: int = 302):
    sign_in(client, w, who)
    token = csrf(client.get(f"/t/{w.slug}/today").get_data(as_text=True))
    url = path if path.startswith("/account/") else f"/t/{w.slug}{path}"
    r = client.post(url, data={"csrf_token": token, **(data or {})})
    assert r.status_code == status, r.get_data(as_text=True)[:800]
    return r


def me(w, who: str) -> str:
    return f"user:{w.principals[who].id}:{who}"


def test_declaring_on_the_page_and_the_api_names_the_person(clean_app, client, world, clock):
    page_post(client, world, "staff", "/today/declare", {"task_type_code": "HT01", "quantity": "3"})
    declare(client, world, "staff2")
    assert actors(clean_app, world, "work_item.create") == [me(world, "staff"), me(world, "staff2")]


def test_progress_completion_and_cancelling_on_the_page_and_the_api_name_the_person(clean_app, client, world, clock):
    items = {who: [declare(client, world, who)["id"] for _ in range(2)] for who in ("staff", "staff2")}
    first, cancelled = items["staff"]
    page_post(client, world, "staff", f"/items/{first}/update", {"action": "progress", "progress": "40"})
    page_post(client, world, "staff", f"/items/{first}/update", {"action": "done"})
    page_post(client, world, "staff", f"/items/{cancelled}/update", {"action": "cancel"})
    second, dropped = items["staff2"]
    for item, body in ((second, {"progress": 40}), (second, {"status": "done"}), (dropped, {"status": "cancelled"})):
        r = client.patch(world.url(f"/work-items/{item}"), json=body, headers=world.h("staff2"))
        assert r.status_code == 200, r.get_json()
    for action in ("work_item.update", "work_item.complete", "work_item.cancel"):
        assert actors(clean_app, world, action) == [me(world, "staff"), me(world, "staff2")], action


def test_review_on_the_page_and_the_api_names_the_manager(clean_app, client, world, clock):
    first, second = declare(client, world, "staff"), declare(client, world, "staff")
    for item in (first, second):
        r = client.patch(world.url(f"/work-items/{item['id']}"), json={"status": "done"}, headers=world.h("staff"))
        assert r.status_code == 200, r.get_json()
    page_post(client, world, "manager", f"/items/{first['id']}/review", {"passed": "1", "stars": "5"})
    r = client.post(world.url(f"/work-items/{second['id']}/review"), json={"passed": True, "stars": 4},
                    headers=world.h("manager"))
    assert r.status_code in (200, 201), r.get_json()
    assert actors(clean_app, world, "work_item.review") == [me(world, "manager")] * 2


def test_verify_on_the_page_and_the_api_names_the_manager(clean_app, client, world, clock):
    # Declared for someone else's day after the morning cut-off: waits for the manager's check.
    clock.set(2026, 10, 14, 11, 0)
    first, second = declare(client, world, "staff"), declare(client, world, "staff2")
    assert first["verification"] == second["verification"] == "pending", first
    page_post(client, world, "manager", f"/items/{first['id']}/verify", {"accepted": "1"})
    r = client.post(world.url(f"/work-items/{second['id']}/verify"), json={"accepted": True},
                    headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "work_item.verify") == [me(world, "manager"), me(world, "manager")]


GENERAL = {"politics_ethics": "8", "competence_attitude": "9", "innovation": "7"}


def test_general_scores_on_the_page_and_the_api_name_the_manager(clean_app, client, world, clock):
    page_post(client, world, "manager", f"/dashboard/person/{world.ids['staff']}/general",
              {"period": "2026-10", **GENERAL})
    r = client.put(world.url(f"/employees/{world.ids['staff2']}/general-scores/2026-10"),
                   json={k: int(v) for k, v in GENERAL.items()}, headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "general_score.set") == [me(world, "manager"), me(world, "manager")]


def test_a_proposal_on_the_page_and_the_api_names_its_author(clean_app, client, world, clock):
    page_post(client, world, "staff", "/me/general", {"period": "2026-10", **GENERAL})
    r = client.put(world.url(f"/employees/{world.ids['staff2']}/general-scores/2026-10/self"),
                   json={k: int(v) for k, v in GENERAL.items()}, headers=world.h("staff2"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "general_score.propose") == [me(world, "staff"), me(world, "staff2")]


def test_a_recalculation_job_names_who_started_it(clean_app, client, world, clock):
    page_post(client, world, "admin", "/jobs/recalculate", {"period": "2026-10"})
    page_run = last_run(clean_app, world, "recalculation")
    r = client.post(world.url("/recalculations"), json={"period": "2026-09"}, headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    api_run = r.get_json()["job_id"]
    assert actors(clean_app, world, "scores.recalculate") == [
        f"{me(world, 'admin')} via job {page_run}", f"{me(world, 'admin')} via job {api_run}"]


def test_classification_override_appeal_run_finalize_and_bonus_name_the_person(clean_app, client, world, clock):
    set_totals(clean_app, world, TOTALS_2026)
    page_post(client, world, "admin", "/classification/2026/run")
    page_run = last_run(clean_app, world, "classification")
    r = client.post(world.url("/classifications/2026/run"), headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    assert actors(clean_app, world, "classification.run") == [
        f"{me(world, 'admin')} via job {page_run}", f"{me(world, 'admin')} via job {r.get_json()['job_id']}"]

    page_post(client, world, "manager", f"/classification/2026/{world.ids['staff2']}/override",
              {"level": "HT", "reason": "Chậm báo cáo quý III"})
    r = client.put(world.url(f"/classifications/2026/{world.ids['staff']}"), json={"level": "HT", "reason": "Trễ"},
                   headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "classification.override") == [me(world, "manager")] * 2

    page_post(client, world, "staff2", "/classification/2026/appeal", {"reason": "Tôi đã hoàn thành đúng hạn"})
    r = client.post(world.url(f"/classifications/2026/{world.ids['staff']}/appeal"), json={"reason": "Sai điểm"},
                    headers=world.h("staff"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "classification.appeal") == [me(world, "staff2"), me(world, "staff")]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.classification.models import ClassificationAppeal

        first, second = db.session.scalars(select(ClassificationAppeal.id).order_by(ClassificationAppeal.id)).all()
    page_post(client, world, "manager", f"/classification/appeals/{first}/resolve?year=2026",
              {"decision": "rejected", "reason": "Điểm đúng"})
    r = client.post(world.url(f"/appeals/{second}/resolve"),
                    json={"decision": "rejected", "reason": "Điểm đúng"}, headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "classification.appeal_resolve") == [me(world, "manager")] * 2

    page_post(client, world, "admin", "/classification/2026/finalize", {"confirm": "yes"})
    assert actors(clean_app, world, "classification.finalize") == [me(world, "admin")]
    page_post(client, world, "admin", "/classification/2026/bonus", {"fund": "1.000.001"})
    page_run = last_run(clean_app, world, "bonus")
    r = client.post(world.url("/bonus-runs"), json={"year": 2026, "fund": 2_000_000}, headers=world.h("admin"))
    assert r.status_code == 202, r.get_json()
    assert actors(clean_app, world, "bonus.request") == [me(world, "admin")] * 2
    assert actors(clean_app, world, "bonus.run") == [
        f"{me(world, 'admin')} via job {page_run}", f"{me(world, 'admin')} via job {r.get_json()['job_id']}"]


def test_password_reset_on_the_page_and_the_api_names_the_admin(clean_app, client, world, clock):
    page_post(client, world, "admin", f"/admin/users/{world.principals['staff'].id}/password-reset", status=200)
    r = client.post(world.url(f"/employees/{world.ids['staff2']}/password-reset"), json={},
                    headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "auth.password_reset") == [me(world, "admin")] * 2


def test_a_password_change_on_the_page_and_the_api_names_its_owner(clean_app, client, world, clock):
    new = "Blue-Lantern-Harbour-7"
    page_post(client, world, "staff", "/account/password",
              {"current_password": PASSWORD, "new_password": new, "confirm": new})
    r = client.post("/api/v1/auth/password", headers=world.h("staff2"),
                    json={"current_password": PASSWORD, "new_password": new})
    assert r.status_code == 204, r.get_json()
    assert actors(clean_app, world, "auth.password_changed") == [me(world, "staff"), me(world, "staff2")]


def test_settings_on_the_plugin_pages_and_the_api_name_the_admin(clean_app, client, world, clock):
    page_post(client, world, "admin", "/admin/components/import-connectors", {"connector": ["staff-csv", "staff-xlsx"]})
    page_post(client, world, "admin", "/admin/components/scoring_variant/decree335", {})
    r = client.patch(world.url("/settings"), json={"import_connectors": ["staff-xlsx"]}, headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "settings.update") == [me(world, "admin")] * 3


def test_an_import_job_names_who_uploaded_the_file(clean_app, client, world, clock, tmp_path):
    import io

    from tests.imports.test_imports import staff_rows, xlsx

    clean_app.config["CONGVU_UPLOAD_DIR"] = str(tmp_path / "uploads")
    try:
        sign_in(client, world, "admin")
        token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
        r = client.post(f"/t/{world.slug}/admin/imports", content_type="multipart/form-data",
                        data={"csrf_token": token, "connector": "staff-xlsx",
                              "file": (io.BytesIO(xlsx(staff_rows(2))), "s.xlsx")})
        assert r.status_code in (200, 302), r.get_data(as_text=True)[:500]
        page_run = last_run(clean_app, world, "import")
        r = client.post(world.url("/imports"), headers=world.h("admin"), content_type="multipart/form-data",
                        data={"connector": "staff-xlsx", "file": (io.BytesIO(xlsx(staff_rows(2))), "s.xlsx")})
        assert r.status_code == 202, r.get_json()
    finally:
        clean_app.config["CONGVU_UPLOAD_DIR"] = None
    admin = me(world, "admin")
    assert actors(clean_app, world, "import.commit") == [f"{admin} via job {page_run}",
                                                         f"{admin} via job {r.get_json()['job_id']}"]


def test_a_write_after_a_page_login_is_not_system(clean_app, client, world, clock):
    """The one rule: no signed-in write is ever `system`."""
    page_post(client, world, "staff", "/today/declare", {"task_type_code": "HT01", "quantity": "1"})
    assert last(clean_app, world, "work_item.create").actor != "system"


def head_seq(app, w) -> int:
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.scalar(select(db.func.coalesce(db.func.max(AuditEvent.seq), 0)))


def actors_since(app, w, seq: int) -> list[tuple[str, str]]:
    with app.app_context(), tenant_context(w.tenant_id):
        return [tuple(r) for r in db.session.execute(select(AuditEvent.action, AuditEvent.actor)
                                                     .where(AuditEvent.seq > seq).order_by(AuditEvent.seq))]


def test_bulk_decisions_on_the_unit_page_and_the_api_name_the_manager(clean_app, client, world, clock):
    clock.set(2026, 10, 14, 11, 0)  # after the cut-off: declarations wait for the manager's check
    first, second = declare(client, world, "staff"), declare(client, world, "staff2")
    seq = head_seq(clean_app, world)
    page_post(client, world, "manager", "/unit/queue", {"action": "accept", "ids": [first["id"]]}, status=200)
    r = client.post(world.url(f"/work-items/{second['id']}/verify"), json={"accepted": True},
                    headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors_since(clean_app, world, seq) == [("work_item.verify", me(world, "manager"))] * 2


def test_assigning_on_the_unit_page_and_the_api_names_the_manager(clean_app, client, world, clock):
    seq = head_seq(clean_app, world)
    page_post(client, world, "manager", "/unit/assign", {"employee_id": world.ids["staff"], "task_type_code": "HT01",
                                                         "quantity": "1", "deadline": "2026-10-16"}, status=200)
    declare(client, world, "manager", employee_id=world.ids["staff2"])
    events = actors_since(clean_app, world, seq)
    assert [a for a, _ in events].count("work_item.create") == 2, events
    assert {actor for _, actor in events} == {me(world, "manager")}


def test_admin_screens_and_the_api_name_the_admin(clean_app, client, world, clock):
    seq = head_seq(clean_app, world)
    page_post(client, world, "admin", "/admin/units", {"code": "P-PAGE", "name": "Phòng qua trang",
                                                       "kind": "department"})
    r = client.post(world.url("/units"), json={"code": "P-API", "name": "Phòng qua API", "kind": "department"},
                    headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    events = actors_since(clean_app, world, seq)
    assert len(events) == 2 and {actor for _, actor in events} == {me(world, "admin")}, events


def _ids(app, w, model, *where) -> list[int]:
    with app.app_context(), tenant_context(w.tenant_id):
        return list(db.session.scalars(select(model.id).where(*where).order_by(model.id)))


def test_people_on_the_admin_pages_and_the_api_name_the_admin(clean_app, client, world, clock):
    from core.org.models import Employee

    admin, seq = me(world, "admin"), head_seq(clean_app, world)
    page_post(client, world, "admin", "/admin/employees/new",
              {"code": "CV-P", "full_name": "Trần Thị Trang", "unit_id": str(world.ids["dept"]),
               "position_code": "CV", "salary_coefficient": "2,34", "roles": ["employee"]})
    r = client.post(world.url("/employees"), json={"code": "CV-A", "full_name": "Lê Văn Api",
                                                   "unit_id": world.ids["dept"]}, headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "employee.create", seq) == [admin] * 2
    [page_id] = _ids(clean_app, world, Employee, Employee.code == "CV-P")
    page_post(client, world, "admin", f"/admin/employees/{page_id}",
              {"code": "CV-P", "full_name": "Trần Thị Trang (đổi)", "unit_id": str(world.ids["dept"]),
               "position_code": "CV", "salary_coefficient": "2,34"})
    r = client.patch(world.url(f"/employees/{r.get_json()['id']}"), json={"full_name": "Lê Văn Api (đổi)"},
                     headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "employee.update", seq) == [admin] * 2
    # Locking a login has no API of its own: the page is the only way.
    page_post(client, world, "admin", f"/admin/employees/{world.ids['staff2']}/login", {"active": "0"})
    page_post(client, world, "admin", f"/admin/employees/{world.ids['staff2']}/login", {"active": "1"})
    assert (actors(clean_app, world, "user.deactivate", seq), actors(clean_app, world, "user.activate", seq)) == (
        [admin], [admin])


def test_units_and_positions_on_the_admin_pages_and_the_api_name_the_admin(clean_app, client, world, clock):
    from core.org.models import JobPosition

    admin, seq = me(world, "admin"), head_seq(clean_app, world)
    page_post(client, world, "admin", f"/admin/units/{world.ids['other']}",
              {"code": "AG-P2", "name": "Phòng Hai (đổi)", "kind": "department",
               "parent_id": str(world.ids["agency"])})
    r = client.patch(world.url(f"/units/{world.ids['dept']}"), json={"name": "Phòng Một (đổi)"},
                     headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "unit.update", seq) == [admin] * 2
    r = client.post(world.url("/units"), json={"code": "P-API", "name": "Phòng API", "kind": "department",
                                               "parent_id": world.ids["agency"]}, headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    page_post(client, world, "admin", f"/admin/units/{world.ids['other']}/merge",
              {"into": "AG-P1", "effective_date": "2026-10-01", "merge_confirm": "1"})
    r = client.post(world.url("/unit-merges"), json={"sources": ["P-API"], "into": "AG-P1",
                                                     "effective_date": "2026-10-01"}, headers=world.h("admin"))
    assert r.status_code in (200, 201), r.get_json()
    assert actors(clean_app, world, "unit.merge", seq) == [admin] * 2

    page_post(client, world, "admin", "/admin/positions", {"code": "VT-P", "name": "Văn thư", "group": "support"})
    r = client.post(world.url("/positions"), json={"code": "VT-A", "name": "Lưu trữ", "group": "support"},
                    headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "position.create", seq) == [admin] * 2
    [page_id] = _ids(clean_app, world, JobPosition, JobPosition.code == "VT-P")
    page_post(client, world, "admin", f"/admin/positions/{page_id}",
              {"code": "VT-P", "name": "Văn thư (đổi)", "group": "support"})
    r = client.patch(world.url(f"/positions/{r.get_json()['id']}"), json={"name": "Lưu trữ (đổi)"},
                     headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "position.update", seq) == [admin] * 2


TASK_TYPE_FORM = {"name": "Soạn thảo công văn", "group": "B", "unit_of_measure": "văn bản",
                  "norm_minutes": "90", "product_weight": "1", "position_codes": ["CV"]}


def test_catalogue_on_the_admin_pages_and_the_api_names_the_admin(clean_app, client, world, clock):
    from core.catalogue.models import Competency, TaskType

    admin, seq = me(world, "admin"), head_seq(clean_app, world)
    page_post(client, world, "admin", "/admin/task-types/new", {"code": "CV-P", **TASK_TYPE_FORM})
    body = {"code": "CV-A", "name": "Công văn qua API", "group": "B", "unit_of_measure": "văn bản",
            "norm_minutes": 60, "product_weight": 1, "complexity_levels": [], "position_codes": []}
    r = client.post(world.url("/task-types"), json=body, headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "task_type.create", seq) == [admin] * 2
    [page_id] = _ids(clean_app, world, TaskType, TaskType.code == "CV-P")
    page_post(client, world, "admin", f"/admin/task-types/{page_id}",
              {"code": "CV-P", **TASK_TYPE_FORM, "name": "Soạn thảo công văn (đổi)"})
    r = client.patch(world.url(f"/task-types/{r.get_json()['id']}"), json={"name": "Đổi tên"},
                     headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "task_type.update", seq) == [admin] * 2

    page_post(client, world, "admin", "/admin/competencies", {"code": "NL-P", "name": "Soạn thảo", "max_level": "5"})
    r = client.post(world.url("/competencies"), json={"code": "NL-A", "name": "Giao tiếp", "max_level": 5},
                    headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "competency.create", seq) == [admin] * 2
    [page_id] = _ids(clean_app, world, Competency, Competency.code == "NL-P")
    page_post(client, world, "admin", f"/admin/competencies/{page_id}",
              {"code": "NL-P", "name": "Soạn thảo (đổi)", "max_level": "4"})
    r = client.patch(world.url(f"/competencies/{r.get_json()['id']}"), json={"name": "Giao tiếp (đổi)"},
                     headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "competency.update", seq) == [admin] * 2


def test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin(clean_app, client, world, clock):
    from core.work.models import CalendarDay, LeaveRecord

    admin, seq = me(world, "admin"), head_seq(clean_app, world)
    page_post(client, world, "admin", "/admin/periods/2026-08/close", {"confirm": "1"})
    r = client.post(world.url("/periods/2026-09/close"), headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "period.close", seq) == [admin] * 2
    page_post(client, world, "admin", "/admin/periods/2026-08/reopen", {"reason": "Bổ sung kê khai"})
    r = client.post(world.url("/periods/2026-09/reopen"), json={"reason": "Bổ sung kê khai"},
                    headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "period.reopen", seq) == [admin] * 2

    page_post(client, world, "admin", "/admin/calendar", {"day": "2026-11-02", "kind": "day_off", "name": "Nghỉ bù"})
    r = client.post(world.url("/calendar-days"), json={"day": "2026-11-03", "kind": "day_off", "name": "Nghỉ"},
                    headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "calendar_day.set", seq) == [admin] * 2
    page_day, api_day = _ids(clean_app, world, CalendarDay)
    page_post(client, world, "admin", f"/admin/calendar/{page_day}/delete")
    r = client.delete(world.url(f"/calendar-days/{api_day}"), headers=world.h("admin"))
    assert r.status_code == 204, r.get_json()
    assert actors(clean_app, world, "calendar_day.delete", seq) == [admin] * 2

    page_post(client, world, "admin", "/admin/leave", {"employee_code": "STAFF", "start_date": "2026-10-19",
                                                       "end_date": "2026-10-21", "kind": "sick", "approved": "1"})
    r = client.post(world.url("/leave-records"), json={"employee_id": world.ids["staff2"], "kind": "annual",
                                                       "start_date": "2026-10-19", "end_date": "2026-10-20",
                                                       "approved": True}, headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, world, "leave.create", seq) == [admin] * 2
    page_leave, api_leave = _ids(clean_app, world, LeaveRecord)
    page_post(client, world, "admin", f"/admin/leave/{page_leave}/delete")
    r = client.delete(world.url(f"/leave-records/{api_leave}"), headers=world.h("admin"))
    assert r.status_code == 204, r.get_json()
    assert actors(clean_app, world, "leave.delete", seq) == [admin] * 2


def test_overdue_actions_on_the_unit_page_and_the_api_name_the_manager(clean_app, client, world, clock):
    from tests.work.test_manager_pages import seed

    late = dict(work_date=date(2026, 10, 12), deadline=date(2026, 10, 13))
    ids = seed(clean_app, world, "staff", 5, **late)
    manager, seq = me(world, "manager"), head_seq(clean_app, world)
    page_post(client, world, "manager", f"/unit/overdue/{ids[0]}/extend",
              {"deadline": "2026-10-20", "reason": "Chờ hồ sơ bổ sung"}, status=200)
    r = client.post(world.url(f"/work-items/{ids[1]}/extend"), json={"deadline": "2026-10-20", "reason": "Chờ"},
                    headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "work_item.extend", seq) == [manager] * 2
    page_post(client, world, "manager", f"/unit/overdue/{ids[2]}/exempt", {"reason": "Mất điện"}, status=200)
    r = client.post(world.url(f"/work-items/{ids[3]}/exempt"), json={"reason": "Mất điện"},
                    headers=world.h("manager"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "work_item.exempt", seq) == [manager] * 2
    # A reminder has no API endpoint: the unit page is the only way to send one.
    page_post(client, world, "manager", f"/unit/overdue/{ids[4]}/remind", status=200)
    assert actors(clean_app, world, "work_item.remind", seq) == [manager]


def test_the_evaluation_procedure_on_its_page_and_the_api_names_each_person(clean_app, client, proc, clock):
    """Opening, each step, deciding, an appeal and its resolution: once on /evaluation, once
    on the API, for the two agencies of the procedure's world."""
    from core.classification.models import ClassificationAppeal
    from tests.classification.test_evaluation_procedure import open_agency, step

    w, seq = proc, head_seq(clean_app, proc)
    page_post(client, w, "admin", "/evaluation/open?year=2026", {"agency_id": w.ids["agency"]})
    assert open_agency(client, w, "agency2").status_code == 200
    assert actors(clean_app, w, "evaluation.open", seq) == [me(w, "admin")] * 2

    page_post(client, w, "staff", "/evaluation/step?year=2026",
              {"employee_id": w.ids["staff"], "step": "self", "level": "HTXS", "comment": "Vượt khối lượng"})
    assert step(client, w, "far", "far", "self").status_code == 200
    assert actors(clean_app, w, "evaluation.self", seq) == [me(w, "staff"), me(w, "far")]
    page_post(client, w, "manager", "/evaluation/step?year=2026",
              {"employee_id": w.ids["staff"], "step": "manager", "level": "HTXS", "comment": "Đề nghị HTXS"})
    assert step(client, w, "head2", "far", "manager").status_code == 200
    assert actors(clean_app, w, "evaluation.manager", seq) == [me(w, "manager"), me(w, "head2")]
    page_post(client, w, "manager", "/evaluation/step?year=2026",
              {"employee_id": w.ids["staff"], "step": "meeting", "level": "HTXS", "comment": "Họp đơn vị",
               "meeting_date": "2026-12-08", "attendees": "5", "votes_for": "5", "votes_against": "0"})
    assert step(client, w, "head2", "far", "meeting").status_code == 200
    assert actors(clean_app, w, "evaluation.meeting", seq) == [me(w, "manager"), me(w, "head2")]
    for name, manager in (("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", manager), ("meeting", manager)):
            assert step(client, w, who, name, kind).status_code == 200, (name, kind)

    page_post(client, w, "head", "/evaluation/decide?year=2026",
              {"agency_id": w.ids["agency"], "scope": "staff", "confirmation": "AG 2026"})
    r = client.post(w.url(f"/evaluations/2026/agencies/{w.ids['agency2']}/decision"),
                    json={"scope": "staff", "confirmation": "AG2 2026"}, headers=w.h("head2"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, w, "evaluation.decide", seq) == [me(w, "head"), me(w, "head2")]

    clock.set(2026, 12, 17, 9, 0)
    page_post(client, w, "staff2", "/evaluation/appeal?year=2026", {"reason": "Thiếu sáng kiến đã công nhận"})
    r = client.post(w.url(f"/evaluations/2026/employees/{w.ids['far']}/appeal"), json={"reason": "Sai điểm"},
                    headers=w.h("far"))
    assert r.status_code == 201, r.get_json()
    assert actors(clean_app, w, "evaluation.appeal", seq) == [me(w, "staff2"), me(w, "far")]
    with clean_app.app_context(), tenant_context(w.tenant_id):
        first, second = db.session.scalars(select(ClassificationAppeal.id).order_by(ClassificationAppeal.id)).all()
    page_post(client, w, "head", f"/evaluation/appeals/{first}/resolve?year=2026",
              {"decision": "rejected", "reason": "Điểm đúng"})
    r = client.post(w.url(f"/appeals/{second}/resolve"), json={"decision": "rejected", "reason": "Điểm đúng"},
                    headers=w.h("head2"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, w, "evaluation.appeal_resolve", seq) == [me(w, "head"), me(w, "head2")]


def test_documents_on_their_page_and_the_api_name_the_person(clean_app, client, docs, trusting):
    from io import BytesIO

    from core.documents import docx as docx_templates
    from tests.documents.test_documents_support import HEAD_EMAIL, HEAD_NAME, put_template, sign

    w, seq = docs, head_seq(clean_app, docs)
    template = docx_templates.default_template("classification_form")

    def page_upload(who: str, path: str, data: dict):
        sign_in(client, w, who)
        token = csrf(client.get(f"/t/{w.slug}/documents").get_data(as_text=True))
        r = client.post(f"/t/{w.slug}/documents{path}", data={"csrf_token": token, **data},
                        content_type="multipart/form-data")
        assert r.status_code == 302, r.get_data(as_text=True)[:800]

    page_upload("admin", "/templates/classification_form", {"file": (BytesIO(template), "mau.docx")})
    assert put_template(client, w, "evaluation_form",
                        docx_templates.default_template("evaluation_form")).status_code == 200
    assert actors(clean_app, w, "document_template.upload", seq) == [me(w, "admin")] * 2
    page_upload("admin", "/templates/classification_form/reset", {})
    r = client.delete(w.url("/document-templates/evaluation_form"), headers=w.h("admin"))
    assert r.status_code == 204, r.get_json()
    assert actors(clean_app, w, "document_template.reset", seq) == [me(w, "admin")] * 2

    # The decision is issued as it is downloaded, and the head uploads it signed: one agency
    # and one year make one decision, so the page signs it and the API has nothing left to sign.
    sign_in(client, w, "head")
    issued = client.get(f"/t/{w.slug}/documents/decision",
                        query_string={"unit_id": w.ids["agency"], "year": 2026, "number": "7"})
    assert issued.status_code == 200
    signed = sign(issued.data, trusting.person(HEAD_NAME, HEAD_EMAIL))
    page_upload("head", "/decision/signed", {"unit_id": str(w.ids["agency"]), "year": "2026",
                                             "file": (BytesIO(signed), "qd.pdf")})
    head = f"user:{w.principals['head'].id}:giamdoc"  # the head's login is "giamdoc"
    assert actors(clean_app, w, "decision.issue", seq) == [head]
    assert actors(clean_app, w, "decision.sign", seq) == [head]


def test_a_merger_from_the_wizard_and_the_api_names_the_operator(clean_app, client):
    """The operator's wizard merges Ninh Thuận into Khánh Hòa; the API merges a second
    generated province into Bình Định. Both chains (the source's closing event and the
    target's) name the operator who asked, through the job that did it."""
    from html import unescape

    from core.audit.services import job_actor
    from core.generate import generate
    from tests.mergers.test_mergers import EFFECTIVE, _csrf, _operator_session, _provinces

    def merge_events(tenant_id: int) -> list[tuple[str, str]]:
        with clean_app.app_context(), tenant_context(tenant_id):
            return [tuple(r) for r in db.session.execute(
                select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.action.like("tenant.merge%"))
                .order_by(AuditEvent.seq))]

    khanh_hoa, binh_dinh, nt_id, root = _provinces(clean_app, client, ("2025-06",))
    with clean_app.app_context():
        second_id = generate("quang-tri", 6, 1, date(2025, 6, 1)).tenant_id
        unit_of_work.commit()
    _operator_session(clean_app, client)
    page = client.get("/operator/merges")
    form = {"csrf_token": _csrf(page.get_data(as_text=True)), "source": "ninh-thuan", "into": "khanh-hoa",
            "effective_date": EFFECTIVE, "mapping": ""}
    dry = client.post("/operator/merges", data={**form, "dry_run": "1"}).get_data(as_text=True)
    mapping = unescape(dry.split('id="mapping"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0])
    done = client.post("/operator/merges", data={**form, "mapping": mapping, "commit": "1"})
    assert done.status_code == 200 and "/exports/ninh-thuan-" in done.get_data(as_text=True)
    page_run = last_run(clean_app, khanh_hoa, "tenant_merge")
    wizard = job_actor("operator:wizard", page_run)
    assert merge_events(nt_id) == [("tenant.merged", wizard)]
    assert merge_events(khanh_hoa.tenant_id) == [("tenant.merge", wizard)]

    headers = {"Authorization": f"Bearer {root}"}
    body = {"source": "quang-tri", "effective_date": EFFECTIVE}
    url = "/api/v1/tenants/binh-dinh/merges"
    dry = client.post(url, json={**body, "dry_run": True}, headers=headers)
    assert dry.status_code == 202, dry.get_json()
    mapping = client.get(f"{url}/{dry.get_json()['job_id']}", headers=headers).get_json()["result"]
    r = client.post(url, json={**body, "mapping": mapping["suggested_mapping"]}, headers=headers)
    assert r.status_code == 202, r.get_json()
    root_actor = job_actor("operator:root", r.get_json()["job_id"])
    assert merge_events(second_id) == [("tenant.merged", root_actor)]
    assert merge_events(binh_dinh.tenant_id) == [("tenant.merge", root_actor)]


def test_signing_in_and_out_on_the_page_and_the_api_names_the_person(clean_app, client, world, clock):
    seq = head_seq(clean_app, world)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf_token": token, "tenant": world.slug, "username": "staff",
                                    "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    r = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "staff2", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    api_token = r.get_json()["access_token"]
    assert actors(clean_app, world, "auth.login", seq) == [me(world, "staff"), me(world, "staff2")]

    token = csrf(client.get(f"/t/{world.slug}/today").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.post("/api/v1/auth/revoke", headers={"Authorization": f"Bearer {api_token}"}).status_code == 204
    assert actors(clean_app, world, "auth.logout", seq) == [me(world, "staff"), me(world, "staff2")]
    # A token already revoked ends nothing more: no second event.
    assert client.post("/api/v1/auth/revoke", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401
    assert len(actors(clean_app, world, "auth.logout", seq)) == 2
def test_deputy_fields_on_the_admin_page_and_the_api_name_the_admin(clean_app, client, world, clock):
    seq = head_seq(clean_app, world)
    page_post(client, world, "admin", "/admin/deputies", {"deputy_code": "STAFF2", "unit_code": "AG-P2",
                                                          "start_date": "2026-10-01"})
    r = client.post(world.url("/deputy-fields"), json={"deputy_id": world.ids["staff2"], "member_id": world.ids["staff"],
                                                       "start_date": "2026-10-01"}, headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.org.models import DeputyField

        first = db.session.scalar(select(DeputyField.id).where(DeputyField.unit_id.is_not(None)))
    page_post(client, world, "admin", f"/admin/deputies/{first}/delete")
    assert client.delete(world.url(f"/deputy-fields/{r.get_json()['id']}"), headers=world.h("admin")).status_code == 204
    events = [e for e in actors_since(clean_app, world, seq) if e[0].startswith("deputy_field.")]
    assert [a for a, _ in events] == ["deputy_field.create"] * 2 + ["deputy_field.delete"] * 2
    assert {actor for _, actor in events} == {me(world, "admin")}, events
def test_sso_settings_on_the_page_and_the_api_name_the_admin(clean_app, client, world, clock):
    settings = {"issuer": "https://id.example.gov.vn", "client_id": "congvu", "client_secret": "s3cret-value",
                "claim": "preferred_username", "maps_to": "username"}
    page_post(client, world, "admin", "/admin/sso", {**settings, "enabled": "1"})
    r = client.put(world.url("/sso"), json={**settings, "claim": "email"}, headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    assert actors(clean_app, world, "sso.settings_changed") == [me(world, "admin")] * 2


# Page routes that write, and the test above that makes the same write through the page
# and the API. A route without an audited write says why.
PAGE_WRITES = {
    "work_pages.declare": test_declaring_on_the_page_and_the_api_names_the_person,
    "work_pages.update": test_progress_completion_and_cancelling_on_the_page_and_the_api_name_the_person,
    "work_pages.review": test_review_on_the_page_and_the_api_names_the_manager,
    "work_pages.verify": test_verify_on_the_page_and_the_api_names_the_manager,
    "dashboard_pages.set_general": test_general_scores_on_the_page_and_the_api_name_the_manager,
    "dashboard_pages.propose_general": test_a_proposal_on_the_page_and_the_api_names_its_author,
    "dashboard_pages.recalculate": test_a_recalculation_job_names_who_started_it,
    "classification_pages.run": test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification_pages.override": test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification_pages.appeal": test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification_pages.resolve": test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification_pages.finalize": test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification_pages.start_bonus": test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "auth_pages.reset_password_page": test_password_reset_on_the_page_and_the_api_names_the_admin,
    "auth_pages.change_password": test_a_password_change_on_the_page_and_the_api_names_its_owner,
    "plugin_pages.connectors": test_settings_on_the_plugin_pages_and_the_api_name_the_admin,
    "plugin_pages.edit": test_settings_on_the_plugin_pages_and_the_api_name_the_admin,
    "import_pages.imports_page": test_an_import_job_names_who_uploaded_the_file,
    "work_pages.bulk": test_bulk_decisions_on_the_unit_page_and_the_api_name_the_manager,
    "work_pages.assign": test_assigning_on_the_unit_page_and_the_api_names_the_manager,
    "admin_pages.units": test_admin_screens_and_the_api_name_the_admin,
    **dict.fromkeys(("admin_pages.employee_new", "admin_pages.employee_edit", "admin_pages.employee_login_active"),
                    test_people_on_the_admin_pages_and_the_api_name_the_admin),
    **dict.fromkeys(("admin_pages.unit_edit", "admin_pages.unit_merge", "admin_pages.positions",
                     "admin_pages.position_edit"),
                    test_units_and_positions_on_the_admin_pages_and_the_api_name_the_admin),
    **dict.fromkeys(("admin_pages.task_type_new", "admin_pages.task_type_edit", "admin_pages.competencies",
                     "admin_pages.competency_edit"),
                    test_catalogue_on_the_admin_pages_and_the_api_names_the_admin),
    **dict.fromkeys(("admin_pages.period_close", "admin_pages.period_reopen", "admin_pages.calendar",
                     "admin_pages.calendar_day_delete", "admin_pages.leave_create", "admin_pages.leave_delete"),
                    test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin),
    "work_pages.overdue_action": test_overdue_actions_on_the_unit_page_and_the_api_name_the_manager,
    **dict.fromkeys(("evaluation_pages.open_year", "evaluation_pages.step", "evaluation_pages.decide",
                     "evaluation_pages.appeal", "evaluation_pages.resolve"),
                    test_the_evaluation_procedure_on_its_page_and_the_api_names_each_person),
    **dict.fromkeys(("document_pages.upload_template", "document_pages.reset_template",
                     "document_pages.upload_signed"),
                    test_documents_on_their_page_and_the_api_name_the_person),
    "merger_pages.wizard": test_a_merger_from_the_wizard_and_the_api_names_the_operator,
    "pages.operator_tenant_new":
        "tests/tenants/test_operator_tenant_page.py::test_the_operator_adds_a_province_with_its_first_admin",
    **dict.fromkeys(("pages.operator_tenant_suspend", "pages.operator_tenant_resume"),
                    "tests/tenants/test_tenant_suspend.py::"
                    "test_suspend_locks_the_province_keeps_its_data_and_reopening_gives_it_back"),
    "auth_pages.login": test_signing_in_and_out_on_the_page_and_the_api_names_the_person,
    "auth_pages.logout": test_signing_in_and_out_on_the_page_and_the_api_names_the_person,
    # One-click decisions run the bulk service on a list of one (the bulk pair above checks
    # the API twin); their own page test checks the manager as the event's actor.
    "work_pages.decide_one": "tests/work/test_manager_pages.py::test_one_click_accept_replaces_only_that_row_and_is_audited",
    # The evaluation procedure's own pairs (their page tests check the actor of the audited write).
    "evaluation_pages.late": procedure_deadline.test_the_page_counts_the_days_left_then_offers_the_override,
    "evaluation_pages.settings": procedure_deadline.test_the_tenant_admin_sets_the_deadline_and_period_on_the_page,
    "evaluation_pages.signed": procedure_documents.test_uploading_on_the_evaluation_page_names_the_decider,
    "admin_pages.deputy_fields": test_deputy_fields_on_the_admin_page_and_the_api_name_the_admin,
    "admin_pages.deputy_field_delete": test_deputy_fields_on_the_admin_page_and_the_api_name_the_admin,
    "admin_pages.sso": test_sso_settings_on_the_page_and_the_api_name_the_admin,
    # Checked in their own module, page and API, with the same actor rule:
    "webhook_pages.create": "tests/webhooks/test_webhooks.py::test_pages_subscribe_show_the_secret_once_and_name_the_admin",
    "webhook_pages.set_active":
        "tests/webhooks/test_webhooks.py::test_page_replay_and_pause_are_audited_and_the_auditor_only_reads",
    "webhook_pages.replay": "tests/webhooks/test_webhooks.py::test_page_replay_and_pause_are_audited_and_the_auditor_only_reads",
    "webhook_pages.delete": "tests/webhooks/test_webhooks.py::test_page_replay_and_pause_are_audited_and_the_auditor_only_reads",
    "live_pages.create": "tests/imports/test_live_sources.py::test_the_page_sets_up_a_source_pulls_and_names_the_admin",
    "live_pages.pull_now": "tests/imports/test_live_sources.py::test_the_page_sets_up_a_source_pulls_and_names_the_admin",
    "live_pages.set_active": "tests/imports/test_live_sources.py::test_the_page_sets_up_a_source_pulls_and_names_the_admin",
}
NOT_AUDITED_HERE = {
    "admin_pages.what_if": "a preview: scoring.what_if only reads and the page rolls back; nothing is stored",
    "audit_pages.audit_verify": "the inspector's chain check: it only reads the log (a POST for its cost, not a write)",
    "notification_pages.read_one": "marks the person's own notice read (as the API's NotificationRead): a reading "
                                   "mark, not a change to anyone's work, scores or rights",
    "notification_pages.read_all": "marks all of the person's own notices read: a reading mark, as above",
}


def test_every_page_that_writes_is_listed(app):
    writes = {rule.endpoint for rule in app.url_map.iter_rules()
              if not rule.rule.startswith(("/api/", "/static")) and rule.methods - {"GET", "HEAD", "OPTIONS"}}
    assert writes == set(PAGE_WRITES) | set(NOT_AUDITED_HERE)
    assert not set(PAGE_WRITES) & set(NOT_AUDITED_HERE)


# ---------------------------------------------------------------- showing the person


def test_the_audit_page_and_export_name_the_person(clean_app, client, world, clock):
    from core.audit.names import resolve

    page_post(client, world, "staff", "/today/declare", {"task_type_code": "HT01", "quantity": "3"})
    page_post(client, world, "admin", "/jobs/recalculate", {"period": "2026-10"})
    run = last_run(clean_app, world, "recalculation")
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.audit.services import record

        record("test.cli", "thing", 1, actor="cli")
        record("test.operator", "thing", 2, actor="operator:root")
        record("test.gone", "thing", 3, actor="user:999999:da-nghi")  # a login no longer in this tenant
        unit_of_work.commit()
        assert resolve(["user:999999:da-nghi"])["user:999999:da-nghi"].name == "da-nghi"
    sign_in(client, world, "auditor")
    html = client.get(f"/t/{world.slug}/admin/audit").get_data(as_text=True)
    staff = world.principals["staff"].id
    # Beside the person, how they did it and, muted, from which address (the request's id on hover).
    page = re.search(f'<td class="actor" title="user:{staff}:staff">(.*?)</td>', html, re.S).group(1)
    # The name opens everything the person did.
    assert page.startswith(f'<a class="who" href="/t/{world.slug}/admin/audit?actor=staff" '
                           'title="Mọi việc Người staff đã làm"><strong>Người staff</strong></a> '
                           '<span class="muted">(staff)</span> '
                           '<span class="via">qua trang web</span><small class="muted ip" title="request_id ')
    assert page.endswith('">IP 127.0.0.1</small>')
    # A job is named by the actor already: no second "job" beside it, only the address it was asked from.
    assert f'<strong>Người admin</strong></a> <span class="muted">(admin)</span> <span class="muted">qua tác vụ ' \
        f'{run[:8]}</span><small class="muted ip"' in html
    assert "Dòng lệnh" in html and "<strong>root</strong> <span class=\"kind\">quản trị nền tảng</span>" in html
    assert '<td class="actor" title="user:999999:da-nghi"><strong>da-nghi</strong></td>' in html
    export = client.get(f"/t/{world.slug}/admin/audit/export?format=csv")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[0][11] == "Họ tên người thực hiện"
    by_action = {r[3]: (r[2], r[11]) for r in rows[1:]}
    assert by_action["work_item.create"] == (f"user:{staff}:staff", "Người staff (staff)")
    assert by_action["scores.recalculate"] == (f"user:{world.principals['admin'].id}:admin via job {run}",
                                               f"Người admin (admin), qua tác vụ {run}")
    assert by_action["test.cli"] == ("cli", "cli")
    assert by_action["test.operator"] == ("operator:root", "Quản trị nền tảng root")


def test_names_cost_one_query_per_page_whatever_the_people(clean_app, client, world, clock):
    from tests.work.test_work_support import count_queries

    declare(client, world, "staff")
    sign_in(client, world, "auditor")
    client.get(f"/t/{world.slug}/admin/audit")  # warm up (session, tenant)
    with count_queries(clean_app) as few:
        client.get(f"/t/{world.slug}/admin/audit")
    for who in ("staff2", "manager", "admin", "outsider"):
        declare(client, world, who)
    with count_queries(clean_app) as more:
        client.get(f"/t/{world.slug}/admin/audit")
    assert len(more) == len(few)


# ---------------------------------------------------------------- finding one person's events


def test_the_audit_page_finds_everything_one_person_did(clean_app, client, world, clock):
    """An inspector knows a name, not `user:12:login`: the actor filter takes a login, part
    of a full name or `user:<id>`, and finds the person's own writes and the jobs they
    asked for — on the page, in its export and on the API alike."""
    import csv
    import io

    page_post(client, world, "staff", "/today/declare", {"task_type_code": "HT01", "quantity": "3"})
    page_post(client, world, "admin", "/jobs/recalculate", {"period": "2026-10"})
    r = client.post(world.url("/units"), json={"code": "P-API", "name": "Phòng qua API", "kind": "department"},
                    headers=world.h("admin"))
    assert r.status_code == 201, r.get_json()
    admin_id = world.principals["admin"].id
    with clean_app.app_context(), tenant_context(world.tenant_id):
        expected = list(db.session.scalars(select(AuditEvent.seq).where(
            AuditEvent.actor.startswith(f"user:{admin_id}:")).order_by(AuditEvent.seq)))
        via_job = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor.like(f"user:{admin_id}:admin via job %")))
        systems = list(db.session.scalars(select(AuditEvent.seq).where(AuditEvent.actor == "system")
                                          .order_by(AuditEvent.seq)))
    assert via_job == 1 and len(expected) == 2  # the recalculation's job, the unit

    sign_in(client, world, "auditor")
    base = f"/t/{world.slug}/admin/audit"
    for query in ("admin", "ADMIN", "Người admin", "người ad", f"user:{admin_id}", f"user:{admin_id}:admin"):
        html = client.get(base, query_string={"actor": query}).get_data(as_text=True)
        assert f"<span class=\"count\">({len(expected)})</span>" in html, query
        seqs = [int(s) for s in re.findall(r'<td class="seq" data-label="[^"]+">(\d+)</td>', html)]
        assert seqs == expected[::-1], query  # newest first
        export = client.get(f"{base}/export", query_string={"actor": query, "format": "csv"})
        rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))[1:]
        assert [int(r[0]) for r in rows] == expected, query
    api = client.get(world.url("/audit-events"), query_string={"actor": "Người admin", "per_page": 100},
                     headers=world.h("auditor"))
    assert [e["seq"] for e in api.get_json()] == expected
    # Anything that is not a person matches exactly (with its own jobs): "system" is not "sys".
    html = client.get(base, query_string={"actor": "system"}).get_data(as_text=True)
    assert f"<span class=\"count\">({len(systems)})</span>" in html
    assert "<span class=\"count\">(0)</span>" in client.get(base, query_string={"actor": "sys"}).get_data(as_text=True)
    # A wildcard typed in a name is a character, not a wildcard.
    assert "<span class=\"count\">(0)</span>" in client.get(base, query_string={"actor": "%"}).get_data(as_text=True)


def test_bad_audit_filters_show_their_error_beside_the_field(clean_app, client, world, clock):
    sign_in(client, world, "auditor")
    base = f"/t/{world.slug}/admin/audit"
    r = client.get(base, query_string={"from": "2026-10-15", "to": "2026-10-14", "actor": "Người staff"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert '<p class="error" id="to-err">Trước ngày bắt đầu.</p>' in html
    assert 'aria-invalid="true" aria-describedby="to-err"' in html and 'value="Người staff"' in html
    assert "Một số điều kiện lọc không hợp lệ: Đến ngày (tính cả ngày này)." in html
    # Under a refused filter nothing is listed and nothing offered for export: the whole log
    # there would read as the filter's result.
    assert '<span class="count">(0)</span>' in html and "Xuất tệp" not in html
    r = client.get(base, query_string={"from": "nope"})
    assert r.status_code == 422
    assert '<p class="error" id="from-err">Nhập ngày theo dạng dd/mm/yyyy.</p>' in r.get_data(as_text=True)
    assert client.get(f"{base}/export", query_string={"from": "2026-10-15", "to": "2026-10-14"}).status_code == 422
    r = client.get(world.url("/audit-events"), query_string={"from": "2026-10-15", "to": "2026-10-14"},
                   headers=world.h("auditor"))
    assert r.status_code == 422 and "to" in json_errors(r), r.get_json()


def json_errors(response) -> dict:
    body = response.get_json()
    return body.get("errors", {}).get("query", body.get("errors", {}))


def test_the_audit_page_pages_and_keeps_the_filter(clean_app, client, world, clock):
    from core.audit.services import record

    with clean_app.app_context(), tenant_context(world.tenant_id):
        for i in range(130):
            record("test.bulk", "thing", i, actor=f"user:{world.principals['staff'].id}:staff")
        unit_of_work.commit()
    sign_in(client, world, "auditor")
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"actor": "staff"}).get_data(as_text=True)
    # 30 events a page: 130 = 4 × 30 + 10.
    assert "<span class=\"count\">(130)</span>" in html and "Trang 1/5" in html
    # The shared pager (core/templates/_macros.html): page 1 is the newest, "Sau" goes to older events.
    pager = re.search(r'<nav class="pager" aria-label="Trang">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'<a href="([^"]+)" rel="(\w+)">([^<]+)</a>', pager) == [
        (f"/t/{world.slug}/admin/audit?actor=staff&amp;page=2", "next", "Sau ›")]
    assert len(re.findall(r'<td class="seq"', html)) == 30
    html = client.get(f"/t/{world.slug}/admin/audit", query_string={"actor": "staff", "page": 5}).get_data(as_text=True)
    assert "Trang 5/5" in html and len(re.findall(r'<td class="seq"', html)) == 10
    pager = re.search(r'<nav class="pager" aria-label="Trang">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'<a href="([^"]+)" rel="(\w+)">([^<]+)</a>', pager) == [
        (f"/t/{world.slug}/admin/audit?actor=staff&amp;page=4", "prev", "‹ Trước")]


def test_the_audit_page_shows_and_filters_the_tenants_local_days(clean_app, client, world, clock, monkeypatch):
    """06:30 on 15 October in Hồ Chí Minh is 23:30 on the 14th in UTC: the page (and its
    export) show and filter the local day an inspector's papers name; the API keeps UTC
    days, and the export's time column stays the UTC value the hash covers."""
    import csv
    import io
    from datetime import UTC, datetime

    from core.audit import services as audit_services

    monkeypatch.setattr(audit_services, "utcnow", lambda: datetime(2026, 10, 14, 23, 30, 5, tzinfo=UTC))
    with clean_app.app_context(), tenant_context(world.tenant_id):
        audit_services.record("test.early", "thing", 1, actor="cli")
        unit_of_work.commit()
    monkeypatch.undo()
    sign_in(client, world, "auditor")
    base = f"/t/{world.slug}/admin/audit"

    def shown(**query) -> list[str]:
        html = client.get(base, query_string={"action": "test.early", **query}).get_data(as_text=True)
        return re.findall(r'<td class="at" data-label="Thời điểm \(giờ Việt Nam, UTC\+7\)" '
                          r'title="([^"]+)">([^<]+)</td>', html)

    assert shown(**{"from": "2026-10-15", "to": "2026-10-15"}) == [("2026-10-14 23:30:05 UTC", "15/10/2026 06:30:05")]
    assert shown(to="2026-10-14") == []
    export = client.get(f"{base}/export", query_string={"action": "test.early", "from": "2026-10-15",
                                                         "format": "csv"})
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))[1:]
    assert [r[1] for r in rows] == ["2026-10-14T23:30:05+00:00"]
    api = client.get(world.url("/audit-events"), headers=world.h("auditor"),
                     query_string={"action": "test.early", "from": "2026-10-14", "to": "2026-10-14"})
    assert [e["action"] for e in api.get_json()] == ["test.early"]
