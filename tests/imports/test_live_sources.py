"""Live sources (both databases): a live connector pulls pages from a real HTTP server this
test starts, from a stored cursor, through the import connector's checks and all-or-nothing
writer. A server that times out, answers 500, sends a malformed page or a row that does not
fit changes nothing and leaves the cursor where it was; a changed record is updated."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.extensions import db
from core.imports.models import LiveSource
from core.tenancy import tenant_context
from core.work.models import WorkItem
from tests.work.test_work_pages import csrf, sign_in

pytest_plugins = ("tests.work.test_work_support",)


class Remote:
    """Another system's API: `answer(query)` gives (status, body, delay) for each GET."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.answer: Callable[[dict], tuple[int, bytes, float]] = lambda q: (200, b"{}", 0.0)
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                remote.calls.append({"query": query, "headers": dict(self.headers)})
                status, body, delay = remote.answer(query)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/hoso-da-giai-quyet"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pages(self, by_cursor: dict[str | None, dict]) -> None:
        self.answer = lambda q: (200, json.dumps(by_cursor[q.get("tuNgay")], ensure_ascii=False).encode(), 0.0)


def dossier(code: str, handler: str = "STAFF", rating: int | None = 4, finished: str = "2026-10-08T09:00:00+07:00"):
    # The one-stop system's own field names (plugins/live.py, ONE_STOP_FIELDS).
    return {"MaHoSo": code, "MaThuTuc": "HT01", "TenThuTuc": "Đăng ký khai sinh", "MaCanBoXuLy": handler,
            "NgayTiepNhan": "2026-10-05T08:10:00+07:00", "NgayHenTra": "2026-10-07T17:00:00+07:00",
            "NgayKetThucXuLy": finished, "KetQua": "Đã trả kết quả", "DanhGiaHaiLong": rating}


@pytest.fixture
def remote(clean_app, monkeypatch):
    monkeypatch.setitem(clean_app.config, "CONGVU_OUTBOUND_ALLOW_PRIVATE", 1)
    monkeypatch.setitem(clean_app.config, "CONGVU_LIVE_TIMEOUT", 0.4)
    monkeypatch.setitem(clean_app.config, "CONGVU_LIVE_ATTEMPTS", 2)
    monkeypatch.setitem(clean_app.config, "CONGVU_LIVE_BACKOFF_SECONDS", 0.05)
    r = Remote()
    yield r
    r.server.shutdown()
    r.server.server_close()


def add_source(client, w, url: str, connector: str = "one-stop-api", expect: int = 201, **settings) -> dict:
    r = client.post(w.url("/live-sources"), json={"name": "Một cửa tỉnh", "connector": connector,
                                                  "settings": {"url": url, **settings}}, headers=w.h("admin"))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def pull(client, w, source_id: int) -> dict:
    r = client.post(w.url(f"/live-sources/{source_id}/pull"), headers=w.h("admin"))
    assert r.status_code == 202, r.get_json()
    runs = client.get(w.url(f"/live-sources/{source_id}/runs"), headers=w.h("admin")).get_json()
    assert runs[0]["id"] == r.get_json()["job_id"]
    return runs[0]


def items(app, w) -> list[tuple]:
    with app.app_context(), tenant_context(w.tenant_id):
        return [tuple(r) for r in db.session.execute(select(WorkItem.external_id, WorkItem.satisfaction,
                                                            WorkItem.employee_id).order_by(WorkItem.external_id))]


def cursor_of(app, w, source_id: int) -> str | None:
    with app.app_context(), tenant_context(w.tenant_id):
        return db.session.get(LiveSource, source_id).cursor


