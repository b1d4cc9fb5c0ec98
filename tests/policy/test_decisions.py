"""Decisions of the real policy on realistic inputs through the embedded engine."""

from __future__ import annotations

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


def test_clean_prompt_without_budget_is_cheapest_first(engine):
    decision = engine.evaluate(make_input())
    assert decision.plan == sorted(ALL_IDS, key=lambda i: next(c["estimated_cost_usd"] for c in CATALOG if c["id"] == i))
    assert decision.denied == {}


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
    assert set(decision.document) == {"sensitivity", "gdpr_categories", "plan", "denied", "obligations", "reasons"}
    assert decision.document["plan"] == decision.plan
    assert decision.obligations == {}


def test_engine_identity(engine):
    assert engine.name == "embedded"
    assert engine.revision.startswith("sha256:") and len(engine.revision) == 7 + 64
    assert "douane/decision.rego" in engine.modules
    assert not any(m.endswith("_test.rego") for m in engine.modules)
