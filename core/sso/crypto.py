"""The tenant's SSO client secret at rest: Fernet (AES-128-CBC + HMAC-SHA256) under keys
from CONGVU_SSO_KEY, which the database never holds.

Each comma-separated key may be a Fernet key or any passphrase (stretched by SHA-256 to
one); the first encrypts, every one decrypts, so a new key goes first and the old one
stays until the secrets are saved again.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class SecretUnavailable(Exception):
    """No key is configured, or none of them opens the stored secret."""


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # A passphrase, not a Fernet key: derive one, bound to this purpose.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"congvu-sso-secret:" + key.encode()).digest()))


def _keys() -> MultiFernet:
    raw = current_app.config.get("CONGVU_SSO_KEY") or ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise SecretUnavailable("CONGVU_SSO_KEY is not set: single sign-on settings cannot be stored or used.")
    return MultiFernet([_fernet(k) for k in keys])


def key_configured() -> bool:
    return bool((current_app.config.get("CONGVU_SSO_KEY") or "").strip(" ,"))


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnavailable("The stored client secret cannot be decrypted with CONGVU_SSO_KEY.") from exc
