"""An OPA server for tests: OPA's REST Data API on loopback, evaluating a
policy directory with regopy.

No OPA binary can be installed on our build machines, so this speaks the part
of OPA's contract the gateway relies on, as OPA documents it:
- ``POST /v1/data/<path>`` with ``{"input": …}`` answers ``{"result": …}``
  with the value of ``data.<path>``, and ``{}`` (no ``result``) when it is
  undefined;
- malformed requests answer 400 and evaluation errors 500, both in OPA's error
  shape ``{"code": "…", "message": "…"}``;
- ``GET /health`` answers 200 ``{}``.
It returns the raw document, as OPA would; checking it is the adapter's job.
``mode`` injects the failures a real server can have.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import regopy

from policy.bundle import load_bundle


class FakeOpa(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, policy_dir: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        bundle = load_bundle(Path(policy_dir))
        self._builder = regopy.Interpreter()
        self._builder.add_data(bundle.data)
        for rel, source in bundle.modules.items():
            self._builder.add_module(rel, source)
        self._compiled: dict[str, regopy.Bundle] = {}
        self._runner = regopy.Interpreter()
        self._lock = threading.Lock()  # regopy interpreters are not thread-safe
        self.mode = "ok"
        self.requests: list[tuple[str, dict]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def query(self, path: str, policy_input) -> tuple[bool, object]:
        """(defined, value) of data.<path> for this input."""
        ref = "data." + ".".join(p for p in path.split("/") if p)
        with self._lock:
            compiled = self._compiled.get(ref)
            if compiled is None:
                compiled = self._compiled[ref] = self._builder.build(f"x = {ref}")
            native = regopy.Input(policy_input)
            self._runner.set_input(native)
            output = self._runner.query_bundle(compiled)
            text = str(output)
            ok = output.ok()
            del native
        if not ok:
            raise RuntimeError(text)
        if text.strip() == "undefined":
            return False, None
        parsed = json.loads(text)
        results = parsed if isinstance(parsed, list) else [parsed]
        bindings = results[0].get("bindings", {}) if results else {}
        return ("x" in bindings), bindings.get("x")


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpa

    def log_message(self, *_args):
        pass

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {})
        else:
            self._send(404, {"code": "resource_not_found", "message": "not found"})

    def do_POST(self):
        if not self.path.startswith("/v1/data"):
            self._send(404, {"code": "resource_not_found", "message": "not found"})
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as exc:
            self._send(400, {"code": "invalid_parameter", "message": f"body contains malformed input document: {exc}"})
            return
        path = self.path.removeprefix("/v1/data").split("?", 1)[0]
        self.server.requests.append((path, body))
        mode = self.server.mode
        if mode == "slow":
            time.sleep(3)
        if mode == "error":
            self._send(500, {"code": "internal_error", "message": "boom"})
            return
        if mode == "garbage":
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not json!")
            return
        try:
            defined, value = self.server.query(path, body.get("input"))
        except Exception as exc:  # noqa: BLE001 - an evaluation error is OPA's 500
            self._send(500, {"code": "internal_error", "message": str(exc)[:500]})
            return
        if mode == "undefined" or not defined:
            self._send(200, {})
        elif mode == "wrong-plan" and isinstance(value, dict):
            self._send(200, {"result": {**value, "plan": ["somewhere-else"]}})
        else:
            self._send(200, {"result": value})

    def _send(self, status: int, payload: dict):
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@contextmanager
def running_opa(policy_dir: Path) -> Iterator[FakeOpa]:
    server = FakeOpa(policy_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
