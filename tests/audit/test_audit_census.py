"""Every write names who did it, on the API and the command line (both databases).

The census tests at the end enumerate every `/api/` rule with a write method and every
`congvu` command, and fail when one is added without either a test here (or elsewhere)
proving that its audit event names the person, token owner or `cli` — or a reason why it
records none. The tests between check what the census points at: the writes no other
module checks the actor of, that a refused write records nothing and changes nothing,
and that a token's write names the token's owner."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.tenancy import tenant_context, unscoped
from tests.audit import test_audit_actor as paired
from tests.audit.test_audit_actor import actors, actors_since, head_seq, me
from tests.cli.test_cli import run
from tests.work.test_work_support import PASSWORD, declare

pytest_plugins = ("tests.work.test_work_support",
                  "tests.classification.test_evaluation_procedure",
                  "tests.webhooks.test_webhooks")


def api(client, w, method: str, path: str, who: str = "admin", expect: int | tuple = (200, 201, 204), **body):
    r = client.open(w.url(path), method=method, json=body if body else None, headers=w.h(who))
    assert r.status_code in ((expect,) if isinstance(expect, int) else expect), (method, path, r.get_json())
    return r.get_json() if r.status_code != 204 else None


def by_action(app, w, seq: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for action, actor in actors_since(app, w, seq):
        out.setdefault(action, set()).add(actor)
    return out


# ---------------------------------------------------------------- API writes no pair checks


def test_deletes_and_other_admin_writes_on_the_api_name_the_admin(clean_app, client, world, clock):
    """Creating is paired with its page in test_audit_actor; removing, a position's
    requirements, discipline, a deputy's hand-over, work settings and SSO removal are not."""
    w, seq = world, head_seq(clean_app, world)
    unit = api(client, w, "POST", "/units", code="P-DEL", name="Phòng xoá", kind="department",
               parent_id=w.ids["agency"])
    api(client, w, "DELETE", f"/units/{unit['id']}")
    competency = api(client, w, "POST", "/competencies", code="NL-D", name="Giao tiếp", max_level=5)
    position = api(client, w, "POST", "/positions", code="VT-D", name="Văn thư", group="support")
    api(client, w, "PUT", f"/positions/{position['id']}/competencies",
        requirements=[{"competency_code": "NL-D", "required_level": 3}])
    api(client, w, "PUT", f"/positions/{position['id']}/competencies", requirements=[])
    api(client, w, "DELETE", f"/positions/{position['id']}")
    api(client, w, "DELETE", f"/competencies/{competency['id']}")
    task_type = api(client, w, "POST", "/task-types", code="XO-1", name="Xoá được", group="B",
                    unit_of_measure="việc", norm_minutes=30, product_weight=1, complexity_levels=[], position_codes=[])
    api(client, w, "DELETE", f"/task-types/{task_type['id']}")
    person = api(client, w, "POST", "/employees", code="CV-DEL", full_name="Người nghỉ", unit_id=w.ids["dept"])
    api(client, w, "DELETE", f"/employees/{person['id']}")
    from core.classification.models import DISCIPLINE_KINDS

    discipline = api(client, w, "POST", "/discipline-records", employee_id=w.ids["staff"], kind=DISCIPLINE_KINDS[0],
                     decided_on="2026-10-01", reason="Vi phạm giờ giấc")
    api(client, w, "DELETE", f"/discipline-records/{discipline['id']}")
    deputy = api(client, w, "POST", "/deputy-fields", deputy_id=w.ids["staff2"], member_id=w.ids["staff"],
                 start_date="2026-10-01")
    api(client, w, "PATCH", f"/deputy-fields/{deputy['id']}", end_date="2026-10-31")
    api(client, w, "PATCH", "/work-settings", position_check="warn")
    api(client, w, "PUT", "/sso", issuer="https://id.example.gov.vn", client_id="congvu", client_secret="s3cret",
        claim="preferred_username", maps_to="username")
    api(client, w, "DELETE", "/sso")
    got = by_action(clean_app, w, seq)
    expected = {"unit.create", "unit.delete", "competency.create", "position.create", "position.competencies",
                "position.delete", "competency.delete", "task_type.create", "task_type.delete", "employee.create",
                "employee.delete", "discipline.create", "discipline.delete", "deputy_field.create",
                "deputy_field.update", "work_settings.update", "sso.settings_changed", "sso.settings_removed"}
    assert expected <= set(got), expected - set(got)
    assert {action: actor for action, actor in got.items() if actor != {me(w, "admin")}} == {}


