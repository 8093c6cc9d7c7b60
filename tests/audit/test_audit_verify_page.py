"""An inspector checks the audit chain from the audit page (both databases), as
`congvu audit verify` does on a command line they do not have: an intact log of exactly
40 events says so with its signed checkpoint; an edited event says the log is not intact
and at which event; a person without the inspector's roles is refused; a GET starts
nothing (the check reads the whole log). The check is a job: the POST starts it and
answers with its page, which shows the bar while a worker walks the log and the
verdict once it has; the walk reports its progress."""

from __future__ import annotations

import html as htmllib
import re

from tests.audit.test_audit_checkpoints import forty, owner_sql  # noqa: F401 (fixtures)
from tests.tenancy.test_isolation import page_session


def _text(page: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _check(app, w, who: str = "auditor"):
    client, token = page_session(app, w, who)
    return client.post(f"/t/{w.slug}/admin/audit/verify", data={"csrf_token": token}, follow_redirects=True)


def test_an_intact_log_says_so_with_its_checkpoint(clean_app, client, forty):  # noqa: F811
    response = _check(clean_app, forty)
    assert response.status_code == 200
    words = _text(response.get_data(as_text=True))
    assert "Nhật ký nguyên vẹn" in words
    assert "Đã kiểm tra 40 sự kiện: không sự kiện nào bị sửa, xóa hay đổi thứ tự." in words
    assert "khớp với mốc đã ký lúc" in words and "(STT 40)" in words
    assert "không còn nguyên vẹn" not in words


def test_an_edited_event_is_found_and_numbered(clean_app, client, backend, forty):  # noqa: F811
    owner_sql(backend, "UPDATE audit_events SET object_id = 'x' WHERE tenant_id = :t AND seq = 17",
              t=forty.tenant_id)
    response = _check(clean_app, forty)
    assert response.status_code == 200
    words = _text(response.get_data(as_text=True))
    assert "Nhật ký không còn nguyên vẹn" in words
    assert "Sai lệch đầu tiên ở sự kiện STT 17." in words
    assert "Nhật ký nguyên vẹn" not in words


def test_the_check_is_the_inspectors_and_a_post(clean_app, client, forty):  # noqa: F811
    admin, _token = page_session(clean_app, forty, "admin")
    assert f'action="/t/{forty.slug}/admin/audit/verify"' in admin.get(f"/t/{forty.slug}/admin/audit").get_data(
        as_text=True)
    assert admin.get(f"/t/{forty.slug}/admin/audit/verify").status_code == 405
    for who in ("manager", "staff"):
        assert _check(clean_app, forty, who).status_code == 403, who


def _run(app, w, status: str, result: dict | None = None, error: str | None = None) -> str:
    import uuid

    from core import unit_of_work
    from core.extensions import db
    from core.jobs.models import JobRun
    from core.tenancy import tenant_context

    with app.app_context(), tenant_context(w.tenant_id):
        run = JobRun(id=str(uuid.uuid4()), key=f"audit_verify:{status}", kind="audit_verify", scope=status,
                     params={}, requested_by="test", status=status, result=result, error=error)
        db.session.add(run)
        unit_of_work.commit()
        return run.id


def test_the_check_is_a_job_whose_page_shows_its_verdict(clean_app, client, forty):  # noqa: F811
    from sqlalchemy import select

    from core.extensions import db
    from core.jobs.models import JobRun
    from core.tenancy import tenant_context

    auditor, token = page_session(clean_app, forty, "auditor")
    started = auditor.post(f"/t/{forty.slug}/admin/audit/verify", data={"csrf_token": token})
    assert started.status_code == 302
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    with clean_app.app_context(), tenant_context(forty.tenant_id):
        run = db.session.scalar(select(JobRun).where(JobRun.id == job_id))
        assert (run.kind, run.status, run.result["ok"], run.result["count"], run.result["problem_count"]) == (
            "audit_verify", "finished", True, 40, 0)
        assert run.requested_by.startswith("user:")
    words = _text(auditor.get(started.headers["Location"]).get_data(as_text=True))
    assert "Đã kiểm tra 40 sự kiện" in words
    # Another kind of run of the same tenant is no check of its log.
    from tests.tenancy.test_isolation import _job_of

    assert auditor.get(f"/t/{forty.slug}/admin/audit/verify/{_job_of(clean_app, forty)}").status_code == 404
    assert auditor.get(f"/t/{forty.slug}/admin/audit/verify/{'x' * 37}").status_code == 404


def test_a_running_check_shows_its_bar_and_a_failed_one_says_so(clean_app, client, forty):  # noqa: F811
    auditor, _token = page_session(clean_app, forty, "auditor")
    running = auditor.get(f"/t/{forty.slug}/admin/audit/verify/{_run(clean_app, forty, 'running')}")
    html = running.get_data(as_text=True)
    assert running.status_code == 200 and 'hx-trigger="every 1s"' in html and "/bar?inline=1" in html
    words = _text(html)
    assert "Nhật ký nguyên vẹn" not in words and "không còn nguyên vẹn" not in words
    failed = _text(auditor.get(
        f"/t/{forty.slug}/admin/audit/verify/{_run(clean_app, forty, 'failed', error='boom')}").get_data(as_text=True))
    assert "Không thể hoàn tất việc kiểm tra" in failed and "boom" in failed
    assert "Nhật ký nguyên vẹn" not in failed


def test_the_walk_reports_its_progress(clean_app, forty, monkeypatch):  # noqa: F811
    from core.audit import services, verifying

    monkeypatch.setattr(services, "PROGRESS_EVERY", 15)
    heard: list[tuple] = []
    with clean_app.app_context():
        verdict = verifying.check(forty.tenant_id, lambda done, total, stage: heard.append((done, total, stage)))
    assert verdict.ok and verdict.count == 40
    assert heard == [(15, 40, None), (30, 40, None)]


def test_a_broken_chain_keeps_its_first_problems_and_their_number(monkeypatch):
    from core.audit import verifying

    monkeypatch.setattr(verifying, "SHOWN_PROBLEMS", 3)
    verdict = verifying.Verdict(ok=False, count=9, problems=[f"event seq {n}: content was changed" for n in range(5)],
                                first_seq=0)
    result = verifying.as_result(verdict)
    assert (result["problems"], result["problem_count"]) == (verdict.problems[:3], 5)
    assert verifying.from_result(result) == verifying.Verdict(ok=False, count=9, problems=verdict.problems[:3],
                                                              first_seq=0, problem_count=5)
