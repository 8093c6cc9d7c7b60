"""PostgreSQL row-level security: the policies, and the per-transaction settings.

Each transaction starts with one statement, `set_config` of `app.tenant_id`,
`app.unscoped` and `app.rls_sig`, all LOCAL (`true`), so the values die with the
transaction and never leak through the pool (a tenant request may carry them on its
tenant row's read instead: `signed_settings`, core/hooks.py). No setting means no rows.

The settings are signed: `app.rls_sig` is HMAC-SHA256, under a key kept in
`congvu_rls.keys`, of the tenant, the unscoped flag and this database session (backend
pid, client port, server start). The policies accept the settings only when the
signature checks (migration 0020's functions). The app role may change any setting but
cannot read the key (only the schema owner and the ops role can, through
`CONGVU_DATABASE_OPS_URL`), so SQL run as the app role — an injection — cannot name
another tenant or turn the filter off, and a signature were it seen elsewhere is
worthless in any other session. docs/security.md explains the choice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading

from flask import current_app, has_app_context
from sqlalchemy import create_engine, event, pool, text
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session, SessionTransactionOrigin

from core.tenancy.context import current_tenant_id, is_unscoped

POLICY = "tenant_isolation"
# The table that holds the signing key, in a schema of its own: the app role has no USAGE
# on it, and the grants on "ALL TABLES IN SCHEMA public" every migration repeats never
# reach it. Only the owner and the ops role read it. Not a model, so wiping the models'
# tables leaves it.
KEY_SCHEMA = "congvu_rls"
KEY_TABLE = f"{KEY_SCHEMA}.keys"
# The predicate before migration 0020: trusted any setting. Migrations 0001–0019 create
# their policies with it, because the signature's functions do not exist yet then.
LEGACY_PREDICATE = (
    "((SELECT current_setting('app.unscoped', true)) = 'on' OR "
    "tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint))"
)
# Migration 0020's predicate: two functions, so two InitPlans, three PL/pgSQL calls and
# two search_path switches for every tenant table a statement reads. Migrations between
# 0020 and 0036 create their policies with it (its functions exist then; 0036's do not).
SIGNED_0020_PREDICATE = (
    "((SELECT public.congvu_rls_unscoped()) OR "
    "tenant_id = (SELECT public.congvu_rls_tenant()))"
)
# Since migration 0036: one SECURITY DEFINER function checks the signature and returns the
# tenants this transaction may see as a range — [t,t] for one tenant, (,) when unscoped,
# NULL for nothing (`x <@ NULL` is NULL: no row, and no row may be written). Called in a
# sub-select, which PostgreSQL evaluates once per statement (an InitPlan) instead of once
# per row (migration 0010 measured why that matters): one call per tenant table a statement
# reads, not three.
_PREDICATE = "(tenant_id <@ (SELECT public.congvu_rls_scope()))"
# The function the predicate above needs: a migration that adds a table checks for it.
SCOPE_FUNCTION = "public.congvu_rls_scope()"
_SET = text("SELECT set_config('app.tenant_id', :tid, true), set_config('app.unscoped', :uns, true), "
            "set_config('app.rls_sig', :sig, true)")
# Names this database session: the same expression as migration 0020's
# congvu_rls_session(), read once per new connection.
SESSION_SQL = ("SELECT pg_backend_pid()::text || ':' || coalesce(inet_client_port(), 0)::text || ':' || "
               "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text")
_SESSION = "congvu_rls_session"
_KEY_LOCK = threading.Lock()
log = logging.getLogger(__name__)


# What a transaction sees before any set_config: no tenant, not unscoped (LOCAL values die
# with their transaction, and `_check_no_defaults` refuses a role or database that
# carries its own). A transaction begun outside every tenant needs no round trip.
_NONE = {"tid": "", "uns": "off"}
# The settings this session's open transaction was last given, so that entering the
# tenant context it already has (a token of the URL's tenant, the audit chain of the
# request's tenant) costs no round trip. Forgotten when the transaction or any savepoint
# ends (a rolled-back savepoint takes back the set_config calls made inside it); a
# flush's subtransaction is no database transaction and leaves it.
_APPLIED = "congvu_rls_applied"


def _settings() -> dict[str, str]:
    tid = current_tenant_id()
    return {"tid": "" if tid is None else str(tid), "uns": "on" if is_unscoped() else "off"}


def signing_key() -> bytes | None:
    """The key the policies check signatures with, read once per process through the ops
    URL (CONGVU_DATABASE_OPS_URL, else the owner's, else the app's own); None while the
    database has no key yet (before migration 0020), when nothing checks signatures."""
    found = _key_row()
    return None if found is None else found[0]


def key_for_threads() -> tuple[bytes, bool] | None:
    """What `apply(…, key=…)` takes in a thread that has no app context."""
    return _key_row()


def _key_row() -> tuple[bytes, bool] | None:
    """(key, bind_session) from the database, cached per app."""
    if not has_app_context():
        return None
    cache = current_app.extensions.setdefault("congvu_rls", {})
    if "key" in cache:
        return cache["key"]
    with _KEY_LOCK:
        if "key" in cache:
            return cache["key"]
        config = current_app.config
        url = (config.get("CONGVU_DATABASE_OPS_URL") or config.get("CONGVU_DATABASE_OWNER_URL")
               or config["SQLALCHEMY_DATABASE_URI"])
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.connect() as conn:
                if conn.dialect.name != "postgresql":
                    return None
                # The catalogue, not to_regclass: the app role may not even look into the schema.
                if conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": KEY_SCHEMA}).scalar() is None:
                    return None  # not migrated yet: not cached, so the key is read once it exists
                try:
                    row = conn.execute(text(f"SELECT key, bind_session FROM {KEY_TABLE} WHERE id = 1")).first()
                except DBAPIError as exc:
                    raise RuntimeError(
                        "The row-level security key cannot be read: set CONGVU_DATABASE_OPS_URL to the ops role "
                        "(or the owner), not the app role (docs/operations.md §1).") from exc
        finally:
            engine.dispose()
        if row is None:
            return None
        cache["key"] = (bytes(row.key), bool(row.bind_session))
        return cache["key"]


class KeyUnavailable(RuntimeError):
    """A process that serves tenants on PostgreSQL cannot get the key it signs with."""


def require_key() -> None:
    """Read the key now, at the start of a web, worker, scheduler or scorer process, so a
    process that could not sign (every tenant query would find no row) refuses to start
    with one line saying why instead of serving empty pages. SQLite: nothing to check."""
    config = current_app.config
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    if not config.get("CONGVU_DATABASE_OPS_URL"):
        raise KeyUnavailable("CONGVU_DATABASE_OPS_URL is not set: on PostgreSQL every process reads the "
                             "row-level security key through the ops role (docs/operations.md §1)")
    try:
        found = _key_row()
    except RuntimeError as exc:
        raise KeyUnavailable("CONGVU_DATABASE_OPS_URL cannot read the row-level security key: give it the ops "
                             "role (docs/operations.md §1)") from exc
    except DBAPIError as exc:
        raise KeyUnavailable(f"CONGVU_DATABASE_OPS_URL cannot connect: {str(exc.orig).strip().splitlines()[0]}") from exc
    if found is None:
        raise KeyUnavailable("the database has no row-level security key yet: run `congvu db upgrade` first")


def sign(tid: str, uns: str, session: str | None, key: tuple[bytes, bool] | None = None) -> str:
    """The `app.rls_sig` for these settings in this database session ('' without a key:
    the database checks no signature then). The session is left out of the message when
    the database says signatures are not bound to one (PgBouncer in transaction mode)."""
    found = key or _key_row()
    if found is None or session is None:
        return ""
    secret, bind_session = found
    message = f"{tid}|{uns}|{session if bind_session else ''}"
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def _execute_set(connection, settings: dict[str, str], key: tuple[bytes, bool] | None = None) -> None:
    session = connection.info.get(_SESSION)
    if session is None:  # a connection made before this module's connect hook (or another engine's)
        session = connection.info[_SESSION] = connection.execute(text(SESSION_SQL)).scalar()
    connection.execute(_SET, {**settings, "sig": sign(settings["tid"], settings["uns"], session, key)})


def signed_settings(connection, tenant_id: int) -> dict[str, str]:
    """The settings of `tenant_id` (not unscoped) signed for `connection`'s database
    session, for a statement that sets them itself (`applied_by_statement`)."""
    session = connection.info.get(_SESSION)
    if session is None:
        session = connection.info[_SESSION] = connection.execute(text(SESSION_SQL)).scalar()
    tid = str(tenant_id)
    return {"tid": tid, "uns": "off", "sig": sign(tid, "off", session)}


def applied_by_statement(session: Session, tenant_id: int) -> None:
    """The open transaction was given `tenant_id`'s settings by a statement of the
    caller's (the tenant row read that sets them in the same round trip,
    core/hooks.py): entering that tenant's context sends nothing more."""
    session.info[_APPLIED] = {"tid": str(tenant_id), "uns": "off"}