def test_pages_are_pulled_from_the_cursor_and_a_changed_record_is_updated(clean_app, client, world, remote):
    remote.pages({None: {"data": [dossier("HS-1")], "conTro": "c1"},
                  "c1": {"data": [dossier("HS-2", handler="STAFF2", rating=None)], "conTro": "c2"},
                  "c2": {"data": [], "conTro": "c2"}})
    source = add_source(client, world, remote.url, auth_header="Authorization: Bearer bi-mat")
    assert source["settings"]["auth_header"] == "Authorization: ••••••"  # never shown back
    run = pull(client, world, source["id"])
    assert run["status"] == "finished", run
    assert (run["result"]["pages"], run["result"]["records"], run["result"]["rows_written"]) == (3, 2, 2)
    assert run["result"]["cursor"] == "c2" and run["result"]["cursor_advanced"] is True
    assert [c["query"].get("tuNgay") for c in remote.calls] == [None, "c1", "c2"]
    assert remote.calls[0]["headers"]["Authorization"] == "Bearer bi-mat"
    assert remote.calls[0]["query"]["soLuong"] == "200"
    assert items(clean_app, world) == [("dossier:HS-1", 4, world.ids["staff"]), ("dossier:HS-2", None,
                                                                                   world.ids["staff2"])]
    # The next pull starts where the last ended: the one-stop system re-rated HS-1.
    remote.pages({"c2": {"data": [dossier("HS-1", rating=5)], "conTro": "c3"}, "c3": {"data": [], "conTro": "c3"}})
    run = pull(client, world, source["id"])
    assert run["result"]["changes"] == {"new": 0, "updated": 1, "unchanged": 0}
    assert items(clean_app, world)[0] == ("dossier:HS-1", 5, world.ids["staff"])
    assert cursor_of(clean_app, world, source["id"]) == "c3"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        commits = db.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "import.commit")
                                     .order_by(AuditEvent.seq)).all()
    assert len(commits) == 2 and commits[-1] == f"user:{world.principals['admin'].id}:admin via job {run['id']}"


