"""Fault tests: the gateway while its dependencies fail and come back.

- ``private_postgres``: a Postgres cluster of this run's own (initdb into a
  temporary directory, pg_ctl on a free port), migrated to head, that tests
  may stop and start again; the machine's shared Postgres is never touched.
- ``fault_fakes`` / ``fault_upstreams``: fake OpenAI-compatible upstreams.
- ``serve_gateway``: a gateway of the test's own over real HTTP, with the
  lifespan on (the upstream client), on any database and catalog.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from policy import PolicyEngine
from services.db import make_engine, make_sessionmaker
from services.gateway.app import build_runtime, create_app
from services.gateway.runtime import Runtime
from services.keys.models import Role
from services.keys.service import create_key
from services.migrate import upgrade
from services.pii import Detector
from tests.fake_upstream import FakeUpstream, serve_app, start_fake
from tests.live import make_settings
from tests.providers.conftest import FAKE_KEY, FAKES, KEY_ENV, catalog_entry

PG_BIN = Path(os.environ.get("DOUANE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """A throw-away cluster: initdb, start, stop (fast or immediate), start again."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        # initdb and postgres refuse to run as root: run them as the postgres user then.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/douane?connect_timeout=3"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout[-1500:]} {result.stderr[-1500:]}")

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        # fsync=off: a stop, even -m immediate, is a crash of Postgres, not of
        # the machine; what it wrote is in the OS cache and survives. It makes
        # the shutdown checkpoint fast on a busy disk.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=60 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        result = subprocess.run([*self._as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
                                capture_output=True)
        return result.returncode == 0


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="douane-pg-"))
    cluster = PrivatePostgres(root)
    cluster.init()
    cluster.start()
    try:
        subprocess.run([*cluster._as, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port),
                        "-U", "postgres", "douane"], check=True, capture_output=True)
        engine = make_engine(cluster.url)
        upgrade(engine)
        engine.dispose()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def new_key(database_url: str, tenant: str, role: Role | str = Role.app) -> str:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            _principal, key = create_key(session, tenant, Role(role))
            session.commit()
    finally:
        engine.dispose()
    return key


@pytest.fixture(scope="session")
def fault_fakes() -> Iterator[dict[str, FakeUpstream]]:
    started = {name: start_fake(name, api_key=FAKE_KEY) for name in FAKES}
    yield {name: fake for name, (fake, _stop) in started.items()}
    for _fake, stop in started.values():
        stop()


@pytest.fixture
def fault_upstreams(fault_fakes, monkeypatch) -> dict[str, FakeUpstream]:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    for fake in fault_fakes.values():
        fake.reset()
    return fault_fakes


def write_catalog(path: Path, fakes: dict[str, FakeUpstream]) -> Path:
    path.write_text(yaml.safe_dump({"endpoints": [catalog_entry(n, f.base_url) for n, f in fakes.items()]}))
    return path


@dataclass
class Served:
    base_url: str
    runtime: Runtime

    def client(self, key: str | None = None, timeout: float = 30) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)


GatewayServer = Callable[..., Served]


@pytest.fixture
def serve_gateway(tmp_path, fault_upstreams, real_detector: Detector, policy_engine: PolicyEngine) -> Iterator[GatewayServer]:
    """A gateway over real HTTP whose catalog is the fake upstreams."""
    stops = []

    def serve(database_url: str, *, entries: list[dict] | None = None, policy: PolicyEngine | None = None,
              **settings) -> Served:
        catalog = tmp_path / f"endpoints-{len(stops)}.yaml"
        if entries is None:
            write_catalog(catalog, fault_upstreams)
        else:
            catalog.write_text(yaml.safe_dump({"endpoints": entries}))
        settings.setdefault("upstream_connect_timeout_s", 1.0)
        settings.setdefault("upstream_read_timeout_s", 1.0)
        settings.setdefault("upstream_total_timeout_s", 10.0)
        collaborators = {"detector": real_detector}
        if policy is not None or settings.get("policy_engine") != "opa":
            collaborators["policy"] = policy or policy_engine
        runtime = build_runtime(
            make_settings(database_url, **settings).model_copy(update={"endpoints_file": catalog}), **collaborators
        )
        base_url, stop = serve_app(create_app(runtime), lifespan="on")
        stops.append((stop, runtime))
        return Served(base_url, runtime)

    yield serve
    for stop, runtime in reversed(stops):
        stop()
        runtime.db_engine.dispose()


def assert_error_shape(response: httpx.Response, status: int, type_: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "message"} <= set(body["error"]), body
    if type_ is not None:
        assert body["error"]["type"] == type_, body
    return body["error"]


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started
