"""Alembic environment. The database URL is the gateway's own setting, or a
connection handed in by the caller (``douane db upgrade`` and the tests)."""

from __future__ import annotations

from alembic import context

from services.audit import models as _audit_models  # noqa: F401  (registers tables)
from services.db import Base, make_engine
from services.keys import models as _key_models  # noqa: F401
from services.settings import load_settings

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(load_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
