"""An open-loop HTTP load generator on the standard library: requests are sent at a
fixed rate whatever the answers do, and each latency is measured from the moment the
request was due, so a slow server cannot hide its queueing (no coordinated omission).
Work is spread over processes so the client's GIL does not throttle the server test."""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# (method, path, body or None, bearer token) for request number i
RequestFactory = Callable[[int], tuple[str, str, dict | None, str | None]]


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    bodies: list = field(default_factory=list)
    # (request number, wall-clock time its response was read), with keep_bodies: when
    # the request's transaction had certainly committed (the freshness measure needs it).
    finished: dict[int, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def merge(self, other: Result) -> None:
        self.latencies_ms += other.latencies_ms
        for k, v in other.statuses.items():
            self.statuses[k] = self.statuses.get(k, 0) + v
        self.errors += other.errors
        self.bodies += other.bodies
        self.finished.update(other.finished)
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        n = len(lat)

        def pct(p: float) -> float:
            return round(lat[min(n - 1, int(p * n))], 1) if n else 0.0

        ok = sum(v for k, v in self.statuses.items() if 200 <= k < 300)
        return {"requests": n, "ok": ok, "failed": n - ok, "errors": self.errors,
                "throughput_rps": round(n / self.elapsed_s, 1) if self.elapsed_s else 0.0,
                "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1) if n else 0,
                "statuses": dict(sorted(self.statuses.items()))}


class _Conn(threading.local):
    conn: http.client.HTTPConnection | None = None


def _send(base, local: _Conn, method: str, path: str, body: dict | None, token: str | None):
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = json.dumps(body).encode() if body is not None else None
    for attempt in (1, 2):  # a kept-alive connection the server closed is retried once
        if local.conn is None:
            local.conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
        try:
            local.conn.request(method, path, body=payload, headers=headers)
            response = local.conn.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                local.conn.close()
                local.conn = None
            return response.status, data
        except (http.client.HTTPException, ConnectionError, OSError):
            local.conn.close()
            local.conn = None
            if attempt == 2:
                raise
    raise RuntimeError("unreachable")


def _run_share(url: str, factory: RequestFactory, indices: list[int], rate: float, threads: int,
               keep_bodies: bool, start_at: float) -> Result:
    base = urlsplit(url)
    local = _Conn()
    result = Result()
    lock = threading.Lock()
    jobs: queue.Queue = queue.Queue()

    def worker() -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            due, i = job
            method, path, body, token = factory(i)
            try:
                status, data = _send(base, local, method, path, body, token)
            except Exception:  # noqa: BLE001 - any failure is an error of the run
                with lock:
                    result.errors += 1
                    result.latencies_ms.append((time.perf_counter() - due) * 1000)
                    result.statuses[0] = result.statuses.get(0, 0) + 1
                continue
            latency = (time.perf_counter() - due) * 1000
            finished = time.time()
            with lock:
                result.latencies_ms.append(latency)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if keep_bodies:
                    result.bodies.append((i, status, data.decode() if status < 300 else data.decode()[:300]))
                    result.finished[i] = finished

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    # Wall clock to perf_counter: every process starts its schedule at the same moment.
    t0 = time.perf_counter() + max(0.0, start_at - time.time())
    for n, i in enumerate(indices):
        due = t0 + (n / rate if rate > 0 else 0)
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((due, i))
    for _ in pool:
        jobs.put(None)
    for t in pool:
        t.join()
    result.elapsed_s = time.perf_counter() - t0
    return result


def _child(args, out) -> None:
    out.put(_run_share(*args))


def run(url: str, factory: RequestFactory, total: int, rate: float, processes: int = 2, threads: int = 32,
        keep_bodies: bool = False) -> Result:
    """Send `total` requests at `rate` per second in all (0: as fast as the threads go)."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5
    shares = [list(range(p, total, processes)) for p in range(processes)]
    procs = [ctx.Process(target=_child, args=((url, factory, share, rate / processes if rate else 0, threads,
                                               keep_bodies, start_at), out)) for share in shares]
    for p in procs:
        p.start()
    result = Result()
    for _ in procs:
        result.merge(out.get())
    for p in procs:
        p.join()
    return result
