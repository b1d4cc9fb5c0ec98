"""HTTP route of the proxy: OpenAI's chat completions, decided, recorded and
forwarded along the policy's plan."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from services.gateway.deps import AppKey, RuntimeDep
from services.gateway.errors import AuthenticationRequired, BadRequest, ServiceUnavailable, responses
from services.gateway.strict import UnsupportedMediaType
from services.providers.errors import PlanExhausted, PolicyDenied, UpstreamError, UpstreamTimeout
from services.providers.service import DECISION_HEADER, forward
from services.routing.limits import LimitedChatRequest
from services.routing.service import UnknownModel, decide

router = APIRouter(tags=["proxy"])

# One event of a streamed answer (services.providers.stream): data only.
SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "a chat.completion.chunk as JSON, an {\"error\": …} object, or [DONE] at the end",
        }
    },
}


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat completions, routed by the policy",
    response_model=None,
    responses={
        200: {
            "description": "the upstream's completion (OpenAI's shape); with `stream: true`, its server-sent events",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": SSE_EVENT}},
        },
        **responses(
            BadRequest,
            AuthenticationRequired,
            PolicyDenied,
            UnknownModel,
            UpstreamError,
            PlanExhausted,
            UpstreamTimeout,
            UnsupportedMediaType,
        ),
    },
)
async def chat_completions(
    principal: AppKey, body: LimitedChatRequest, runtime: RuntimeDep
) -> JSONResponse | StreamingResponse:
    """Detects personal data, asks the policy, records the decision, then
    forwards to the first endpoint of the plan that answers (``stream`` and
    non-stream). ``model: "auto"`` lets the policy choose; a catalog id is
    still checked by it. Headers ``x-douane-decision-id`` and
    ``x-douane-endpoint`` say which decision and which endpoint answered."""
    # Detection and the policy are CPU work: off the event loop. The decision
    # is in the audit log before a byte leaves: decide() returns only once the
    # audit writer committed the row, and raises (503) if it could not.
    record = await run_in_threadpool(decide, runtime, principal, body, "chat")
    headers = {DECISION_HEADER: str(record.id)}
    if not record.plan:
        outcome = "decision_error" if record.status == "error" else "denied"
        runtime.metrics.observe_request(endpoint=None, sensitivity=record.sensitivity or "unknown", outcome=outcome)
    if record.status == "error":
        raise ServiceUnavailable(
            record.error["message"], details={"decision_id": str(record.id), **record.error}, headers=headers
        )
    if not record.plan:
        output = record.policy_output or {}
        raise PolicyDenied(
            "the policy allows no endpoint for this request; nothing was forwarded",
            details={
                "decision_id": str(record.id),
                "reasons": list(output.get("reasons", [])),
                "denied": dict(output.get("denied", {})),
            },
            headers=headers,
        )
    payload = body.model_dump(mode="json", exclude_unset=True, exclude={"routing"})
    return await forward(runtime, record, payload)