@pytest.mark.parametrize(("answer", "message"), [
    (lambda q: (200, b"{}", 1.0), "No answer after 2 attempts (last: timed out)."),
    (lambda q: (500, b"{}", 0.0), "No answer after 2 attempts (last: HTTP 500)."),
    (lambda q: (404, b"{}", 0.0), "The system answered HTTP 404."),
    (lambda q: (200, b"<html>maintenance</html>", 0.0), "The page is not valid JSON."),
    (lambda q: (200, b'{"data": "none"}', 0.0), "The page has no list of records at 'data'."),
])
def test_a_misbehaving_remote_changes_nothing(clean_app, client, world, remote, answer, message):
    remote.pages({None: {"data": [dossier("HS-1")], "conTro": "c1"}, "c1": {"data": [], "conTro": "c1"}})
    source = add_source(client, world, remote.url)
    assert pull(client, world, source["id"])["status"] == "finished"
    remote.answer = answer
    run = pull(client, world, source["id"])
    assert run["status"] == "failed" and run["error"] == message
    assert cursor_of(clean_app, world, source["id"]) == "c1"
    assert [i[0] for i in items(clean_app, world)] == ["dossier:HS-1"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.get(LiveSource, source["id"]).last_error == message


def test_a_500_that_passes_is_retried(clean_app, client, world, remote):
    answers = iter([(500, b"{}", 0.0), (200, json.dumps({"data": [dossier("HS-9")], "conTro": "x"}).encode(), 0.0),
                    (200, b'{"data": [], "conTro": "x"}', 0.0)])
    remote.answer = lambda q: next(answers)
    source = add_source(client, world, remote.url)
    run = pull(client, world, source["id"])
    assert run["status"] == "finished" and run["result"]["rows_written"] == 1 and len(remote.calls) == 3


def test_a_row_that_does_not_fit_writes_nothing_and_keeps_the_cursor(clean_app, client, world, remote):
    # HS-2's handler is nobody of this tenant (say, a code of another province): the import's
    # row/column error, and HS-1 of the same pull is not written either.
    remote.pages({None: {"data": [dossier("HS-1"), dossier("HS-2", handler="NGUOI-TINH-KHAC")], "conTro": "c1"},
                  "c1": {"data": [], "conTro": "c1"}})
    source = add_source(client, world, remote.url)
    run = pull(client, world, source["id"])
    assert run["status"] == "finished" and run["result"]["rows_written"] == 0
    assert [(e["row"], e["column"]) for e in run["result"]["errors"]] == [(3, "employee_code")]
    assert run["result"]["cursor_advanced"] is False and cursor_of(clean_app, world, source["id"]) is None
    assert items(clean_app, world) == []


def test_the_generic_connector_maps_fields_onto_columns(clean_app, client, world, remote):
    body = {"ketQua": {"danhSach": [{"ma": "HS-7", "tt": "HT01", "ten": "Chứng thực", "cb": {"ma": "STAFF"},
                                     "nhan": "2026-10-05T08:00:00+07:00", "xong": "2026-10-06T08:00:00+07:00",
                                     "sao": 5}]}, "tiep": None}
    remote.answer = lambda q: (200, json.dumps(body, ensure_ascii=False).encode(), 0.0)
    mapping = {"dossier_code": "ma", "procedure_code": "tt", "procedure_name": "ten", "handler_code": "cb.ma",
               "received_at": "nhan", "finished_at": "xong", "citizen_rating": "sao"}
    source = add_source(client, world, remote.url, connector="rest-json", import_connector="one-stop-dossiers",
                        items_path="ketQua.danhSach", next_cursor_path="tiep", field_map=mapping)
    run = pull(client, world, source["id"])
    assert run["result"]["rows_written"] == 1 and run["result"]["pages"] == 1
    assert items(clean_app, world) == [("dossier:HS-7", 5, world.ids["staff"])]


@pytest.mark.parametrize(("body", "field"), [
    ({"connector": "one-stop-api", "settings": {}}, "url"),
    ({"connector": "one-stop-api", "settings": {"url": "http://10.1.2.3/api"}}, "url"),
    ({"connector": "one-stop-api", "settings": {"url": "https://example.org/api", "page_size": 0}}, "page_size"),
    ({"connector": "no-such", "settings": {"url": "https://example.org/api"}}, "connector"),
    ({"connector": "rest-json", "settings": {"url": "https://example.org/api", "import_connector": "nope"}},
     "connector"),
    ({"connector": "one-stop-api", "settings": {"url": "https://example.org"}, "every_minutes": 1}, "every_minutes"),
])
def test_bad_settings_are_refused_and_nothing_is_saved(clean_app, client, world, body, field):
    r = client.post(world.url("/live-sources"), json={"name": "X", **body}, headers=world.h("admin"))
    assert r.status_code == 422, r.get_json()
    assert field in json.dumps(r.get_json()["errors"])
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(LiveSource)) == 0


def test_only_the_admin_configures_and_pulls(clean_app, client, world, remote):
    for who in ("staff", "manager", "auditor"):
        r = client.post(world.url("/live-sources"), json={"name": "X", "connector": "one-stop-api",
                                                          "settings": {"url": remote.url}}, headers=world.h(who))
        assert r.status_code == 403


def test_the_scheduler_pulls_what_is_due(clean_app, client, world, remote):
    from core.imports.live import pull_due

    remote.pages({None: {"data": [dossier("HS-1")], "conTro": "c1"}, "c1": {"data": [], "conTro": "c1"}})
    source = add_source(client, world, remote.url)
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert len(pull_due("scheduler")) == 1
        assert pull_due("scheduler") == []  # next one in an hour
        row = db.session.get(LiveSource, source["id"])
        assert row.cursor == "c1" and row.next_run_at is not None
    client.patch(world.url(f"/live-sources/{source['id']}"), json={"enabled": False}, headers=world.h("admin"))
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.get(LiveSource, source["id"]).next_run_at = None
        unit_of_work.commit()
        assert pull_due("scheduler") == []  # paused


