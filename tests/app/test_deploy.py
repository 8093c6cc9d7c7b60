"""The deployment files do what they say: gunicorn with deploy/gunicorn.conf.py serves the
real app, and the systemd units and nginx configuration agree with the code.

The gunicorn test runs the operator's own commands (`congvu db upgrade`, `congvu demo`)
against a SQLite file, starts `gunicorn -c deploy/gunicorn.conf.py wsgi:app` on a free
port, and uses the API as a client would.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core import PROJECT_ROOT
from core.config import Defaults
from core.demo import DEMO_PASSWORD, SLUG

DEPLOY = PROJECT_ROOT / "deploy"
BIN = Path(sys.executable).parent
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**settings: str) -> dict[str, str]:
    """The process environment without any CONGVU_* of the caller, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGVU_")}
    env.update(settings)
    return env


def call(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def run_cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([str(BIN / "congvu"), *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"congvu {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wait_for_health(base: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz within {seconds} s:\n{log.read_text()}", pytrace=False)


@pytest.fixture
def seeded_sqlite(tmp_path) -> dict[str, str]:
    """A migrated SQLite file with the demo province, made by the operator's commands."""
    env = clean_env(
        CONGVU_DATABASE_URL=f"sqlite:///{tmp_path / 'congvu.db'}",
        CONGVU_SECRET_KEY="test-secret-key-for-the-deploy-test-only",
        CONGVU_AUDIT_KEY="test-audit-key-for-the-deploy-test-only",
        CONGVU_ENV="production",
    )
    run_cli("db", "upgrade", env=env)
    assert "Demo tenant khanh-hoa created" in run_cli("demo", env=env)
    return env


@pytest.fixture
def gunicorn(seeded_sqlite, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = dict(seeded_sqlite, CONGVU_WEB_BIND=f"127.0.0.1:{port}", CONGVU_WEB_WORKERS=str(WORKERS),
               CONGVU_PROXY_HOPS="1")
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
                                   cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, log)
        yield base, process, log, seeded_sqlite
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_gunicorn_with_the_deploy_config_serves_the_api(gunicorn):
    base, process, log, env = gunicorn

    status, _, body = call(base + "/api/v1/auth/token", "POST",
                           {"tenant": SLUG, "username": "admin", "password": DEMO_PASSWORD})
    assert status == 200, body
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    auth = {"Authorization": f"Bearer {body['access_token']}", "X-Request-Id": "deploy-test-1"}

    status, headers, units = call(base + f"/api/v1/tenants/{SLUG}/units?per_page=500", headers=auth)
    assert status == 200, units
    # The demo's 65 communes (province code 56), 10 provincial agencies and their departments.
    assert int(headers["X-Total-Count"]) == len(units) > 65
    codes = {u["code"] for u in units}
    assert {"SNV", "SNV-P1", "TTT"} <= codes
    assert sum(u["kind"] in ("commune", "ward", "special_zone") for u in units) == 65
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")

    # Without a token the same list is refused: the server is the real app, not a stub.
    status, _, error = call(base + f"/api/v1/tenants/{SLUG}/units")
    assert status == 401 and error["code"]

    # Behind nginx (CONGVU_PROXY_HOPS=1) the app records the client's address, not nginx's.
    status, _, _ = call(base + "/api/v1/auth/token", "POST",
                        {"tenant": SLUG, "username": "admin", "password": "wrong-password"},
                        headers={"X-Forwarded-For": "203.0.113.7"})
    assert status == 401

    # Prometheus multiprocess mode: whichever worker answers /metrics, it sums every
    # worker's requests, so three scrapes agree and count all four API calls above.
    sums = set()
    for _ in range(3):
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            text = response.read().decode()
        counts = re.findall(r'^congvu_http_request_duration_seconds_count\{endpoint="([^"]+)".*\} (\S+)$', text, re.M)
        sums.add(sum(float(n) for endpoint, n in counts if endpoint not in ("observability.metrics",
                                                                               "observability.healthz")))
    assert sums == {4.0}, text

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0, log.read_text()
    text = log.read_text()
    assert len(re.findall(r"Booting worker with pid", text)) == WORKERS, text
    assert "Using worker: gthread" in text
    assert "Control socket listening" not in text
    # The access log line carries the request time in milliseconds and the request id.
    line = next(x for x in text.splitlines() if f"/api/v1/tenants/{SLUG}/units?per_page=500" in x)
    assert re.search(r'" 200 \d+ \d+ms request_id=deploy-test-1 ', line), line
    assert "Shutting down: Master" in text

    db_path = env["CONGVU_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db_path) as conn:
        after = conn.execute("SELECT after FROM audit_events WHERE action = 'auth.login_failed' "
                             "ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert json.loads(after)["address"] == "203.0.113.7"


def load_gunicorn_conf(monkeypatch, **env: str) -> dict:
    import runpy

    for key in [k for k in os.environ if k.startswith("CONGVU_WEB_") or k == "RUNTIME_DIRECTORY"]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_conf_sizes_workers_from_cores_and_reads_the_environment(monkeypatch):
    conf = load_gunicorn_conf(monkeypatch)
    cores = len(os.sched_getaffinity(0))
    assert conf["workers"] == 2 * cores + 1
    assert conf["preload_app"] is False
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["timeout"] == 60 and conf["graceful_timeout"] < conf["timeout"]
    assert conf["accesslog"] == "-" and "%(M)s" in conf["access_log_format"]
    assert conf["control_socket_disable"] is True  # never a shared socket under $HOME

    conf = load_gunicorn_conf(monkeypatch, CONGVU_WEB_WORKERS="3", CONGVU_WEB_TIMEOUT="90",
                              CONGVU_WEB_BIND="0.0.0.0:8000,unix:/run/congvu/web.sock")
    assert conf["workers"] == 3 and conf["timeout"] == 90
    assert conf["bind"] == ["0.0.0.0:8000", "unix:/run/congvu/web.sock"]

    conf = load_gunicorn_conf(monkeypatch, RUNTIME_DIRECTORY="/run/congvu-web")  # set by systemd
    assert conf["control_socket"] == "/run/congvu-web/gunicorn.ctl"
    assert conf["control_socket_disable"] is False


def unit_file(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(DEPLOY / name)
    return parser


def test_systemd_units_run_the_tested_commands():
    web = unit_file("congvu-web.service")
    assert web["Service"]["ExecStart"].endswith("/gunicorn -c deploy/gunicorn.conf.py wsgi:app")
    assert web["Service"]["Type"] == "notify"
    worker = unit_file("congvu-worker@.service")
    assert worker["Service"]["ExecStart"].endswith("/congvu worker --queues %i")
    scheduler = unit_file("congvu-scheduler.service")
    assert scheduler["Service"]["ExecStart"].endswith("/congvu schedule")
    # RQ's cron reads its fields in the host's zone: the unit pins Vietnam's.
    assert "\nEnvironment=TZ=Asia/Ho_Chi_Minh\n" in (DEPLOY / "congvu-scheduler.service").read_text()
    for unit in (web, worker, scheduler):
        assert unit["Service"]["EnvironmentFile"] == "/etc/congvu/congvu.env"
        assert unit["Service"]["User"] == "congvu"
        assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_nginx_serves_the_real_static_folder_and_the_apps_upload_limit():
    conf = (DEPLOY / "nginx.conf").read_text()
    alias = re.search(r"location /static/ \{\s*alias /opt/congvu/(\S+);", conf).group(1)
    assert (PROJECT_ROOT / alias / "css" / "app.css").is_file()
    size = re.search(r"client_max_body_size (\d+)m;", conf).group(1)
    assert int(size) * 1024 * 1024 == Defaults.MAX_CONTENT_LENGTH
    assert "ssl_certificate " in conf and "return 301 https://" in conf
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP", "Host", "X-Request-Id"):
        assert f"proxy_set_header {header} " in conf
