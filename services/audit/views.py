"""A decision row rendered as the design's decision document. ``/v1/route``
answers with this and ``/v1/decisions`` reads it back, so what an app was told
and what an auditor sees cannot drift apart."""

from __future__ import annotations

from datetime import timezone

from services.audit.models import DecisionRecord
from services.routing.schemas import (
    CandidateView,
    DecisionView,
    ErrorInfo,
    PolicyRef,
    RouteChoice,
    UsageEstimate,
)


def _candidates(record: DecisionRecord) -> list[CandidateView]:
    if not record.policy_input:
        return []
    denied = (record.policy_output or {}).get("denied", {})
    planned = set(record.plan)
    return [
        CandidateView(
            endpoint=c["id"],
            provider=c["provider"],
            jurisdiction=c["jurisdiction"],
            region=c["region"],
            self_hosted=c["self_hosted"],
            eligible=c["id"] in planned,
            estimated_cost_usd=c["estimated_cost_usd"],
            latency_p95_ms=c["latency_p95_ms"],
            reasons=list(denied.get(c["id"], [])),
        )
        for c in record.policy_input["candidates"]
    ]


def decision_view(record: DecisionRecord) -> DecisionView:
    output = record.policy_output or {}
    created = record.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        created = created.replace(tzinfo=timezone.utc)
    return DecisionView(
        decision_id=str(record.id),
        created_at=created.isoformat(),
        allowed=record.allowed,
        status=record.status,
        route=RouteChoice(endpoint=record.endpoint, fallbacks=list(record.plan[1:])),
        sensitivity=record.sensitivity,
        gdpr_categories=list(record.gdpr_categories),
        entities=dict(record.entities),
        obligations=dict(output.get("obligations", {})),
        reasons=list(output.get("reasons", [])),
        usage_estimate=UsageEstimate(**record.usage_estimate),
        estimated_cost_usd=record.estimated_cost_usd,
        candidates=_candidates(record),
        policy=PolicyRef(engine=record.policy_engine, revision=record.policy_revision),
        error=ErrorInfo(**record.error) if record.error else None,
    )
