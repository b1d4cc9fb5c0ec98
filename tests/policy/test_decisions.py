"""Decisions of the real policy on realistic inputs through the embedded engine."""

from __future__ import annotations

import json

from policy import load_engine
from tests.policy.conftest import CATALOG, make_input

PATIENT = {"PERSON": {"count": 1, "max_score": 0.85}, "HEALTH_TERM": {"count": 2, "max_score": 0.85},
           "DATE_TIME": {"count": 1, "max_score": 0.95}}
ALL_IDS = {c["id"] for c in CATALOG}


def assert_partition(decision):
    assert set(decision.plan).isdisjoint(decision.denied)
    assert set(decision.plan) | set(decision.denied) == ALL_IDS
    assert all(reasons and all(r.strip() for r in reasons) for reasons in decision.denied.values())


def test_patient_data_goes_only_to_eu_or_self_hosted(engine):
    decision = engine.evaluate(make_input(PATIENT))
    assert decision.sensitivity == "special"
    assert decision.gdpr_categories == ["personal", "special:health"]
    assert decision.plan == ["self-hosted-eu", "mistral-large"]
    assert decision.denied["deepseek-chat"] == [
        "special-category data (special:health) may only go to EU-region or self-hosted endpoints; "
        "this endpoint runs in region cn"
    ]
    assert_partition(decision)


def test_clean_prompt_cheapest_within_latency_budget_first(engine):
    decision = engine.evaluate(make_input(latency_budget_ms=1200))
    assert decision.sensitivity == "none" and decision.gdpr_categories == []
    assert decision.plan == ["glm-4-plus", "mistral-large", "gpt-4o"]
    assert decision.denied["deepseek-chat"] == ["p95 latency 1500 ms exceeds the request's budget of 1200 ms"]
    assert decision.reasons == []
    assert_partition(decision)


def test_clean_prompt_is_cheapest_first_with_the_first_fallback_in_another_jurisdiction(engine):
    decision = engine.evaluate(make_input())
    by_cost = sorted(ALL_IDS, key=lambda i: next(c["estimated_cost_usd"] for c in CATALOG if c["id"] == i))
    jurisdiction = {c["id"]: c["jurisdiction"] for c in CATALOG}
    assert decision.plan[0] == by_cost[0] == "deepseek-chat"
    # Losing every CN provider at once must not leave the app with only CN fallbacks.
    assert decision.plan[1] == next(i for i in by_cost if jurisdiction[i] != "CN") == "self-hosted-eu"
    assert decision.plan[2:] == [i for i in by_cost if i not in decision.plan[:2]]
    assert decision.denied == {} and decision.obligations == {}


def test_low_risk_tolerance_excludes_cn(engine):
    decision = engine.evaluate(make_input(risk_tolerance="low"))
    for cn in ("deepseek-chat", "kimi-k2", "glm-4-plus"):
        assert cn not in decision.plan
        assert decision.denied[cn] == [
            "jurisdiction CN carries high risk, above what risk_tolerance low accepts (at most medium)"
        ]
    assert decision.plan[0] == "self-hosted-eu"
    assert_partition(decision)


def test_low_confidence_entity_does_not_count(engine):
    decision = engine.evaluate(make_input({"PERSON": {"count": 1, "max_score": 0.4}}))
    assert decision.sensitivity == "none"


def test_eu_residency_and_empty_plan_say_why(engine):
    decision = engine.evaluate(make_input(residency="eu", latency_budget_ms=500))
    assert decision.plan == []
    assert decision.denied["gpt-4o"] == [
        "p95 latency 900 ms exceeds the request's budget of 500 ms",
        "the request asked for EU residency; this endpoint runs in region us",
    ]
    assert any(r.startswith("no endpoint is eligible") for r in decision.reasons)
    assert_partition(decision)


def test_pinned_model_and_unknown_jurisdiction(engine):
    odd = dict(CATALOG[5], id="new-provider", jurisdiction="XX")
    decision = engine.evaluate(make_input(candidates=[*CATALOG, odd], risk_tolerance="low", model="new-provider"))
    assert decision.plan == []
    assert "the request asked for model new-provider" in decision.denied["mistral-large"]
    assert any("XX" in r and "not in the risk table" in r for r in decision.denied["new-provider"])


