"""Database plumbing: the declarative base, the engine and sessions.

The schema is made by Alembic only (``douane db upgrade``), never by
``create_all``, so what the tests run on is what production runs on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import JSON, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker

# JSONB on Postgres (indexable, compact), plain JSON text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CONNECT_TIMEOUT_S = 5  # seconds; a request waiting on a dead database answers 503 after this


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(database_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets the CLI create keys while the gateway serves.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    # libpq waits without end for a server that accepts the connection and
    # never answers (frozen, or a host that drops packets): bound it, unless
    # the URL sets its own connect_timeout.
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    # pool_pre_ping: a restarted Postgres must not turn the next request into an error.
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, connect_args=connect_args
    )


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
