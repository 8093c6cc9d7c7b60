"""The platform operator suspends a province and gives it back (both databases).

A hosted platform's operator must be able to stop a province (contract ended, security
incident) without losing anything. While suspended its pages answer 423 with a page
saying since when and whom to contact, its API 423 `tenant_suspended`, its logins are
refused with the same words, the nightly schedule passes it by; the operator's list
still shows it and reopens it. Both decisions are in the province's own audit log with
the operator and the reason; another province is untouched; bad input changes nothing."""

from __future__ import annotations

import html as htmllib
import re
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.auth.models import User
from core.cli import main
from core.extensions import db
from core.org.models import Employee, OrgUnit
from core.tenancy import tenant_context
from core.tenants.models import Tenant
from tests.factories import PASSWORD, build_world
from tests.mergers.test_mergers import _csrf, _operator_session
from tests.tenancy.test_isolation import page_session


def _text(page: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _counts(app, w) -> tuple[int, int, int]:
    with app.app_context(), tenant_context(w.tenant_id):
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (OrgUnit, Employee, User))


def _tenant(app, slug: str) -> Tenant:
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.expunge(tenant)
        return tenant


def _events(app, w, *actions: str) -> list[tuple[str, str, dict | None, dict | None]]:
    with app.app_context(), tenant_context(w.tenant_id):
        return [(e.action, e.actor, e.before, e.after) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.seq))]


def _since(tenant: Tenant) -> str:
    return tenant.suspended_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")


def _login_csrf(client) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)


def _suspend_page(client, slug: str, **form: str):
    token = _csrf(client.get(f"/operator/tenants/{slug}/suspend").get_data(as_text=True))
    return client.post(f"/operator/tenants/{slug}/suspend", data={"csrf_token": token, **form})


def test_suspend_locks_the_province_keeps_its_data_and_reopening_gives_it_back(clean_app, client):
    from core.jobs.schedule import mark_overdue

    a = build_world(clean_app, "tinh-a", client)
    b = build_world(clean_app, "tinh-b", client)
    staff, _ = page_session(clean_app, a, "staff")
    assert staff.get(f"/t/{a.slug}/today").status_code == 200
    before = _counts(clean_app, a)

    _operator_session(clean_app, client)
    home = client.get("/operator/").get_data(as_text=True)
    assert 'href="/operator/tenants/tinh-a/suspend"' in home and "Tạm ngừng" in home
    page = client.get("/operator/tenants/tinh-a/suspend")
    assert page.status_code == 200 and "Tôi xác nhận tạm ngừng Tỉnh thử tinh-a." in _text(page.get_data(as_text=True))

    done = _suspend_page(client, "tinh-a", reason="Hết hạn hợp đồng số 12/HĐ", confirm="yes")
    assert done.status_code == 302 and done.headers["Location"] == "/operator/"
    tenant = _tenant(clean_app, "tinh-a")
    assert (tenant.status, tenant.suspended_reason) == ("suspended", "Hết hạn hợp đồng số 12/HĐ")
    since = _since(tenant)
    words = _text(client.get("/operator/").get_data(as_text=True))
    assert f"tinh-a Tỉnh thử tinh-a — tạm ngừng sử dụng từ ngày {since}: Hết hạn hợp đồng số 12/HĐ Mở lại" in words
    assert _events(clean_app, a, "tenant.suspend") == [
        ("tenant.suspend", "operator:wizard", {"status": "active"},
         {"status": "suspended", "reason": "Hết hạn hợp đồng số 12/HĐ", "since": tenant.suspended_at.isoformat()})]

    message = f"Tỉnh thử tinh-a đang tạm ngừng sử dụng nền tảng từ ngày {since}."
    # The signed-in person's pages: 423 with the words, never the page nor a 500.
    for path in (f"/t/{a.slug}/today", f"/t/{a.slug}/"):
        locked = staff.get(path)
        assert locked.status_code == 423, path
        assert message in _text(locked.get_data(as_text=True))
        assert "Liên hệ đơn vị quản trị nền tảng để biết thêm." in _text(locked.get_data(as_text=True))
    # The API, even with a token issued before.
    api = client.get(f"/api/v1/tenants/{a.slug}/units", headers=a.headers("staff"))
    assert api.status_code == 423 and api.get_json()["code"] == "tenant_suspended"
    # Signing in: the page and the API refuse with the same reason.
    fresh = clean_app.test_client()
    login = fresh.post("/login", data={"tenant": a.slug, "username": "staff", "password": PASSWORD,
                                       "csrf_token": _login_csrf(fresh)})
    assert login.status_code == 423 and message in _text(login.get_data(as_text=True))
    token = fresh.post("/api/v1/auth/token", json={"tenant": a.slug, "username": "staff", "password": PASSWORD})
    assert token.status_code == 423 and token.get_json()["code"] == "tenant_suspended"
    # The nightly schedule passes it by; the other province runs.
    with clean_app.app_context():
        night = mark_overdue()
    assert str(a.tenant_id) not in night["tenants"] and str(b.tenant_id) in night["tenants"]
    # The other province is untouched.
    assert client.get(f"/api/v1/tenants/{b.slug}/units", headers=b.headers("staff")).status_code == 200
    other, _ = page_session(clean_app, b, "staff")
    assert other.get(f"/t/{b.slug}/today").status_code == 200
    assert _counts(clean_app, a) == before

    reopen = client.post("/operator/tenants/tinh-a/resume",
                         data={"csrf_token": _csrf(client.get("/operator/").get_data(as_text=True))})
    assert reopen.status_code == 302
    assert _tenant(clean_app, "tinh-a").status == "active"
    assert staff.get(f"/t/{a.slug}/today").status_code == 200
    assert client.get(f"/api/v1/tenants/{a.slug}/units", headers=a.headers("staff")).status_code == 200
    with clean_app.app_context():
        assert str(a.tenant_id) in mark_overdue()["tenants"]
    assert _counts(clean_app, a) == before
    assert _events(clean_app, a, "tenant.resume") == [
        ("tenant.resume", "operator:wizard",
         {"status": "suspended", "reason": "Hết hạn hợp đồng số 12/HĐ", "since": tenant.suspended_at.isoformat()},
         {"status": "active"})]


