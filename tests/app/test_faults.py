"""PostgreSQL going away under the app: its connections are cut the way a restart or a
fail-over cuts them (`pg_terminate_backend`, as the superuser), and requests fail cleanly
— a 503 with the contract's error body and Retry-After, never a 500 — with nothing half
written, and the pool recovers by itself (core/liveness.py) so the next requests succeed.

PostgreSQL only (the shared server cannot be restarted, so the test database's backends
are terminated instead). The other faults are tested where they live: Redis down
(tests/jobs/test_jobs.py::test_runs_stay_queued_when_redis_is_down_and_are_sent_later,
tests/app/test_observability.py::test_healthz_is_503_when_redis_is_down), a worker killed with
SIGKILL mid-job (tests/jobs/test_jobs.py), an unwritable upload folder
(tests/imports/test_imports.py::test_unwritable_upload_folder_is_a_clear_503)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, event, func, select, text

from core.audit.models import AuditEvent
from core.audit.services import verify_chain
from core.errors import DATABASE_RETRY_AFTER
from core.extensions import db
from core.org.models import OrgUnit
from core.tenancy import tenant_context
from tests.conftest import PG_HOST
from tests.work.test_work_support import World, build


@pytest.fixture
def pg(clean_app, backend):
    if backend.name != "postgresql":
        pytest.skip("cuts PostgreSQL connections; SQLite has none to cut")
    return backend


@pytest.fixture
def admin_engine():
    engine = create_engine(PG_HOST + "/postgres", isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _terminate(admin_engine, dbname: str, pid: int | None = None, wait: bool = True,
               cut_pids: list[int] | None = None) -> int:
    """Cut the app's connections to `dbname` (or one backend); with `wait`, until they are
    gone. `cut_pids` collects the backends cut, for a caller that waits for them later."""
    where = "pid = :pid" if pid is not None else "datname = :d AND pid <> pg_backend_pid()"
    with admin_engine.connect() as conn:
        # Materialized first: PostgreSQL may otherwise test pg_terminate_backend before `where`.
        cut = conn.execute(text(f"WITH chosen AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE {where}) "
                                "SELECT pid FROM chosen WHERE pg_terminate_backend(pid)"),
                           {"d": dbname, "pid": pid}).scalars().all()
        if cut_pids is not None:
            cut_pids.extend(cut)
        deadline = time.time() + 10
        while wait and conn.execute(text(f"SELECT count(*) FROM pg_stat_activity WHERE {where}"),
                                    {"d": dbname, "pid": pid}).scalar():
            assert time.time() < deadline, "backends did not exit"
            time.sleep(0.02)
    return len(cut)


def _wait_gone(admin_engine, pids: list[int]) -> None:
    """Until every backend in `pids` has exited: the outage is over only then."""
    with admin_engine.connect() as conn:
        deadline = time.time() + 10
        while pids and conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                                    {"p": pids}).scalar():
            assert time.time() < deadline, "backends did not exit"
            time.sleep(0.02)


def _unit(client, w: World, code: str):
    return client.post(w.url("/units"), json={"code": code, "name": f"Phòng {code}", "kind": "department",
                                              "parent_id": w.ids["agency"]}, headers=w.h("admin"))


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.get_json() == {"code": "database_unavailable",
                                   "message": "The database is not answering; try again in a few seconds."}
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER)


def _units_and_events(app, w: World) -> tuple[dict[str, int], dict[str, int]]:
    with app.app_context(), tenant_context(w.tenant_id):
        units = dict(db.session.execute(select(OrgUnit.code, OrgUnit.id)).all())
        events = dict(db.session.execute(select(AuditEvent.object_id, func.count()).where(
            AuditEvent.action == "unit.create").group_by(AuditEvent.object_id)).all())
    return units, events


def test_a_connection_cut_mid_write_is_a_503_and_writes_nothing(clean_app, pg, admin_engine):
    w = build(clean_app, "tinh-cat", catalogue_too=False)
    client = clean_app.test_client()
    fired: list[int] = []

    def cut_before_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO org_units") and not fired:
            fired.append(conn.connection.dbapi_connection.info.backend_pid)
            _terminate(admin_engine, pg.dbname, fired[0])  # mid-transaction, before the row is written

    with clean_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", cut_before_insert)
    try:
        _assert_unavailable(_unit(client, w, "CUT-1"))
    finally:
        event.remove(engine, "before_cursor_execute", cut_before_insert)
    assert len(fired) == 1
    units, events = _units_and_events(clean_app, w)
    assert "CUT-1" not in units and str(units.get("CUT-1")) not in events
    # The same request again, on a fresh connection: written once, with its audit event.
    again = _unit(client, w, "CUT-1")
    assert again.status_code == 201, again.get_json()
    units, events = _units_and_events(clean_app, w)
    assert events[str(units["CUT-1"])] == 1


def test_the_pool_recovers_when_every_connection_is_cut(clean_app, pg, admin_engine):
    w = build(clean_app, "tinh-cat", catalogue_too=False)
    client = clean_app.test_client()
    barrier = threading.Barrier(4)

    def hold_a_connection():  # four requests at once leave four connections in the pool
        barrier.wait()
        assert client.get(w.url("/units"), headers=w.h("admin")).status_code == 200

    threads = [threading.Thread(target=hold_a_connection) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _terminate(admin_engine, pg.dbname) >= 1
    # Every pooled connection is dead; pre-ping finds it at checkout and opens another.
    statuses = [client.get(w.url("/units"), headers=w.h("admin")).status_code for _ in range(8)]
    assert statuses == [200] * 8
    assert _unit(client, w, "SAU-1").status_code == 201


def test_connections_cut_under_load_give_503s_then_recover(clean_app, pg, admin_engine):
    """Four clients write and read while every app connection is cut every 150 ms."""
    w = build(clean_app, "tinh-tai", catalogue_too=False)
    client = clean_app.test_client()
    stop = threading.Event()
    answers: list[tuple[str, str | None, object]] = []  # (kind, unit code, response)
    lock = threading.Lock()
    unhandled: list[str] = []

    def load(n: int) -> None:
        i = 0
        while not stop.is_set():
            code = f"T{n}-{i}"
            try:  # with TESTING, an unhandled exception reaches the client instead of a 500
                for kind, response in (("post", _unit(client, w, code)),
                                       ("get", client.get(w.url("/units"), headers=w.h("admin")))):
                    with lock:
                        answers.append((kind, code if kind == "post" else None, response))
            except Exception as exc:  # noqa: BLE001 - every one is a failure of the test
                with lock:
                    unhandled.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            i += 1

    cuts: list[int] = []
    cut_pids: list[int] = []

    def killer() -> None:
        while not stop.wait(0.15):
            cuts.append(_terminate(admin_engine, pg.dbname, wait=False, cut_pids=cut_pids))

    workers = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    cutter = threading.Thread(target=killer)
    for thread in [*workers, cutter]:
        thread.start()
    time.sleep(4)
    stop.set()
    for thread in [*workers, cutter]:
        thread.join(timeout=60)
    statuses = [r.status_code for _, _, r in answers]
    assert unhandled == []
    assert sum(cuts) > 0 and len(answers) > 20
    assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))
    for _, _, response in answers:
        if response.status_code == 503:
            _assert_unavailable(response)
    # After the outage (the last cut backends have exited) every request succeeds at once.
    _wait_gone(admin_engine, cut_pids)
    assert [client.get(w.url("/units"), headers=w.h("admin")).status_code for _ in range(5)] == [200] * 5
    # No partial write: each unit that exists has exactly its one audit event, each 201 is there,
    # and the audit chain is whole. (A 503 may still have committed: the connection can be cut
    # after COMMIT, while the answer is being read back — a retry then gets a 409.)
    units, events = _units_and_events(clean_app, w)
    created = {code for kind, code, r in answers if kind == "post" and r.status_code == 201}
    assert created <= set(units)
    assert all(events.get(str(uid)) == 1 for code, uid in units.items() if code.startswith("T")), events
    with clean_app.app_context(), tenant_context(w.tenant_id):
        assert verify_chain(w.tenant_id).ok
    print(f"\n{len(answers)} requests, {statuses.count(503)} answered 503, {sum(cuts)} connections cut")


def test_the_page_for_a_lost_database_needs_no_database(clean_app):
    from sqlalchemy.exc import OperationalError

    from core.errors import handle_database_unavailable

    with clean_app.test_request_context("/hom-nay"):
        body, status, headers = handle_database_unavailable(OperationalError("SELECT 1", {}, Exception("gone")))
    assert status == 503 and headers["Retry-After"] == str(DATABASE_RETRY_AFTER)
    assert "Cơ sở dữ liệu tạm thời không phản hồi" in body and 'lang="vi"' in body


def test_the_liveness_check_reads_sockets_past_select_s_limit():
    """A process with more than 1,024 descriptors open (a busy worker) still checks its
    connections: the check polls rather than select()s (which refuses a descriptor ≥ 1024)."""
    import os
    import socket

    from sqlalchemy.exc import DisconnectionError

    from core.liveness import refuse_dead

    class Raw:  # what the pool hands the hook: a DB-API connection with its socket's descriptor
        def __init__(self, fd: int) -> None:
            self.fd = fd

        def fileno(self) -> int:
            return self.fd

    quiet, peer = socket.socketpair()
    high = os.dup2(quiet.fileno(), 1500)  # the same socket, at a descriptor select() cannot take
    try:
        refuse_dead(Raw(high), None, None)  # idle: nothing to read, kept
        peer.close()  # the other end goes away, as a terminated backend does
        with pytest.raises(DisconnectionError):
            refuse_dead(Raw(high), None, None)
    finally:
        os.close(high)
        quiet.close()


def test_pooled_connections_keep_their_tcp_path_alive(clean_app, pg):
    """A connection a NAT or load balancer would drop after a quiet spell sends TCP
    keepalives (libpq's, every minute), which the socket check at checkout cannot replace."""
    import os
    import socket

    with clean_app.app_context():
        with db.engine.connect() as conn:
            fd = os.dup(conn.connection.dbapi_connection.fileno())
            sock = socket.socket(fileno=fd)
            try:
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
            finally:
                sock.detach()
                os.close(fd)
        assert db.engine.pool._recycle == 900
