"""Configuration: defaults overridden by CONGVU_* environment variables.

Nothing here touches the disk or the network at import time; `load_config` is called
by the application factory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "CONGVU_"


class Defaults:
    DATABASE_URL = "sqlite:///instance/congvu.db"
    # Migrations run as the schema owner; the app connects as a role without
    # ownership so PostgreSQL's row-level security applies to it.
    DATABASE_OWNER_URL: str | None = None
    # The role that may read the row-level security key (docs/security.md): the web,
    # worker and scheduler read it once per process and sign their tenant settings with
    # it. Unset: the owner's URL, else DATABASE_URL (embedded/SQLite, where nothing signs).
    DATABASE_OPS_URL: str | None = None
    DB_APP_ROLE = "congvu_app"
    DB_OPS_ROLE = "congvu_ops"
    REDIS_URL: str | None = None
    # Where a change's scores are refreshed (core/scoring/scorer.py): "inline" in the
    # change's own commit, "deferred" by a scorer beside the request. Unset: deferred
    # when Redis is configured (an RQ job is woken), inline otherwise (`make run`).
    SCORING: str | None = None
    # How long a scorer waits, once woken under load, before it takes the marks: writes made
    # meanwhile join its batch, so a person declaring several items then is re-scored once
    # (docs/scaling.md). 0: at once.
    SCORER_SETTLE_MS = 1000
    QUEUE_PREFIX = ""  # several installations (or test runs) sharing one Redis
    SECRET_KEY: str | None = None
    ENV = "development"  # "production" refuses to start without a secret key
    PLUGINS: str | None = None  # comma-separated allow-list; unset = every installed plugin
    TENANTS_DIR: str | None = None  # folder of tenant packs whose plugin.py holds tenant-local components
    LOGIN_LIMIT_PER_ACCOUNT = "10/minute"
    LOGIN_LIMIT_PER_ADDRESS = "100/minute"
    # Failures one address may make on one account before it must wait 1 s, 2 s, 4 s …
    LOGIN_BACKOFF_AFTER = 5
    LOGIN_BACKOFF_MAX_SECONDS = 15 * 60
    # Deepest JSON nesting a request body may have (deeper is a 400, never a RecursionError).
    JSON_MAX_DEPTH = 64
    TOKEN_TTL_SECONDS = 8 * 3600
    DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    DEFAULT_LOCALE = "vi"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    INSTANCE_PATH: str | None = None
    # Where uploads wait for their import job (default instance/uploads); shared between
    # hosts when workers run on several machines.
    UPLOAD_DIR: str | None = None
    LOG_FORMAT: str | None = None  # "json" or "text"; unset = json in production (core/observability.py)
    # The certification authorities whose signatures an uploaded signed decision may carry:
    # a PEM file (or PEM text) of root certificates (docs/documents.md). Unset: none is trusted.
    SIGNING_TRUST_ROOTS: str | None = None
    # Check revocation online (OCSP/CRL from the certificate); off, a revocation that cannot
    # be checked does not refuse the signature.
    SIGNING_FETCH_REVOCATION = 0
    # Signs the audit checkpoints (core/audit/checkpoints.py): a secret the database never
    # holds, so whoever can write the audit table cannot sign a rewritten history.
    AUDIT_KEY: str | None = None
    # Where each tenant's signed checkpoints are appended (default instance/audit-checkpoints);
    # best on storage the database's host and role cannot write.
    AUDIT_CHECKPOINT_DIR: str | None = None
    # Encrypts each tenant's single sign-on client secret (core/sso/crypto.py): one or more
    # keys, comma-separated, the first encrypting and all decrypting (rotation). Never in the
    # database, so a dump of it yields no usable secret. Development keeps a generated one in
    # instance/sso_key; production without it refuses to store or use SSO settings.
    SSO_KEY: str | None = None
    # Seconds to wait for a tenant's identity provider (discovery, keys, token endpoint).
    SSO_HTTP_TIMEOUT = 10
    # Webhooks (core/webhooks): receivers on private or local addresses only when the
    # operator allows it (a province's internal systems); "off" leaves sending to the sweep.
    OUTBOUND_ALLOW_PRIVATE = 0
    WEBHOOKS_WAKE = "on"
    WEBHOOKS_TIMEOUT = 5
    # Live connectors' HTTP client (core/imports/http.py): per request, tries, first pause.
    LIVE_TIMEOUT = 10
    LIVE_ATTEMPTS = 3
    LIVE_BACKOFF_SECONDS = 1
    # Who a suspended province's users should contact (core/tenants/suspension.py): shown
    # on the page they get instead of the province's; e.g. "hotro@congvu.gov.vn, 024 1234 5678".
    OPERATOR_CONTACT: str | None = None


def _env(name: str) -> str | None:
    value = os.environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else None


def load_config(overrides: dict[str, Any] | None, instance_path: Path) -> dict[str, Any]:
    """Merge defaults, environment and explicit overrides into Flask config keys."""
    cfg: dict[str, Any] = {}
    for key in dir(Defaults):
        if key.isupper():
            cfg["CONGVU_" + key] = getattr(Defaults, key)
    for key in list(cfg):
        env_value = _env(key.removeprefix("CONGVU_"))
        if env_value is not None:
            default = cfg[key]
            cfg[key] = int(env_value) if isinstance(default, int) else env_value
    overrides = dict(overrides or {})
    for key, value in list(overrides.items()):
        if key.startswith("CONGVU_"):
            cfg[key] = value
    cfg.update(overrides)

    db_url = _absolute_sqlite(cfg["CONGVU_DATABASE_URL"], instance_path)
    cfg["CONGVU_DATABASE_URL"] = db_url
    cfg.setdefault("SQLALCHEMY_DATABASE_URI", db_url)
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(db_url))
    cfg.setdefault("MAX_CONTENT_LENGTH", cfg["CONGVU_MAX_CONTENT_LENGTH"])
    cfg.setdefault("BABEL_DEFAULT_LOCALE", cfg["CONGVU_DEFAULT_LOCALE"])
    cfg.setdefault("BABEL_DEFAULT_TIMEZONE", cfg["CONGVU_DEFAULT_TIMEZONE"])
    production = cfg["CONGVU_ENV"] == "production"
    cfg.setdefault("SESSION_COOKIE_HTTPONLY", True)
    cfg.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    cfg.setdefault("SESSION_COOKIE_SECURE", production)
    cfg.setdefault("REMEMBER_COOKIE_SECURE", production)
    cfg.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    cfg["SECRET_KEY"] = cfg.get("SECRET_KEY") or cfg["CONGVU_SECRET_KEY"] or _secret_key(
        production, instance_path, cfg.get("TESTING", False)
    )
    cfg["CONGVU_AUDIT_KEY"] = cfg["CONGVU_AUDIT_KEY"] or _audit_key(production, instance_path,
                                                                    cfg.get("TESTING", False))
    if not cfg["CONGVU_SSO_KEY"] and not production:
        cfg["CONGVU_SSO_KEY"] = TEST_SSO_KEY if cfg.get("TESTING", False) else _instance_secret(
            instance_path / "sso_key")
    return cfg


# Tests build several apps that must read each other's encrypted SSO secrets.
TEST_SSO_KEY = "congvu-test-sso-key"

# Tests build several apps (a source and an import target) that must agree on the key.
TEST_AUDIT_KEY = "congvu-test-audit-key"


def _audit_key(production: bool, instance_path: Path, testing: bool) -> str:
    if production:
        raise ConfigError("CONGVU_AUDIT_KEY must be set in production (CONGVU_ENV=production): it signs the "
                          "audit checkpoints and must not be stored in the database")
    if testing:
        return TEST_AUDIT_KEY
    return _instance_secret(instance_path / "audit_key")


def _absolute_sqlite(url: str, instance_path: Path) -> str:
    """Relative SQLite paths are relative to the project, where `instance/` lives."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        rel = url[len(prefix):]
        path = instance_path.parent / rel
        return prefix + str(path)
    return url


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # No pool_pre_ping: a dead connection is found at checkout without a round trip
    # (core/liveness.py, registered in core/app.py). That check sees only a connection the
    # server closed; one a NAT or load balancer drops in silence is kept alive by TCP
    # keepalives (libpq's), and no connection outlives pool_recycle.
    return {"pool_size": 10, "max_overflow": 10, "pool_recycle": 900,
            "connect_args": {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10,
                             "keepalives_count": 5}}


class ConfigError(RuntimeError):
    """The configuration cannot run: start-up stops with this message."""


def _secret_key(production: bool, instance_path: Path, testing: bool) -> str:
    if production:
        raise ConfigError("CONGVU_SECRET_KEY must be set in production (CONGVU_ENV=production)")
    if testing:
        return secrets.token_hex(32)
    # Development only: generated once and kept in instance/ so sessions survive restarts.
    return _instance_secret(instance_path / "secret_key")


def _instance_secret(key_file: Path) -> str:
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key