def test_a_reason_and_the_confirmation_are_required_and_nothing_changes_without_them(clean_app, client):
    a = build_world(clean_app, "tinh-a")
    _operator_session(clean_app, client)
    empty = _suspend_page(client, "tinh-a", reason="   ", confirm="yes")
    assert empty.status_code == 422 and "Nhập lý do tạm ngừng." in _text(empty.get_data(as_text=True))
    unconfirmed = _suspend_page(client, "tinh-a", reason="Sự cố an ninh")
    assert unconfirmed.status_code == 422
    assert "Đánh dấu vào ô xác nhận để tạm ngừng." in _text(unconfirmed.get_data(as_text=True))
    long = _suspend_page(client, "tinh-a", reason="x" * 501, confirm="yes")
    assert long.status_code == 422 and "Lý do dài quá 500 ký tự." in _text(long.get_data(as_text=True))
    assert client.get("/operator/tenants/khong-co/suspend").status_code == 404
    token = _csrf(client.get("/operator/").get_data(as_text=True))
    assert client.post("/operator/tenants/khong-co/resume", data={"csrf_token": token}).status_code == 404
    # Reopening a province in use is a conflict, not a write.
    assert client.post("/operator/tenants/tinh-a/resume", data={"csrf_token": token}).status_code == 409
    assert _tenant(clean_app, "tinh-a").status == "active"
    assert _events(clean_app, a, "tenant.suspend", "tenant.resume") == []


def test_only_the_operator_may_suspend(clean_app):
    a = build_world(clean_app, "tinh-a")
    admin, token = page_session(clean_app, a, "admin")
    assert admin.get("/operator/tenants/tinh-a/suspend").status_code == 403
    refused = admin.post("/operator/tenants/tinh-a/suspend",
                         data={"csrf_token": token, "reason": "thử", "confirm": "yes"})
    assert refused.status_code == 403
    assert admin.post("/operator/tenants/tinh-a/resume", data={"csrf_token": token}).status_code == 403
    assert _tenant(clean_app, "tinh-a").status == "active"
    assert _events(clean_app, a, "tenant.suspend") == []


