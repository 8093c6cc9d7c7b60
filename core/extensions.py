"""Extensions, created unbound and attached to an app by `create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Deterministic constraint names so Alembic can drop and rename them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Where a transaction keeps what its writes left for the commit (core/txcache.py):
# (the transaction, {kind: values}).
PENDING_KEY = "congvu_unit_of_work"


class UnitOfWorkBypassed(RuntimeError):
    """A plain `session.commit()` found work that only `core.unit_of_work.commit()` finishes."""


class Session(_FlaskSession):
    """The app's session. A write's effects (scores, the audit chain, plugin events) are
    steps of `core.unit_of_work.commit()`; a plain commit of a transaction that left work
    for them would lose it without a trace, so it is refused instead."""

    def commit(self) -> None:
        held = self.info.get(PENDING_KEY)
        if held is not None and held[0] is self.get_transaction() and any(held[1].values()):
            raise UnitOfWorkBypassed("this transaction left work for its commit ("
                                     + ", ".join(sorted(k for k, v in held[1].items() if v))
                                     + "): commit through core.unit_of_work.commit()")
        super().commit()


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING), session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
