"""HTTP routes of routing: the decision-only API and the catalog."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.audit.views import decision_view
from services.gateway.deps import AppKey, RuntimeDep
from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden, ServiceUnavailable, responses
from services.gateway.strict import UnsupportedMediaType
from services.routing.limits import LimitedChatRequest
from services.routing.schemas import DecisionView
from services.routing.service import UnknownModel, decide

router = APIRouter(tags=["routing"])


@router.post(
    "/v1/route",
    response_model=DecisionView,
    summary="Decide where a chat request may go, without forwarding it",
    responses=responses(
        BadRequest, AuthenticationRequired, Forbidden, UnknownModel, ServiceUnavailable, UnsupportedMediaType
    ),
)
def route(principal: AppKey, body: LimitedChatRequest, runtime: RuntimeDep) -> DecisionView:
    """Detects personal data, asks the policy, records the decision and
    answers it. A policy that allows nothing answers 200 with
    ``allowed: false`` and the reasons; a failure of detection or of the policy
    answers 503 and is recorded as such."""
    record = decide(runtime, principal, body, api="route")  # the row is committed when this returns
    if record.status == "error":
        raise ServiceUnavailable(record.error["message"], details={"decision_id": str(record.id), **record.error})
    return decision_view(record)


class EndpointView(BaseModel):
    id: str
    provider: str
    model: str
    jurisdiction: str
    region: str
    self_hosted: bool
    price: dict[str, float]
    latency_p95_ms: int = Field(description="rolling p95 of real calls once there are enough; the catalog's prior before")
    healthy: bool = Field(description="false while the circuit breaker is open")
    breaker: Literal["closed", "open", "half_open"]
    ttft_p95_ms: int | None = Field(description="rolling p95 time to first token; null until enough real calls")
    latency_samples: int = Field(description="successful calls in the rolling window")
    tier: Literal["small", "standard", "frontier"] = Field(description="the model's quality tier (catalog)")
    capabilities: dict[str, int | bool] = Field(
        description="context_window (tokens), tools, vision, json_mode (catalog)"
    )


class EndpointList(BaseModel):
    data: list[EndpointView]


@router.get(
    "/v1/endpoints",
    response_model=EndpointList,
    summary="The endpoint catalog with live latency and health",
    responses=responses(AuthenticationRequired, Forbidden),
)
def endpoints(_principal: AppKey, runtime: RuntimeDep) -> EndpointList:
    views = []
    for e in runtime.catalog.endpoints:
        state = runtime.endpoint_health.state(e)
        views.append(
            EndpointView(
                id=e.id,
                provider=e.provider,
                model=e.model,
                jurisdiction=e.jurisdiction,
                region=e.region,
                self_hosted=e.self_hosted,
                price=e.price.model_dump(),
                latency_p95_ms=state.latency_p95_ms,
                healthy=state.healthy,
                breaker=state.breaker,
                ttft_p95_ms=state.ttft_p95_ms,
                latency_samples=state.latency_samples,
                tier=e.tier,
                capabilities=e.capabilities.model_dump(),
            )
        )
    return EndpointList(data=views)


class ModelView(BaseModel):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelView]


@router.get(
    "/v1/models",
    response_model=ModelList,
    summary="OpenAI-style model list: 'auto' and every catalog id",
    responses=responses(AuthenticationRequired, Forbidden),
)
def models(_principal: AppKey, runtime: RuntimeDep) -> ModelList:
    data = [ModelView(id="auto", owned_by="douane")]
    data += [ModelView(id=e.id, owned_by=e.provider) for e in runtime.catalog.endpoints]
    return ModelList(data=data)
