"""A small but real OpenID Connect provider for the SSO tests: a Flask app served over
HTTP by werkzeug on 127.0.0.1 in a thread, with discovery, a JWKS of a freshly made RSA
key, an authorization endpoint that signs in whoever the test says (no form) and a token
endpoint that checks the client's secret, the code (once), the redirect URI and the PKCE
verifier, and returns an RS256 ID token made with joserfc.

`tamper` makes the next ID tokens wrong in one way, as a broken or hostile provider
would: signed by another key under the same key id, for another audience, expired, with
another nonce.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server


class Provider:
    def __init__(self) -> None:
        self.key = self.first_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"},
                                                         private=True)
        # Same key id, another key: a token it signs fails the signature check.
        self.rogue = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"}, private=True)
        self.client_id = "congvu-test"
        self.client_secret = "provider-secret-" + secrets.token_hex(8)
        self.claims: dict[str, Any] = {}
        self.tamper: dict[str, Any] = {}
        self.codes: dict[str, dict] = {}
        self.token_requests = 0
        self.app = self._make_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def rotate(self) -> None:
        """A new signing key under a new key id, as a provider rotating its keys does."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k2", "alg": "RS256", "use": "sig"}, private=True)

    def reset(self) -> None:
        self.claims, self.tamper, self.codes, self.token_requests = {}, {}, {}, 0
        self.key = self.first_key

    def _id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "subject-1", "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], **grant["claims"]}
        if "aud" in self.tamper:
            claims["aud"] = self.tamper["aud"]
        if "exp_offset" in self.tamper:
            claims["iat"] = now + self.tamper["exp_offset"] - 300
            claims["exp"] = now + self.tamper["exp_offset"]
        if "nonce" in self.tamper:
            claims["nonce"] = self.tamper["nonce"]
        key = self.rogue if self.tamper.get("sign_with") == "rogue" else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def _make_app(self) -> Flask:
        app = Flask("oidc-test-provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify({
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            })

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([self.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            args = request.args
            if (args.get("client_id") != self.client_id or args.get("response_type") != "code"
                    or "openid" not in args.get("scope", "").split() or args.get("code_challenge_method") != "S256"):
                return jsonify({"error": "invalid_request"}), 400
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"redirect_uri": args["redirect_uri"], "nonce": args.get("nonce"),
                                "challenge": args["code_challenge"], "claims": dict(self.claims)}
            return redirect(args["redirect_uri"] + "?" + urlencode({"code": code, "state": args.get("state", "")}))

        @app.post("/token")
        def token():
            self.token_requests += 1
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != (self.client_id, self.client_secret):
                return jsonify({"error": "invalid_client"}), 401
            grant = self.codes.pop(request.form.get("code", ""), None)
            if grant is None or request.form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify({"error": "invalid_grant"}), 400
            verifier = request.form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != grant["challenge"]:
                return jsonify({"error": "invalid_grant", "error_description": "PKCE"}), 400
            return jsonify({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                            "id_token": self._id_token(grant)})

        return app