def test_completing_an_item_and_finalizing_a_year_on_the_api_name_the_person(clean_app, client, world, clock):
    from tests.classification.test_classification_api import TOTALS_2026, set_totals

    item = declare(client, world, "staff")
    api(client, world, "PATCH", f"/work-items/{item['id']}", who="staff", status="done")
    assert actors(clean_app, world, "work_item.complete") == [me(world, "staff")]
    set_totals(clean_app, world, TOTALS_2026)
    api(client, world, "POST", "/classifications/2026/run", expect=202)
    api(client, world, "POST", "/classifications/2026/finalize")
    assert actors(clean_app, world, "classification.finalize") == [me(world, "admin")]


def test_the_procedure_regimes_and_reopening_on_the_api_name_the_person(clean_app, client, proc, clock):
    from tests.classification.test_evaluation_procedure import open_agency, step

    w, seq = proc, head_seq(clean_app, proc)
    api(client, w, "PUT", "/evaluation-procedure", appeal_days=10)
    api(client, w, "POST", f"/employees/{w.ids['far']}/regimes", regime="vien_chuc", valid_from="2026-01-01")
    assert open_agency(client, w, "agency2").status_code == 200
    for kind, who in (("self", "far"), ("manager", "head2"), ("meeting", "head2")):
        assert step(client, w, who, "far", kind).status_code == 200, kind
    api(client, w, "POST", f"/evaluations/2026/agencies/{w.ids['agency2']}/decision", who="head2",
        scope="staff", confirmation="AG2 2026")
    api(client, w, "POST", f"/evaluations/2026/agencies/{w.ids['agency2']}/reopen", who="head2",
        scope="staff", reason="Sai sót số liệu tháng 6")
    got = by_action(clean_app, w, seq)
    assert (got["evaluation.procedure"], got["employee.regime"], got["evaluation.reopen"]) == (
        {me(w, "admin")}, {me(w, "admin")}, {me(w, "head2")})


def test_webhooks_and_live_sources_on_the_api_name_the_admin(clean_app, client, world, receiver, clock):
    from tests.webhooks.test_webhooks import complete, deliver, rows, subscribe

    seq = head_seq(clean_app, world)
    sub = subscribe(client, world, receiver.url)
    complete(client, world)
    deliver(clean_app, world)
    [row] = rows(clean_app, world)
    api(client, world, "POST", f"/webhook-deliveries/{row.id}/replay", expect=(200, 201, 202))
    api(client, world, "PATCH", f"/webhooks/{sub['id']}", active=False)
    api(client, world, "DELETE", f"/webhooks/{sub['id']}")
    source = api(client, world, "POST", "/live-sources", name="Một cửa tỉnh", connector="one-stop-api",
                 settings={"url": receiver.url})
    api(client, world, "PATCH", f"/live-sources/{source['id']}", enabled=False)
    got = by_action(clean_app, world, seq)
    admin = {me(world, "admin")}
    assert {a: got.get(a) for a in ("webhook.create", "webhook.replay", "webhook.update", "webhook.delete",
                                    "live_source.create", "live_source.update")} == dict.fromkeys(
        ("webhook.create", "webhook.replay", "webhook.update", "webhook.delete", "live_source.create",
         "live_source.update"), admin)


# ---------------------------------------------------------------- a token's write names its owner