def test_document_is_the_raw_output(engine):
    decision = engine.evaluate(make_input(PATIENT))
    assert set(decision.document) == {"sensitivity", "gdpr_categories", "plan", "denied", "obligations", "reasons", "quality"}
    assert decision.document["plan"] == decision.plan
    assert decision.obligations == {}


def test_engine_identity(engine):
    assert engine.name == "embedded"
    assert engine.revision.startswith("sha256:") and len(engine.revision) == 7 + 64
    assert "douane/decision.rego" in engine.modules
    assert not any(m.endswith("_test.rego") for m in engine.modules)


def _edit_data(policy_dir, rel, **changes):
    path = policy_dir / "reference" / rel / "data.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return load_engine("embedded", policy_dir)


def test_a_blocked_jurisdiction_moves_traffic_and_names_the_block(policy_copy):
    engine = _edit_data(policy_copy, "blocklist", jurisdictions={"CN": {"reason": "sanctions", "since": "2026-11-28"}})
    decision = engine.evaluate(make_input())
    assert decision.plan[0] == "self-hosted-eu"
    for cn in ("deepseek-chat", "kimi-k2", "glm-4-plus"):
        assert decision.denied[cn] == ["jurisdiction CN is blocked since 2026-11-28: sanctions"]
    assert_partition(decision)


def test_a_blocked_provider_is_out_whatever_the_risk_tolerance(policy_copy):
    engine = _edit_data(policy_copy, "blocklist", providers={"openai": {"reason": "breach under investigation"}})
    decision = engine.evaluate(make_input(risk_tolerance="high"))
    assert decision.denied["gpt-4o"] == ["provider openai is blocked: breach under investigation"]
    assert "gpt-4o" not in decision.plan


def test_pseudonymised_email_may_go_to_the_us_for_the_opted_in_purpose_only(policy_copy):
    engine = _edit_data(policy_copy, "pseudonymisation", rules=[
        {"id": "support-email-us", "entities": ["EMAIL_ADDRESS"], "purposes": ["customer_support"], "jurisdictions": ["US"]}
    ])
    email = {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}}
    support = engine.evaluate(make_input(email, purpose="customer_support"))
    assert support.sensitivity == "personal"
    assert support.plan == ["self-hosted-eu", "mistral-large", "gpt-4o", "claude-opus-4"]
    assert support.obligations == {"gpt-4o": {"pseudonymise": ["EMAIL_ADDRESS"]},
                                   "claude-opus-4": {"pseudonymise": ["EMAIL_ADDRESS"]}}
    general = engine.evaluate(make_input(email, purpose="general"))
    assert general.plan == ["self-hosted-eu", "mistral-large"] and general.obligations == {}
    with_iban = engine.evaluate(make_input({**email, "IBAN_CODE": {"count": 1, "max_score": 1.0}}, purpose="customer_support"))
    assert with_iban.plan == ["self-hosted-eu", "mistral-large"] and with_iban.obligations == {}


def test_an_unregistered_purpose_goes_nowhere_and_says_why(policy_copy):
    engine = _edit_data(policy_copy, "purposes", tenants={"acme": ["customer_support"]})
    decision = engine.evaluate(make_input(purpose="marketing"))
    assert decision.plan == []
    assert decision.reasons[0] == "purpose marketing is not registered for tenant acme (registered: customer_support)"
    assert engine.evaluate(make_input(purpose="customer_support")).plan


def test_an_adequacy_decision_lets_personal_data_reach_a_covered_provider(policy_copy):
    path = policy_copy / "reference" / "geography" / "data.json"
    geography = json.loads(path.read_text())
    geography["adequacy"]["US"]["providers"] = ["openai"]
    path.write_text(json.dumps(geography))
    engine = load_engine("embedded", policy_copy)
    decision = engine.evaluate(make_input({"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}}))
    assert "gpt-4o" in decision.plan and "claude-opus-4" not in decision.plan
    assert decision.obligations == {}
    special = engine.evaluate(make_input(PATIENT))
    assert "gpt-4o" not in special.plan
