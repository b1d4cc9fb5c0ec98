"""What `make run` and the README promise a newcomer, run for real: the
embedded defaults (SQLite file, embedded policy), `douane db upgrade`, a key,
`douane serve`, and the README's curl request answered."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readme_route_body() -> dict:
    """The JSON body of the README's first /v1/route curl example."""
    text = README.read_text()
    match = re.search(r"curl -s http://127\.0\.0\.1:8000/v1/route.*?-d '(\{.*?\})'", text, re.S)
    assert match, "the README has no /v1/route curl example"
    return json.loads(match.group(1))


def test_serve_on_embedded_defaults_answers_the_readme_example(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOUANE_")}
    env.update(
        DOUANE_POLICY_DIR=str(ROOT / "policies"),
        DOUANE_ENDPOINTS_FILE=str(ROOT / "config" / "endpoints.yaml"),
    )
    douane = [sys.executable, "-m", "services.cli"]
    # Run from an empty directory so the default SQLite file lands under its ./var/.
    subprocess.run(douane + ["db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert (tmp_path / "var" / "douane.db").exists()
    made = subprocess.run(
        douane + ["keys", "create", "--tenant", "dev", "--role", "app"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
    )
    key = made.stdout.strip().splitlines()[-1]

    port = free_port()
    server = subprocess.Popen(
        douane + ["serve", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "douane serve did not become ready"
            time.sleep(0.2)
        response = httpx.post(
            f"{base}/v1/route", json=readme_route_body(), headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["sensitivity"] == "special"
        assert body["route"]["endpoint"] in {"mistral-large", "self-hosted-eu"}
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_bad_catalog_stops_start_up_naming_the_problem(tmp_path):
    catalog = tmp_path / "endpoints.yaml"
    catalog.write_text("endpoints:\n  - id: broken\n    provider: x\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOUANE_")}
    env.update(DOUANE_ENDPOINTS_FILE=str(catalog), DOUANE_POLICY_DIR=str(ROOT / "policies"))
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert str(catalog) in result.stderr and "entry 0 (broken)" in result.stderr and "'model'" in result.stderr
