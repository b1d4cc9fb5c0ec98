"""The ``pseudonymise`` obligation: personal values the policy names are
replaced by stable placeholders before a request leaves, and put back in the
answer, streamed or not.

The mapping lives in one request's memory only: it is never logged, stored,
or sent anywhere. The same value gets the same placeholder within a request
(``<EMAIL_ADDRESS_1>``), so the model can still tell two people apart.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol


class SpanLike(Protocol):
    entity: str
    start: int
    end: int


Locate = Callable[[str, Collection[str]], Sequence[SpanLike]]

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9]+>")


class Pseudonymiser:
    """One request's mapping. ``locate`` is the detector's
    ``locate(text, entity_types)``; it runs once per text."""

    def __init__(self, locate: Locate, entity_types: Collection[str]):
        self._locate = locate
        self._types = frozenset(entity_types)
        self._by_value: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    @property
    def replaced(self) -> int:
        return len(self._originals)

    @property
    def placeholders(self) -> Collection[str]:
        return self._originals.keys()

    def _placeholder(self, entity: str, value: str) -> str:
        key = (entity, value)
        if key not in self._by_value:
            self._counts[entity] = self._counts.get(entity, 0) + 1
            placeholder = f"<{entity}_{self._counts[entity]}>"
            self._by_value[key] = placeholder
            self._originals[placeholder] = value
        return self._by_value[key]

    def hide(self, text: str) -> str:
        spans = sorted(self._locate(text, self._types), key=lambda s: (s.start, -(s.end - s.start)))
        out, position = [], 0
        for span in spans:
            if span.start < position or span.end <= span.start or span.entity not in self._types:
                continue  # overlapping or empty: the longest span starting first wins
            out.append(text[position:span.start])
            out.append(self._placeholder(span.entity, text[span.start:span.end]))
            position = span.end
        out.append(text[position:])
        return "".join(out)

    def hide_messages(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``body`` with every message text pseudonymised: contents,
        and tool-call arguments (a placeholder holds no quote or backslash, so
        JSON arguments stay JSON). A participant ``name`` cannot hold a
        placeholder (OpenAI allows only [A-Za-z0-9_-] there), so one that holds
        a value to hide raises: the endpoint gets nothing (fail closed)."""
        body = copy.deepcopy(body)
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = self.hide(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                        part["text"] = self.hide(part["text"])
            name = message.get("name")
            if isinstance(name, str) and self._locate(name, self._types):
                raise ValueError("a message name holds a value the obligation says to pseudonymise")
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    function["arguments"] = self.hide(function["arguments"])
        return body

    def restore(self, text: str) -> str:
        if not self._originals:
            return text
        return _PLACEHOLDER.sub(lambda m: self._originals.get(m.group(0), m.group(0)), text)

    def restore_completion(self, payload: dict[str, Any]) -> dict[str, Any]:
        for choice in payload.get("choices") or []:
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                _restore_fields(self, message)
        return payload

    def stream_restorer(self) -> StreamRestorer:
        return StreamRestorer(self)


def _restore_fields(pseudonymiser: Pseudonymiser, message: dict[str, Any]) -> None:
    for field in ("content", "reasoning_content", "refusal"):
        if isinstance(message.get(field), str):
            message[field] = pseudonymiser.restore(message[field])
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            function["arguments"] = pseudonymiser.restore(function["arguments"])


class StreamRestorer:
    """Restores placeholders in streamed deltas, where a placeholder may be
    split across chunks: per choice, the text after the last ``<`` is held
    back while it could still become a placeholder, and released as soon as it
    cannot (or when the choice finishes)."""

    def __init__(self, pseudonymiser: Pseudonymiser):
        self._p = pseudonymiser
        self._held: dict[int, str] = {}

    def _split(self, text: str) -> tuple[str, str]:
        start = text.rfind("<")
        if start == -1:
            return text, ""
        tail = text[start:]
        if any(p.startswith(tail) and p != tail for p in self._p.placeholders):
            return text[:start], tail
        return text, ""

    def feed(self, chunk: dict[str, Any]) -> dict[str, Any]:
        """Restore one parsed ``chat.completion.chunk`` in place."""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = choice["delta"] = {}
            content = delta.get("content")
            pending = self._held.pop(index, "") + (content if isinstance(content, str) else "")
            if choice.get("finish_reason") is not None:
                ready, held = pending, ""
            else:
                ready, held = self._split(pending)
            if held:
                self._held[index] = held
            if isinstance(content, str) or ready:
                delta["content"] = self._p.restore(ready)
            # Tool-call arguments are restored per chunk, without holding back:
            # a placeholder split across their chunks stays a placeholder.
            for call in delta.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    function["arguments"] = self._p.restore(function["arguments"])
        return chunk

    def flush(self) -> dict[int, str]:
        """Whatever is still held when the stream ends, restored, per choice index."""
        held, self._held = self._held, {}
        return {index: self._p.restore(text) for index, text in held.items() if text}
