"""Durability: `douane serve` is killed with SIGKILL in the middle of a load;
every decision whose 200 answer reached a client is in the log, and the
chain it was written into still verifies (no half-written batch)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
from sqlalchemy import text

from services.audit.verify import verify
from services.db import make_engine
from tests.live import ROOT

CLIENTS = 8
KILL_AFTER = 120  # answered decisions before the kill


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sigkill_mid_load_loses_no_answered_decision(database_url, make_key):
    key = make_key("app")
    port = free_port()
    env = {
        **os.environ,
        "DOUANE_DATABASE_URL": database_url,
        "DOUANE_POLICY_WATCH": "false",
        "DOUANE_POLICY_DIR": str(ROOT / "policies"),
        "DOUANE_ENDPOINTS_FILE": str(ROOT / "config" / "endpoints.yaml"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "douane serve did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        answered: list[str] = []
        lock = threading.Lock()
        enough = threading.Event()

        def client(n: int) -> None:
            body = {"model": "auto", "messages": [{"role": "user", "content": f"Summarise ticket {n} for the team."}]}
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
                while True:
                    try:
                        response = http.post("/v1/route", json=body)
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 200:
                        with lock:
                            answered.append(response.json()["decision_id"])
                            if len(answered) >= KILL_AFTER:
                                enough.set()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=240), "the load did not reach the kill point"
        server.send_signal(signal.SIGKILL)  # requests are in flight: some decided, some mid-commit
        for thread in threads:
            thread.join(timeout=60)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)

    with lock:
        ids = [uuid.UUID(i) for i in answered]
    assert len(ids) >= KILL_AFTER
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = set(
                connection.execute(text("SELECT id FROM decisions WHERE id = ANY(:ids)"), {"ids": ids}).scalars()
            )
        assert set(ids) <= stored, f"{len(set(ids) - stored)} answered decisions are missing"
        report = verify(engine)
        assert report.ok, report.to_dict()
    finally:
        engine.dispose()
