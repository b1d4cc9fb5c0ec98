"""What the auditor API takes and answers: the decision filters, the audit
view of a decision (the app's decision document plus who asked, for what,
and where the chosen endpoint is), pages and the compliance report."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator

from services.routing.schemas import DecisionView

Sensitivity = Literal["none", "personal", "special"]
DecisionStatus = Literal["routed", "denied", "error"]
# The outcome statuses the outcomes table accepts (its check constraint),
# plus "none": a decision that has no outcome (a /v1/route decision, a
# refusal, or a completion still running).
OutcomeFilter = Literal[
    "ok", "upstream_error", "exhausted", "timeout", "truncated", "client_disconnected", "gateway_error", "none"
]
ExportFormat = Literal["csv", "jsonl"]

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    # Pydantic reads a number as Unix time: until=2026 would mean 1970-01-01T00:33:46Z
    # and an auditor would get an empty answer instead of an error.
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("a time is ISO 8601 with an offset, e.g. 2026-01-01T00:00:00Z, not a number")
    return value


def _in_utc(moment: datetime) -> datetime:
    # Rows are stored in UTC; 0001-01-01T00:00:00+01:00 has no UTC time.
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("the time is out of range once in UTC") from None


# A filter's time: ISO 8601 with an offset (a naive time is ambiguous), in UTC.
Moment = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_utc)]


class AuditDecisionView(DecisionView):
    """A decision as auditors read it."""

    tenant: str
    key_id: str
    api: str
    purpose: str
    requested_model: str
    endpoint_jurisdiction: str | None
    endpoint_region: str | None
    # The policy's refusals, endpoint id -> reasons, as it output them.
    denied: dict[str, list[str]]
    decision_latency_ms: float
    # The row's place in the decisions hash chain (GET /v1/audit/verify checks it).
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


class DecisionPage(BaseModel):
    data: list[AuditDecisionView]
    next_cursor: str | None


class Period(BaseModel):
    since: str | None
    until: str | None
    tenant: str | None  # None: every tenant (platform auditors)


class SensitivityCount(BaseModel):
    sensitivity: str | None  # None: the decision failed before the policy classified it
    count: int


class SensitivityByRegion(SensitivityCount):
    region: str | None  # None: no endpoint was chosen


class SensitivityByJurisdiction(SensitivityCount):
    jurisdiction: str | None


class StatusCount(BaseModel):
    status: str
    count: int


class EndpointSpend(BaseModel):
    endpoint: str | None
    outcomes: int
    cost_usd: float


class Spend(BaseModel):
    # What upstreams were actually paid for, from the outcome rows.
    spent_usd: float
    # What the routed decisions were estimated to cost before sending.
    estimated_usd: float
    by_endpoint: list[EndpointSpend]


class Violation(BaseModel):
    decision_id: str
    created_at: str
    tenant: str
    sensitivity: str | None
    endpoint: str  # where the outcome says the request went
    rules: list[Literal["not_in_plan", "denied_by_policy", "special_outside_eu"]]


class Violations(BaseModel):
    count: int
    decisions: list[Violation]  # the first 100, oldest first


class AuditReport(BaseModel):
    period: Period
    decisions: int
    by_sensitivity_region: list[SensitivityByRegion]
    by_sensitivity_jurisdiction: list[SensitivityByJurisdiction]
    by_decision_status: list[StatusCount]
    by_outcome_status: list[StatusCount]  # "none": decisions without an outcome
    spend: Spend
    violations: Violations


# The cost report (services/audit/cost.py). Money is Decimal, exact: in JSON a
# string such as "0.465", so no reader's float parsing can change it.


class EndpointActualSpend(BaseModel):
    """What the answers one endpoint gave in the period actually cost."""

    endpoint: str
    requests: int  # answered with token counts: these are priced
    requests_without_usage: int  # answered without token counts: counted here, priced nowhere
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


class PricePerMtok(BaseModel):
    """An endpoint's catalog prices, USD per million tokens."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal


class BaselineCost(BaseModel):
    """The period's priced traffic, had all of it gone to one endpoint."""

    endpoint: str
    price: PricePerMtok
    cost_usd: Decimal  # the same input and output tokens at this endpoint's prices
    saving_usd: Decimal  # cost_usd minus the actual spend; negative when the actual routing cost more
    saving_pct: Decimal | None  # saving_usd as a percentage of cost_usd, 2 decimals; None when cost_usd is 0


class TierSpend(BaseModel):
    """The period's answers served at one quality tier (the catalog tier of
    the endpoint that answered), and what the same tokens cost on the two
    standard comparisons' endpoints."""

    tier: str  # small | standard | frontier; "unknown": an endpoint no longer in the catalog
    endpoints: list[str]  # the endpoints that answered at this tier
    requests: int
    requests_without_usage: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    frontier_cost_usd: Decimal | None  # the same tokens on the frontier-only endpoint; None: the catalog has none
    cheapest_cost_usd: Decimal  # the same tokens on the cheapest-only endpoint


class CostReport(BaseModel):
    period: Period  # of the outcomes: when the answers completed
    requests: int
    requests_without_usage: int
    input_tokens: int
    output_tokens: int
    spent_usd: Decimal
    by_endpoint: list[EndpointActualSpend]
    baselines: list[BaselineCost]
    # Per tier: every catalog tier (zeros when nothing answered there), weakest first.
    by_tier: list[TierSpend]
    # The two standard comparisons, always made: everything on the catalog's
    # frontier-tier endpoint (the cheapest of them if several; None when the
    # catalog has no frontier endpoint) and everything on its cheapest endpoint.
    frontier_only: BaselineCost | None
    cheapest_only: BaselineCost


class WorkloadMix(BaseModel):
    """How many of a synthetic workload's requests fall in each class."""

    kind: dict[str, int]  # what the generator meant: short, document, complex
    complexity: dict[str, int]  # what douane's classifier estimated: simple, standard, complex
    needed_tier: dict[str, int]  # the tier the policy said the task needs
    tier: dict[str, int]  # the tier of the planned endpoint (routed requests)
    sensitivity: dict[str, int]  # the policy's classification: none, personal, special


class WorkloadCostReport(BaseModel):
    """A synthetic workload decided offline (nothing forwarded, nothing
    written), priced as the cost report prices the audit log: each routed
    request's estimated tokens at its planned endpoint's catalog prices."""

    workload: str
    seed: int
    generated: int  # requests generated
    routed: int  # with a non-empty plan: priced
    denied: int  # the policy left no endpoint: not priced
    failed: int  # detection or the policy failed (fail closed): not priced
    mix: WorkloadMix
    cost: CostReport  # its period is empty: no time and no tenant apply
