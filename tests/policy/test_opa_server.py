"""The OPA-server engine against an OPA-compatible Data API on loopback.

No OPA binary is installed here, so the server below speaks OPA's REST Data
API (POST /v1/data/<path> {"input": …} → {"result": …}, no "result" when
undefined) and evaluates the same policy files with regopy. It checks the
adapter's half of the contract: the same decisions as the embedded engine,
and every failure of the server turned into a PolicyError (fail closed).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from policy import PolicyError, PolicyOutputError, load_engine
from tests.policy.conftest import POLICY_DIR, make_input

INPUTS = [
    make_input(),
    make_input({"PERSON": {"count": 1, "max_score": 0.85}}),
    make_input({"HEALTH_TERM": {"count": 2, "max_score": 0.85}, "PERSON": {"count": 1, "max_score": 0.9}}),
    make_input(risk_tolerance="low"),
    make_input(residency="eu", latency_budget_ms=1200),
    make_input(model="gpt-4o"),
]


class FakeOpa(ThreadingHTTPServer):
    def __init__(self, engine):
        super().__init__(("127.0.0.1", 0), OpaHandler)
        self.engine = engine
        self.mode = "ok"
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class OpaHandler(BaseHTTPRequestHandler):
    server: FakeOpa

    def log_message(self, *_args):
        pass

    def do_POST(self):
        self.server.paths.append(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        mode = self.server.mode
        if mode == "slow":
            time.sleep(3)
        if mode == "error":
            self._send(500, {"code": "internal_error", "message": "boom"})
        elif mode == "undefined":
            self._send(200, {})
        elif mode == "garbage":
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not json!")
        elif mode == "wrong-plan":
            document = self.server.engine.evaluate(body["input"]).document
            self._send(200, {"result": {**document, "plan": ["somewhere-else"]}})
        else:
            self._send(200, {"result": self.server.engine.evaluate(body["input"]).document})

    def _send(self, status: int, payload: dict):
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def opa(engine):
    server = FakeOpa(engine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("policy_input", INPUTS)
def test_same_decisions_as_the_embedded_engine(opa, engine, policy_input):
    remote = load_engine("opa", POLICY_DIR, opa_url=opa.url)
    assert remote.name == "opa" and remote.revision == engine.revision
    assert remote.evaluate(policy_input) == engine.evaluate(policy_input)
    assert opa.paths[-1] == "/v1/data/douane/decision"


@pytest.mark.parametrize(
    "mode, error, match",
    [
        ("error", PolicyError, "answered HTTP 500"),
        ("undefined", PolicyOutputError, "undefined"),
        ("garbage", PolicyError, "could not be queried"),
        ("slow", PolicyError, "could not be queried"),
        ("wrong-plan", PolicyOutputError, "somewhere-else"),
    ],
)
def test_every_server_failure_fails_closed(opa, mode, error, match):
    opa.mode = mode
    remote = load_engine("opa", POLICY_DIR, opa_url=opa.url)
    with pytest.raises(error, match=match):
        remote.evaluate(make_input())


def test_server_down_fails_closed(opa):
    url = opa.url
    opa.shutdown()
    opa.server_close()
    with pytest.raises(PolicyError, match="could not be queried"):
        load_engine("opa", POLICY_DIR, opa_url=url).evaluate(make_input())
