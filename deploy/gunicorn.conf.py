"""gunicorn settings for congvu: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment (CONGVU_WEB_*), so the same file
serves a VM, a container and the tests. The application itself reads its own
CONGVU_* settings (database, Redis, secret key) in create_app.
"""

import os


def _env(name: str, default: str) -> str:
    value = os.environ.get("CONGVU_WEB_" + name, "")
    return value if value.strip() else default


def _cores() -> int:
    # The CPUs this process may run on (a container's or systemd's CPU set), not the host's.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = _env("BIND", "127.0.0.1:8000").split(",")

# Requests mostly wait on PostgreSQL, so a few threads per process keep the CPU busy;
# processes (2 per core + 1, gunicorn's rule of thumb) give the parallelism.
worker_class = "gthread"
workers = int(_env("WORKERS", str(2 * _cores() + 1)))
threads = int(_env("THREADS", "4"))
# Each process opens its own pool (pool_size 10 + max_overflow 10 in core/config.py):
# keep workers x threads well below PostgreSQL's max_connections / number of hosts.

# A request that takes longer than this is stuck: the worker is killed and replaced.
# Long work (recalculation, imports) runs as RQ jobs, never in a request.
timeout = int(_env("TIMEOUT", "60"))
graceful_timeout = int(_env("GRACEFUL_TIMEOUT", "30"))
keepalive = int(_env("KEEPALIVE", "5"))  # nginx keeps upstream connections open
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = int(_env("MAX_REQUESTS", "5000"))
max_requests_jitter = int(_env("MAX_REQUESTS_JITTER", "500"))

# Off: every worker imports the app and opens its database pool after the fork, so no
# connection is ever shared between processes, and `systemctl reload` (HUP) picks up
# new code without a restart of the master.
preload_app = False

# X-Forwarded-Proto is believed only from these addresses (nginx on the same host by
# default; list the load balancers' addresses when nginx runs elsewhere).
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stdout/stderr: journald (systemd) or the container runtime keeps them.
accesslog = _env("ACCESS_LOG", "-")
accesslog = None if accesslog == "off" else accesslog  # "off": no access log (benchmarks)
errorlog = _env("ERROR_LOG", "-")
loglevel = _env("LOG_LEVEL", "info")
# %(L)s is the request time in seconds (decimal); %(M)s the same in milliseconds.
# The client address is nginx's X-Real-IP, since the peer is nginx itself.
access_log_format = (
    '%({x-real-ip}i)s %(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms '
    'request_id=%({x-request-id}i)s "%(f)s" "%(a)s"'
)
proc_name = "congvu-web"

# gunicorn >= 25.1 opens a control socket for `gunicornc`, by default under $HOME, where
# two instances would fight over one path and a hardened unit (ProtectHome) cannot
# write. Put it in systemd's RuntimeDirectory (/run/congvu-web) when there is one, or
# where CONGVU_WEB_CONTROL_SOCKET says; otherwise leave it off. (Older gunicorns ignore
# both names.)
_runtime_dir = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
control_socket = _env("CONTROL_SOCKET", os.path.join(_runtime_dir, "gunicorn.ctl") if _runtime_dir else "")
control_socket_disable = not control_socket
if control_socket_disable:
    del control_socket
# Workers' heartbeat files on tmpfs: on a slow or busy disk they can stall and get
# healthy workers killed as "timed out".
worker_tmp_dir = _env("TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else "") or None

# Prometheus multiprocess mode (core/observability.py): each worker writes its metrics to
# files in one directory and /metrics, answered by any worker, sums them. gunicorn puts
# raw_env into the master's environment, so every worker has it before it imports
# prometheus_client. The directory is per master (its pid), emptied at start: old files
# would add a dead run's counts to this one's.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(
    _runtime_dir or "/tmp", f"congvu-metrics-{os.getpid()}")
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={_metrics_dir}"]


def on_starting(server) -> None:
    import shutil

    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker) -> None:
    # Drops a dead worker's live gauges; its counters and histograms stay in the sum.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
