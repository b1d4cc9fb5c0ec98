"""The request body apps send (OpenAI chat completions, plus douane's routing
hints) and the decision douane answers with."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class RoutingHints(BaseModel):
    """What the app tells the policy about this request (``extra_body`` in the SDK)."""

    model_config = ConfigDict(extra="forbid")

    residency: Literal["eu", "any"] = "any"
    latency_budget_ms: int | None = Field(default=None, gt=0, le=600_000)
    purpose: Purpose = "general"
    risk_tolerance: Literal["low", "medium", "high"] = "medium"


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["text"]
    text: str


class OtherPart(BaseModel):
    """Image, audio or file parts: forwarded later, carry no text we can scan."""

    model_config = ConfigDict(extra="allow")

    type: Literal["image_url", "input_audio", "file"]


ContentPart = Annotated[TextPart | OtherPart, Field(discriminator="type")]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def texts(self) -> list[str]:
        """Every text of the message that reaches the model: its content, the
        participant's name, and the arguments of the tool calls an assistant
        message carries (they often quote the user's data)."""
        texts: list[str] = []
        if isinstance(self.content, str):
            texts.append(self.content)
        elif self.content is not None:
            texts += [part.text for part in self.content if isinstance(part, TextPart)]
        if self.name:
            texts.append(self.name)
        for call in (self.model_extra or {}).get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                texts.append(function["arguments"])
        return texts


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions body. Unknown OpenAI fields are kept (they are
    forwarded upstream); the fields douane reads are checked strictly."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=128)
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    max_tokens: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    stream: bool = False
    routing: RoutingHints = Field(default_factory=RoutingHints)

    def texts(self) -> list[str]:
        return [text for message in self.messages for text in message.texts()]


class RouteChoice(BaseModel):
    endpoint: str | None
    fallbacks: list[str]


class CandidateView(BaseModel):
    endpoint: str
    provider: str
    jurisdiction: str
    region: str
    self_hosted: bool
    eligible: bool
    estimated_cost_usd: float
    latency_p95_ms: int
    reasons: list[str]


class PolicyRef(BaseModel):
    engine: str
    revision: str | None


class UsageEstimate(BaseModel):
    input_tokens: int
    output_tokens: int


class ErrorInfo(BaseModel):
    type: str
    message: str


class AttemptView(BaseModel):
    endpoint: str
    status: int | None
    error_type: str | None
    reason: str | None
    latency_ms: float


class OutcomeView(BaseModel):
    """What happened when a chat completion was forwarded."""

    status: str
    created_at: str
    endpoint: str | None
    upstream_status: int | None
    attempts: list[AttemptView]
    stream: bool
    usage: UsageEstimate | None
    cost_usd: float | None
    ttft_ms: float | None
    total_ms: float


class DecisionView(BaseModel):
    """A decision as apps get it from ``/v1/route`` and auditors read it back."""

    decision_id: str
    created_at: str
    allowed: bool
    status: Literal["routed", "denied", "error"]
    route: RouteChoice
    sensitivity: Literal["none", "personal", "special"] | None
    gdpr_categories: list[str]
    entities: dict[str, int]
    obligations: dict[str, dict]
    reasons: list[str]
    usage_estimate: UsageEstimate
    estimated_cost_usd: float | None
    candidates: list[CandidateView]
    policy: PolicyRef
    error: ErrorInfo | None = None
    outcome: OutcomeView | None = None
