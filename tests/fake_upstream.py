"""An OpenAI-compatible upstream for tests, served over real HTTP on loopback.

Each ``FakeUpstream`` records every request it receives (headers and JSON
body), so tests can check exactly what was forwarded where, and behaves as
the test says: answer, fail with a status, hang, stream slowly, hold a
stream at a gate, or cut a stream short.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# What the fake does with a request:
#   "ok"        answer (stream or not, as asked)
#   "error"     answer ``status`` with an OpenAI-style error body
#   "hang"      send nothing (no headers) until the client gives up
#   "hang_body" stream: headers, then nothing until the client gives up
#   "truncate"  stream: some content, then close without finish or [DONE]
MODES = ("ok", "error", "hang", "hang_body", "truncate")


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def echo_reply(body: dict) -> str:
    """The default answer: the last user message, quoted back."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return f"You said: {content}"


@dataclass
class FakeUpstream:
    name: str
    api_key: str | None = None  # when set, requests without this bearer key get 401
    mode: str = "ok"
    status: int = 500
    script: list[str] = field(default_factory=list)  # modes for the next requests, then ``mode``
    reply: Callable[[dict], str] = echo_reply
    chunk_size: int = 4  # characters per streamed delta
    gate: threading.Event | None = None  # a stream waits here after its first content chunk
    requests: list[Recorded] = field(default_factory=list)
    streams_finished: int = 0
    base_url: str = ""
    _stopping: bool = False

    def reset(self) -> None:
        self.mode, self.status, self.script, self.reply = "ok", 500, [], echo_reply
        self.chunk_size, self.gate = 4, None
        self.requests.clear()
        self.streams_finished = 0

    def take(self) -> list[Recorded]:
        taken = list(self.requests)
        self.requests.clear()
        return taken

    # -- the ASGI side -----------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.requests.append(Recorded(request.url.path, dict(request.headers), body))
        mode = self.script.pop(0) if self.script else self.mode
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "body is not JSON")
        if mode == "error":
            return _error(self.status, "server_error" if self.status >= 500 else "invalid_request_error",
                          f"{self.name} fails on purpose")
        if mode == "hang":
            await self._hang(request)
            return _error(500, "server_error", "hung")
        text = self.reply(body)
        if body.get("stream"):
            return StreamingResponse(self._stream(request, body, text, mode), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": _usage(body, text),
            }
        )

    async def _hang(self, request: Request) -> None:
        # Until the gateway hangs up (its timeout) or the fake stops; never a fixed sleep.
        while not self._stopping and not await request.is_disconnected():
            await asyncio.sleep(0.02)

    async def _stream(self, request: Request, body: dict, text: str, mode: str):
        def chunk(delta: dict, finish: str | None = None) -> bytes:
            payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
                       "model": body.get("model"),
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(payload)}\n\n".encode()

        if mode == "hang_body":
            yield b": opening\n\n"  # bytes on the wire, but no event
            await self._hang(request)
            return
        pieces = [text[i:i + self.chunk_size] for i in range(0, len(text), self.chunk_size)] or [""]
        yield chunk({"role": "assistant", "content": ""})
        for index, piece in enumerate(pieces):
            yield chunk({"content": piece})
            if mode == "truncate" and index >= len(pieces) // 2:
                return
            if index == 0 and self.gate is not None:
                deadline = time.monotonic() + 30  # a safety net for a broken test, not an assertion
                while not self.gate.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
        yield chunk({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
                       "model": body.get("model"), "choices": [], "usage": _usage(body, text)}
            yield f"data: {json.dumps(payload)}\n\n".encode()
        yield b"data: [DONE]\n\n"
        self.streams_finished += 1


def _usage(body: dict, text: str) -> dict:
    prompt = sum(len(m.get("content") or "") for m in body.get("messages", []) if isinstance(m.get("content"), str))
    prompt_tokens, completion_tokens = prompt // 4 + 1, len(text) // 4 + 1
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _error(status: int, type_: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message, "code": None}}, status_code=status)


def serve_app(app, *, lifespan: str = "off") -> tuple[str, Callable[[], None]]:
    """Serve an ASGI app on a free loopback port in a thread; returns its base
    URL and a function that stops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://127.0.0.1:{port}", stop


def start_fake(name: str, api_key: str | None = None) -> tuple[FakeUpstream, Callable[[], None]]:
    fake = FakeUpstream(name=name, api_key=api_key)
    url, stop_server = serve_app(fake.app())
    fake.base_url = f"{url}/v1"

    def stop() -> None:
        fake._stopping = True
        stop_server()

    return fake, stop


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"
