"""The application factory: `create_app` builds the Flask application (also importable
as `core.create_app`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from core import PROJECT_ROOT


def create_app(config: dict[str, Any] | None = None) -> Flask:
    import os

    from core.config import load_config
    from core.i18n import require_catalogue

    require_catalogue()
    instance_path = Path((config or {}).get("CONGVU_INSTANCE_PATH") or os.environ.get("CONGVU_INSTANCE_PATH")
                         or PROJECT_ROOT / "instance")
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=False)
    app.config.update(load_config(config, instance_path))
    if app.config["CONGVU_DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["CONGVU_DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Some metrics are made when their module is imported below (the login throttle's
        # counter), and in multiprocess mode making one opens a file in this directory.
        Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

    _init_extensions(app)
    _init_plugins(app)
    _register_blueprints(app)
    _register_hooks(app)
    return app


def _init_extensions(app: Flask) -> None:
    import core.sqlparams  # noqa: F401 - integer IN lists of any length (no bind-parameter cap)
    from core.api import API_CONFIG, api
    from core.extensions import babel, csrf, db, limiter, login_manager, migrate
    from core.i18n import remember_language, select_locale

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    redis_url = app.config.get("CONGVU_REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "congvu-limits")
    # The remaining Flask-Limiter limits (password changes) keep working on this process's
    # memory while Redis is down instead of failing the request.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)

    db.init_app(app)
    _sqlite_foreign_keys(app)
    _closed_month_refusals(app)
    _postgres_rls_defaults(app)
    # Inside the package: an installed wheel migrates its database without the source tree.
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent / "migrations"), compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth_pages.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(remember_language)
    limiter.init_app(app)
    from core.auth.throttle import init_app as init_login_throttle

    init_login_throttle(app)
    api.init_app(app)
    _import_models()
    # Receivers of the tenants' settings signal (core/tenants/signals.py): connected before
    # any request or command can change a tenant's settings.
    import core.scoring.stale  # noqa: F401


def _import_models() -> None:
    # Every model module, so metadata (and Alembic) sees every table.
    import core.audit.models  # noqa: F401
    import core.auth.models  # noqa: F401
    import core.bonus.models  # noqa: F401
    import core.catalogue.models  # noqa: F401
    import core.classification.models  # noqa: F401
    import core.dashboards.models  # noqa: F401
    import core.documents.models  # noqa: F401
    import core.imports.models  # noqa: F401
    import core.jobs.models  # noqa: F401
    import core.mergers.models  # noqa: F401
    import core.notifications.models  # noqa: F401
    import core.org.models  # noqa: F401
    import core.scoring.models  # noqa: F401
    import core.sso.models  # noqa: F401
    import core.tenants.models  # noqa: F401
    import core.webhooks.models  # noqa: F401
    import core.work.models  # noqa: F401


def _init_plugins(app: Flask) -> None:
    # No ImportError guard: a plugin that cannot be imported must stop start-up loudly.
    from core.plugins.manager import init_app as init_plugins

    init_plugins(app)


def _register_blueprints(app: Flask) -> None:
    from core import views
    from core.admin.views import admin_pages
    from core.api import api
    from core.audit.api import blp as audit_api
    from core.audit.views import audit_pages
    from core.auth.api import blp as auth_api
    from core.auth.views import auth_pages
    from core.bonus.api import blp as bonus_api
    from core.catalogue.api import blp as catalogue_api
    from core.classification.api import blp as classification_api
    from core.classification.procedure_api import blp as evaluation_api
    from core.classification.procedure_views import evaluation_pages
    from core.classification.views import classification_pages
    from core.dashboards.api import blp as platform_api
    from core.dashboards.views import dashboard_pages
    from core.documents.api import blp as documents_api
    from core.documents.views import document_pages
    from core.extensions import csrf
    from core.i18n import register_filters
    from core.imports.api import blp as imports_api
    from core.imports.live_api import blp as live_api
    from core.imports.live_views import live_pages
    from core.imports.views import import_pages
    from core.mergers.api import blp as mergers_api
    from core.mergers.views import merger_pages
    from core.notifications.views import notification_pages
    from core.org.api import blp as org_api
    from core.org.views import org_pages
    from core.plugins.api import blp as plugins_api
    from core.plugins.views import plugin_pages
    from core.reports.api import blp as reports_api
    from core.scoring.api import blp as scoring_api
    from core.sso.api import blp as sso_api
    from core.sso.views import sso_pages  # also adds the SSO page to admin_pages
    from core.tenants.api import blp as tenants_api
    from core.webhooks.api import blp as webhooks_api
    from core.webhooks.outbox import wake_after_request
    from core.webhooks.views import webhook_pages
    from core.work import manager_views  # noqa: F401 - adds the manager's unit page to work_pages
    from core.work.api import blp as work_api
    from core.work.views import work_pages

    for blp in (audit_api, auth_api, tenants_api, org_api, plugins_api, catalogue_api, work_api, scoring_api,
                imports_api, classification_api, evaluation_api, bonus_api, reports_api, mergers_api, documents_api,
                sso_api, webhooks_api, live_api, platform_api):
        csrf.exempt(blp)  # bearer tokens only: no ambient credential to forge
        api.register_blueprint(blp)
    for pages in (views.pages, auth_pages, org_pages, plugin_pages, work_pages, import_pages,
                  classification_pages, evaluation_pages, dashboard_pages, merger_pages, audit_pages, document_pages,
                  admin_pages, sso_pages, webhook_pages, live_pages, notification_pages):
        app.register_blueprint(pages)
    app.after_request(wake_after_request)
    register_filters(app)
    views.register_swagger_assets(app)
    manager = app.extensions.get("congvu_plugins")
    if manager is not None and hasattr(manager, "register_blueprints"):
        manager.register_blueprints(app)


def _register_hooks(app: Flask) -> None:
    from core import hooks, observability
    from core.errors import ServiceError, handle_service_error

    observability.init_app(app)

    app.register_error_handler(ServiceError, handle_service_error)
    _register_range_errors(app)
    hooks.register(app)
    from core import input_limits

    input_limits.init_app(app)  # after the tenant hooks: a foreign tenant's URL stays a 404
    _register_database_errors(app)  # after the hooks: its teardown must run before theirs


def _register_range_errors(app: Flask) -> None:
    from sqlalchemy.exc import DataError, StatementError

    from core.errors import handle_out_of_range

    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(DataError, handle_out_of_range)

    def statement_error(error: StatementError):
        # SQLite's driver raises OverflowError while binding, which SQLAlchemy wraps.
        if isinstance(error.orig, OverflowError):
            return handle_out_of_range(error)
        raise error

    app.register_error_handler(StatementError, statement_error)


def _register_database_errors(app: Flask) -> None:
    """A lost or unreachable database is a 503 with Retry-After (core/errors.py), not a 500."""
    from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, PendingRollbackError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from core.errors import handle_database_unavailable

    for error in (OperationalError, DisconnectionError, PoolTimeout):
        app.register_error_handler(error, handle_database_unavailable)
    try:  # raised unwrapped by code that drives the driver itself (COPY in core/bulk.py)
        from psycopg import OperationalError as DriverOperationalError
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    else:
        app.register_error_handler(DriverOperationalError, handle_database_unavailable)

    def dbapi_error(error: DBAPIError):
        # Any other driver error met on a connection found dead (psycopg's "connection is
        # closed" is an InterfaceError) is the same outage.
        if error.connection_invalidated:
            return handle_database_unavailable(error)
        raise error

    app.register_error_handler(DBAPIError, dbapi_error)

    def pending_rollback(error: PendingRollbackError):
        # A connection found dead is invalidated; code that went on using it (a tenant
        # switch swallows the error, core/tenancy/rls.py) meets this instead (SQLAlchemy's
        # code 8s2b, "Can't reconnect until invalid transaction is rolled back").
        if getattr(error, "code", None) == "8s2b":
            return handle_database_unavailable(error)
        raise error

    app.register_error_handler(PendingRollbackError, pending_rollback)

    @app.teardown_request
    def drop_dead_session(exc: BaseException | None) -> None:
        # Ending the session rolls its transaction back; on a connection cut after the
        # answer was made (by a read after the commit) that rollback raises, and a raise
        # here would turn a finished answer into a 500. The connection is invalidated by
        # then and the pool replaces it. Registered last, so it runs first (Flask runs
        # teardowns in reverse) and the other teardowns find a clean session.
        from core.extensions import db

        if not db.session().in_transaction():
            return  # nothing to roll back, nothing that can fail
        try:
            db.session.remove()
        except DBAPIError as error:
            app.logger.warning("closing a session on a lost connection: %s", str(error).splitlines()[0][:300])


def _sqlite_foreign_keys(app: Flask) -> None:
    """SQLite checks foreign keys only when asked, per connection; without it the embedded
    mode would accept orphans that PostgreSQL refuses."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from core.extensions import db

    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()


def _closed_month_refusals(app: Flask) -> None:
    """The database's refusal of a change in a closed month (migration 0042) is raised as
    the app's own 409 `period_closed` (core/work/closed_guard.py)."""
    from core.extensions import db
    from core.work import closed_guard

    with app.app_context():
        closed_guard.install(db.engine)


def _postgres_rls_defaults(app: Flask) -> None:
    """Each new PostgreSQL connection is checked once for role or database defaults of the
    RLS settings (core/tenancy/rls.py sends none to a transaction outside every tenant),
    and listens for the audit chain's heads the database reports as it commits."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    from sqlalchemy import event

    from core.audit.services import hear_heads
    from core.extensions import db
    from core.liveness import refuse_dead
    from core.tenancy.rls import check_no_defaults

    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, record) -> None:
            check_no_defaults(dbapi_connection, record)
            hear_heads(dbapi_connection, record)  # the audit chain's heads, reported at commit

        # Instead of pool_pre_ping's round trip at every checkout (core/liveness.py).
        event.listen(db.engine, "checkout", refuse_dead)
