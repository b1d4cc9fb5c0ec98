"""Making a routing decision: detect, build candidates, ask the policy, and
write the decision row. Python executes what the policy decided and nothing
else; when detection or the policy fails, the decision is an error row and
no endpoint is eligible (fail closed)."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone

from policy import PolicyError
from services.audit.models import DecisionRecord
from services.gateway.errors import NotFound
from services.gateway.runtime import Runtime
from services.keys.service import Principal
from services.pii import DetectionError, Findings
from services.routing.candidates import build_candidates
from services.routing.complexity import Complexity
from services.routing.schemas import ChatCompletionRequest, UsageEstimate
from services.routing.usage import estimate_usage

log = logging.getLogger("douane.routing")

AUTO_MODEL = "auto"


class UnknownModel(NotFound):
    """The requested model is neither ``auto`` nor a catalog id."""

    type = "model_not_found"


def policy_request(
    principal: Principal, request: ChatCompletionRequest, usage: UsageEstimate, complexity: Complexity | None = None
) -> dict:
    hints = request.routing
    document = {
        "tenant": principal.tenant,
        "key_id": principal.key_id,
        "purpose": hints.purpose,
        "residency": hints.residency,
        "latency_budget_ms": hints.latency_budget_ms,
        "risk_tolerance": hints.risk_tolerance,
        "model": request.model,
        # What the quality concern reads: the task's estimate, the weakest
        # tier the app accepts, what the model must be able to take, and
        # whether a cascade's answer could be checked.
        "min_tier": hints.min_tier,
        "needs": needed_capabilities(request),
        "estimated_tokens": usage.input_tokens + usage.output_tokens,
        "stream": request.stream,
        "cascade_check": hints.cascade_check,
    }
    if complexity is not None:
        document["complexity"] = complexity.to_policy_input()
    return document


def needed_capabilities(request: ChatCompletionRequest) -> list[str]:
    """What the model must take: tools, image input, a JSON response format."""
    extra = request.model_extra or {}
    needs = []
    response_format = extra.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema"):
        needs.append("json_mode")
    if extra.get("tools") or extra.get("functions"):
        needs.append("tools")
    if any(
        isinstance(m.content, list) and any(getattr(part, "type", None) == "image_url" for part in m.content)
        for m in request.messages
    ):
        needs.append("vision")
    return needs


def check_model(runtime: Runtime, request: ChatCompletionRequest) -> None:
    if request.model != AUTO_MODEL and runtime.catalog.get(request.model) is None:
        raise UnknownModel(
            f"model '{request.model}' is not in the catalog; use 'auto' or one of the ids from GET /v1/models",
            details={"model": request.model},
        )


def build_policy_input(
    runtime: Runtime, principal: Principal, request: ChatCompletionRequest, findings: Findings, usage: UsageEstimate
) -> dict:
    """The policy's input document (DESIGN.md): no prompt text, only findings."""
    complexity = runtime.complexity.classify(request, usage.output_tokens) if runtime.complexity else None
    return {
        "request": policy_request(principal, request, usage, complexity),
        "findings": findings.to_policy_input(),
        "candidates": build_candidates(runtime.catalog, usage, runtime.endpoint_health),
    }


def decide(runtime: Runtime, principal: Principal, request: ChatCompletionRequest, api: str) -> DecisionRecord:
    """Decide where ``request`` may go and commit the decision row through
    ``runtime.audit_writer`` before returning: when this returns, the row is
    durable and the request may be forwarded; when the write fails it raises
    AuditUnavailable (503) and nothing may be forwarded."""
    check_model(runtime, request)
    started = time.perf_counter()
    engine = runtime.policy  # one engine for the whole decision, even if a reload swaps it meanwhile
    usage = estimate_usage(request, runtime.settings.default_output_tokens)
    record = DecisionRecord(
        id=uuid.uuid4(),
        created_at=datetime.now(timezone.utc),
        tenant=principal.tenant,
        key_id=principal.key_id,
        api=api,
        purpose=request.routing.purpose,
        requested_model=request.model,
        status="error",
        allowed=False,
        gdpr_categories=[],
        entities={},
        plan=[],
        usage_estimate=usage.model_dump(),
        policy_engine=engine.name,
        policy_revision=engine.revision,
    )
    timing = _StageTimes(started)
    try:
        findings = runtime.detector.detect(request.texts())
    except DetectionError as exc:
        log.error("decision %s: detection failed: %s", record.id, exc)
        record.error = {"type": "detection_failed", "message": "personal-data detection failed; nothing was forwarded"}
        return _finish(runtime, record, timing.detected())
    timing.detected()

    record.entities = {name: finding.count for name, finding in sorted(findings.entities.items())}
    try:
        # Inside the try: the complexity estimate and the candidates are part
        # of deciding, and a failure there is an error row too, never a 500
        # without one.
        policy_input = build_policy_input(runtime, principal, request, findings, usage)
        record.policy_input = policy_input
        decision = engine.evaluate(policy_input)
    except PolicyError as exc:
        log.error("decision %s: policy evaluation failed: %s", record.id, exc)
        record.error = {"type": "policy_failed", "message": f"the policy could not decide; nothing was forwarded: {exc}"}
        return _finish(runtime, record, timing.decided())
    except Exception as exc:  # noqa: BLE001 - an engine bug is still a decision: refused and recorded
        log.error("decision %s: policy engine raised %s", record.id, type(exc).__name__)
        record.error = {
            "type": "policy_failed",
            "message": f"the policy engine failed ({type(exc).__name__}); nothing was forwarded",
        }
        return _finish(runtime, record, timing.decided())
    timing.decided()

    record.policy_output = decision.document
    record.sensitivity = decision.sensitivity
    record.gdpr_categories = list(decision.gdpr_categories)
    record.plan = list(decision.plan)
    record.allowed = bool(decision.plan)
    record.status = "routed" if decision.plan else "denied"
    if decision.plan:
        # validate_decision guarantees plan[0] is one of the candidates.
        chosen = next(c for c in policy_input["candidates"] if c["id"] == decision.plan[0])
        record.endpoint = chosen["id"]
        record.estimated_cost_usd = chosen["estimated_cost_usd"]
        record.endpoint_jurisdiction = chosen.get("jurisdiction")
        record.endpoint_region = chosen.get("region")
    return _finish(runtime, record, timing)


class _StageTimes:
    """Where a decision's time went, for the metrics: detection, then policy
    (candidates and evaluation), then audit (the decision row's group commit).
    A stage that did not run counts as 0."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.detection_ms = 0.0
        self.policy_ms = 0.0
        self._mark = started

    def _lap(self) -> float:
        now = time.perf_counter()
        elapsed, self._mark = (now - self._mark) * 1000, now
        return elapsed

    def detected(self) -> _StageTimes:
        self.detection_ms = self._lap()
        return self

    def decided(self) -> _StageTimes:
        self.policy_ms = self._lap()
        return self


def _finish(runtime: Runtime, record: DecisionRecord, timing: _StageTimes) -> DecisionRecord:
    record.decision_latency_ms = round((time.perf_counter() - timing.started) * 1000, 3)
    audit_started = time.perf_counter()
    runtime.audit_writer.write(record)  # committed (or AuditUnavailable raised) before we go on
    runtime.metrics.observe_decision(
        detection_ms=timing.detection_ms,
        policy_ms=timing.policy_ms,
        audit_ms=(time.perf_counter() - audit_started) * 1000,
        sensitivity=record.sensitivity or "unknown",
        status=record.status,
    )
    return record
