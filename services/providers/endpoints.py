"""HTTP route of the proxy: OpenAI's chat completions, decided, recorded and
forwarded along the policy's plan."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from services.audit.models import DecisionRecord
from services.gateway.deps import AppKey, RuntimeDep, SessionDep
from services.gateway.errors import AuthenticationRequired, BadRequest, ServiceUnavailable, responses
from services.gateway.runtime import Runtime
from services.keys.service import Principal
from services.providers.errors import PlanExhausted, PolicyDenied, UpstreamError, UpstreamTimeout
from services.providers.service import DECISION_HEADER, forward
from services.routing.schemas import ChatCompletionRequest
from services.routing.service import UnknownModel, decide

router = APIRouter(tags=["proxy"])


def _decide_and_commit(
    runtime: Runtime, session: Session, principal: Principal, body: ChatCompletionRequest
) -> DecisionRecord:
    # The decision is in the audit log before a byte leaves: decide() returns
    # only once the audit writer committed the row; if that fails it raises
    # (503) and nothing is forwarded.
    return decide(runtime, session, principal, body, api="chat")


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat completions, routed by the policy",
    response_model=None,
    responses=responses(
        BadRequest, AuthenticationRequired, PolicyDenied, UnknownModel, UpstreamError, PlanExhausted, UpstreamTimeout
    ),
)
async def chat_completions(
    body: ChatCompletionRequest, principal: AppKey, runtime: RuntimeDep, session: SessionDep
) -> JSONResponse | StreamingResponse:
    """Detects personal data, asks the policy, records the decision, then
    forwards to the first endpoint of the plan that answers (``stream`` and
    non-stream). ``model: "auto"`` lets the policy choose; a catalog id is
    still checked by it. Headers ``x-douane-decision-id`` and
    ``x-douane-endpoint`` say which decision and which endpoint answered."""
    # Detection and the policy are CPU work: off the event loop.
    record = await run_in_threadpool(_decide_and_commit, runtime, session, principal, body)
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