def test_the_commands_suspend_and_resume_and_a_wrong_slug_is_one_line(clean_app, tmp_path):
    a = build_world(clean_app, "tinh-a")
    cli = clean_app.test_cli_runner()
    wrong = cli.invoke(main, ["tenant", "suspend", "khong-co", "--reason", "x"])
    assert wrong.exit_code == 1 and wrong.output.strip() == "error: no tenant 'khong-co'"
    empty = cli.invoke(main, ["tenant", "suspend", "tinh-a", "--reason", " "])
    assert empty.exit_code == 1 and len(empty.output.strip().splitlines()) == 1
    assert "Give the reason for the suspension." in empty.output
    assert _tenant(clean_app, "tinh-a").status == "active"
    done = cli.invoke(main, ["tenant", "suspend", "tinh-a", "--reason", "Sự cố an ninh"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("suspended tenant tinh-a since ")
    again = cli.invoke(main, ["tenant", "suspend", "tinh-a", "--reason", "lần nữa"])
    assert again.exit_code == 1 and again.output.strip() == (
        "error: Only a tenant in use can be suspended; tinh-a is suspended.")
    assert cli.invoke(main, ["tenant", "list"]).output.splitlines()[0].endswith("\tsuspended")
    # Its data can still be handed back.
    export = cli.invoke(main, ["tenant", "export", "--tenant", "tinh-a", "--out", str(tmp_path / "out")])
    assert export.exit_code == 0, export.output
    back = cli.invoke(main, ["tenant", "resume", "tinh-a"])
    assert back.exit_code == 0 and back.output.strip() == "resumed tenant tinh-a"
    assert cli.invoke(main, ["tenant", "resume", "khong-co"]).output.strip() == "error: no tenant 'khong-co'"
    assert [(e[0], e[1], (e[3] or {}).get("reason")) for e in _events(clean_app, a, "tenant.suspend", "tenant.resume")] \
        == [("tenant.suspend", "cli", "Sự cố an ninh"), ("tenant.resume", "cli", None)]
    assert _tenant(clean_app, "tinh-a").suspended_at is None


def test_a_job_queued_before_the_suspension_does_not_run(clean_app, client):
    from core import unit_of_work
    from core.jobs import runner
    from core.jobs.models import JobRun
    from core.tenants import suspension

    a = build_world(clean_app, "tinh-a")
    with clean_app.app_context():
        with tenant_context(a.tenant_id):
            run = JobRun(id="run-suspended", key="recalculation:2026-10", kind="recalculation", scope="2026-10",
                         params={"period": "2026-10"}, status="queued", requested_by="test")
            db.session.add(run)
            unit_of_work.commit()
        suspension.suspend("tinh-a", "Sự cố an ninh")
        unit_of_work.commit()
        assert runner._execute(a.tenant_id, "run-suspended") is None
        with tenant_context(a.tenant_id):
            run = db.session.get(JobRun, "run-suspended")
            assert (run.status, run.error) == ("failed", "The tenant is suspended.")


def test_the_page_says_whom_to_contact_when_the_operator_set_it(clean_app, client, monkeypatch):
    from core import unit_of_work
    from core.tenants import suspension

    build_world(clean_app, "tinh-a")
    with clean_app.app_context():
        suspension.suspend("tinh-a", "Sự cố an ninh")
        unit_of_work.commit()
    monkeypatch.setitem(clean_app.config, "CONGVU_OPERATOR_CONTACT", "hotro@congvu.gov.vn, 024 1234 5678")
    page = client.get("/t/tinh-a/today")
    assert page.status_code == 423
    words = _text(page.get_data(as_text=True))
    assert f"Tỉnh thử tinh-a đang tạm ngừng sử dụng nền tảng từ ngày {_since(_tenant(clean_app, 'tinh-a'))}." in words
    assert "Liên hệ đơn vị quản trị nền tảng: hotro@congvu.gov.vn, 024 1234 5678." in words
    assert "Sự cố an ninh" not in words  # the reason is the operator's, not the province's people's


def test_people_signed_in_before_the_suspension_are_locked_out_of_the_pages_outside_their_province(clean_app, client):
    """Every route of the app outside /t/<tenant>/ that a tenant's person can reach (the
    url_map, listed below) answers 423 with the province's words once it is suspended,
    for a session opened before and for a token issued before; logging out and revoking
    still work; the operator's pages are untouched."""
    from core import unit_of_work
    from core.tenants import suspension

    a = build_world(clean_app, "tinh-a", client)
    staff, csrf = page_session(clean_app, a, "staff")
    assert staff.get("/account/password").status_code == 200
    with clean_app.app_context():
        suspension.suspend("tinh-a", "Sự cố an ninh")
        unit_of_work.commit()
    message = f"Tỉnh thử tinh-a đang tạm ngừng sử dụng nền tảng từ ngày {_since(_tenant(clean_app, 'tinh-a'))}."

    # The app's routes outside a tenant's prefix, so a new one is not forgotten here.
    outside = sorted(r.rule for r in clean_app.url_map.iter_rules()
                     if "<t>" not in r.rule and not r.rule.startswith(("/static", "/operator", "/api/v1/tenants/<")))
    assert outside == ["/", "/account/password", "/api/docs", "/api/docs/static/<path:filename>",
                       "/api/v1/auth/password", "/api/v1/auth/revoke", "/api/v1/auth/token", "/api/v1/openapi.json",
                       "/api/v1/platform/health", "/api/v1/plugins", "/api/v1/tenants", "/favicon.ico", "/healthz",
                       "/login", "/logout", "/metrics"]
    for path in ("/", "/account/password"):
        page = staff.get(path)
        assert page.status_code == 423, path
        assert message in _text(page.get_data(as_text=True)), path
    changed = staff.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD,
                                                    "new_password": "Moi@Matkhau2026", "confirm": "Moi@Matkhau2026"})
    assert changed.status_code == 423
    headers = a.headers("staff")
    for method, path, body in (("post", "/api/v1/auth/password",
                                {"current_password": PASSWORD, "new_password": "Moi@Matkhau2026"}),
                               ("get", "/api/v1/plugins", None), ("get", "/api/v1/tenants", None),
                               ("get", "/api/v1/platform/health", None),
                               ("post", "/api/v1/auth/revoke", None)):
        api = getattr(client, method)(path, json=body, headers=headers)
        assert (api.status_code, api.get_json()["code"]) == (423, "tenant_suspended"), path
    # The password did not change: the old one still opens the door once it is resumed.
    with clean_app.app_context(), tenant_context(a.tenant_id):
        from core.auth.passwords import verify_password
        user = db.session.scalar(select(User).where(User.username == "staff"))
        assert verify_password(user.password_hash, PASSWORD)
    # The operator's own pages keep working.
    operator = clean_app.test_client()
    _operator_session(clean_app, operator)
    for path in ("/operator/", "/operator/dashboard", "/operator/tenants/new", "/operator/merges"):
        assert operator.get(path).status_code == 200, path
    assert operator.get("/").status_code == 302
    # Logging out always works.
    assert staff.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert staff.get("/").headers["Location"].endswith("/login")


