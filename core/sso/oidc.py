"""The OpenID Connect relying party: the authorization code flow with PKCE, through
Authlib's OAuth 2 client; the ID token checked with joserfc (Authlib's JOSE library)
against the provider's published keys.

What a callback must prove before anyone is signed in: the `state` is the one this
browser was sent away with (no forged or replayed callback), the ID token is signed by a
key of the provider's JWKS with an asymmetric algorithm (never `none`, never a shared
secret), was issued by the configured issuer for this client (`aud`, and `azp` when
several audiences), has not expired, and carries the `nonce` of this login attempt.
No Flask request objects here: the views pass what they read.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

log = logging.getLogger(__name__)

# Signature algorithms an ID token may use: public-key ones only, so that knowing the
# client secret (which the tenant admin typed) is not enough to forge a login.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# Seconds of clock difference allowed between the provider and this server.
LEEWAY = 60
# A login attempt left at the provider longer than this is refused at the callback.
ATTEMPT_TTL = 600
# Discovery documents and key sets are kept this long; an unknown key id refetches at once.
CACHE_TTL = 300
SCOPE = "openid profile email"


class SsoFailed(Exception):
    """The sign-on was refused; `reason` is a machine code recorded in the audit log."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Client:
    """What the relying party needs of a tenant's settings (the secret decrypted)."""

    issuer: str
    client_id: str
    client_secret: str
    timeout: float = 10


_cache: dict[str, tuple[float, dict]] = {}
_jwks: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


def forget(issuer: str | None = None) -> None:
    """Drop cached discovery documents and keys (all, or one issuer's): after a settings change."""
    with _lock:
        for store in (_cache, _jwks):
            if issuer is None:
                store.clear()
            else:
                store.pop(issuer, None)


def _get_json(url: str, timeout: float) -> dict:
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoFailed("provider_unreachable", f"{url}: {exc}") from exc
    if not isinstance(data, dict):
        raise SsoFailed("provider_unreachable", f"{url}: not a JSON object")
    return data


def metadata(client: Client) -> dict:
    """The provider's discovery document, whose `issuer` must be exactly the configured one
    (OpenID Connect Discovery 1.0, section 4.3)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(client.issuer)
    if hit is not None and now - hit[0] < CACHE_TTL:
        return hit[1]
    data = _get_json(client.issuer.rstrip("/") + "/.well-known/openid-configuration", client.timeout)
    if data.get("issuer") != client.issuer:
        raise SsoFailed("wrong_issuer", f"discovery names {data.get('issuer')!r}, not {client.issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(data.get(key), str) or urlsplit(data[key]).scheme not in ("http", "https"):
            raise SsoFailed("provider_unreachable", f"discovery has no usable {key}")
    with _lock:
        _cache[client.issuer] = (now, data)
    return data


def _key_set(client: Client, meta: dict, refresh: bool = False) -> KeySet:
    now = time.monotonic()
    with _lock:
        hit = _jwks.get(client.issuer)
    if hit is None or refresh or now - hit[0] >= CACHE_TTL:
        data = _get_json(meta["jwks_uri"], client.timeout)
        with _lock:
            _jwks[client.issuer] = (now, data)
    else:
        data = hit[1]
    try:
        return KeySet.import_key_set(data)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SsoFailed("provider_unreachable", f"unusable JWKS: {exc}") from exc


def begin(client: Client, redirect_uri: str) -> tuple[str, dict[str, Any]]:
    """The provider's authorization URL to send the browser to, and the attempt to keep
    (in the signed session cookie) until the callback: state, nonce, PKCE verifier."""
    meta = metadata(client)
    attempt = {"state": generate_token(32), "nonce": generate_token(32), "verifier": generate_token(64),
               "at": int(time.time())}
    with OAuth2Session(client.client_id, client.client_secret, scope=SCOPE, redirect_uri=redirect_uri,
                       code_challenge_method="S256") as session:
        url, _ = session.create_authorization_url(meta["authorization_endpoint"], state=attempt["state"],
                                                  nonce=attempt["nonce"], code_verifier=attempt["verifier"])
    return url, attempt


def _auth_method(meta: dict) -> str:
    supported = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return "client_secret_basic" if "client_secret_basic" in supported else "client_secret_post"


def finish(client: Client, attempt: dict | None, args: dict[str, str], redirect_uri: str) -> dict[str, Any]:
    """Check the callback and the ID token; return the token's claims. Raises SsoFailed."""
    if not attempt or not isinstance(attempt.get("state"), str):
        raise SsoFailed("no_attempt", "no login attempt in this session")
    if not secrets.compare_digest(str(args.get("state", "")), attempt["state"]):
        raise SsoFailed("bad_state")
    if time.time() - int(attempt.get("at", 0)) > ATTEMPT_TTL:
        raise SsoFailed("attempt_expired")
    if args.get("error"):
        raise SsoFailed("provider_refused", str(args.get("error"))[:100])
    code = args.get("code")
    if not code:
        raise SsoFailed("no_code")
    meta = metadata(client)
    try:
        with OAuth2Session(client.client_id, client.client_secret, redirect_uri=redirect_uri,
                           token_endpoint_auth_method=_auth_method(meta)) as session:
            token = session.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                        code_verifier=attempt["verifier"], timeout=client.timeout)
    except OAuth2Error as exc:
        raise SsoFailed("token_refused", f"{exc.error}: {exc.description}") from exc
    except (requests.RequestException, ValueError) as exc:
        raise SsoFailed("provider_unreachable", f"token endpoint: {exc}") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SsoFailed("no_id_token")
    return validate_id_token(client, meta, id_token, attempt["nonce"], token.get("access_token"))


def validate_id_token(client: Client, meta: dict, id_token: str, nonce: str,
                      access_token: str | None = None) -> dict[str, Any]:
    offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in offered if a in ALGORITHMS] or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms)
    try:
        try:
            decoded = jwt.decode(id_token, _key_set(client, meta), registry=registry)
        except (InvalidKeyIdError, BadSignatureError):
            # The provider may have rotated its keys since they were cached: fetch once more.
            decoded = jwt.decode(id_token, _key_set(client, meta, refresh=True), registry=registry)
    except BadSignatureError as exc:
        raise SsoFailed("bad_signature") from exc
    except InvalidKeyIdError as exc:
        raise SsoFailed("unknown_key") from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise SsoFailed("invalid_token", type(exc).__name__) from exc
    options = {"iss": {"essential": True, "value": client.issuer},
               "aud": {"essential": True, "value": client.client_id},
               "sub": {"essential": True}, "exp": {"essential": True}}
    params = {"nonce": nonce, "client_id": client.client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    try:
        claims.validate(leeway=LEEWAY)
    except ExpiredTokenError as exc:
        raise SsoFailed("expired") from exc
    except MissingClaimError as exc:
        raise SsoFailed("bad_nonce" if exc.claim == "nonce" else "missing_claim", str(exc)) from exc
    except InvalidClaimError as exc:
        reason = {"aud": "wrong_audience", "azp": "wrong_audience", "iss": "wrong_issuer", "nonce": "bad_nonce",
                  "exp": "expired"}.get(exc.claim, "invalid_token")
        raise SsoFailed(reason, str(exc)) from exc
    except (ClaimError, JoseError, ValueError, TypeError) as exc:
        raise SsoFailed("invalid_token", str(exc)) from exc
    return dict(claims)
