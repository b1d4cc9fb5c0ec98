"""The provider adapter: two pure functions over OpenAI's chat-completions
format. Every upstream we support speaks it, so a provider is data (a catalog
row: base URL, model name, key variable), not code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.routing.catalog import Endpoint


@dataclass(frozen=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


def to_upstream(body: dict[str, Any], endpoint: Endpoint, api_key: str | None) -> UpstreamRequest:
    """``body`` is the app's request without douane's ``routing``; only the
    model changes (the catalog id becomes the provider's model name)."""
    upstream_body = {**body, "model": endpoint.model}
    headers = {"content-type": "application/json", "accept": "application/json"}
    if upstream_body.get("stream"):
        headers["accept"] = "text/event-stream"
    if api_key is not None:
        headers["authorization"] = f"Bearer {api_key}"
    return UpstreamRequest(url=f"{endpoint.base_url}/chat/completions", headers=headers, body=upstream_body)


def from_upstream(payload: Any) -> dict[str, Any]:
    """A chat completion as the app gets it: the upstream's answer, checked
    enough that the SDK can read it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        raise ValueError("not a chat completion: no 'choices' list")
    return payload


def usage_of(payload: Any) -> Usage | None:
    """Tokens as the upstream counted them, when it said."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(input_tokens=prompt, output_tokens=completion)


def upstream_error_message(payload: Any) -> dict[str, Any]:
    """The useful part of an upstream's error body (OpenAI's shape, or not)."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return {k: error[k] for k in ("type", "code", "message") if isinstance(error.get(k), (str, int))}
    if isinstance(error, str):
        return {"message": error}
    return {}
