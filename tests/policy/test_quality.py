"""Quality tiers, capabilities and cascades in whole decisions, through the
embedded engine and the shipped policy (policies/douane/quality)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policy.embedded import EmbeddedEngine

ROOT = Path(__file__).resolve().parents[2]
NEEDS_FRONTIER = "the task needs a frontier model (complexity complex); this endpoint's model is standard"

# Three tiers, cheapest first: small (EU, self-hosted), standard (CN and EU), frontier (US).
CANDIDATES = [
    {"id": "small-eu", "provider": "self", "jurisdiction": "DE", "region": "eu", "self_hosted": True, "healthy": True,
     "latency_p95_ms": 900, "estimated_cost_usd": 0.0001, "tier": "small", "capabilities": ["json_mode"],
     "context_window": 32768},
    {"id": "standard-cn", "provider": "deepseek", "jurisdiction": "CN", "region": "cn", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 1500, "estimated_cost_usd": 0.0002, "tier": "standard",
     "capabilities": ["json_mode", "tools"], "context_window": 128000},
    {"id": "standard-eu", "provider": "mistral", "jurisdiction": "FR", "region": "eu", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 900, "estimated_cost_usd": 0.001, "tier": "standard",
     "capabilities": ["json_mode", "tools"], "context_window": 128000},
    {"id": "frontier-us", "provider": "anthropic", "jurisdiction": "US", "region": "us", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 2500, "estimated_cost_usd": 0.01, "tier": "frontier",
     "capabilities": ["json_mode", "tools", "vision"], "context_window": 200000},
]
CLEAN = {"languages": ["en"], "entities": {}}
SPECIAL = {"languages": ["en"], "entities": {"PERSON": {"count": 1, "max_score": 0.85},
                                             "HEALTH_TERM": {"count": 1, "max_score": 0.85}}}


def complexity(level: str) -> dict:
    return {"complexity": {"level": level, "score": {"simple": 0, "standard": 3, "complex": 6}[level], "signals": []}}


def policy_input(findings: dict = CLEAN, **request) -> dict:
    base = {"tenant": "acme", "key_id": "k_1", "purpose": "general", "residency": "any", "latency_budget_ms": None,
            "risk_tolerance": "high", "model": "auto", "stream": False}
    return {"request": {**base, **request}, "findings": findings, "candidates": CANDIDATES}


@pytest.fixture(scope="module")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine.from_dir(ROOT / "policies", slots=1)


def engine_with(tmp_path: Path, **quality) -> EmbeddedEngine:
    """The shipped policy with some of reference/quality's data replaced."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    data_file = policies / "reference" / "quality" / "data.json"
    data = json.loads(data_file.read_text())
    data.update(quality)
    data_file.write_text(json.dumps(data))
    return EmbeddedEngine.from_dir(policies, slots=1)


def test_a_simple_task_goes_to_the_cheapest_endpoint_of_any_tier(engine):
    decision = engine.evaluate(policy_input(**complexity("simple")))
    assert decision.plan[0] == "small-eu"
    assert decision.document["quality"] == {"complexity": "simple", "needed_tier": "small", "tier": "small"}


def test_a_complex_task_goes_only_to_the_frontier_and_says_why(engine):
    decision = engine.evaluate(policy_input(**complexity("complex")))
    assert decision.plan == ["frontier-us"]
    assert decision.denied["standard-cn"] == [NEEDS_FRONTIER]


def test_a_standard_task_never_falls_back_below_standard(engine):
    decision = engine.evaluate(policy_input(**complexity("standard")))
    assert decision.plan[0] == "standard-cn"
    assert "small-eu" not in decision.plan


def test_the_request_can_ask_for_a_higher_tier(engine):
    assert engine.evaluate(policy_input(**complexity("simple"), min_tier="frontier")).plan == ["frontier-us"]


def test_tiers_never_make_a_non_compliant_endpoint_eligible(engine):
    decision = engine.evaluate(policy_input(SPECIAL, **complexity("complex")))
    assert not {"frontier-us", "standard-cn"} & set(decision.plan)


