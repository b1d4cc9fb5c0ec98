"""What the policy routes take and answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.routing.schemas import ChatCompletionRequest, refuse_lone_surrogates


class PolicyView(BaseModel):
    engine: Literal["embedded", "opa"]
    revision: str = Field(description="sha256 over every .rego and data file of the bundle, as recorded in each decision")
    modules: list[str] = Field(description="the policy modules (tests excluded), relative to the policy directory")
    data_files: list[dict[str, Any]] = Field(
        description="the running revision's reference data files with their 'updated' date (not what is on disk now)"
    )
    policy_dir: str
    loaded_at: str


class ReloadView(BaseModel):
    status: Literal["loaded", "unchanged", "refused"]
    revision: str = Field(description="the revision running after this call")
    previous_revision: str
    candidate_revision: str | None = Field(description="the revision found on disk")
    errors: list[str]
    tests_passed: int
    tests_failed: list[str]
    duration_ms: float


class EvaluateRequest(BaseModel):
    """Either a chat request exactly as an app would send it (detection runs
    on it, nothing is recorded or forwarded), or a policy input document
    (e.g. `policy_input` from a recorded decision)."""

    model_config = ConfigDict(extra="forbid")

    request: ChatCompletionRequest | None = None
    input: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: Any) -> Any:
        # The input document goes to the policy engine as JSON text.
        return refuse_lone_surrogates(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> EvaluateRequest:
        if (self.request is None) == (self.input is None):
            raise ValueError("send exactly one of 'request' (a chat request) or 'input' (a policy input document)")
        return self


class EndpointExplanation(BaseModel):
    endpoint: str
    eligible: bool
    rank: int | None = Field(description="position in the plan, 1 = first choice; null when denied")
    reasons: list[str] = Field(description="why it was denied; empty when eligible")
    obligations: dict[str, Any]
    jurisdiction: str | None
    region: str | None
    estimated_cost_usd: float | None


class EvaluateView(BaseModel):
    engine: str
    revision: str
    input: dict[str, Any] = Field(description="the policy input evaluated (no prompt text)")
    decision: dict[str, Any] = Field(description="data.douane.decision exactly as the policy returned it")
    summary: str
    endpoints: list[EndpointExplanation]