def apply(connection, tenant_id: int | None = None, unscoped: bool = False,
          key: tuple[bytes, bool] | None = None) -> None:
    """Set the signed settings on a connection outside the ORM session (a second
    connection of a job, an export or the demo generator); PostgreSQL only. A thread
    without the app's context passes the `key` its caller got from `key_for_threads()`."""
    settings = {"tid": "" if tenant_id is None else str(tenant_id), "uns": "on" if unscoped else "off"}
    _execute_set(connection, settings, key)


@event.listens_for(Session, "after_begin")
def _set_local(session: Session, transaction, connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    settings = _settings()
    if settings != _NONE:
        _execute_set(connection, settings)
    session.info[_APPLIED] = settings


@event.listens_for(Session, "after_transaction_end")
def _forget_applied(session: Session, transaction) -> None:
    if transaction.origin is not SessionTransactionOrigin.SUBTRANSACTION:
        session.info.pop(_APPLIED, None)


def sync_open_transaction() -> None:
    """Re-apply the settings to a transaction begun under another tenant context."""
    if not has_app_context():
        return
    from core.extensions import db

    session = db.session()
    if not session.in_transaction():
        return
    try:
        conn = session.connection()  # begins on a connection (after_begin applies) if not yet
        if conn.dialect.name != "postgresql":
            return
        settings = _settings()
        if session.info.get(_APPLIED) == settings:
            return
        _execute_set(conn, settings)
        session.info[_APPLIED] = settings
    except (PendingRollbackError, DBAPIError):
        # A failed transaction is about to be rolled back; it will read nothing more.
        pass


def check_no_defaults(dbapi_connection, record=None) -> None:
    """Refuse a connection whose role or database sets app.tenant_id or app.unscoped by
    default (ALTER ROLE … SET): a transaction begun outside every tenant would inherit it,
    since `_set_local` sends nothing for that case. The same round trip names the database
    session the signatures are bound to (kept with the pooled connection)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT current_setting('app.tenant_id', true), current_setting('app.unscoped', true), "
                       f"({SESSION_SQL})")
        tid, uns, session = cursor.fetchone()
    finally:
        cursor.close()
        dbapi_connection.rollback()  # leave no transaction open behind the pool's back
    if record is not None:
        record.info[_SESSION] = session
    if tid not in (None, "") or uns not in (None, "", "off"):
        raise RuntimeError(f"The database role or database sets app.tenant_id={tid!r} app.unscoped={uns!r} "
                           "by default; row-level security needs them unset (docs/operations.md).")


def enable_statements(table: str, predicate: str = _PREDICATE) -> list[str]:
    """DDL that puts `table` under RLS; migrations run it for every tenant table."""
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'CREATE POLICY {POLICY} ON "{table}" USING {predicate} WITH CHECK {predicate}',
    ]


def grant_statements(role: str, append_only: tuple[str, ...] = ("audit_events",)) -> list[str]:
    """Grants for the app role; append-only tables get no UPDATE or DELETE."""
    stmts = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    stmts += [f"REVOKE UPDATE, DELETE, TRUNCATE ON {t} FROM {role}" for t in append_only]
    # Only run when the role exists, so a development database without it still upgrades.
    body = "; ".join(stmts)
    return [f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN {body}; END IF; END $$"]


# ---------------------------------------------------------------- key rotation

def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer pads (RFC 2104), stored beside the key for the policies."""
    padded = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def fingerprint(key: bytes) -> str:
    """What logs and the rotation log name a key by: not the key, not enough to sign."""
    return hashlib.sha256(b"congvu-rls-fingerprint|" + key).hexdigest()[:16]


class RotationRefused(RuntimeError):
    pass


def rotate_key(owner_url: str, actor: str, retire: bool = False) -> dict[str, str | None]:
    """Rotate the signing key, as the owner, in one transaction: the current key becomes
    the previous one, still accepted by the policies, so processes that read it before
    keep working until they restart; a new random key becomes current. Refused while a
    previous key is still accepted (retire it first, once every process restarted, or a
    process still on it would find no row). `retire=True` instead stops accepting the
    previous key. Each step is written to `congvu_rls.rotations` with its actor."""
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            row = conn.execute(text(f"SELECT key, previous_key FROM {KEY_TABLE} WHERE id = 1 FOR UPDATE")).first()
            if row is None:
                raise RotationRefused("the database has no row-level security key yet: run `congvu db upgrade` first")
            current = bytes(row.key)
            previous = None if row.previous_key is None else bytes(row.previous_key)
            if retire:
                if previous is None:
                    raise RotationRefused("no previous key is accepted: nothing to retire")
                conn.execute(text(f"UPDATE {KEY_TABLE} SET previous_key = NULL, previous_ikey = NULL, "
                                  "previous_okey = NULL WHERE id = 1"))
                action, named = "retire-previous", fingerprint(previous)
            else:
                if previous is not None:
                    raise RotationRefused(
                        f"the previous key {fingerprint(previous)} is still accepted: restart every web, worker, "
                        "scheduler and scorer process, then run `congvu rls retire-previous-key`, then rotate")
                new = secrets.token_bytes(32)
                ikey, okey = _pads(new)
                old_ikey, old_okey = _pads(current)
                conn.execute(text(
                    f"UPDATE {KEY_TABLE} SET previous_key = key, previous_ikey = :pi, previous_okey = :po, "
                    "key = :k, ikey = :i, okey = :o, rotated_at = now() WHERE id = 1"),
                    {"k": new, "i": ikey, "o": okey, "pi": old_ikey, "po": old_okey})
                action, named = "rotate", fingerprint(new)
            conn.execute(text(f"INSERT INTO {KEY_SCHEMA}.rotations (action, actor, fingerprint) "
                              "VALUES (:a, :who, :f)"), {"a": action, "who": actor, "f": named})
    finally:
        engine.dispose()
    log.warning("row-level security key: %s by %s (key %s)", action, actor, named)
    return {"action": action, "fingerprint": named, "previous": None if retire else fingerprint(current)}


def key_status(owner_url: str) -> dict:
    """The current key's fingerprint, whether a previous one is still accepted, and the
    rotation log, newest first (the owner's view; nothing here can sign)."""
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(f"SELECT key, previous_key, rotated_at FROM {KEY_TABLE} WHERE id = 1")).one()
            log_rows = conn.execute(text(f"SELECT at, action, actor, fingerprint FROM {KEY_SCHEMA}.rotations "
                                         "ORDER BY id DESC LIMIT 20")).all()
    finally:
        engine.dispose()
    return {"current": fingerprint(bytes(row.key)),
            "previous": None if row.previous_key is None else fingerprint(bytes(row.previous_key)),
            "rotated_at": row.rotated_at, "log": [tuple(r) for r in log_rows]}
