"""The evaluation procedure (docs/procedure.md) through the API on both databases: one
agency's whole year by hand (self → manager → meeting → head's decision → notice → appeal
upheld → reopened), the competence matrix, the timing guards and legal regimes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.auth.services import issue_token, principal_for_user
from core.classification.models import EmployeeClassification, EvaluationStep
from core.extensions import db
from core.notifications.models import Notification
from core.org import services as org
from core.org.models import Employee
from core.scoring.models import PeriodScore
from core.tenancy import tenant_context
from tests.work.test_work_support import World, _password_hash

pytest_plugins = ("tests.work.test_work_support",)
YEAR = 2026
PEOPLE = ("admin", "manager", "staff", "staff2", "accountant", "outsider", "auditor", "head", "deputy", "head2",
          "far")


def add_person(w: World, name: str, unit: str, leader: bool, manager: str | None, roles: list[str]) -> None:
    user = User(username=name, password_hash=_password_hash())
    user.roles = roles
    e = org.create_employee({"code": name.upper(), "full_name": f"Người {name}", "unit_id": w.ids[unit],
                             "position_code": "CV", "is_leader": leader,
                             "manager_id": w.ids[manager] if manager else None})
    e.user = user
    db.session.flush()
    w.ids[name] = e.id
    w.principals[name] = principal_for_user(user)
    w.tokens[name] = issue_token(w.principals[name], 3600)[0]


def scores(w: World, totals: dict[str, float], period: str, provisional: bool = False) -> None:
    for name, total in totals.items():
        e = db.session.get(Employee, w.ids[name])
        db.session.add(PeriodScore(
            employee_id=e.id, unit_id=e.unit_id, period=period, item_count=3, working_days=20,
            task_score=Decimal(str(total)) - 25, general_score=Decimal(25), total=Decimal(str(total)),
            components={}, sums={}, variant_key="decree335", variant_version="1.0.0", settings_hash="x",
            provisional=provisional))


@pytest.fixture
def proc(clean_app, world, clock) -> World:
    """Agency AG: head (decided by the Sở Nội vụ), deputy, the department manager (reports to
    the head) and his staff; agency AG2 with its own head and one person. Scored people:
    staff 95 in June and 40 in the December to date, staff2 80, manager 75, head 88, deputy 72."""
    w = world
    with clean_app.app_context(), tenant_context(w.tenant_id):
        w.ids["agency2"] = org.create_unit({"code": "AG2", "name": "Sở Tài chính", "kind": "agency"}).id
        add_person(w, "head", "agency", True, None, ["employee", "manager"])
        add_person(w, "deputy", "agency", True, "head", ["employee", "manager"])
        add_person(w, "head2", "agency2", True, None, ["employee", "manager"])
        add_person(w, "far", "agency2", False, "head2", ["employee"])
        db.session.get(Employee, w.ids["manager"]).manager_id = w.ids["head"]
        scores(w, {"staff": 95, "staff2": 80, "manager": 75, "head": 88, "deputy": 72, "far": 65}, "2026-06")
        scores(w, {"staff": 40}, "2026-12", provisional=True)
        unit_of_work.commit()
    clock.set(2026, 12, 3, 9, 0)
    return w


def url(w: World, path: str) -> str:
    return w.url(f"/evaluations/{YEAR}{path}")


def step(client, w: World, who: str, name: str, kind: str, **body):
    body = {"level": "HTT", "comment": "Hoàn thành tốt nhiệm vụ", **body}
    if kind == "meeting":
        body = {"meeting_date": "2026-12-08", "attendees": 5, "votes_for": 4, "votes_against": 1, **body}
    return client.post(url(w, f"/employees/{w.ids[name]}/steps/{kind}"), json=body, headers=w.h(who))


def open_agency(client, w: World, agency: str = "agency", who: str = "admin"):
    return client.post(url(w, f"/agencies/{w.ids[agency]}/open"), headers=w.h(who))


def levels(w: World) -> dict[str, str | None]:
    names = {w.ids[n]: n for n in PEOPLE}
    rows = db.session.scalars(select(EmployeeClassification).where(EmployeeClassification.year == YEAR))
    return {names[r.employee_id]: r.level for r in rows}


def test_one_agency_from_self_assessment_to_reopening(clean_app, proc, client, clock):
    w = proc
    # Opening on 3 December: January to November count; December's provisional 40 does not.
    r = open_agency(client, w)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["months"] == [f"2026-{m:02d}" for m in range(1, 12)]
    assert r.get_json()["counted_to"] == "2026-11-30" and r.get_json()["deadline"] == "2026-12-15"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        # AG, group professional, công chức: HTXS staff 95; HTT head 88, staff2 80, manager 75, deputy 72
        # → x ≤ 0.2 × (4 + 1 − x): x = 0.83… → no, x = 1 needs 1 ≤ 0.8 → staff demoted to HTT.
        assert levels(w) == {"staff": "HTT", "staff2": "HTT", "manager": "HTT", "head": "HTT", "deputy": "HTT",
                             "admin": None, "accountant": None, "outsider": None, "auditor": None}
    # staff: self → manager (his department head) → meeting (minutes) in that order.
    assert step(client, w, "manager", "staff", "manager").status_code == 409  # no self-assessment yet
    r = step(client, w, "staff", "staff", "self", level="HTXS", comment="Vượt 30% khối lượng")
    assert r.status_code == 200 and r.get_json()["actor"].endswith(":staff")
    r = step(client, w, "manager", "staff", "manager", level="HTXS", comment="Đề nghị HTXS")
    assert r.status_code == 200
    assert step(client, w, "staff", "staff", "self").status_code == 409  # the next step is done
    r = step(client, w, "manager", "staff", "meeting", level="HTXS", votes_for=5, votes_against=0)
    assert r.status_code == 200 and r.get_json()["data"] == {
        "meeting_date": "2026-12-08", "attendees": 5, "votes_for": 5, "votes_against": 0}
    for name, manager in (("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", manager), ("meeting", manager)):
            assert step(client, w, who, name, kind).status_code == 200, (name, kind)
    # The head sees the decision of the staff pending; the admin sees the leaders' one.
    pending = client.get(url(w, "/pending"), headers=w.h("head")).get_json()
    assert [(d["scope"], d["confirmation"]) for d in pending["decisions"]] == [("staff", "AG 2026")]
    # The head's own self-assessment; the deputy's proposal waits for the deputy's self-assessment.
    assert [(s["full_name"], s["step"]) for s in pending["steps"]] == [("Người head", "self")]
    pending = client.get(url(w, "/pending"), headers=w.h("deputy")).get_json()
    assert [(s["full_name"], s["step"]) for s in pending["steps"]] == [("Người deputy", "self")]
    # Deciding: wrong text 422, right text 201 — staff HTXS, staff2 HTT, manager HTT frozen.
    decision = url(w, f"/agencies/{w.ids['agency']}/decision")
    r = client.post(decision, json={"scope": "staff", "confirmation": "AG 2025"}, headers=w.h("head"))
    assert r.status_code == 422 and "AG 2026" in r.get_json()["message"]
    preview = client.get(url(w, f"/agencies/{w.ids['agency']}/decision-preview"), headers=w.h("head")).get_json()
    assert {p["full_name"]: p["level"] for p in preview["people"]} == {
        "Người staff": "HTXS", "Người staff2": "HTT", "Người manager": "HTT", "Người admin": None,
        "Người accountant": None, "Người outsider": None, "Người auditor": None}
    assert preview["missing"] == []
    r = client.post(decision, json={"scope": "staff", "confirmation": " ag  2026 "}, headers=w.h("head"))
    assert r.status_code == 201, r.get_json()
    decided = r.get_json()
    assert decided["decided_by"].endswith(":head") and decided["appeal_until"].startswith("2026-12-18")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert levels(w)["staff"] == "HTXS"
        notice = db.session.scalar(select(Notification.message).where(
            Notification.employee_id == w.ids["staff"], Notification.kind == "evaluation.decided"))
        assert notice == "Thông báo: kết quả xếp loại năm 2026 của bạn đã được quyết định: HTXS. " \
                         "Bạn có thể khiếu nại đến hết ngày 18/12/2026."
    # Frozen: no step, no override via the contract.
    assert step(client, w, "manager", "staff2", "meeting").status_code == 409
    r = client.put(w.url(f"/classifications/{YEAR}/{w.ids['staff2']}"), json={"level": "HT", "reason": "x"},
                   headers=w.h("manager"))
    assert r.status_code == 409
    # staff2 appeals on day 14 after the decision (within 15); the head upholds: HTT → HTXS.
    clock.set(2026, 12, 17, 9, 0)
    r = client.post(url(w, f"/employees/{w.ids['staff2']}/appeal"), json={"reason": "Thiếu sáng kiến đã công nhận"},
                    headers=w.h("staff2"))
    assert r.status_code == 201 and r.get_json()["level_appealed"] == "HTT"
    appeal_id = r.get_json()["id"]
    resolve = w.url(f"/appeals/{appeal_id}/resolve")
    body = {"decision": "upheld", "reason": "Sáng kiến được Hội đồng công nhận", "level": "HTXS"}
    assert client.post(resolve, json=body, headers=w.h("manager")).status_code == 403  # not the decider
    r = client.post(resolve, json=body, headers=w.h("head"))
    assert r.status_code == 200 and r.get_json()["status"] == "upheld"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert levels(w)["staff2"] == "HTXS"
        s = db.session.scalar(select(EvaluationStep).where(EvaluationStep.employee_id == w.ids["staff2"],
                                                           EvaluationStep.step == "decision"))
        assert (s.level, s.data["level_before_appeal"]) == ("HTXS", "HTT")
        change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "evaluation.level_changed"))
        assert (change.before["level"], change.after["level"]) == ("HTT", "HTXS")
    # An appeal after the window (19 December, window ended 18/12) is refused.
    clock.set(2026, 12, 19, 9, 0)
    r = client.post(url(w, f"/employees/{w.ids['manager']}/appeal"), json={"reason": "Muộn"}, headers=w.h("manager"))
    assert r.status_code == 409 and r.get_json()["message"] == "Thời hạn khiếu nại đã hết ngày 18/12/2026."
    # Reopening: a reason and the head's competence; the decision stays, marked reopened.
    reopen = url(w, f"/agencies/{w.ids['agency']}/reopen")
    assert client.post(reopen, json={"scope": "staff", "reason": "x"}, headers=w.h("admin")).status_code == 403
    assert client.post(reopen, json={"scope": "staff"}, headers=w.h("head")).status_code == 422
    r = client.post(reopen, json={"scope": "staff", "reason": "Sai sót số liệu tháng 6"}, headers=w.h("head"))
    assert r.status_code == 200 and r.get_json()["status"] == "reopened"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert levels(w)["staff"] == "HTT" and levels(w)["staff2"] == "HTT"  # back to the computed levels
        assert db.session.scalar(select(func.count()).select_from(EvaluationStep).where(
            EvaluationStep.step == "decision")) == 0
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("evaluation.%"))
                                          .order_by(AuditEvent.id)))
        assert actions[0] == "evaluation.open" and actions[-1] == "evaluation.reopen"
        assert actions.count("evaluation.decide") == 1 and actions.count("evaluation.meeting") == 3
    # The meeting can now change and the head decide again.
    assert step(client, w, "manager", "staff2", "meeting", level="HT").status_code == 200
    r = client.post(decision, json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h("head"))
    assert r.status_code == 201 and r.get_json()["levels"][str(w.ids["staff2"])] == "HT"


def test_the_leaders_are_decided_by_the_level_above(clean_app, proc, client):
    w = proc
    open_agency(client, w, who="head")
    for kind in ("self", "manager", "meeting"):
        who = {"self": "head", "manager": "admin", "meeting": "admin"}[kind]
        assert step(client, w, who, "head", kind).status_code == 200
        who = {"self": "deputy", "manager": "head", "meeting": "head"}[kind]
        assert step(client, w, who, "deputy", kind, level="HT").status_code == 200
    decision = url(w, f"/agencies/{w.ids['agency']}/decision")
    body = {"scope": "leaders", "confirmation": "AG 2026"}
    assert client.post(decision, json=body, headers=w.h("head")).status_code == 403
    r = client.post(decision, json=body, headers=w.h("admin"))
    assert r.status_code == 201 and r.get_json()["levels"] == {str(w.ids["head"]): "HTT", str(w.ids["deputy"]): "HT"}
    doc = client.get(url(w, f"/agencies/{w.ids['agency']}/document"), query_string={"scope": "leaders"},
                     headers=w.h("admin")).get_json()
    assert [(p["full_name"], p["level"]) for p in doc["people"]] == [("Người deputy", "HT"), ("Người head", "HTT")]
    assert doc["agency"]["name"] == "Sở Nội vụ"


# role × step × own/other agency: who may take the step for "staff" of AG (manager → head).
MATRIX = {
    # step: who may; everyone else is 403 (head2 is the other agency's head).
    "self": {"staff"},
    "manager": {"manager"},
    "meeting": {"manager"},
    "decision": {"head"},
}
ROLES = ("staff", "staff2", "manager", "head", "deputy", "admin", "auditor", "head2", "far")


@pytest.mark.parametrize("kind", list(MATRIX))
def test_competence_matrix(clean_app, proc, client, kind):
    w = proc
    open_agency(client, w)
    open_agency(client, w, "agency2")
    before = ("self", "manager", "meeting")[:("self", "manager", "meeting", "decision").index(kind)]
    for earlier in before:  # the steps before, by the competent people, for staff and staff2
        for name in ("staff", "staff2"):
            who = {"self": name}.get(earlier, "manager")
            assert step(client, w, who, name, earlier).status_code == 200
    if kind == "decision":
        with clean_app.app_context(), tenant_context(w.tenant_id):  # the one person left in scope
            db.session.get(Employee, w.ids["manager"]).unit_id = w.ids["agency2"]
            unit_of_work.commit()
    answers = {}
    for who in ROLES:
        if kind == "decision":
            r = client.post(url(w, f"/agencies/{w.ids['agency']}/decision"),
                            json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h(who))
        else:
            r = step(client, w, who, "staff", kind)
        answers[who] = r.status_code
    allowed = MATRIX[kind]
    assert answers == {who: (201 if kind == "decision" else 200) if who in allowed else 403 for who in ROLES}
    # Other agency: AG2's head decides AG2, not AG; AG's head is 403 on AG2.
    if kind == "decision":
        r = client.post(url(w, f"/agencies/{w.ids['agency2']}/decision"),
                        json={"scope": "staff", "confirmation": "AG2 2026"}, headers=w.h("head"))
        assert r.status_code == 403 and r.get_json()["message"] == \
            "Bước này nằm ngoài thẩm quyền của bạn (thẩm quyền)."


# The other agency's staff (far, AG2) and AG's own leaders (the deputy): role × step again.
TARGETS = {
    "far": ("agency2", "staff", "AG2 2026",
            {"self": {"far"}, "manager": {"head2"}, "meeting": {"head2"}, "decision": {"head2"}}),
    "deputy": ("agency", "leaders", "AG 2026",
               {"self": {"deputy"}, "manager": {"head"}, "meeting": {"head"}, "decision": {"admin"}}),
}


@pytest.mark.parametrize("kind", list(MATRIX))
@pytest.mark.parametrize("target", list(TARGETS))
def test_competence_matrix_other_agency_and_leaders(clean_app, proc, client, target, kind):
    w = proc
    agency, scope, confirmation, competent = TARGETS[target]
    open_agency(client, w)
    open_agency(client, w, "agency2")
    before = ("self", "manager", "meeting")[:("self", "manager", "meeting", "decision").index(kind)]
    for earlier in before:  # by the competent people: the target, and the head beside the deputy
        [who] = competent[earlier]
        assert step(client, w, who, target, earlier).status_code == 200
        if target == "deputy" and kind == "decision":
            assert step(client, w, {"self": "head"}.get(earlier, "admin"), "head", earlier).status_code == 200
    answers = {}
    for who in ROLES:
        if kind == "decision":
            r = client.post(url(w, f"/agencies/{w.ids[agency]}/decision"),
                            json={"scope": scope, "confirmation": confirmation}, headers=w.h(who))
        else:
            r = step(client, w, who, target, kind)
        answers[who] = r.status_code
    assert answers == {who: (201 if kind == "decision" else 200) if who in competent[kind] else 403
                       for who in ROLES}


def test_timing_guards_and_bad_input_change_nothing(clean_app, proc, client, clock):
    w = proc
    clock.set(2026, 11, 30, 9, 0)
    r = open_agency(client, w)
    assert r.status_code == 409 and r.get_json()["message"] == \
        "Kỳ đánh giá năm 2026 chỉ được bắt đầu từ ngày 1 tháng 12 năm 2026."
    clock.set(2026, 12, 3, 9, 0)
    assert step(client, w, "staff", "staff", "self").status_code == 409  # not open yet
    open_agency(client, w)
    assert step(client, w, "staff", "staff", "self", level="XX").status_code == 422
    assert step(client, w, "staff", "staff", "self", comment=" ").status_code == 422
    step(client, w, "staff", "staff", "self")
    step(client, w, "manager", "staff", "manager")
    r = step(client, w, "manager", "staff", "meeting", attendees=3, votes_for=3, votes_against=1)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"votes_for"}
    # Deciding with missing steps: 409 naming who.
    r = client.post(url(w, f"/agencies/{w.ids['agency']}/decision"), json={"scope": "staff", "confirmation": "AG 2026"},
                    headers=w.h("head"))
    assert r.status_code == 409 and "Người staff" in r.get_json()["message"]
    # An appeal before the decision: 409.
    r = client.post(url(w, f"/employees/{w.ids['staff']}/appeal"), json={"reason": "x"}, headers=w.h("staff"))
    assert r.status_code == 409
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(EvaluationStep)) == 2


def test_month_in_progress_counts_to_date_when_the_tenant_chooses(clean_app, proc, client):
    w = proc
    r = client.put(w.url("/evaluation-procedure"), json={"count_month_in_progress": True}, headers=w.h("admin"))
    assert r.status_code == 200 and r.get_json()["count_month_in_progress"] is True
    r = open_agency(client, w)
    assert r.get_json()["months"][-1] == "2026-12" and r.get_json()["counted_to"] == "2026-12-03"
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(EmployeeClassification).where(EmployeeClassification.employee_id == w.ids["staff"]))
        assert row.total == Decimal("67.50") and row.computed_level == "HT"  # (95 + 40) ÷ 2
    bad = client.put(w.url("/evaluation-procedure"), json={"steps": ["decision", "self"], "deadline": "11-30"},
                     headers=w.h("admin"))
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"steps", "deadline"}
    assert client.put(w.url("/evaluation-procedure"), json={"appeal_days": 10},
                      headers=w.h("manager")).status_code == 403


def test_regimes_choose_the_scheme_and_the_quota_scope(clean_app, proc, client):
    w = proc
    # staff becomes a viên chức from 1 January: decree90 (criteria; no items → no level) in its own quota group.
    r = client.post(w.url(f"/employees/{w.ids['staff']}/regimes"), json={"regime": "vien_chuc", "valid_from": "2026-01-01"},
                    headers=w.h("admin"))
    assert r.status_code == 201
    assert client.post(w.url(f"/employees/{w.ids['staff']}/regimes"), json={"regime": "x"},
                       headers=w.h("admin")).status_code == 422
    open_agency(client, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        rows = {r.employee_id: r for r in db.session.scalars(select(EmployeeClassification))}
        assert rows[w.ids["staff"]].quota_group == f"{w.ids['agency']}:professional:vien_chuc"
        assert rows[w.ids["staff2"]].quota_group == f"{w.ids['agency']}:professional"
    assert [r["regime"] for r in client.get(w.url(f"/employees/{w.ids['staff']}/regimes"),
                                            headers=w.h("admin")).get_json()] == ["vien_chuc"]


def test_the_province_run_counts_finished_months_and_leaves_open_agencies_alone(clean_app, proc, client):
    w = proc
    assert open_agency(client, w, "agency2").status_code == 200
    r = client.post(w.url(f"/classifications/{YEAR}/run"), headers=w.h("admin"))
    result = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()["result"]
    # 3 December: January–November count, so staff's 40 of December's first days is not averaged in;
    # AG2's two people (head2, far) belong to their agency's procedure: 11 − 2 = 9 people.
    assert result["months"] == [f"2026-{m:02d}" for m in range(1, 12)] and result["people"] == 9
    rows = {row["employee_id"]: row for row in client.get(w.url("/classifications"), query_string={"year": YEAR},
                                                          headers=w.h("admin")).get_json()}
    assert rows[w.ids["staff"]]["total"] == 95.0 and rows[w.ids["far"]]["level"] == "HT"  # 65, from the opening
    r = client.post(w.url(f"/classifications/{YEAR}/finalize"), headers=w.h("admin"))
    assert r.status_code == 409 and r.get_json()["code"] == "agencies_undecided" and "Sở Tài chính" in r.get_json()["message"]
    # AG2 decides (its head for the staff, the admin for its head): the contract shows them final.
    for kind, who in (("self", "far"), ("manager", "head2"), ("meeting", "head2")):
        assert step(client, w, who, "far", kind, level="HT").status_code == 200
    r = client.post(url(w, f"/agencies/{w.ids['agency2']}/decision"), json={"confirmation": "AG2 2026"},
                    headers=w.h("head2"))
    assert r.status_code == 201
    rows = {row["employee_id"]: row for row in client.get(w.url("/classifications"), query_string={"year": YEAR},
                                                          headers=w.h("admin")).get_json()}
    assert rows[w.ids["far"]]["final"] is True and rows[w.ids["staff"]]["final"] is False
    assert client.post(w.url(f"/classifications/{YEAR}/finalize"), headers=w.h("admin")).status_code == 409
    r = client.post(url(w, f"/agencies/{w.ids['agency2']}/decision"),  # head2 has no score: not classified
                    json={"scope": "leaders", "confirmation": "AG2 2026"}, headers=w.h("admin"))
    assert r.status_code == 201 and r.get_json()["levels"] == {str(w.ids["head2"]): None}
    assert client.post(w.url(f"/classifications/{YEAR}/finalize"), headers=w.h("admin")).status_code == 200


def test_schemes_per_regime_are_validated_and_can_fall_back_to_the_cong_chuc_scheme(clean_app, proc, client):
    w = proc
    r = client.put(w.url("/evaluation-procedure"), json={"schemes": {"vien_chuc": {"key": "nope"}}},
                   headers=w.h("admin"))
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["schemes"]
    r = client.put(w.url("/evaluation-procedure"), json={"schemes": {"cong_chuc": {"key": "decree90"}}},
                   headers=w.h("admin"))
    assert r.status_code == 422  # công chức follow the tenant's classification_scheme setting
    r = client.put(w.url("/evaluation-procedure"), json={"schemes": {"vien_chuc": None, "can_bo": {"key": "decree90"}}},
                   headers=w.h("admin"))
    assert r.status_code == 200 and r.get_json()["schemes"]["vien_chuc"] is None
    assert r.get_json()["schemes"]["can_bo"]["key"] == "decree90"
    # staff, a viên chức, falls back to decree335 and is alone in the group "AG:professional:vien_chuc":
    # 95 is HTXS by score, but x = 1 needs 1 ≤ 0.2 × (0 + 1 − 1) = 0, so the quota demotes him to HTT.
    client.post(w.url(f"/employees/{w.ids['staff']}/regimes"), json={"regime": "vien_chuc"}, headers=w.h("admin"))
    open_agency(client, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        row = db.session.scalar(select(EmployeeClassification).where(EmployeeClassification.employee_id == w.ids["staff"]))
        assert (row.computed_level, row.demoted_by_quota) == ("HTT", True)


def test_who_acts_next_on_a_persons_evaluation(clean_app, proc, client):
    """The person's page says whose step is next: the direct manager for the proposal and the
    minutes, the agency's head for the staff's decision, the level above (None: the Sở Nội vụ)
    for a head's; nothing before the agency opens or once decided."""
    from core.classification import procedure

    w = proc

    def following(name: str):
        with clean_app.app_context(), tenant_context(w.tenant_id):
            done = db.session.scalars(select(EvaluationStep.step).where(EvaluationStep.employee_id == w.ids[name]))
            found = procedure.next_step(procedure.Org(YEAR), YEAR, w.ids[name], list(done))
            return None if found is None else (found["step"], found["by"], found["deadline"].isoformat())

    assert following("staff") is None  # not open yet
    assert open_agency(client, w).status_code == 200
    assert following("staff") == ("self", "Người staff", "2026-12-15")
    assert step(client, w, "staff", "staff", "self").status_code == 200
    assert following("staff") == ("manager", "Người manager", "2026-12-15")
    assert step(client, w, "manager", "staff", "manager").status_code == 200
    assert following("staff") == ("meeting", "Người manager", "2026-12-15")
    assert step(client, w, "manager", "staff", "meeting").status_code == 200
    assert following("staff") == ("decision", "Người head", "2026-12-15")
    assert step(client, w, "head", "head", "self").status_code == 200
    assert following("head")[:2] == ("manager", None)  # no superior inside the agency: the level above
    for kind in ("manager", "meeting"):
        assert step(client, w, "admin", "head", kind).status_code == 200
    assert following("head")[:2] == ("decision", None)