def test_the_page_sets_up_a_source_pulls_and_names_the_admin(clean_app, client, world, remote):
    remote.pages({None: {"data": [dossier("HS-1")], "conTro": "c1"}, "c1": {"data": [], "conTro": "c1"}})
    sign_in(client, world, "admin")
    page = client.get(f"/t/{world.slug}/admin/live-sources?connector=one-stop-api")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Địa chỉ API hồ sơ đã giải quyết" in html
    assert 'name="every_minutes" type="text" value="60"' in html  # the default interval, filled in
    token = csrf(html)
    bad = client.post(f"/t/{world.slug}/admin/live-sources", data={"csrf_token": token, "connector": "one-stop-api",
                                                                    "name": "", "s.url": ""})
    assert bad.status_code == 422 and "Bắt buộc" in bad.get_data(as_text=True)
    r = client.post(f"/t/{world.slug}/admin/live-sources", data={
        "csrf_token": token, "connector": "one-stop-api", "name": "Một cửa", "every_minutes": "30", "s.url": remote.url})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    detail = r.headers["Location"]
    r = client.post(detail + "/pull", data={"csrf_token": token})
    assert r.status_code == 302
    html = client.get(detail).get_data(as_text=True)
    assert "1 mới, 0 cập nhật, 0 lỗi" in html and "c1" in html
    assert client.post(detail + "/active", data={"csrf_token": token, "enabled": "0"}).status_code == 302
    admin = f"user:{world.principals['admin'].id}:admin"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        actor = {a: b for a, b in db.session.execute(select(AuditEvent.action, AuditEvent.actor))}
    assert actor["live_source.create"] == actor["live_source.update"] == admin
    assert actor["import.commit"].startswith(admin + " via job ")  # the pull the admin started
    remote.answer = lambda q: (500, b"{}", 0.0)
    client.post(detail + "/pull", data={"csrf_token": token})
    html = client.get(detail).get_data(as_text=True)
    assert "Không có trả lời sau 2 lần thử (lần cuối: HTTP 500)." in html
    sign_in(client, world, "auditor")
    assert client.get(detail).status_code == 200
    assert client.post(detail + "/pull", data={"csrf_token": token}).status_code == 403


# ---------------------------------------------------------------- for the isolation walk

def _source(app, w) -> int:
    if "live_source" not in w.ids:
        with app.app_context(), tenant_context(w.tenant_id):
            row = LiveSource(name="x", connector="one-stop-api", settings={"url": "https://example.org"},
                             created_by="test")
            db.session.add(row)
            unit_of_work.commit()
            w.ids["live_source"] = row.id
    return w.ids["live_source"]


FOREIGN_LIVE_IDS = {"live_source_id": _source}


def test_the_built_in_live_connectors_conform():
    """The conformance kit vendors run on theirs (core/plugins/testing.py), on both built-ins."""
    from core.plugins.testing import ConformanceError, check_component
    from plugins.live import OneStopApi, RestJson

    pages = {None: {"data": [dossier("HS-1")], "conTro": "c1"}, "c1": {"data": [dossier("HS-2")], "conTro": "c2"},
             "c2": {"data": [], "conTro": "c2"}}
    records = check_component(OneStopApi(), pages=pages, settings={"url": "https://mot-cua.example/api"})
    assert [r["dossier_code"] for r in records] == ["HS-1", "HS-2"] and records[0]["handler_code"] == "STAFF"
    generic = {None: {"items": [{"code": "A"}], "next_cursor": "n1"}, "n1": {"items": [], "next_cursor": None}}
    assert check_component(RestJson(), pages=generic, settings={"url": "https://x.example/api",
                                                                "field_map": {"dossier_code": "code"}}) == \
        [{"dossier_code": "A"}]
    endless = {None: {"items": [{"code": "A"}], "next_cursor": "n1"}, "n1": {"items": [{"code": "B"}],
                                                                            "next_cursor": None}}
    endless["n1"]["next_cursor"] = "n2"
    endless["n2"] = {"items": [{"code": "C"}], "next_cursor": "n1"}
    with pytest.raises(ConformanceError, match="never ends"):
        check_component(RestJson(), pages=endless, settings={"url": "https://x.example/api"})
