"""The operator's health board (both databases): each part of the installation with an
OK / needs-a-look state — database, Redis, job workers, queues, the scorer's backlog, the
schema revision, the jobs that failed in the last day — in Vietnamese (English on
request); with the embedded default (no Redis) it says jobs run inline; it shows no
tenant's personal data."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

from sqlalchemy import text

from core import unit_of_work
from core.dashboards.platform_health import code_heads
from core.extensions import db
from core.jobs.models import JobRun
from core.scoring.models import ScoringMark
from core.tenancy import tenant_context
from core.timeutil import utcnow
from tests.factories import build_world, login, make_operator
from tests.mergers.test_mergers import _operator_session

# The code's head revision, read as the board reads it, so that adding a migration leaves
# these tests true; BEHIND stands for a database left at an earlier revision.
(HEAD,) = code_heads()
BEHIND = f"{int(HEAD) - 1:04d}"


def _text(page: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))).strip()


def _row(page: str, row_id: str) -> str:
    return _text(re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S).group(1))


def _failed_run(run_id: str, ago: timedelta, error: str) -> JobRun:
    at = utcnow() - ago
    return JobRun(id=run_id, key=f"import:{run_id}", kind="import", scope="2026-10", params={}, status="failed",
                  requested_by="test", created_at=at, finished_at=at, error=error)


def test_the_embedded_installation_says_jobs_run_inline_and_flags_the_backlog_and_failed_jobs(clean_app, client):
    a = build_world(clean_app, "tinh-a")
    with clean_app.app_context(), tenant_context(a.tenant_id):
        db.session.add_all([
            _failed_run("run-new", timedelta(hours=1), "Dòng 3: Nguyễn Văn Bí Mật không có mã"),
            _failed_run("run-old", timedelta(hours=30), "old"),
            ScoringMark(employee_id=1, period="2026-10",
                        marked_at=utcnow() - timedelta(minutes=10)),
        ])
        unit_of_work.commit()
    _operator_session(clean_app, client)
    response = client.get("/operator/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    assert _row(page, "health-database") == "Cơ sở dữ liệu Bình thường Đang phản hồi."
    assert _row(page, "health-redis") == ("Redis chạy trực tiếp Chưa cấu hình: tác vụ chạy trực tiếp, ngay trong "
                                          "yêu cầu hoặc lệnh khởi tạo chúng.")
    assert _row(page, "health-workers") == "Tiến trình xử lý tác vụ nền chạy trực tiếp Không cần: tác vụ chạy trực tiếp."
    assert _row(page, "health-queues") == "Hàng đợi chạy trực tiếp Không có hàng đợi: bản cài đặt này chạy tác vụ trực tiếp."
    assert _row(page, "health-marks") == ("Tồn đọng chấm điểm Cần kiểm tra 1 dấu thay đổi đang chờ chấm lại điểm; "
                                          "lâu nhất đã chờ 10 phút (điểm được cập nhật ngay trong lần lưu của mỗi "
                                          "thay đổi)")
    assert _row(page, "health-schema") == f"Phiên bản cấu trúc cơ sở dữ liệu Bình thường Phiên bản {HEAD}, khớp với mã nguồn."
    assert _row(page, "health-failed") == "Tác vụ lỗi trong 24 giờ qua Cần kiểm tra 1 tác vụ lỗi"
    assert "2 thành phần cần kiểm tra." in _text(page)
    failed = _text(page.split('<h3>Tác vụ lỗi trong 24 giờ qua</h3>', 1)[1].split("</table>", 1)[0])
    assert failed.startswith("Nội dung lỗi không hiển thị ở đây vì có thể nêu tên người.")
    assert len(re.findall(r"\btinh-a\b", failed)) == 1
    # No tenant's personal data: not the failed run's error, not a person's name.
    assert "Bí Mật" not in page and "Người staff" not in page

    english = _text(client.get("/operator/dashboard?lang=en").get_data(as_text=True))
    assert "2 parts need a look." in english
    assert "Not configured: jobs run inline, in the request or command that starts them." in english
    assert "1 change mark waits for the scorer; the oldest for 10 min" in english


def test_a_database_behind_the_code_is_flagged_with_what_to_run(clean_app, client):
    _operator_session(clean_app, client)
    with clean_app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": BEHIND})
        db.session.commit()
    try:
        page = client.get("/operator/dashboard").get_data(as_text=True)
    finally:
        with clean_app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": HEAD})
            db.session.commit()
    assert _row(page, "health-schema") == ("Phiên bản cấu trúc cơ sở dữ liệu Cần kiểm tra Cơ sở dữ liệu ở phiên bản "
                                           f"{BEHIND}, mã nguồn cần {HEAD}: chạy congvu db upgrade.")
    assert "1 thành phần cần kiểm tra." in _text(page)
    assert _row(page, "health-failed") == "Tác vụ lỗi trong 24 giờ qua Bình thường 0 tác vụ lỗi"
    assert _row(page, "health-marks") == ("Tồn đọng chấm điểm Bình thường Không có gì chờ chấm lại điểm. (điểm được "
                                          "cập nhật ngay trong lần lưu của mỗi thay đổi)")


def test_with_redis_the_board_shows_each_worker_its_heartbeat_and_each_queue(clean_app, backend, redis_url,
                                                                              tmp_path_factory):
    import uuid

    from redis import Redis
    from rq import Queue, Worker

    from tests.conftest import make_app

    prefix = f"test-{uuid.uuid4().hex[:8]}-"  # queues of our own: other runs may share this Redis
    app = make_app(backend, tmp_path_factory, CONGVU_REDIS_URL=redis_url, CONGVU_QUEUE_PREFIX=prefix)
    conn = Redis.from_url(redis_url)
    imports = Queue(f"{prefix}imports", connection=conn)
    worker = Worker([Queue(f"{prefix}scoring", connection=conn)], connection=conn, name=f"{prefix}w1")
    worker.register_birth()
    worker.heartbeat()
    imports.enqueue("builtins.print", "waiting")  # only the scoring queue has a worker: it stays queued
    try:
        client = app.test_client()
        _operator_session(app, client)
        page = client.get("/operator/dashboard").get_data(as_text=True)
        api = client.get("/api/v1/platform/health",
                         headers={"Authorization": f"Bearer {login(client, None, 'wizard')}"}).get_json()
    finally:
        worker.register_death()
        imports.empty()
    assert _row(page, "health-redis") == "Redis Bình thường Đang phản hồi."
    assert re.fullmatch(r"Tiến trình xử lý tác vụ nền Bình thường 1 tiến trình xử lý đang chạy; "
                        r"tín hiệu gần nhất [0-5] giây trước", _row(page, "health-workers")), _row(page, "health-workers")
    assert _row(page, "health-queues") == "Hàng đợi Cần kiểm tra 1 tác vụ đang chờ, 0 tác vụ lỗi trong RQ"
    queues = _text(page.split("<h3>Hàng đợi</h3>", 1)[1].split("</table>", 1)[0])
    assert queues == (f"Hàng đợi Hàng đợi Trạng thái Đang chờ Lỗi trong RQ Có tiến trình xử lý "
                      f"{prefix}default Bình thường 0 0 không {prefix}imports Cần kiểm tra 1 0 không "
                      f"{prefix}scoring Bình thường 0 0 có")
    assert _row(page, "health-marks") == "Tồn đọng chấm điểm Bình thường Không có gì chờ chấm lại điểm."

    # The API's twin says the same.
    assert (api["redis"], api["warnings"]) == ({"configured": True, "ok": True, "error": None, "state": "ok"}, 1)
    assert api["workers"]["state"] == "ok" and 0 <= api["workers"]["latest_heartbeat_age"] <= 5
    assert [(w["name"], w["queues"], w["state"]) for w in api["workers"]["items"]] == [
        (f"{prefix}w1", [f"{prefix}scoring"], "ok")]
    assert api["queues"] == [
        {"name": f"{prefix}default", "waiting": 0, "failed": 0, "served": False, "state": "ok"},
        {"name": f"{prefix}imports", "waiting": 1, "failed": 0, "served": False, "state": "warning"},
        {"name": f"{prefix}scoring", "waiting": 0, "failed": 0, "served": True, "state": "ok"}]


def test_the_api_twin_of_the_board_gives_the_same_facts_without_error_text(clean_app, client):
    """GET /api/v1/platform/health: the board's facts as JSON for the operator's monitoring;
    the embedded installation (no Redis) reads inline, the stale mark and the failed run of
    the last day are flagged, the one of 30 hours ago is not, and no error text is shown."""
    from core.dashboards.platform_health import code_heads

    a = build_world(clean_app, "tinh-a")
    with clean_app.app_context(), tenant_context(a.tenant_id):
        db.session.add_all([
            _failed_run("run-new", timedelta(hours=1), "Dòng 3: Nguyễn Văn Bí Mật không có mã"),
            _failed_run("run-old", timedelta(hours=30), "old"),
            ScoringMark(employee_id=1, period="2026-10", marked_at=utcnow() - timedelta(minutes=10)),
        ])
        unit_of_work.commit()
    token = make_operator(clean_app, client)
    response = client.get("/api/v1/platform/health", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    failed_at = body["failed_runs"]["runs"][0].pop("at")
    heads = list(code_heads())
    assert body == {
        "warnings": 2,
        "database": {"ok": True, "state": "ok"},
        "redis": {"configured": False, "ok": None, "error": None, "state": "inline"},
        "workers": {"state": "inline", "latest_heartbeat_age": None, "items": []},
        "queues": [],
        "scorer_backlog": {"deferred": False, "pending": 1, "oldest_age": body["scorer_backlog"]["oldest_age"],
                           "state": "warning"},
        "schema": {"database": heads, "code": heads, "state": "ok"},
        "failed_runs": {"count": 1, "state": "warning",
                        "runs": [{"tenant": "tinh-a", "kind": "import", "scope": "2026-10"}]},
    }
    assert 600 <= body["scorer_backlog"]["oldest_age"] <= 660
    assert failed_at.endswith("+00:00")
    assert "Bí Mật" not in response.get_data(as_text=True)
