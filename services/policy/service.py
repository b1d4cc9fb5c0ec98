"""Dry runs of the running policy. Nothing here writes to the audit log or
forwards anything."""

from __future__ import annotations

from policy import PolicyError
from policy.explain import explain, summary
from policy.validation import candidate_ids
from services.gateway.errors import BadRequest, ServiceUnavailable
from services.gateway.runtime import Runtime
from services.keys.service import Principal
from services.pii import DetectionError
from services.policy.schemas import EndpointExplanation, EvaluateView
from services.routing.schemas import ChatCompletionRequest
from services.routing.service import build_policy_input, check_model
from services.routing.usage import estimate_usage


class PolicyFailed(ServiceUnavailable):
    type = "policy_failed"


class DetectionFailed(ServiceUnavailable):
    type = "detection_failed"


def input_for_request(runtime: Runtime, principal: Principal, request: ChatCompletionRequest) -> dict:
    """The policy input the gateway would build for this request (as decide() does)."""
    check_model(runtime, request)
    usage = estimate_usage(request, runtime.settings.default_output_tokens)
    try:
        findings = runtime.detector.detect(request.texts())
    except DetectionError as exc:
        raise DetectionFailed(str(exc)) from None
    return build_policy_input(runtime, principal, request, findings, usage)


def evaluate(runtime: Runtime, policy_input: dict) -> EvaluateView:
    engine = runtime.policy
    missing = [k for k in ("request", "findings", "candidates") if not isinstance(policy_input.get(k), (dict, list))]
    if missing:
        raise BadRequest(f"the policy input lacks {', '.join(missing)}", details={"missing": missing})
    try:
        candidate_ids(policy_input)
    except PolicyError as exc:
        raise BadRequest(str(exc)) from None
    try:
        decision = engine.evaluate(policy_input)
    except PolicyError as exc:
        raise PolicyFailed(f"the policy could not decide: {exc}") from None
    return EvaluateView(
        engine=engine.name,
        revision=engine.revision,
        input=policy_input,
        decision=decision.document,
        summary=summary(decision, len(policy_input["candidates"])),
        endpoints=[EndpointExplanation(**row) for row in explain(decision, policy_input["candidates"])],
    )