def test_the_home_pages_summary_of_what_waits(clean_app, proc, client):
    """procedure.waiting_for: nothing while no agency is open; a manager's proposals, the
    head's decision; a person with nobody under them pays a few statements, not the
    tenant-wide reading of who waits for whom."""
    from core.classification import procedure
    from tests.work.test_work_support import count_queries

    w = proc

    def waiting(name: str, counted: list | None = None):
        with clean_app.app_context(), tenant_context(w.tenant_id):
            if counted is None:
                return procedure.waiting_for(w.principals[name])
            with count_queries(clean_app) as statements:
                found = procedure.waiting_for(w.principals[name])
            counted.extend(s for s in statements if not s.startswith("SELECT tenants.") and "set_config(" not in s)
            return found

    assert waiting("manager") is None
    assert open_agency(client, w).status_code == 200
    assert waiting("manager") is None  # his staff have not self-assessed yet
    assert step(client, w, "staff", "staff", "self").status_code == 200
    assert waiting("manager")["steps"] == 1
    statements: list[str] = []
    assert waiting("staff2", statements) is None
    assert len(statements) <= 3, statements
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head"), ("deputy", "head")):
        for kind in ("self", "manager", "meeting"):
            if (name, kind) != ("staff", "self"):
                assert step(client, w, name if kind == "self" else boss, name, kind).status_code == 200
    head = waiting("head")
    assert (head["steps"], head["decisions"], head["appeals"]) == (0, 1, 0)
    assert head["deadline"].isoformat() == "2026-12-15"
