"""Shared fixtures: a fresh Postgres database built by the migrations, the
real detector and policy, and the gateway served over real HTTP on loopback.

Postgres is required, not optional: if it cannot be reached these fixtures
fail, so a green run always means the Postgres tests ran.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url

from policy import PolicyEngine, load_engine
from services.db import make_engine, make_sessionmaker
from services.gateway.app import build_runtime
from services.keys.models import Role
from services.keys.service import create_key
from services.migrate import upgrade
from services.pii import Detector, build_detector
from tests.live import ROOT, LiveGateway, make_settings, serve_in_thread

ADMIN_URL = os.environ.get("DOUANE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[URL]:
    """A database of its own for this run, migrated to head by Alembic."""
    name = f"douane_test_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(postgres_url: URL) -> str:
    return postgres_url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def real_detector() -> Detector:
    return build_detector()


@pytest.fixture(scope="session")
def policy_engine() -> PolicyEngine:
    return load_engine("embedded", ROOT / "policies")


@pytest.fixture(scope="session")
def gateway(database_url: str, real_detector: Detector, policy_engine: PolicyEngine) -> Iterator[LiveGateway]:
    runtime = build_runtime(make_settings(database_url), detector=real_detector, policy=policy_engine)
    live, stop = serve_in_thread(runtime)
    yield live
    stop()


KeyMaker = Callable[..., str]


@pytest.fixture(scope="session")
def make_key(database_url: str) -> Iterator[KeyMaker]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)

    def make(role: Role | str, tenant: str | None = None) -> str:
        with sessions() as session:
            _principal, key = create_key(session, tenant or new_tenant(), Role(role))
            session.commit()
        return key

    yield make
    engine.dispose()


def new_tenant() -> str:
    """Every test acts for a tenant of its own, so tests never see each other's rows."""
    return "t-" + secrets.token_hex(6)


@pytest.fixture
def tenant() -> str:
    return new_tenant()


GatewayMaker = Callable[..., LiveGateway]


@pytest.fixture
def make_gateway(database_url: str, real_detector: Detector, policy_engine: PolicyEngine) -> Iterator[GatewayMaker]:
    """A gateway of the test's own (own runtime, endpoint health and metrics),
    for tests that change live state the shared ``gateway`` must not see."""
    stops = []

    def make(settings: dict | None = None, **collaborators) -> LiveGateway:
        collaborators.setdefault("detector", real_detector)
        if not (settings or {}).get("policy_dir"):
            collaborators.setdefault("policy", policy_engine)
        live, stop = serve_in_thread(build_runtime(make_settings(database_url, **(settings or {})), **collaborators))
        stops.append(stop)
        return live

    yield make
    for stop in reversed(stops):
        stop()



@contextmanager
def fresh_database(postgres_url: URL) -> Iterator[str]:
    """A database of its own, migrated to head: for tests that tamper with
    the audit chain or drop partitions, which the shared one must not see."""
    name = f"{postgres_url.database}_{secrets.token_hex(3)}"
    admin = create_engine(postgres_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = postgres_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def fresh_database_url(postgres_url: URL) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url
