"""PostgreSQL row-level security: the policies, and the per-transaction settings.

Each transaction starts with `set_config('app.tenant_id', …, true)` — the `true` makes
it LOCAL, so the value dies with the transaction and never leaks through the pool.
No setting means no rows. The app must connect as a role that neither owns the tables
nor is a superuser (superusers bypass RLS); docs/operations.md shows the set-up.
"""

from __future__ import annotations

from flask import has_app_context
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session, SessionTransactionOrigin

from core.tenancy.context import current_tenant_id, is_unscoped

POLICY = "tenant_isolation"
# Each setting is read in a sub-select, which PostgreSQL evaluates once per statement (an
# InitPlan) instead of once per row: a scan of a province's 8.5 million item scores took
# 6.7 s with the per-row form, 4.4 s with this one, 4.0 s as the owner (migration 0010).
_PREDICATE = (
    "((SELECT current_setting('app.unscoped', true)) = 'on' OR "
    "tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint))"
)
_SET = text("SELECT set_config('app.tenant_id', :tid, true), set_config('app.unscoped', :uns, true)")


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


@event.listens_for(Session, "after_begin")
def _set_local(session: Session, transaction, connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    settings = _settings()
    if settings != _NONE:
        connection.execute(_SET, settings)
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
        conn.execute(_SET, settings)
        session.info[_APPLIED] = settings
    except (PendingRollbackError, DBAPIError):
        # A failed transaction is about to be rolled back; it will read nothing more.
        pass


def check_no_defaults(dbapi_connection) -> None:
    """Refuse a connection whose role or database sets app.tenant_id or app.unscoped by
    default (ALTER ROLE … SET): a transaction begun outside every tenant would inherit it,
    since `_set_local` sends nothing for that case."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT current_setting('app.tenant_id', true), current_setting('app.unscoped', true)")
        tid, uns = cursor.fetchone()
    finally:
        cursor.close()
        dbapi_connection.rollback()  # leave no transaction open behind the pool's back
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