def test_commands_that_would_change_a_suspended_tenant_refuse_in_one_line_and_the_operators_still_work(
        clean_app, tmp_path):
    """One check at tenant_context refuses every command that enters a suspended tenant
    (here a login, a recalculation, a classification, an import), before it reads or
    writes anything; the operator's own commands (verify the audit log, export, resume)
    go on, and another province is untouched."""
    a = build_world(clean_app, "tinh-a")
    b = build_world(clean_app, "tinh-b")
    cli = clean_app.test_cli_runner()
    assert cli.invoke(main, ["tenant", "suspend", "tinh-a", "--reason", "Sự cố an ninh"]).exit_code == 0
    since = _since(_tenant(clean_app, "tinh-a"))
    before = _counts(clean_app, a)
    staff_file = tmp_path / "nhan-su.csv"
    staff_file.write_text("employee_code,full_name\nX1,Người Mới\n", encoding="utf-8")

    for args, words, stdin in (
            (["user", "create", "--tenant", "tinh-a", "--username", "moi", "--password-stdin"], "user create",
             "Mat-Khau-Rieng#2031\n"),
            (["recalc", "--tenant", "tinh-a", "--period", "2026-10"], "recalc", None),
            (["classify", "--tenant", "tinh-a", "--year", "2026"], "classify", None),
            (["import", "--tenant", "tinh-a", "--connector", "staff-csv", str(staff_file)], "import", None)):
        refused = cli.invoke(main, args, input=stdin)
        assert refused.exit_code == 1, (args, refused.output)
        assert refused.output.splitlines() == [
            f"error: tenant tinh-a is suspended since {since}: `congvu {words}` changes nothing "
            "until the operator resumes it (congvu tenant resume tinh-a)"], args
    assert _counts(clean_app, a) == before
    assert _events(clean_app, a, "user.create") == []

    # The operator's commands on it go on.
    verify = cli.invoke(main, ["audit", "verify", "--tenant", "tinh-a"])
    assert verify.exit_code == 0, verify.output
    assert cli.invoke(main, ["tenant", "export", "--tenant", "tinh-a", "--out", str(tmp_path / "out")]).exit_code == 0
    # Another province is not concerned.
    other = cli.invoke(main, ["user", "create", "--tenant", "tinh-b", "--username", "moi", "--password-stdin"],
                       input="Mat-Khau-Rieng#2031\n")
    assert other.exit_code == 0 and other.output.strip() == "created user moi in tinh-b with roles employee", other.output
    # Resumed, the same command works.
    assert cli.invoke(main, ["tenant", "resume", "tinh-a"]).exit_code == 0
    again = cli.invoke(main, ["user", "create", "--tenant", "tinh-a", "--username", "moi", "--password-stdin"],
                       input="Mat-Khau-Rieng#2031\n")
    assert again.exit_code == 0 and again.output.strip() == "created user moi in tinh-a with roles employee"
    assert _counts(clean_app, b)[2] == 7


