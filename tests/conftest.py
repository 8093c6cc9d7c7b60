"""Test set-up: every test that uses `app` runs on SQLite and on PostgreSQL.

PostgreSQL gets a fresh database per run on 127.0.0.1:5432; the app connects as the
non-owner role `congvu_app` so row-level security is in force, exactly as in
production. With CI=true a missing PostgreSQL or Redis fails the run; elsewhere
those tests skip with a message saying what is missing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core import create_app
from core.audit import checkpoints
from core.extensions import db, limiter

PG_HOST = os.environ.get("CONGVU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("CONGVU_TEST_REDIS", "redis://127.0.0.1:6379/15")
APP_ROLE = "congvu_app"
# Reads the row-level security key (docs/security.md), as deploy's congvu_ops does.
OPS_ROLE = "congvu_ops"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = [b for b in os.environ.get("CONGVU_TEST_DATABASES", "sqlite,postgresql").split(",") if b]
# The suite passes on any date: CONGVU_TEST_TODAY=YYYY-MM-DD runs it as if it were that day,
# 07:30 in Hồ Chí Minh, with the clock ticking (`make test` runs the date-sensitive tests at
# a month end, on 1 January and on a Vietnamese holiday this way).
TEST_TODAY = os.environ.get("CONGVU_TEST_TODAY", "")


@pytest.fixture(scope="session", autouse=True)
def travelled_clock() -> Iterator[date | None]:
    if not TEST_TODAY:
        yield None
        return
    import time_machine

    try:
        day = date.fromisoformat(TEST_TODAY)
    except ValueError:
        pytest.exit(f"CONGVU_TEST_TODAY={TEST_TODAY!r} is not a date (YYYY-MM-DD)", returncode=4)
    moment = datetime.combine(day, time(7, 30), tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    with time_machine.travel(moment, tick=True):
        yield day


def missing(what: str) -> None:
    """A service the suite needs is not there: fail in CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available", pytrace=False)
    pytest.skip(f"{what} not available: start it to run these tests")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_HOST + "/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return str(exc).splitlines()[0]


@dataclass
class Backend:
    name: str
    app_url: str
    owner_url: str
    dbname: str | None = None
    cleanup: list = field(default_factory=list)
    ops_url: str | None = None  # PostgreSQL: the ops role; None: the app's own URL (SQLite)


def _make_postgres() -> Backend:
    problem = _pg_available()
    if problem:
        missing(f"PostgreSQL at {PG_HOST} ({problem})")
    dbname = f"congvu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_HOST + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for role in (APP_ROLE, OPS_ROLE):
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
            if not exists:
                try:
                    conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
                except DBAPIError:  # another run made it in the meantime
                    pass
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    admin.dispose()
    base = PG_HOST.split("://", 1)[1].split("@", 1)[1]
    return Backend("postgresql", f"postgresql+psycopg://{APP_ROLE}@{base}/{dbname}",
                   f"{PG_HOST}/{dbname}", dbname, ops_url=f"postgresql+psycopg://{OPS_ROLE}@{base}/{dbname}")


def _drop_postgres(backend: Backend) -> None:
    admin = create_engine(PG_HOST + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{backend.dbname}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "congvu.db"
        url = f"sqlite:///{path}"
        yield Backend("sqlite", url, url)
        return
    backend = _make_postgres()
    yield backend
    _drop_postgres(backend)


def make_app(backend: Backend, tmp_path_factory, **extra):
    config = {
        "TESTING": True,
        "CONGVU_DATABASE_URL": backend.app_url,
        "CONGVU_DATABASE_OWNER_URL": backend.owner_url,
        "CONGVU_DATABASE_OPS_URL": backend.ops_url,
        "CONGVU_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    from flask_migrate import upgrade

    application = make_app(backend, tmp_path_factory)
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


def _wipe(backend: Backend) -> None:
    """Empty every table as the owner (the app role may not delete audit rows)."""
    engine = create_engine(backend.owner_url)
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with engine.begin() as conn:
        if backend.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            # Closed months first: the database refuses to delete their items (migration 0042).
            for table in sorted(tables, key=lambda t: t != "closed_periods"):
                conn.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()


@pytest.fixture
def clean_app(app, backend):
    """The app with empty tables and fresh rate limits."""
    _wipe(backend)
    with app.app_context():
        limiter.reset()
        # Checkpoints of the emptied tables' history would not match the next test's.
        shutil.rmtree(checkpoints.directory(), ignore_errors=True)
        app.extensions["congvu_login_throttle"].reset()
    yield app
    with app.app_context():
        db.session.remove()


@pytest.fixture
def client(clean_app):
    return clean_app.test_client()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        missing(f"Redis at {REDIS_URL} ({exc})")
    return REDIS_URL


@pytest.fixture
def clock(monkeypatch):
    """The services' clock, fixed at Wednesday 14 Oct 2026 07:30 in Hồ Chí Minh; a test
    that depends on "today" takes this fixture and moves it with clock.set(...)."""
    from core.work import calendar as cal
    from tests.work.test_work_support import Clock, local

    c = Clock(local(2026, 10, 14, 7, 30))
    monkeypatch.setattr(cal, "now", c)
    return c
