"""Executing a decision: send the request to the first endpoint of the
policy's plan that answers, falling back along the plan and nowhere else,
and record what happened as an outcome row.

Fallback happens only before the first byte of an answer: on a connect
error, a timeout, a 429 or a 5xx. After that the upstream has started
answering (and billing), so a failure is reported, not retried elsewhere.
An endpoint whose key variable is unset is a failed attempt: we never send a
request without the credentials its catalog row asks for.

A cascade (the policy's ``quality.cascade``: plan[0] is one tier below what
the task needs) adds one more reason to go on: plan[0] answered 200 but its
answer failed the named check (services/providers/cascade.py). That attempt
is recorded as ``cascade_check_failed`` and the plan continues exactly as on
a fallback. What the discarded answer cost is added to the outcome's
``cost_usd`` (it was paid for); the outcome's tokens are the returned
answer's, the discarded answer's are in its attempt's reason. A stream cannot
be checked before it reaches the app, so a cascade's first try is skipped
for a stream (the policy never asks for one; this is the safe reading if it did).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict
from typing import Any

import anyio
import httpx
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from policy.validation import OBLIGATIONS, cascade_of
from services.audit.models import DecisionRecord
from services.gateway.errors import ServiceUnavailable
from services.gateway.runtime import Runtime
from services.providers import cascade
from services.providers.adapter import Usage, from_upstream, to_upstream, upstream_error_message, usage_of
from services.providers.errors import PlanExhausted, UpstreamError, UpstreamTimeout
from services.providers.exchange import DECISION_HEADER, ENDPOINT_HEADER, Attempt, Exchange
from services.providers.pseudonymise import Pseudonymiser
from services.providers.sse import SSEParser
from services.providers.stream import StreamRelay
from services.routing.catalog import Endpoint

__all__ = ["DECISION_HEADER", "ENDPOINT_HEADER", "forward"]

log = logging.getLogger("douane.providers")


class _Failed(Exception):
    """One endpoint failed before its first byte: try the next one of the plan."""

    def __init__(self, error_type: str, reason: str, status: int | None = None):
        super().__init__(reason)
        self.error_type, self.reason, self.status = error_type, reason, status


def _api_key(endpoint: Endpoint) -> str | None:
    if endpoint.api_key_env is None:
        return None  # the catalog says this endpoint takes no key (e.g. a local vLLM)
    key = os.environ.get(endpoint.api_key_env, "").strip()
    if not key:
        raise _Failed("missing_api_key", f"the environment variable {endpoint.api_key_env} is not set")
    return key


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


# Failures that say nothing about the endpoint's health: ours, the policy's,
# or an answer that came back fine but was not good enough.
_NOT_THE_ENDPOINTS_FAULT = ("obligation_failed", "not_in_catalog", "cascade_check_failed", "cascade_unchecked")


def _cascade_check(decision: DecisionRecord, stream: bool, index: int, endpoint_id: str) -> str | None:
    """The check this attempt's answer must pass, if it is a cascade's first try."""
    first_try = cascade_of(decision.policy_output or {})
    if not isinstance(first_try, dict) or index != 0 or first_try.get("endpoint") != endpoint_id:
        return None
    if stream:
        raise _Failed("cascade_unchecked", "a stream cannot be checked before it reaches the app; "
                      "the cascade's first try was skipped")
    return str(first_try.get("check"))


async def forward(runtime: Runtime, decision: DecisionRecord, body: dict[str, Any]) -> JSONResponse | StreamingResponse:
    """Attempt ``decision.plan`` in order. ``body`` is the app's request
    without ``routing``. Raises the error to answer when nothing answered."""
    exchange = Exchange(runtime=runtime, decision=decision, stream=bool(body.get("stream")))
    client = runtime.upstream
    if client is None:
        await exchange.record("gateway_error")
        raise ServiceUnavailable(
            "the gateway's upstream client is not running; nothing was forwarded",
            details={"decision_id": str(decision.id)},
            headers=exchange.headers(),
        )
    obligations = (decision.policy_output or {}).get("obligations") or {}
    for index, endpoint_id in enumerate(decision.plan):
        endpoint = runtime.catalog.get(endpoint_id)
        attempt_started = time.perf_counter()
        try:
            if endpoint is None:  # the plan is validated against the candidates, built from this catalog
                raise _Failed("not_in_catalog", "the endpoint is not in the catalog")
            if exchange.remaining_s() <= 0:
                raise _Failed("timeout", "the total upstream time budget was spent before this endpoint was tried")
            check = _cascade_check(decision, exchange.stream, index, endpoint_id)
            pseudonymiser = _pseudonymiser(runtime, obligations.get(endpoint_id) or {})
            return await _attempt(exchange, client, endpoint, body, pseudonymiser, attempt_started, check)
        except _Failed as failure:
            exchange.attempts.append(
                Attempt(endpoint_id, failure.status, failure.error_type, failure.reason, exchange.elapsed_ms(attempt_started))
            )
            log.warning("decision %s: %s failed (%s)", decision.id, endpoint_id, failure.error_type)
            if failure.error_type not in _NOT_THE_ENDPOINTS_FAULT:
                runtime.endpoint_health.record_failure(endpoint_id, reason=failure.error_type)
            runtime.metrics.observe_upstream(
                endpoint=endpoint_id, ttft_ms=None, total_ms=exchange.attempts[-1].latency_ms,
                status=failure.error_type,
            )
            following = decision.plan[index + 1] if index + 1 < len(decision.plan) else None
            runtime.metrics.observe_fallback(from_endpoint=endpoint_id, to_endpoint=following)
    return await _exhausted(exchange)


def _pseudonymiser(runtime: Runtime, obligation: dict[str, Any]) -> Pseudonymiser | None:
    # The policy's output was validated against the same list (policy.validation);
    # checked again here because this is where data would leave.
    unknown = sorted(set(obligation) - set(OBLIGATIONS))
    if unknown:
        # An obligation this gateway cannot carry out: the endpoint gets nothing (fail closed).
        raise _Failed("obligation_failed", f"the policy's obligation {', '.join(unknown)} is not one this gateway knows")
    types = obligation.get("pseudonymise")
    if not types:
        return None
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        # An obligation we cannot carry out is not sent anyway: fail closed for this endpoint.
        raise _Failed("obligation_failed", "the policy's pseudonymise obligation is not a list of entity types")
    return Pseudonymiser(runtime.detector.locate, types)


async def _exhausted(exchange: Exchange) -> None:
    attempts = [asdict(a) for a in exchange.attempts]
    summary = "; ".join(f"{a.endpoint}: {a.reason}" for a in exchange.attempts)
    details = {"decision_id": str(exchange.decision.id), "attempts": attempts}
    if exchange.attempts and all(a.error_type == "timeout" for a in exchange.attempts):
        await exchange.record("timeout")
        raise UpstreamTimeout(f"every endpoint of the plan timed out: {summary}", details=details, headers=exchange.headers())
    await exchange.record("exhausted")
    raise PlanExhausted(
        f"no endpoint of the plan answered: {summary}", details=details, headers=exchange.headers()
    )


async def _attempt(
    exchange: Exchange,
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    body: dict[str, Any],
    pseudonymiser: Pseudonymiser | None,
    attempt_started: float,
    check: str | None = None,
) -> JSONResponse | StreamingResponse:
    api_key = _api_key(endpoint)
    outgoing = body
    if pseudonymiser is not None:
        try:
            outgoing = await run_in_threadpool(pseudonymiser.hide_messages, body)
        except Exception as exc:  # noqa: BLE001 - cannot pseudonymise: this endpoint gets nothing
            log.error("decision %s: pseudonymisation failed: %s", exchange.decision.id, type(exc).__name__)
            raise _Failed("obligation_failed", "the pseudonymise obligation could not be carried out") from None
    asked_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if exchange.stream:
        # Ask for usage always (the outcome's cost needs it); the app only sees it if it asked.
        outgoing = {**outgoing, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
    upstream = to_upstream(outgoing, endpoint, api_key)
    request = client.build_request("POST", upstream.url, headers=upstream.headers, json=upstream.body)
    try:
        with anyio.fail_after(exchange.remaining_s()):
            response = await client.send(request, stream=True)
    except (httpx.TimeoutException, TimeoutError):
        raise _Failed("timeout", "no answer within the timeout") from None
    except httpx.ConnectError:
        raise _Failed("connect_error", "could not connect") from None
    except httpx.HTTPError as exc:
        raise _Failed("transport_error", f"the connection failed ({type(exc).__name__})") from None

    if _retryable(response.status_code):
        await response.aclose()
        kind = "rate_limited" if response.status_code == 429 else "upstream_5xx"
        raise _Failed(kind, f"answered HTTP {response.status_code}", response.status_code)

    if not exchange.stream or response.status_code != 200:
        return await _complete(exchange, endpoint, response, pseudonymiser, attempt_started, check)

    # Wait for the first whole event (keep-alive comments do not count): until
    # then nothing has reached the app, so another endpoint may still answer.
    iterator = response.aiter_bytes()
    parser = SSEParser()
    first: list[str] = []
    try:
        while not first:
            with anyio.fail_after(exchange.remaining_s()):
                raw = await iterator.__anext__()
            first = parser.feed(raw)
    except StopAsyncIteration:
        first = parser.close()
        if not first:
            await response.aclose()
            raise _Failed("empty_response", "answered HTTP 200 with a stream that had no event", 200) from None
    except (httpx.TimeoutException, TimeoutError):
        await response.aclose()
        raise _Failed("timeout", "the stream sent no first event within the timeout", 200) from None
    except httpx.HTTPError as exc:
        await response.aclose()
        raise _Failed("transport_error", f"the stream broke before its first event ({type(exc).__name__})", 200) from None

    exchange.endpoint = endpoint
    exchange.answer_started = attempt_started
    exchange.upstream_status = 200
    exchange.ttft_ms = exchange.elapsed_ms()
    exchange.attempts.append(Attempt(endpoint.id, 200, None, None, exchange.elapsed_ms(attempt_started)))
    relay = StreamRelay(exchange, response, iterator, parser, first, pseudonymiser, asked_usage)
    return StreamingResponse(
        relay.events(),
        media_type="text/event-stream",
        headers={**exchange.headers(), "cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _complete(
    exchange: Exchange,
    endpoint: Endpoint,
    response: httpx.Response,
    pseudonymiser: Pseudonymiser | None,
    attempt_started: float,
    check: str | None = None,
) -> JSONResponse:
    """A whole (non-streamed) answer: the upstream has answered, so whatever
    happens now is reported, not retried on another endpoint; except a
    cascade's first answer that fails its ``check``, which is escalated."""
    exchange.endpoint = endpoint
    exchange.answer_started = attempt_started
    exchange.upstream_status = response.status_code
    details: dict[str, Any] = {"decision_id": str(exchange.decision.id), "endpoint": endpoint.id,
                               "upstream_status": response.status_code}
    try:
        with anyio.fail_after(exchange.remaining_s()):
            raw = await response.aread()
    except (httpx.TimeoutException, TimeoutError):
        exchange.attempts.append(Attempt(endpoint.id, response.status_code, "timeout", "the answer did not complete in time",
                                         exchange.elapsed_ms(attempt_started)))
        await exchange.record("timeout")
        raise UpstreamTimeout(f"{endpoint.id} did not complete its answer in time", details=details,
                              headers=exchange.headers()) from None
    except httpx.HTTPError as exc:
        exchange.attempts.append(Attempt(endpoint.id, response.status_code, "transport_error",
                                         f"the answer broke ({type(exc).__name__})", exchange.elapsed_ms(attempt_started)))
        await exchange.record("upstream_error")
        raise UpstreamError(f"{endpoint.id} broke its answer off", details=details, headers=exchange.headers()) from None
    finally:
        await response.aclose()
    exchange.ttft_ms = exchange.elapsed_ms()
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None

    if response.status_code != 200:
        upstream_error = upstream_error_message(payload)
        if pseudonymiser is not None and isinstance(upstream_error.get("message"), str):
            upstream_error["message"] = pseudonymiser.restore(upstream_error["message"])
        if response.status_code in (401, 403):  # our key is refused: the endpoint is unusable as configured
            exchange.runtime.endpoint_health.record_failure(endpoint.id, reason=f"http_{response.status_code}")
        exchange.attempts.append(Attempt(endpoint.id, response.status_code, "upstream_rejected",
                                         f"answered HTTP {response.status_code}", exchange.elapsed_ms(attempt_started)))
        await exchange.record("upstream_error")
        raise UpstreamError(
            f"{endpoint.id} refused the request with HTTP {response.status_code}",
            details={**details, "upstream_error": upstream_error},
            headers=exchange.headers(),
        )
    try:
        completion = from_upstream(payload)
    except ValueError:
        exchange.attempts.append(Attempt(endpoint.id, 200, "invalid_response", "the answer is not a chat completion",
                                         exchange.elapsed_ms(attempt_started)))
        await exchange.record("upstream_error")
        raise UpstreamError(f"{endpoint.id} answered something that is not a chat completion", details=details,
                            headers=exchange.headers()) from None
    if pseudonymiser is not None:
        completion = pseudonymiser.restore_completion(completion)
    usage = usage_of(completion)
    if check is not None:
        # Judged as the app would get it: placeholders restored.
        why = cascade.failure(check, completion)
        if why is not None:
            raise _escalation(exchange, endpoint, check, why, usage, attempt_started)
    exchange.usage = usage
    exchange.attempts.append(Attempt(endpoint.id, 200, None, None, exchange.elapsed_ms(attempt_started)))
    await exchange.record("ok")
    return JSONResponse(completion, headers=exchange.headers())


def _escalation(
    exchange: Exchange, endpoint: Endpoint, check: str, why: str, usage: Usage | None, attempt_started: float
) -> _Failed:
    """A cascade's first answer failed its check: it is dropped, what it cost
    is kept for the outcome, and the plan goes on."""
    own_ms = exchange.elapsed_ms(attempt_started)
    # It answered, and in time: its latency counts, and it stays healthy.
    exchange.runtime.endpoint_health.record_success(endpoint.id, ttft_ms=own_ms, total_ms=own_ms)
    if usage is None:
        paid = "it reported no usage, so its cost is not counted"
    else:
        cost = round(endpoint.cost_usd(usage.input_tokens, usage.output_tokens), 8)
        exchange.discarded_cost_usd += cost
        amount = f"{cost:.8f}".rstrip("0").rstrip(".")
        paid = (f"its {usage.input_tokens} input and {usage.output_tokens} output tokens, {amount} USD, "
                "are counted in the outcome's cost_usd")
    exchange.discard_answer()
    log.info("decision %s: %s failed the %s check; escalating", exchange.decision.id, endpoint.id, check)
    return _Failed("cascade_check_failed", f"answer failed the {check} check; escalated ({why}; {paid})", 200)
