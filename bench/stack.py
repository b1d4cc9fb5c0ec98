"""What the benchmarks that run douane as a process share: a fake
OpenAI-compatible upstream (run this file with ``--serve-upstream PORT``),
processes on loopback with their logs, and a scratch PostgreSQL database.

Used by bench/proxy_latency.py and bench/load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("DOUANE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


# ----------------------------------------------------------------- the fake upstream


def serve_upstream(port: int, delay_ms: float) -> None:
    """A minimal OpenAI-compatible server (raw ASGI, as cheap as can be):
    every chat completion gets a short answer after ``delay_ms``, streamed in
    a few chunks with usage when asked."""
    import uvicorn

    answer = "Thank you for your message; a replacement is on its way."

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] != "POST" or not scope["path"].endswith("/chat/completions"):
            await _respond(send, 404, {"error": {"message": "not found", "type": "not_found"}})
            return
        request = json.loads(body)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in request.get("messages", [])) // 4
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": 12, "total_tokens": prompt_tokens + 12}
        base = {"id": "chatcmpl-" + secrets.token_hex(8), "created": int(time.time()), "model": request.get("model")}
        if not request.get("stream"):
            await _respond(send, 200, {**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})

        def event(payload: dict) -> dict:
            data = b"data: " + json.dumps({**base, "object": "chat.completion.chunk", **payload}).encode() + b"\n\n"
            return {"type": "http.response.body", "body": data, "more_body": True}

        await send(event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}))
        for start in range(0, len(answer), 16):
            await send(event({"choices": [{"index": 0, "delta": {"content": answer[start:start + 16]}, "finish_reason": None}]}))
        await send(event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        if (request.get("stream_options") or {}).get("include_usage"):
            await send(event({"choices": [], "usage": usage}))
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _respond(send, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


def upstream_argv(port: int, delay_ms: float) -> list[str]:
    """The command that serves the fake upstream on ``port``."""
    return [sys.executable, str(Path(__file__).resolve()), "--serve-upstream", str(port), "--upstream-delay-ms", str(delay_ms)]


# ----------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start(name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> Process:
    """``argv`` as a process run from the repository root, its output in ``workdir/<name>.log``."""
    log = workdir / f"{name}.log"
    with log.open("wb") as handle:
        popen = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    return Process(name, popen, log)


def wait_until_up(process: Process, url: str, timeout_s: float = 180) -> None:
    """Until ``url`` answers anything over HTTP; fail with the log's tail if the process dies or never answers."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.25)
    raise RuntimeError(f"{process.name} did not answer on {url} within {timeout_s:.0f} s:\n{process.tail()}")


# ----------------------------------------------------------------- the database


def scratch_database(prefix: str = "douane_bench"):
    """A new, empty database on the local PostgreSQL: (its URL, a function that drops it)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve the fake upstream")
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", required=True)
    parser.add_argument("--upstream-delay-ms", type=float, default=20.0)
    args = parser.parse_args()
    serve_upstream(args.serve_upstream, args.upstream_delay_ms)
