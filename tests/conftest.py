"""Shared fixtures: a fresh Postgres database built by the migrations, the
real detector and policy, and the gateway served over real HTTP on loopback.

Postgres is required, not optional: if it cannot be reached these fixtures
fail, so a green run always means the Postgres tests ran.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url

from policy import PolicyEngine, load_engine
from services.db import make_engine, make_sessionmaker
from services.gateway.app import build_runtime, create_app
from services.gateway.runtime import Runtime
from services.keys.models import Role
from services.keys.service import create_key
from services.migrate import upgrade
from services.pii import Detector, build_detector
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
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


def make_settings(database_url: str, **overrides) -> Settings:
    return Settings(
        database_url=database_url,
        policy_dir=ROOT / "policies",
        endpoints_file=ROOT / "config" / "endpoints.yaml",
        **overrides,
    )


@dataclass
class LiveGateway:
    base_url: str
    runtime: Runtime

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def serve_in_thread(runtime: Runtime) -> tuple[LiveGateway, Callable[[], None]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test gateway did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        runtime.db_engine.dispose()

    return LiveGateway(base_url=f"http://127.0.0.1:{port}", runtime=runtime), stop


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