def operator_token(app, client, username: str = "root") -> str:
    from core.auth.services import create_operator

    with app.app_context():
        create_operator(username, "Root-Of-Trust-77")
        unit_of_work.commit()
    r = client.post("/api/v1/auth/token", json={"tenant": None, "username": username, "password": "Root-Of-Trust-77"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["access_token"]


def test_a_tokens_write_names_the_tokens_owner_and_its_sign_in_says_api(clean_app, client, world, clock):
    """An API write is made with a bearer token (never a cookie): the event names the person
    the token was issued to — whoever else is signed in on the same client — and the
    token's issue is itself an `auth.login` event with `via: api` naming the same person."""
    from tests.work.test_work_pages import sign_in

    seq = head_seq(clean_app, world)
    r = client.post("/api/v1/auth/token", json={"tenant": world.slug, "username": "staff2", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    token = r.get_json()["access_token"]
    sign_in(client, world, "manager")  # a page session on the same client: the token still decides
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "work_date": "2026-10-14",
                                                    "quantity": 1}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.get_json()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        events = {e.action: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.seq > seq))}
    assert events["auth.login"].actor == events["work_item.create"].actor == me(world, "staff2")
    assert events["auth.login"].after == {"via": "api"}
    assert events["auth.login"].seq < events["work_item.create"].seq
    # Without a token the API writes nothing, whatever cookie comes with the request.
    r = client.post(world.url("/work-items"), json={"task_type_code": "HT01", "quantity": 1})
    assert r.status_code == 401
    assert len(actors(clean_app, world, "work_item.create", seq)) == 1


def test_an_operators_token_names_the_operator_in_the_tenant_it_creates(clean_app, client):
    token = operator_token(clean_app, client)
    r = client.post("/api/v1/tenants", json={"slug": "hue", "name": "Huế"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.get_json()
    with clean_app.app_context(), unscoped():
        got = list(db.session.execute(select(AuditEvent.action, AuditEvent.actor)))
    assert [tuple(g) for g in got] == [("tenant.create", "operator:root")]


# ---------------------------------------------------------------- a refused write leaves no trace


def snapshot(app, w) -> dict[str, list]:
    """Every row of every table the tenant sees (its own, under RLS, and the platform's)."""
    with app.app_context(), tenant_context(w.tenant_id):
        out = {}
        for table in db.metadata.sorted_tables:
            if table.name == "api_tokens":  # a token's row is read, not written, by its use
                continue
            out[table.name] = sorted(map(repr, db.session.execute(select(table)).all()))
        return out


REFUSED = [
    # (who, method, path, body, status)
    ("admin", "POST", "/units", {"code": "", "name": "Không mã", "kind": "department"}, 422),
    ("admin", "POST", "/task-types", {"code": "HT01", "name": "Trùng mã", "group": "B", "unit_of_measure": "hồ sơ",
                                      "norm_minutes": 30, "product_weight": 1}, 409),
    ("admin", "PATCH", "/employees/{staff}", {"unit_id": 999_999}, 422),
    ("admin", "DELETE", "/units/{agency}", None, 409),
    ("admin", "POST", "/calendar-days", {"day": "2026-02-30", "kind": "day_off"}, 422),
    ("admin", "POST", "/leave-records", {"employee_id": "{staff}", "kind": "annual", "start_date": "2026-10-20",
                                         "end_date": "2026-10-19"}, 422),
    ("staff", "POST", "/work-items", {"task_type_code": "HT01", "work_date": "2026-10-14", "quantity": -1}, 422),
    ("staff", "POST", "/units", {"code": "P-X", "name": "Không quyền", "kind": "department"}, 403),
    ("auditor", "PATCH", "/work-settings", {"position_check": "warn"}, 403),
    ("manager", "PUT", "/employees/{staff}/general-scores/2026-10",
     {"politics_ethics": 11, "competence_attitude": 9, "innovation": 7}, 422),
    ("admin", "POST", "/periods/2026-13/close", None, 422),
    ("admin", "PATCH", "/settings", {"import_connectors": ["no-such-connector"]}, 422),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), REFUSED,
                         ids=[f"{m} {p} {s}" for _, m, p, _, s in REFUSED])
def test_a_refused_write_records_nothing_and_changes_nothing(clean_app, client, world, clock,
                                                             who, method, path, body, status):
    def fill(value):
        if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in world.ids:
            return world.ids[value[1:-1]]
        return value

    url = path.format(**world.ids)
    body = None if body is None else {k: fill(v) for k, v in body.items()}
    declare(client, world, "staff")  # something in the tenant besides its set-up
    before, seq = snapshot(clean_app, world), head_seq(clean_app, world)
    r = client.open(world.url(url), method=method, json=body, headers=world.h(who))
    assert r.status_code == status, r.get_json()
    assert head_seq(clean_app, world) == seq
    assert snapshot(clean_app, world) == before


# ---------------------------------------------------------------- the command line


def test_commands_that_change_data_are_audited_as_cli(clean_app, world, clock, tmp_path):
    """Outside a request and a job the log would say `system`; a command says `cli`, and
    the job it starts `cli via job …`."""
    from tests.classification.test_classification_api import TOTALS_2026, set_totals
    from tests.imports.test_imports import staff_rows, xlsx

    assert run(clean_app, "tenant", "create", "--slug", "hue", "--name", "Huế").exit_code == 0
    with clean_app.app_context(), unscoped():
        from core.tenants.models import Tenant

        hue = db.session.scalar(select(Tenant.id).where(Tenant.slug == "hue"))
    assert run(clean_app, "user", "create", "--tenant", "hue", "--username", "admin", "--role", "tenant_admin",
               "--password-stdin", input="Hue-Admin-2026\n").exit_code == 0
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "tenant.toml").write_text('slug = "hue"\nname = "Thành phố Huế"\n', encoding="utf-8")
    applied = run(clean_app, "tenant", "apply", str(pack))
    assert applied.exit_code == 0, applied.output + applied.stderr
    with clean_app.app_context(), tenant_context(hue):
        hue_events = [tuple(r) for r in db.session.execute(select(AuditEvent.action, AuditEvent.actor)
                                                              .order_by(AuditEvent.seq))]
    assert hue_events[:3] == [("tenant.create", "cli"), ("user.create", "cli"), ("tenant.update", "cli")]
    assert {actor for _, actor in hue_events} == {"cli"}

    seq = head_seq(clean_app, world)
    assert run(clean_app, "recalc", "--tenant", world.slug, "--period", "2026-10").exit_code == 0
    set_totals(clean_app, world, TOTALS_2026)
    classified = run(clean_app, "classify", "--tenant", world.slug, "--year", "2026")
    assert classified.exit_code == 0, classified.output + classified.stderr
    upload = tmp_path / "staff.xlsx"
    upload.write_bytes(xlsx(staff_rows(2)))
    imported = run(clean_app, "import", "--tenant", world.slug, "--connector", "staff-xlsx", str(upload))
    assert imported.exit_code == 0, imported.output + imported.stderr
    got = by_action(clean_app, world, seq)
    assert set(got) >= {"scores.recalculate", "classification.run", "import.commit"}, got
    for action, who in got.items():
        assert {a.split(" via job ")[0] for a in who} == {"cli"}, (action, who)
        assert all(" via job " in a for a in who), (action, who)


def test_the_command_lines_name_never_covers_a_request_or_a_job(clean_app, client, world, clock):
    """`cli` is who acts when no one else does: a request made inside a command (the dev
    server, a script) still names its person, and a job its requester."""
    from core.audit.services import acting_outside_requests

    with acting_outside_requests("cli"):
        declare(client, world, "staff")
        r = client.post(world.url("/recalculations"), json={"period": "2026-10"}, headers=world.h("admin"))
        assert r.status_code == 202, r.get_json()
    assert actors(clean_app, world, "work_item.create") == [me(world, "staff")]
    assert actors(clean_app, world, "scores.recalculate") == [f"{me(world, 'admin')} via job {r.get_json()['job_id']}"]


def test_the_demo_is_audited_as_cli(clean_app):
    assert run(clean_app, "demo", "--without-work").exit_code == 0
    with clean_app.app_context(), unscoped():
        got = set(db.session.scalars(select(AuditEvent.actor)))
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 1
    assert got == {"cli"}


# ---------------------------------------------------------------- the census


def _in(module: str, name: str) -> str:
    return f"{module}::{name}"


# Every API rule and method that writes, and the test that proves its audit event names
# who made it (a function here or in test_audit_actor, or "file::test" elsewhere).
API_WRITES = {
    "auth.change_password POST": paired.test_a_password_change_on_the_page_and_the_api_names_its_owner,
    "auth.issue POST": paired.test_signing_in_and_out_on_the_page_and_the_api_names_the_person,
    "auth.revoke POST": paired.test_signing_in_and_out_on_the_page_and_the_api_names_the_person,
    "auth.reset_password POST": paired.test_password_reset_on_the_page_and_the_api_names_the_admin,
    "bonus.BonusRuns POST": paired.test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "catalogue.Competencies POST": paired.test_catalogue_on_the_admin_pages_and_the_api_names_the_admin,
    "catalogue.CompetencyById PATCH": paired.test_catalogue_on_the_admin_pages_and_the_api_names_the_admin,
    "catalogue.CompetencyById DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "catalogue.PositionCompetencies PUT": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "catalogue.TaskTypes POST": paired.test_catalogue_on_the_admin_pages_and_the_api_names_the_admin,
    "catalogue.TaskTypeById PATCH": paired.test_catalogue_on_the_admin_pages_and_the_api_names_the_admin,
    "catalogue.TaskTypeById DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "classification.AppealResolve POST":
        paired.test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification.ClassificationAppeals POST":
        paired.test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification.ClassificationFinalize POST":
        test_completing_an_item_and_finalizing_a_year_on_the_api_name_the_person,
    "classification.ClassificationOverride PUT":
        paired.test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification.ClassificationRun POST":
        paired.test_classification_override_appeal_run_finalize_and_bonus_name_the_person,
    "classification.DisciplineRecords POST": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "classification.DisciplineRecordOne DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "documents.SignedDecision POST": _in(
        "tests/documents/test_procedure_documents.py",
        "test_the_signed_decision_must_be_signed_by_the_decider_and_marks_the_step_signed"),
    "documents.Template PUT": paired.test_documents_on_their_page_and_the_api_name_the_person,
    "documents.Template DELETE": paired.test_documents_on_their_page_and_the_api_name_the_person,
    "evaluation.AgencyLate POST": _in(
        "tests/classification/test_procedure_deadline.py",
        "test_after_the_deadline_only_a_reasoned_override_lets_the_agency_go_on"),
    "evaluation.AgencyOpen POST": paired.test_the_evaluation_procedure_on_its_page_and_the_api_names_each_person,
    "evaluation.Appeal POST": paired.test_the_evaluation_procedure_on_its_page_and_the_api_names_each_person,
    "evaluation.Decide POST": paired.test_the_evaluation_procedure_on_its_page_and_the_api_names_each_person,
    "evaluation.Step POST": paired.test_the_evaluation_procedure_on_its_page_and_the_api_names_each_person,
    "evaluation.Procedure PUT": test_the_procedure_regimes_and_reopening_on_the_api_name_the_person,
    "evaluation.Regimes POST": test_the_procedure_regimes_and_reopening_on_the_api_name_the_person,
    "evaluation.Reopen POST": test_the_procedure_regimes_and_reopening_on_the_api_name_the_person,
    "imports.Imports POST": paired.test_an_import_job_names_who_uploaded_the_file,
    "live_sources.LiveSources POST": test_webhooks_and_live_sources_on_the_api_name_the_admin,
    "live_sources.LiveSourceOne PATCH": test_webhooks_and_live_sources_on_the_api_name_the_admin,
    "live_sources.LiveSourcePull POST": _in(
        "tests/imports/test_live_sources.py",
        "test_pages_are_pulled_from_the_cursor_and_a_changed_record_is_updated"),
    "mergers.Merges POST": paired.test_a_merger_from_the_wizard_and_the_api_names_the_operator,
    "mergers.UnitMerges POST": paired.test_units_and_positions_on_the_admin_pages_and_the_api_name_the_admin,
    "org.DeputyFields POST": paired.test_deputy_fields_on_the_admin_page_and_the_api_name_the_admin,
    "org.DeputyFieldById PATCH": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "org.DeputyFieldById DELETE": paired.test_deputy_fields_on_the_admin_page_and_the_api_name_the_admin,
    "org.Employees POST": paired.test_people_on_the_admin_pages_and_the_api_name_the_admin,
    "org.EmployeeById PATCH": paired.test_people_on_the_admin_pages_and_the_api_name_the_admin,
    "org.EmployeeById DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "org.Positions POST": paired.test_units_and_positions_on_the_admin_pages_and_the_api_name_the_admin,
    "org.PositionById PATCH": paired.test_units_and_positions_on_the_admin_pages_and_the_api_name_the_admin,
    "org.PositionById DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "org.Units POST": paired.test_admin_screens_and_the_api_name_the_admin,
    "org.UnitById PATCH": paired.test_units_and_positions_on_the_admin_pages_and_the_api_name_the_admin,
    "org.UnitById DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "scoring.ClosePeriod POST": paired.test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin,
    "scoring.ReopenPeriod POST": paired.test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin,
    "scoring.GeneralScores PUT": paired.test_general_scores_on_the_page_and_the_api_name_the_manager,
    "scoring.GeneralScoreProposal PUT": paired.test_a_proposal_on_the_page_and_the_api_names_its_author,
    "scoring.Recalculations POST": paired.test_a_recalculation_job_names_who_started_it,
    "sso.SsoSettings PUT": paired.test_sso_settings_on_the_page_and_the_api_name_the_admin,
    "sso.SsoSettings DELETE": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
    "tenants.Settings PATCH": paired.test_settings_on_the_plugin_pages_and_the_api_name_the_admin,
    "tenants.Tenants POST": test_an_operators_token_names_the_operator_in_the_tenant_it_creates,
    "webhooks.Webhooks POST": test_webhooks_and_live_sources_on_the_api_name_the_admin,
    "webhooks.WebhookOne PATCH": test_webhooks_and_live_sources_on_the_api_name_the_admin,
    "webhooks.WebhookOne DELETE": test_webhooks_and_live_sources_on_the_api_name_the_admin,
    "webhooks.WebhookReplay POST": test_webhooks_and_live_sources_on_the_api_name_the_admin,
    "work.CalendarDays POST": paired.test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin,
    "work.CalendarDayById DELETE":
        paired.test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin,
    "work.LeaveRecords POST": paired.test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin,
    "work.LeaveById DELETE": paired.test_months_calendar_and_leave_on_the_admin_pages_and_the_api_name_the_admin,
    "work.Exempt POST": paired.test_overdue_actions_on_the_unit_page_and_the_api_name_the_manager,
    "work.Extend POST": paired.test_overdue_actions_on_the_unit_page_and_the_api_name_the_manager,
    "work.Review POST": paired.test_review_on_the_page_and_the_api_names_the_manager,
    "work.Verify POST": paired.test_verify_on_the_page_and_the_api_names_the_manager,
    "work.WorkItems POST": paired.test_declaring_on_the_page_and_the_api_names_the_person,
    "work.WorkItemById PATCH": test_completing_an_item_and_finalizing_a_year_on_the_api_name_the_person,
    "work.WorkSettingsView PATCH": test_deletes_and_other_admin_writes_on_the_api_name_the_admin,
}
NOT_AUDITED = {
    "scoring.WhatIf POST": "a preview: it scores in a transaction that is rolled back, nothing is stored",
    "classification.NotificationRead POST": "marks the caller's own notice read: a reading mark, not a change "
                                            "to anyone's work, scores or rights",
    "classification.NotificationsReadAll POST": "marks all of the caller's own notices read: a reading mark, "
                                                "not a change to anyone's work, scores or rights",
}


