"""The migrations are the only way the schema is made: they must build it
from nothing on both supported databases, and tear it down again."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from services.db import make_engine
from services.migrate import upgrade


def test_sqlite_default_database_is_built_by_the_migrations(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/var/douane.db")
    upgrade(engine)
    assert {"api_keys", "decisions", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_downgrade_and_upgrade_again(tmp_path, postgres_url, backend):
    from alembic import command

    from services.migrate import alembic_config

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/douane.db"
    else:
        from sqlalchemy import create_engine

        name = postgres_url.database + "_mig"
        admin = create_engine(postgres_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = postgres_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert {"api_keys", "decisions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
        if backend == "postgres":
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