def test_resuming_queues_again_the_jobs_the_suspension_refused_and_only_those(clean_app, monkeypatch):
    """A recalculation queued before the suspension was refused ("The tenant is
    suspended."): resuming queues it again and it runs (inline here, without Redis; with
    Redis it goes back on its queue); a run that failed for another reason, and one whose
    key has since been queued again, are left as they are; the resume's audit event names
    what it queued again."""
    from datetime import timedelta

    from core import unit_of_work
    from core.jobs import runner
    from core.jobs.models import JobRun
    from core.tenants import suspension

    a = build_world(clean_app, "tinh-a")
    b = build_world(clean_app, "tinh-b")  # another province's refused run is not this resume's
    with clean_app.app_context():
        suspension.suspend("tinh-a", "Sự cố an ninh")
        suspension.suspend("tinh-b", "Sự cố an ninh")
        unit_of_work.commit()
        since = _tenant(clean_app, "tinh-a").suspended_at
        for world, run_id, key, status, error, finished in [
                (a, "refused", "recalculation:2026-10", "queued", None, None),
                (a, "boom", "recalculation:2026-09", "failed", "boom", since + timedelta(minutes=1)),
                (a, "refused-old", "recalculation:2026-08", "failed", runner.SUSPENDED_ERROR,
                 since - timedelta(days=30)),  # a past suspension's, re-queued when that one ended
                (a, "refused-twice", "recalculation:2026-07", "failed", runner.SUSPENDED_ERROR,
                 since + timedelta(minutes=2)),
                (a, "queued-again", "recalculation:2026-07", "queued", None, None),
                (b, "refused-b", "recalculation:2026-10", "failed", runner.SUSPENDED_ERROR,
                 since + timedelta(minutes=1))]:
            with tenant_context(world.tenant_id):
                db.session.add(JobRun(id=run_id, key=key, kind="recalculation", scope=key.split(":")[1],
                                      params={"period": key.split(":")[1]}, status=status, error=error,
                                      finished_at=finished, requested_by="test"))
                unit_of_work.commit()
        assert runner._execute(a.tenant_id, "refused") is None  # a worker meets it while suspended
        monkeypatch.setattr(runner, "execute", lambda tid, run_id, listener=None: ran.append((tid, run_id)))
    ran: list[tuple[int, str]] = []
    back = clean_app.test_cli_runner().invoke(main, ["tenant", "resume", "tinh-a"])
    assert back.exit_code == 0, back.output
    assert back.output.strip() == "resumed tenant tinh-a; 1 jobs refused while suspended queued again"
    assert ran == [(a.tenant_id, "refused")]  # started after the commit, once
    with clean_app.app_context():
        with tenant_context(a.tenant_id):
            states = {r.id: (r.status, r.error) for r in db.session.scalars(select(JobRun))}
        with tenant_context(b.tenant_id):
            assert db.session.get(JobRun, "refused-b").status == "failed"
    assert states == {"refused": ("queued", None), "boom": ("failed", "boom"),
                      "refused-old": ("failed", runner.SUSPENDED_ERROR),
                      "refused-twice": ("failed", runner.SUSPENDED_ERROR), "queued-again": ("queued", None)}
    resumed = _events(clean_app, a, "tenant.resume")
    assert [(e[1], e[3]) for e in resumed] == [("cli", {"status": "active", "requeued_jobs": ["refused"]})]


def test_a_refused_run_queued_again_runs_to_its_end(clean_app, client):
    """Without Redis `send` runs it inline, as `submit` does: the recalculation finishes."""
    from core import unit_of_work
    from core.jobs.models import JobRun
    from core.tenants import suspension

    a = build_world(clean_app, "tinh-a")
    with clean_app.app_context():
        with tenant_context(a.tenant_id):
            db.session.add(JobRun(id="refused", key="recalculation:2026-10", kind="recalculation", scope="2026-10",
                                  params={"period": "2026-10"}, status="queued", requested_by="test"))
            unit_of_work.commit()
        suspension.suspend("tinh-a", "Sự cố an ninh")
        unit_of_work.commit()
        from core.jobs import runner

        runner._execute(a.tenant_id, "refused")
    _operator_session(clean_app, client)
    token = _csrf(client.get("/operator/").get_data(as_text=True))
    assert client.post("/operator/tenants/tinh-a/resume", data={"csrf_token": token}).status_code == 302
    with clean_app.app_context(), tenant_context(a.tenant_id):
        run = db.session.get(JobRun, "refused")
        assert (run.status, run.error, run.attempts) == ("finished", None, 1)