def _named_tests_exist(listed: dict) -> None:
    """A test named as "file::name" is there: a renamed test must not leave a write unproved."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for key, test in listed.items():
        if isinstance(test, str):
            path, name = test.split("::")
            assert f"def {name}(" in (root / path).read_text(encoding="utf-8"), (key, test)


def test_every_api_write_is_listed(app):
    """Each `/api/` rule and write method: in API_WRITES or, with a reason, NOT_AUDITED."""
    _named_tests_exist(API_WRITES)
    writes = {f"{rule.endpoint} {method}" for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"GET", "HEAD", "OPTIONS"}}
    assert writes == set(API_WRITES) | set(NOT_AUDITED), (writes ^ (set(API_WRITES) | set(NOT_AUDITED)))
    assert not set(API_WRITES) & set(NOT_AUDITED)


CLI_WRITES = {
    "tenant create": test_commands_that_change_data_are_audited_as_cli,
    "tenant apply": test_commands_that_change_data_are_audited_as_cli,
    "user create": test_commands_that_change_data_are_audited_as_cli,
    "recalc": test_commands_that_change_data_are_audited_as_cli,
    "classify": test_commands_that_change_data_are_audited_as_cli,
    "import": test_commands_that_change_data_are_audited_as_cli,
    "demo": test_the_demo_is_audited_as_cli,
    "tenant merge": _in("tests/mergers/test_mergers.py", "test_cli_merge_dry_run_conflicts_and_commit"),
    **dict.fromkeys(("tenant suspend", "tenant resume"),
                    _in("tests/tenants/test_tenant_suspend.py",
                        "test_the_commands_suspend_and_resume_and_a_wrong_slug_is_one_line")),
    "generate": _in("tests/generate/test_generate.py", "test_the_command_reports_where_the_time_went"),
}
CLI_NOT_AUDITED = {
    "worker": "runs queued jobs; each job's events name who asked for it",
    "schedule": "starts the nightly jobs, which name the scheduler and the rule they followed",
    "scorer": "re-scores what audited writes marked; scores are derived, recalculated on request",
    "webhooks deliver": "sends pending deliveries and keeps their attempts; nothing of the tenant's data changes",
    "tenant list": "reads",
    "tenant export": "reads the tenant into files; the database is not changed",
    "tenant import": "copies an export's rows, the audit chain with them, exactly: an event added would make "
                     "the copy differ from the export its manifest checks",
    "tenant restore": "the same copy, back into the database the merger took it from",
    "audit verify": "reads",
    "audit checkpoint": "anchors the chains' heads in files outside the database; no tenant data changes",
    "rls rotate-key": "platform-level, not a tenant's: written with its actor (cli:<login>) to congvu_rls.rotations",
    "rls retire-previous-key": "the same, in congvu_rls.rotations",
    "rls status": "reads",
    "plugins list": "reads",
    "plugins new": "writes a plugin skeleton to disk, not the database",
    "run": "Flask's development server", "shell": "Flask's shell", "routes": "Flask's route listing",
    "db": "Flask-Migrate: the schema, run by the owner; no tenant's rows",
    "limiter": "Flask-Limiter: rate-limit counters in their own store",
    "openapi": "flask-smorest: prints or writes the API description",
}


def _commands(app) -> set[str]:
    """Every command `congvu --help` lists (the app's and the plugins' too), groups opened."""
    import click
    from flask.cli import ScriptInfo

    from core.cli import main

    def walk(group, ctx, prefix: str) -> set[str]:
        out: set[str] = set()
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            out |= walk(command, ctx, f"{prefix}{name} ") if isinstance(command, click.Group) else {prefix + name}
        return out

    ctx = click.Context(main, obj=ScriptInfo(create_app=lambda: app))
    with ctx:
        return walk(main, ctx, "")


def test_every_command_is_listed(app):
    """A key names one command, or a whole group of a library's (`db`, `limiter`)."""
    _named_tests_exist(CLI_WRITES)
    commands = _commands(app)
    listed = set(CLI_WRITES) | set(CLI_NOT_AUDITED)
    assert {c for c in commands if c not in listed and c.split()[0] not in listed} == set()
    assert {k for k in listed if k not in commands and not any(c.startswith(k + " ") for c in commands)} == set()
    assert not set(CLI_WRITES) & set(CLI_NOT_AUDITED)
