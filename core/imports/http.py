"""The HTTP client live connectors are handed: GET a JSON page with a timeout, retry what
may pass (timeouts, refused connections, 5xx, 429) with exponential back-off, and say in
one line why a page could not be had. Every URL passes the outbound address check first."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app

from core import outbound

MAX_BYTES = 10 * 1024 * 1024


class PullFailed(RuntimeError):
    """A page could not be had; the message is the one line the run shows."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead past the address check


_OPENER = urllib.request.build_opener(_NoRedirect)


def _with_params(url: str, params: dict[str, Any]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({k: v for k, v in params.items() if v is not None})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def get_json(url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    try:
        outbound.check(url)
    except outbound.UnsafeUrl as exc:
        raise PullFailed(f"Refused address: {exc}") from None
    attempts = int(current_app.config.get("CONGVU_LIVE_ATTEMPTS", 3))
    pause = float(current_app.config.get("CONGVU_LIVE_BACKOFF_SECONDS", 1.0))
    timeout = float(current_app.config.get("CONGVU_LIVE_TIMEOUT", 10))
    request = urllib.request.Request(_with_params(url, params or {}), method="GET", headers={
        "Accept": "application/json", "User-Agent": "congvu-live/1", **(headers or {})})
    last = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause * 2 ** (attempt - 1))
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                raw = response.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                raise PullFailed(f"The page is larger than {MAX_BYTES // 2**20} MB.")
            try:
                return json.loads(raw)
            except ValueError:
                raise PullFailed("The page is not valid JSON.") from None
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                raise PullFailed(f"The system answered {last}.") from None
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc)) or type(exc).__name__
    raise PullFailed(f"No answer after {attempts} attempts (last: {last}).")