def test_when_no_compliant_endpoint_has_the_tier_the_best_one_serves_and_the_decision_says_so(engine):
    decision = engine.evaluate(policy_input(SPECIAL, **complexity("complex")))
    assert decision.plan == ["standard-eu"]
    assert decision.document["quality"] == {"complexity": "complex", "needed_tier": "frontier", "tier": "standard"}
    assert "no eligible endpoint offers the frontier tier this task needs; served on the best eligible tier, standard" in decision.reasons


def test_a_dpo_can_refuse_instead_of_serving_on_a_lower_tier(tmp_path):
    engine = engine_with(tmp_path, when_unavailable="deny")
    assert engine.evaluate(policy_input(SPECIAL, **complexity("complex"))).plan == []


def test_a_model_without_tools_is_out_when_the_request_uses_tools(engine):
    decision = engine.evaluate(policy_input(**complexity("simple"), needs=["tools"]))
    assert decision.denied["small-eu"] == ["the request needs tools; this endpoint's model does not offer it"]
    assert decision.plan[0] == "standard-cn"


def test_a_request_longer_than_a_models_context_is_not_sent_there(engine):
    decision = engine.evaluate(policy_input(**complexity("simple"), estimated_tokens=50_000))
    assert "small-eu" not in decision.plan
    assert decision.denied["small-eu"] == [
        "the request needs about 50000 tokens of context; this endpoint's model takes 32768"
    ]


def test_cascade_tries_the_cheapest_endpoint_one_tier_below_first(tmp_path):
    engine = engine_with(tmp_path, cascade={"tenants": ["acme"], "checks": ["json", "not_refusal", "not_empty"]})
    decision = engine.evaluate(policy_input(**complexity("complex"), cascade_check="json"))
    assert decision.plan == ["standard-cn", "frontier-us"]
    assert decision.document["quality"]["cascade"] == {"endpoint": "standard-cn", "check": "json"}
    assert decision.denied["standard-eu"] == [NEEDS_FRONTIER]


@pytest.mark.parametrize(
    ("tenants", "request_fields"),
    [
        ([], {"cascade_check": "json"}),  # the tenant has not enabled it
        (["acme"], {"cascade_check": "json", "stream": True}),  # a stream cannot be checked before it is sent
        (["acme"], {"cascade_check": "looks_fine"}),  # not a check the gateway knows
        (["acme"], {}),  # the request names no check
    ],
)
def test_no_cascade_unless_enabled_checkable_and_asked(tmp_path, tenants, request_fields):
    engine = engine_with(tmp_path, cascade={"tenants": tenants, "checks": ["json", "not_refusal", "not_empty"]})
    decision = engine.evaluate(policy_input(**complexity("complex"), **request_fields))
    assert decision.plan == ["frontier-us"]
    assert "cascade" not in decision.document["quality"]


def test_an_input_without_an_estimate_gets_the_decision_it_got_before_tiers(engine):
    decision = engine.evaluate(policy_input())
    assert decision.plan[0] == "small-eu" and len(decision.plan) == 4


@pytest.mark.parametrize("level", ["simple", "standard", "complex"])
@pytest.mark.parametrize("findings", [CLEAN, SPECIAL], ids=["clean", "special"])
def test_compliance_denials_are_the_same_with_and_without_tiers(engine, level, findings):
    def compliance(decision) -> dict:
        return {
            endpoint: kept
            for endpoint, reasons in decision.denied.items()
            if (kept := [r for r in reasons if not r.startswith("the task needs a ")])
        }

    tiered = engine.evaluate(policy_input(findings, **complexity(level)))
    untiered = engine.evaluate(policy_input(findings))
    assert compliance(tiered) == compliance(untiered)
    assert set(tiered.plan) <= set(untiered.plan)


def test_no_cascade_without_an_endpoint_of_the_needed_tier_to_escalate_to(tmp_path):
    # Refusing rather than serving below the tier: the special-category prompt
    # leaves no frontier endpoint, so there is nothing to escalate to and the
    # request is denied (not a malformed one-entry cascade).
    engine = engine_with(
        tmp_path, when_unavailable="deny", cascade={"tenants": ["acme"], "checks": ["json", "not_refusal", "not_empty"]}
    )
    decision = engine.evaluate(policy_input(SPECIAL, **complexity("complex"), cascade_check="json"))
    assert decision.plan == []
    assert "cascade" not in decision.document["quality"]
