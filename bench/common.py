"""What every benchmark module shares: its own section of docs/benchmarks.md, and a
gunicorn started with the production configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def replace_section(path: Path, start: str, end: str, section: str) -> None:
    """Put `section` (which begins with `start` and ends with `end`) in place of the one
    between those markers, or at the end; what people wrote around it stays."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = section.rstrip("\n") + "\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def start_gunicorn(target: str, port: int, env: dict[str, str], workers: int = 0, threads: int = 0,
                   log=subprocess.DEVNULL) -> subprocess.Popen | None:
    """gunicorn with deploy/gunicorn.conf.py serving `target` on 127.0.0.1:`port`, in a
    process group of its own; the process once /healthz answers, None if it never does."""
    env = dict(env, CONGVU_WEB_BIND=f"127.0.0.1:{port}", CONGVU_WEB_ACCESS_LOG="off", CONGVU_WEB_LOG_LEVEL="warning")
    if workers:
        env["CONGVU_WEB_WORKERS"] = str(workers)
    if threads:
        env["CONGVU_WEB_THREADS"] = str(threads)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), target], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.25)
        if server.poll() is not None:
            break
    stop_server(server)
    return None


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
