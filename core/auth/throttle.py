"""Failed-login throttling, one for the login page and `POST /api/v1/auth/token`.

Three counters of failures (successes never count), checked before the password is:

- **per account + address** (the pair): after `CONGVU_LOGIN_BACKOFF_AFTER` failures the
  pair waits 1 s, then 2 s, 4 s … up to `CONGVU_LOGIN_BACKOFF_MAX_SECONDS` before its
  next try; a success from that address clears it. One address guessing is slowed to a
  handful of tries an hour, and the owner at another address is not affected.
- **per account** across every address (`CONGVU_LOGIN_LIMIT_PER_ACCOUNT`, e.g.
  `10/minute`): many addresses guessing one password each. It does not apply from a
  *known address* of that account (one it logged in from successfully in the last 90
  days), so an attacker who keeps the count up cannot keep the owner out; a password
  reset by the tenant admin starts the count again.
- **per address** across every account (`CONGVU_LOGIN_LIMIT_PER_ADDRESS`): spraying one
  password over many accounts.

The account is `<tenant slug>:<username>` with the username NFC-normalised and
case-folded, so the page and the API, and `Nguyễn` typed either way, share one count.

The counters live in Redis when `CONGVU_REDIS_URL` is set (shared by every process). If
Redis fails, logins keep working: the counters fall back to this process's memory, with
a warning in the log (at most once a minute) and the metric
`congvu_login_limiter_fallback_total` counting each fallback.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app
from limits import parse as parse_limit
from prometheus_client import Counter

from core.auth.normalize import login_key

log = logging.getLogger(__name__)

FALLBACKS = Counter("congvu_login_limiter_fallback", "Login-throttle operations answered from process memory "
                    "because Redis failed.")
KNOWN_ADDRESS_SECONDS = 90 * 24 * 3600
PAIR_MEMORY_SECONDS = 24 * 3600
_PREFIX = "congvu-login:"


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds
    reason: str  # "address" | "backoff" | "account"


class _Memory:
    """Counters with expiry in this process (the fallback, and installations without Redis)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        item = self._data.get(key)
        if item is not None and item[1] <= now:
            del self._data[key]
            return None
        return item

    def incr(self, key: str, ttl: int) -> int:
        now = time.time()
        with self._lock:
            item = self._live(key, now)
            count = (item[0] if item else 0) + 1
            self._data[key] = (count, item[1] if item else now + ttl)
            if len(self._data) > 100_000:  # bounded: forget what expires soonest
                for stale in sorted(self._data, key=lambda k: self._data[k][1])[:10_000]:
                    del self._data[stale]
            return count

    def get(self, key: str) -> tuple[int, int]:
        """(value, seconds left)."""
        now = time.time()
        with self._lock:
            item = self._live(key, now)
            return (item[0], max(1, int(item[1] - now + 0.999))) if item else (0, 0)

    def set(self, key: str, value: int, ttl: int) -> None:
        with self._lock:
            self._data[key] = (value, time.time() + ttl)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def reset(self) -> None:
        with self._lock:
            self._data.clear()


class _Redis:
    def __init__(self, url: str) -> None:
        from redis import Redis

        # A login must not hang on a Redis that stopped answering: fail fast, then fall back.
        self.conn = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    def incr(self, key: str, ttl: int) -> int:
        pipe = self.conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
        return int(pipe.execute()[0])

    def get(self, key: str) -> tuple[int, int]:
        pipe = self.conn.pipeline()
        pipe.get(key)
        pipe.ttl(key)
        value, ttl = pipe.execute()
        return (int(value), max(1, int(ttl))) if value is not None else (0, 0)

    def set(self, key: str, value: int, ttl: int) -> None:
        self.conn.set(key, value, ex=ttl)

    def delete(self, *keys: str) -> None:
        self.conn.delete(*keys)

    def reset(self) -> None:
        keys = list(self.conn.scan_iter(match=_PREFIX + "*", count=1000))
        if keys:
            self.conn.delete(*keys)


class LoginThrottle:
    def __init__(self, redis_url: str | None) -> None:
        self.memory = _Memory()
        self.redis = _Redis(redis_url) if redis_url else None
        self._last_warning = 0.0

    def _call(self, op: str, *args):
        if self.redis is not None:
            try:
                return getattr(self.redis, op)(*args)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: fail open to memory
                FALLBACKS.inc()
                now = time.monotonic()
                if now - self._last_warning > 60:
                    self._last_warning = now
                    log.warning("login throttle: Redis failed (%s: %s); counting in process memory",
                                type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
        return getattr(self.memory, op)(*args)

    def reset(self) -> None:
        self.memory.reset()
        self._call("reset")

    # ------------------------------------------------------------ the policy

    @staticmethod
    def _keys(tenant: str | None, username: str, address: str) -> dict[str, str]:
        account = f"{tenant or '-'}:{login_key(username)}"
        return {"account": f"{_PREFIX}acct:{account}", "address": f"{_PREFIX}addr:{address}",
                "pair": f"{_PREFIX}pair:{account}|{address}", "until": f"{_PREFIX}until:{account}|{address}",
                "known": f"{_PREFIX}known:{account}|{address}"}

    def check(self, tenant: str | None, username: str, address: str) -> Refusal | None:
        """Whether this attempt may go on to the password check."""
        cfg = current_app.config
        keys = self._keys(tenant, username, address)
        per_address = parse_limit(cfg["CONGVU_LOGIN_LIMIT_PER_ADDRESS"])
        count, left = self._call("get", keys["address"])
        if count >= per_address.amount:
            return Refusal(left, "address")
        waiting, left = self._call("get", keys["until"])
        if waiting:
            return Refusal(left, "backoff")
        per_account = parse_limit(cfg["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"])
        count, left = self._call("get", keys["account"])
        if count >= per_account.amount and not self._call("get", keys["known"])[0]:
            return Refusal(left, "account")
        return None

    def failed(self, tenant: str | None, username: str, address: str) -> None:
        cfg = current_app.config
        keys = self._keys(tenant, username, address)
        self._call("incr", keys["address"], parse_limit(cfg["CONGVU_LOGIN_LIMIT_PER_ADDRESS"]).get_expiry())
        self._call("incr", keys["account"], parse_limit(cfg["CONGVU_LOGIN_LIMIT_PER_ACCOUNT"]).get_expiry())
        failures = self._call("incr", keys["pair"], PAIR_MEMORY_SECONDS)
        free = int(cfg["CONGVU_LOGIN_BACKOFF_AFTER"])
        if failures >= free:
            wait = min(2 ** (failures - free), int(cfg["CONGVU_LOGIN_BACKOFF_MAX_SECONDS"]))
            self._call("set", keys["until"], 1, wait)

    def forget_account(self, tenant: str | None, username: str) -> None:
        """A password reset by the tenant admin: the account's count starts again, so its
        owner gets in with the new password from any address."""
        self._call("delete", self._keys(tenant, username, "-")["account"])

    def succeeded(self, tenant: str | None, username: str, address: str) -> None:
        keys = self._keys(tenant, username, address)
        self._call("delete", keys["pair"], keys["until"])
        self._call("set", keys["known"], 1, KNOWN_ADDRESS_SECONDS)


def init_app(app: Flask) -> None:
    app.extensions["congvu_login_throttle"] = LoginThrottle(app.config.get("CONGVU_REDIS_URL"))


def throttle() -> LoginThrottle:
    return current_app.extensions["congvu_login_throttle"]
