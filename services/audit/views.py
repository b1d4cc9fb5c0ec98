"""A decision row rendered as the design's decision document. ``/v1/route``
answers with this and ``/v1/decisions`` reads it back, so what an app was told
and what an auditor sees cannot drift apart."""

from __future__ import annotations

from datetime import datetime, timezone

from services.audit.models import DecisionRecord, OutcomeRecord
from services.audit.schemas import AuditDecisionView
from services.routing.schemas import (
    AttemptView,
    CandidateView,
    DecisionView,
    ErrorInfo,
    OutcomeView,
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


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


def outcome_view(outcome: OutcomeRecord | None) -> OutcomeView | None:
    if outcome is None:
        return None
    usage = None
    if outcome.input_tokens is not None and outcome.output_tokens is not None:
        usage = UsageEstimate(input_tokens=outcome.input_tokens, output_tokens=outcome.output_tokens)
    return OutcomeView(
        status=outcome.status,
        created_at=_utc_iso(outcome.created_at),
        endpoint=outcome.endpoint,
        upstream_status=outcome.upstream_status,
        attempts=[AttemptView(**attempt) for attempt in outcome.attempts],
        stream=outcome.stream,
        usage=usage,
        cost_usd=outcome.cost_usd,
        ttft_ms=outcome.ttft_ms,
        total_ms=outcome.total_ms,
    )


_UNSET = object()


def decision_view(record: DecisionRecord, outcome: OutcomeRecord | None | object = _UNSET) -> DecisionView:
    """``outcome`` when the caller loaded it already (the export joins it);
    otherwise the record's own relationship."""
    return DecisionView(**_decision_fields(record, outcome))


def audit_view(record: DecisionRecord, outcome: OutcomeRecord | None | object = _UNSET) -> AuditDecisionView:
    output = record.policy_output or {}
    return AuditDecisionView(
        **_decision_fields(record, outcome),
        tenant=record.tenant,
        key_id=record.key_id,
        api=record.api,
        purpose=record.purpose,
        requested_model=record.requested_model,
        endpoint_jurisdiction=record.endpoint_jurisdiction,
        endpoint_region=record.endpoint_region,
        denied={endpoint: list(reasons) for endpoint, reasons in output.get("denied", {}).items()},
        decision_latency_ms=record.decision_latency_ms,
        seq=getattr(record, "seq", None),
        prev_hash=getattr(record, "prev_hash", None),
        hash=getattr(record, "hash", None),
    )


def _decision_fields(record: DecisionRecord, outcome: OutcomeRecord | None | object) -> dict:
    output = record.policy_output or {}
    return dict(
        decision_id=str(record.id),
        created_at=_utc_iso(record.created_at),
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
        quality=output.get("quality") if isinstance(output.get("quality"), dict) else None,
        error=ErrorInfo(**record.error) if record.error else None,
        outcome=outcome_view(record.outcome if outcome is _UNSET else outcome),
    )
