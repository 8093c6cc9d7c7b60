"""The row-level security key in operation (docs/security.md, docs/operations.md §1): a
process that cannot read it refuses to start with one line, and `congvu rls rotate-key`
replaces it without cutting off the processes that read the old one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.cli import main
from core.tenancy import rls
from tests.tenancy.test_rls import _rows_of, pg  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]


def _app_without_ops(clean_app, backend, ops_url):
    from core import create_app

    return create_app({"TESTING": True, "CONGVU_DATABASE_URL": backend.app_url,
                       "CONGVU_DATABASE_OWNER_URL": None, "CONGVU_DATABASE_OPS_URL": ops_url,
                       "CONGVU_INSTANCE_PATH": clean_app.config["CONGVU_INSTANCE_PATH"]})


def test_a_process_without_a_readable_key_is_refused_with_the_reason(clean_app, backend, pg):  # noqa: F811
    cases = {None: "CONGVU_DATABASE_OPS_URL is not set",
             backend.app_url: "CONGVU_DATABASE_OPS_URL cannot read the row-level security key",
             backend.ops_url: None}
    for ops_url, refused in cases.items():
        app = _app_without_ops(clean_app, backend, ops_url)
        with app.app_context():
            if refused is None:
                rls.require_key()
                assert rls.signing_key() is not None
            else:
                with pytest.raises(rls.KeyUnavailable, match=refused):
                    rls.require_key()


def test_sqlite_needs_no_key(clean_app, backend):
    if backend.name != "sqlite":
        pytest.skip("the PostgreSQL side is the test above")
    with clean_app.app_context():
        rls.require_key()  # nothing to sign with, nothing refused


def _env(backend, tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGVU_")}
    env.update({"CONGVU_DATABASE_URL": backend.app_url, "CONGVU_SECRET_KEY": "x" * 64,
                "CONGVU_INSTANCE_PATH": str(tmp_path / "instance"), "CONGVU_SCORING": "deferred"})
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def _stderr_lines(done: subprocess.CompletedProcess) -> list[str]:
    # Third-party deprecation warnings aside, the refusal is one line, no traceback.
    return [line for line in done.stderr.splitlines() if line.strip() and "Warning" not in line
            and not line.startswith("  ")]


def test_gunicorn_app_and_scorer_refuse_to_start_in_one_line(clean_app, backend, pg, tmp_path):  # noqa: F811
    """The real entry points: `wsgi:app` (what gunicorn imports) without the ops URL, and
    `congvu scorer` given the app role's URL as the ops URL; then the scorer with the ops
    role starts and drains."""
    wsgi = subprocess.run([sys.executable, "-c", "import wsgi"], env=_env(backend, tmp_path), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert wsgi.returncode == 1
    assert _stderr_lines(wsgi) == [
        "congvu cannot start: CONGVU_DATABASE_OPS_URL is not set: on PostgreSQL every process reads the "
        "row-level security key through the ops role (docs/operations.md §1)"]
    congvu = str(Path(sys.executable).parent / "congvu")
    scorer = subprocess.run([congvu, "scorer", "--once"], env=_env(backend, tmp_path, CONGVU_DATABASE_OPS_URL=backend.app_url),
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert scorer.returncode == 1
    assert _stderr_lines(scorer) == [
        "error: congvu cannot start: CONGVU_DATABASE_OPS_URL cannot read the row-level security key: give it the "
        "ops role (docs/operations.md §1)"]
    ok = subprocess.run([congvu, "scorer", "--once"], env=_env(backend, tmp_path, CONGVU_DATABASE_OPS_URL=backend.ops_url),
                        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "0 marks taken"


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(main, list(args))


def _signed_rows(conn, tenant_id: int, key: bytes) -> int:
    """Rows of the tenant seen in a transaction signed with `key` (as a process that read
    it at start would sign)."""
    session = conn.execute(text(rls.SESSION_SQL)).scalar()
    sig = rls.sign(str(tenant_id), "off", session, key=(key, True))
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true), set_config('app.unscoped', 'off', true), "
                      "set_config('app.rls_sig', :s, true)"), {"t": str(tenant_id), "s": sig})
    rows = _rows_of(conn, tenant_id)
    conn.rollback()
    return rows


def _key(backend) -> bytes:
    owner = create_engine(backend.owner_url)
    with owner.connect() as conn:
        key = bytes(conn.execute(text("SELECT key FROM congvu_rls.keys")).scalar())
    owner.dispose()
    return key


def test_rotating_the_key_keeps_old_processes_working_until_it_is_retired(clean_app, backend, pg):  # noqa: F811
    engine, a, b = pg
    old = _key(backend)
    try:
        with engine.connect() as conn:
            before = _signed_rows(conn, a.tenant_id, old)
            assert before > 0
            done = _cli(clean_app, "rls", "rotate-key", "--actor", "lan")
            assert done.exit_code == 0, done.output
            new = _key(backend)
            assert new != old and len(new) == 32
            assert f"key {rls.fingerprint(new)} is current, {rls.fingerprint(old)} still accepted" in done.output
            # A process that read the old key still sees its tenant, and only it; one that
            # starts now signs with the new key and sees the same.
            assert _signed_rows(conn, a.tenant_id, old) == before
            assert _signed_rows(conn, a.tenant_id, new) == before
            forged = _signed_rows(conn, b.tenant_id, os.urandom(32))
            assert forged == 0
            # A second rotation would drop the old key under running processes: refused.
            again = _cli(clean_app, "rls", "rotate-key", "--actor", "lan")
            assert again.exit_code == 1 and "still accepted" in again.output and _key(backend) == new
            retired = _cli(clean_app, "rls", "retire-previous-key", "--actor", "lan")
            assert retired.exit_code == 0, retired.output
            assert _signed_rows(conn, a.tenant_id, old) == 0
            assert _signed_rows(conn, a.tenant_id, new) == before
            assert _cli(clean_app, "rls", "retire-previous-key").exit_code == 1  # nothing left to retire
        owner = create_engine(backend.owner_url)
        with owner.connect() as conn:
            log = conn.execute(text("SELECT action, actor, fingerprint FROM congvu_rls.rotations ORDER BY id")).all()
        owner.dispose()
        assert [tuple(r) for r in log[-2:]] == [("rotate", "cli:lan", rls.fingerprint(new)),
                                                ("retire-previous", "cli:lan", rls.fingerprint(old))]
        status = _cli(clean_app, "rls", "status")
        assert status.exit_code == 0 and f"current key {rls.fingerprint(new)}; previous key accepted: none" in status.output
        with engine.connect() as conn:  # the app role reads neither the key nor its log
            for table in ("congvu_rls.keys", "congvu_rls.rotations"):
                with pytest.raises(Exception, match="permission denied"):
                    conn.execute(text(f"SELECT count(*) FROM {table}"))
                conn.rollback()
    finally:
        clean_app.extensions["congvu_rls"].pop("key", None)  # the session's app reads the new key


def test_rotating_on_sqlite_says_there_is_no_key(clean_app, backend):
    if backend.name != "sqlite":
        pytest.skip("the PostgreSQL side is the test above")
    done = _cli(clean_app, "rls", "rotate-key")
    assert done.exit_code == 1 and "PostgreSQL only" in done.output
