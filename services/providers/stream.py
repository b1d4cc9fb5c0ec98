"""Relaying an upstream's stream to the app event by event: placeholders
restored, the usage the app did not ask for dropped, and the outcome written
when the stream ends, however it ends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx

from services.providers.adapter import usage_of
from services.providers.exchange import Exchange
from services.providers.pseudonymise import Pseudonymiser, StreamRestorer
from services.providers.sse import SSEParser


def _event(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


class _NotAChunk(Exception):
    """An upstream event that is not a JSON object: the stream is not one we can relay."""


class StreamRelay:
    """Passes a stream on event by event, restoring placeholders, and writes
    the outcome when the stream ends, however it ends."""

    def __init__(
        self,
        exchange: Exchange,
        response: httpx.Response,
        iterator: AsyncIterator[bytes],
        parser: SSEParser,
        first: list[str],
        pseudonymiser: Pseudonymiser | None,
        asked_usage: bool,
    ):
        self.exchange = exchange
        self.response = response
        self.iterator = iterator
        self.parser = parser
        self.first = first
        self.restorer: StreamRestorer | None = pseudonymiser.stream_restorer() if pseudonymiser else None
        self.asked_usage = asked_usage
        self.last_chunk: dict[str, Any] = {}
        self.upstream_error = False

    async def _upstream_events(self) -> AsyncIterator[str]:
        """Every event's data, the first ones already read, then as they come;
        at the end, what the stream left without its closing blank line."""
        for data in self.first:
            yield data
        while True:
            try:
                with anyio.fail_after(self.exchange.remaining_s()):
                    raw = await self.iterator.__anext__()
            except StopAsyncIteration:
                break
            for data in self.parser.feed(raw):
                yield data
        for data in self.parser.close():
            yield data

    def _pass(self, data: str) -> bytes | None:
        """One upstream event as the app gets it (None: not for the app)."""
        try:
            chunk = json.loads(data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            # Relayed as is, the app's SDK would fail on it with a JSON error
            # that names nobody, and the outcome would say "ok".
            raise _NotAChunk()
        if "error" in chunk:
            self.upstream_error = True
            return _event(data)
        usage = usage_of(chunk)
        if usage is not None:
            self.exchange.usage = usage
        if not chunk.get("choices") and usage is not None and not self.asked_usage:
            return None
        self.last_chunk = chunk
        if self.restorer is None:
            return _event(data)
        return _event(json.dumps(self.restorer.feed(chunk), ensure_ascii=False, separators=(",", ":")))

    def _flush(self) -> bytes | None:
        if self.restorer is None:
            return None
        held = self.restorer.flush()
        if not held:
            return None
        chunk = {
            "id": self.last_chunk.get("id", ""),
            "object": "chat.completion.chunk",
            "created": self.last_chunk.get("created", 0),
            "model": self.last_chunk.get("model", ""),
            "choices": [{"index": i, "delta": {"content": text}, "finish_reason": None} for i, text in held.items()],
        }
        return _event(json.dumps(chunk, ensure_ascii=False, separators=(",", ":")))

    def _error_event(self, type_: str, message: str) -> bytes:
        # The OpenAI SDK raises an APIError on an event carrying "error".
        payload = {"error": {"type": type_, "message": message,
                             "details": {"decision_id": str(self.exchange.decision.id), "endpoint": self.exchange.endpoint.id}}}
        return _event(json.dumps(payload))

    async def events(self) -> AsyncIterator[bytes]:
        exchange = self.exchange
        endpoint_id = exchange.endpoint.id
        try:
            async for data in self._upstream_events():
                if data.strip() == "[DONE]":
                    flushed = self._flush()
                    if flushed:
                        yield flushed
                    # Recorded before [DONE] reaches the app: once the app has its
                    # answer, the audit log already says what happened.
                    await exchange.record("upstream_error" if self.upstream_error else "ok")
                    yield b"data: [DONE]\n\n"
                    return
                out = self._pass(data)
                if out:
                    yield out
            flushed = self._flush()
            if flushed:
                yield flushed
            await exchange.record("truncated")
            yield self._error_event("upstream_truncated", f"{endpoint_id} ended its stream before it was complete")
        except _NotAChunk:
            flushed = self._flush()
            if flushed:
                yield flushed
            await exchange.record("upstream_error")
            yield self._error_event("upstream_invalid_response", f"{endpoint_id} sent an event that is not a JSON chunk")
        except (httpx.TimeoutException, TimeoutError):
            await exchange.record("timeout")
            yield self._error_event("upstream_timeout", f"{endpoint_id} stopped sending within the timeout")
        except httpx.HTTPError as exc:
            await exchange.record("truncated")
            yield self._error_event("upstream_error", f"{endpoint_id} broke its stream off ({type(exc).__name__})")
        except Exception:
            await exchange.record("gateway_error")
            raise
        finally:
            # Reached on every end, also when the app hung up (cancellation):
            # record() is a no-op if the outcome was written already.
            await exchange.record("client_disconnected")
            with anyio.CancelScope(shield=True):
                await self.response.aclose()
