"""The candidates the policy chooses from: catalog facts, live state and this
request's estimated cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.routing.catalog import Catalog
from services.routing.schemas import UsageEstimate

if TYPE_CHECKING:  # providers.health imports EndpointState from here
    from services.providers.health import EndpointHealth


@dataclass(frozen=True)
class EndpointState:
    """What the gateway knows about an endpoint right now. ``latency_p95_ms``
    is the catalog's prior until enough real calls replace it."""

    latency_p95_ms: int
    healthy: bool
    breaker: str = "closed"  # closed | open | half_open
    ttft_p95_ms: int | None = None
    latency_samples: int = 0
    consecutive_failures: int = 0
    last_failure: str | None = None


def build_candidates(catalog: Catalog, usage: UsageEstimate, health: EndpointHealth) -> list[dict]:
    candidates = []
    for e in catalog.endpoints:
        state = health.state(e)
        candidates.append(
            {
                "id": e.id,
                "provider": e.provider,
                "jurisdiction": e.jurisdiction,
                "region": e.region,
                "self_hosted": e.self_hosted,
                "healthy": state.healthy,
                "latency_p95_ms": state.latency_p95_ms,
                "estimated_cost_usd": round(e.cost_usd(usage.input_tokens, usage.output_tokens), 8),
                "tier": e.tier,
                "capabilities": e.capabilities.names(),
                "context_window": e.capabilities.context_window,
            }
        )
    return candidates
