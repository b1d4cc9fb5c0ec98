"""The request body apps send (OpenAI chat completions, plus douane's routing
hints) and the decision douane answers with."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]

# JSON may escape half of a surrogate pair ("\ud800") and Python's parser
# keeps it; such a string is not Unicode text: it cannot be encoded to UTF-8,
# scanned faithfully or forwarded as written.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_lone_surrogates(value: Any) -> Any:
    """Raise (a 422 in validation) when a string or key anywhere in a parsed
    JSON value holds a lone surrogate; the message names where, never the text.
    Iterative: a body may nest as deep as the JSON parser allows."""
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                where = ".".join(str(p) for p in path) or "the body"
                raise ValueError(f"{where} holds a lone surrogate (half of a UTF-16 pair), which is not Unicode text")
        elif isinstance(item, dict):
            for key, child in item.items():
                # The key is checked before anything under it: a path named in
                # the message must itself be text that can be sent back.
                stack.append((child, path + (key,)))
                stack.append((key, path))
        elif isinstance(item, list):
            stack.extend((child, path + (index,)) for index, child in enumerate(item))
    return value


# No model writes more; the cost estimate the policy ranks by must stay a
# number the engine handles (regopy overflows int64 and misranks from about
# 1e15 tokens, and the decision then fails closed with a 503).
MAX_OUTPUT_TOKENS = 10_000_000


class RoutingHints(BaseModel):
    """What the app tells the policy about this request (``extra_body`` in the SDK)."""

    model_config = ConfigDict(extra="forbid")

    residency: Literal["eu", "any"] = "any"
    latency_budget_ms: int | None = Field(default=None, gt=0, le=600_000)
    purpose: Purpose = "general"
    risk_tolerance: Literal["low", "medium", "high"] = "medium"
    # The weakest model quality this request accepts, whatever its estimate.
    min_tier: Literal["small", "standard", "frontier"] | None = None
    # For tenants with cascades enabled: try one tier cheaper first and
    # escalate when the answer fails this check.
    cascade_check: Literal["json", "not_refusal", "not_empty"] | None = None


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
    # How many messages, and how much text, a gateway accepts is its
    # configuration (DOUANE_MAX_MESSAGES, ...): checked by routing.limits.
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_OUTPUT_TOKENS)
    max_completion_tokens: int | None = Field(default=None, gt=0, le=MAX_OUTPUT_TOKENS)
    stream: bool = False
    routing: RoutingHints = Field(default_factory=RoutingHints)

    @model_validator(mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: Any) -> Any:
        # Unknown fields too: they are forwarded upstream as sent.
        return refuse_lone_surrogates(value)

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
    # Optional so that a recorded attempt without one (rows written by older
    # versions, or by tools) still reads back instead of failing the page.
    endpoint: str | None
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
    # The complexity estimate, the tier it needed and the tier used (and a
    # cascade's first try, if any), as the policy decided.
    quality: dict | None = None
    error: ErrorInfo | None = None
    outcome: OutcomeView | None = None
