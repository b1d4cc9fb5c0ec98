"""Upstreams that answer, but badly: what tests/providers/test_proxy.py does
not already cover.

Covered there (not repeated): 5xx and 429 before the first byte (fallback),
a hang before headers or before the first event (fallback, 504 when all
time out), connection refused and a missing key (failed attempts), 4xx (502,
not retried), a stream closed without finish or [DONE] after some content
(error event, outcome ``truncated``), the app hanging up mid-stream.

Here: a non-stream 200 whose body is not JSON, is JSON but not a chat
completion, or is HTML; a stream whose connection breaks mid-body (no
chunked terminator); a stream that stalls after its first event beyond the
read timeout; a stream carrying events that are not JSON. What the app gets:

- non-stream: 502 ``upstream_error`` in the one error shape, naming the
  endpoint and the decision; not retried on the next endpoint of the plan
  (the upstream answered, and may have billed);
- a stream already started (200 and headers sent): an error event
  ``data: {"error": {...}}`` (the OpenAI SDK raises APIError on it) and the
  stream ends, without ``[DONE]``.

Each time the outcome row records the failure, and the next request works.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest
from openai import OpenAI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.faults.conftest import assert_error_shape
from tests.fake_upstream import serve_app
from tests.providers.conftest import catalog_entry

CLEAN = [{"role": "user", "content": "Name a river in France."}]


class BadUpstream:
    """An OpenAI-compatible upstream that answers 200, then misbehaves as ``mode`` says."""

    def __init__(self):
        self.mode = "ok"
        self.requests = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests += 1
        mode = self.mode
        if mode == "bad_json":
            return Response(b'{"id": "chatcmpl-x", "choices": [{"index": 0, "mess', media_type="application/json")
        if mode == "not_completion":
            return JSONResponse({"object": "list", "data": []})
        if mode == "html":
            return Response(b"<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if body.get("stream"):
            return StreamingResponse(self._stream(mode), media_type="text/event-stream")
        return JSONResponse({"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": body["model"],
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": "Loire"},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})

    async def _stream(self, mode: str):
        def chunk(delta: dict, finish=None) -> bytes:
            return ("data: " + json.dumps({"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1,
                                           "model": "m", "choices": [{"index": 0, "delta": delta,
                                                                      "finish_reason": finish}]}) + "\n\n").encode()

        yield chunk({"role": "assistant", "content": ""})
        yield chunk({"content": "The Loi"})
        if mode == "reset":
            raise RuntimeError("the upstream dies mid-stream")  # uvicorn drops the connection, no terminator
        if mode == "stall":
            await asyncio.sleep(3)  # beyond the gateway's read timeout
        if mode == "sse_garbage":
            yield b"data: {this is not json\n\n"
            yield b"data: <html>oops</html>\n\n"
        yield chunk({"content": "re"})
        yield chunk({}, "stop")
        yield b"data: [DONE]\n\n"


@pytest.fixture
def bad():
    upstream = BadUpstream()
    url, stop = serve_app(upstream.app())
    upstream.base_url = f"{url}/v1"
    yield upstream
    stop()


@pytest.fixture
def proxy(bad, serve_gateway, fault_upstreams, database_url, make_key, tenant):
    """fake-cn (cheapest, first in a clean request's plan) is the bad
    upstream; fake-us behind it is a good one, which must get nothing."""
    entries = [catalog_entry("fake-cn", bad.base_url), catalog_entry("fake-us", fault_upstreams["fake-us"].base_url)]
    gateway = serve_gateway(database_url, entries=entries, upstream_read_timeout_s=0.5)
    return gateway, make_key("app", tenant), make_key("auditor", tenant)


def _outcome(gateway, auditor_key: str, decision_id: str) -> dict:
    with gateway.client(auditor_key) as client:
        response = client.get(f"/v1/decisions/{decision_id}")
    assert response.status_code == 200, response.text
    return response.json()["outcome"]


def _sdk(gateway, key: str) -> OpenAI:
    return OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0, timeout=10)


def _next_request_works(gateway, key, bad) -> None:
    bad.mode = "ok"
    answer = _sdk(gateway, key).chat.completions.create(model="auto", messages=CLEAN)
    assert answer.choices[0].message.content == "Loire"
    chunks = list(_sdk(gateway, key).chat.completions.create(model="auto", messages=CLEAN, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "The Loire"


@pytest.mark.parametrize("mode", ["bad_json", "not_completion", "html"])
def test_a_200_that_is_not_a_chat_completion_is_502_recorded_and_not_retried(mode, proxy, bad, fault_upstreams):
    gateway, key, auditor = proxy
    bad.mode = mode
    with gateway.client(key) as client:
        response = client.post("/v1/chat/completions", json={"model": "auto", "messages": CLEAN})
    error = assert_error_shape(response, 502, "upstream_error")
    assert "fake-cn" in error["message"] and error["details"]["endpoint"] == "fake-cn"
    assert response.headers["x-douane-endpoint"] == "fake-cn"
    assert bad.requests == 1 and not fault_upstreams["fake-us"].take()
    outcome = _outcome(gateway, auditor, error["details"]["decision_id"])
    assert outcome["status"] == "upstream_error" and outcome["upstream_status"] == 200
    assert outcome["attempts"][-1]["error_type"] == "invalid_response"
    _next_request_works(gateway, key, bad)


@pytest.mark.parametrize(
    "mode, error_type, outcome_status",
    [
        ("reset", "upstream_error", "truncated"),  # the connection breaks mid-body
        ("stall", "upstream_timeout", "timeout"),  # silence after the first event, beyond the read timeout
        ("sse_garbage", "upstream_invalid_response", "upstream_error"),  # events that are not JSON
    ],
)
def test_a_stream_that_breaks_after_it_started_ends_with_an_error_event(
    mode, error_type, outcome_status, proxy, bad, fault_upstreams
):
    gateway, key, auditor = proxy
    bad.mode = mode
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        with client.stream("POST", "/v1/chat/completions",
                           json={"model": "auto", "messages": CLEAN, "stream": True}) as response:
            assert response.status_code == 200
            decision_id = response.headers["x-douane-decision-id"]
            events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] != "[DONE]"
    last = json.loads(events[-1])
    assert set(last) == {"error"} and last["error"]["type"] == error_type, last
    assert last["error"]["details"] == {"decision_id": decision_id, "endpoint": "fake-cn"}
    contents = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert "The Loi" in contents  # what arrived before the break reached the app
    assert all(not e.startswith(("{this", "<html>")) for e in events), "garbage relayed to the app"
    assert bad.requests == 1 and not fault_upstreams["fake-us"].take()  # started: reported, not retried
    outcome = _outcome(gateway, auditor, decision_id)
    assert outcome["status"] == outcome_status and outcome["endpoint"] == "fake-cn"

    # The SDK turns the error event into an exception the app can catch.
    with pytest.raises(openai.APIError):
        for _chunk in _sdk(gateway, key).chat.completions.create(model="auto", messages=CLEAN, stream=True):
            pass
    _next_request_works(gateway, key, bad)
