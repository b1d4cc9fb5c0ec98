"""Serving the real gateway on loopback for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from services.gateway.app import create_app
from services.gateway.runtime import Runtime
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def make_settings(database_url: str, **overrides) -> Settings:
    overrides.setdefault("policy_watch", False)  # one watcher thread per test app is waste; tests reload explicitly
    overrides.setdefault("policy_dir", ROOT / "policies")
    overrides.setdefault("rate_limit_per_minute", 0)  # the suite sends far more than a production key may
    overrides.setdefault("share_replica_state", False)  # test gateways on one database are not one fleet
    overrides.setdefault("endpoints_file", ROOT / "config" / "endpoints.yaml")
    return Settings(database_url=database_url, **overrides)


@dataclass
class LiveGateway:
    base_url: str
    runtime: Runtime

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def serve_in_thread(runtime: Runtime) -> tuple[LiveGateway, Callable[[], None]]:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets
    # only when the listening socket says TCP; with proto 0 every keep-alive
    # response waits ~40 ms on Nagle and delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", lifespan="on", server_header=False))
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
