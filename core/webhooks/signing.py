"""The signature a receiver checks: `X-Congvu-Signature: t=<unix seconds>,v1=<hex>` where
hex = HMAC-SHA256(secret, "<t>." + body). The timestamp lets a receiver refuse replays
older than a few minutes; the body is the exact bytes sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

HEADER = "X-Congvu-Signature"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def body(payload: dict) -> bytes:
    """The same bytes for a payload at every attempt."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, raw: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, raw: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does (docs/webhooks.md shows the same in a few lines)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, raw), f"t={timestamp},v1={parts.get('v1', '')}")
