"""The candidates the policy chooses from: catalog facts, live state and this
request's estimated cost."""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.catalog import Catalog, Endpoint
from services.routing.schemas import UsageEstimate


@dataclass(frozen=True)
class EndpointState:
    latency_p95_ms: int
    healthy: bool


def endpoint_state(endpoint: Endpoint) -> EndpointState:
    # Live latency and health come from real calls once the proxy forwards
    # (rolling p95, circuit breaker); until then the catalog's prior stands.
    return EndpointState(latency_p95_ms=endpoint.latency_p95_ms, healthy=True)


def build_candidates(catalog: Catalog, usage: UsageEstimate) -> list[dict]:
    candidates = []
    for e in catalog.endpoints:
        state = endpoint_state(e)
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
            }
        )
    return candidates
