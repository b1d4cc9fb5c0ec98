"""Parity: the embedded engine (regopy in-process) and the OPA-server engine
(the Data API over HTTP) give identical decisions on a corpus of varied
inputs, with the shipped reference data and with a DPO's edits (blocks,
pseudonymisation opt-ins, tenant purposes, a DPF-certified provider)."""

from __future__ import annotations

import copy
import json
import random

import pytest

from policy import PolicyError, load_engine
from tests.opa_fake import running_opa
from tests.policy.conftest import CATALOG, POLICY_DIR

ENTITY_TYPES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "DE_TAX_ID", "PL_PESEL", "HEALTH_TERM",
                "RELIGION_TERM", "CRIMINAL_TERM", "SEXUAL_ORIENTATION_TERM", "DATE_TIME", "LOCATION",
                "NAMES_NOT_SCANNED", "SOME_NEW_IDENTIFIER"]
EXTRA_CANDIDATES = [
    {"id": "uk-hosted", "provider": "acme-uk", "jurisdiction": "GB", "region": "uk", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 800, "estimated_cost_usd": 0.002},
    {"id": "mystery", "provider": "nobody", "jurisdiction": "ZZ", "region": "zz", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 300, "estimated_cost_usd": 0.0001},
    {"id": "self-hosted-us", "provider": "vllm", "jurisdiction": "DE", "region": "us", "self_hosted": True,
     "healthy": True, "latency_p95_ms": 600, "estimated_cost_usd": 0.0009},
]


def corpus(seed: int, size: int) -> list[dict]:
    rng = random.Random(seed)
    inputs = []
    for _ in range(size):
        entities = {}
        for name in rng.sample(ENTITY_TYPES, rng.choice([0, 0, 1, 1, 2, 3, 4])):
            entities[name] = {"count": rng.choice([0, 1, 1, 2, 5]), "max_score": rng.choice([0.2, 0.39, 0.4, 0.5, 0.85, 1.0])}
        candidates = copy.deepcopy(rng.sample(CATALOG + EXTRA_CANDIDATES, rng.randint(0, len(CATALOG) + 3)))
        for c in candidates:
            if rng.random() < 0.1:
                c["healthy"] = False
            if rng.random() < 0.05:
                c["latency_p95_ms"] = None
            c["estimated_cost_usd"] = round(c["estimated_cost_usd"] * rng.uniform(0.5, 2.0), 8)
        ids = [c["id"] for c in candidates]
        request = {
            "tenant": rng.choice(["acme", "hospital", "bank"]),
            "key_id": "k_" + format(rng.getrandbits(64), "016x"),
            "purpose": rng.choice(["general", "customer_support", "coding", "marketing", "patient_letters"]),
            "residency": rng.choice(["any", "any", "eu"]),
            "latency_budget_ms": rng.choice([None, None, 500, 1000, 1200, 5000]),
            "risk_tolerance": rng.choice(["low", "medium", "medium", "high"]),
            "model": rng.choice(["auto"] * 5 + ids[:2] + ["not-offered"]),
        }
        inputs.append({"request": request, "findings": {"languages": rng.sample(["en", "de", "fr", "pl"], 1),
                                                        "entities": entities}, "candidates": candidates})
    return inputs


def outcome(engine, policy_input):
    try:
        return engine.evaluate(policy_input)
    except PolicyError as exc:
        return type(exc).__name__


def edited_bundle(target):
    def edit(rel, **changes):
        path = target / "reference" / rel / "data.json"
        data = json.loads(path.read_text())
        for key, value in changes.items():
            if isinstance(data.get(key), dict) and isinstance(value, dict):
                data[key].update(value)
            else:
                data[key] = value
        path.write_text(json.dumps(data))

    edit("blocklist", jurisdictions={"GB": {"reason": "sanctions", "since": "2026-11-28"}},
         providers={"anthropic": {"reason": "dispute"}}, endpoints={"glm-4-plus": {}})
    edit("pseudonymisation", rules=[
        {"id": "support-email-us", "entities": ["EMAIL_ADDRESS", "PHONE_NUMBER"], "purposes": ["customer_support"],
         "jurisdictions": ["US", "CN"]}])
    edit("purposes", tenants={"hospital": ["patient_letters", "general"]})
    edit("geography", adequacy={"US": {"adopted": "2023-07-10", "regions": ["us"], "providers": ["openai"]}})
    return target


@pytest.mark.parametrize(("bundle", "seed", "size"), [("shipped", 2026, 220), ("edited", 1128, 80)])
def test_both_engines_decide_identically(bundle, seed, size, policy_copy):
    policy_dir = POLICY_DIR if bundle == "shipped" else edited_bundle(policy_copy)
    embedded = load_engine("embedded", policy_dir)
    inputs = corpus(seed, size)
    if bundle == "edited":  # make sure the opt-in path is exercised, not left to chance
        for n, entities in enumerate(({"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}},
                                      {"PHONE_NUMBER": {"count": 2, "max_score": 0.9}, "EMAIL_ADDRESS": {"count": 1, "max_score": 1.0}})):
            inputs[n]["findings"]["entities"] = entities
            inputs[n]["request"].update(tenant="acme", purpose="customer_support", model="auto", residency="any",
                                        latency_budget_ms=None, risk_tolerance="high")
            inputs[n]["candidates"] = copy.deepcopy(CATALOG)
    with running_opa(policy_dir) as opa:
        remote = load_engine("opa", policy_dir, opa_url=opa.url)
        assert remote.revision == embedded.revision
        pairs = [(outcome(embedded, i), outcome(remote, i)) for i in inputs]
        assert len(opa.requests) == size
    mismatches = [n for n, (a, b) in enumerate(pairs) if a != b]
    assert mismatches == [], f"{len(mismatches)} of {size} inputs decided differently, e.g. input #{mismatches[:5]}"
    decided = [a for a, _ in pairs if not isinstance(a, str)]
    # The corpus is varied, not 300 copies of one case: every sensitivity, empty and long plans, obligations.
    assert {d.sensitivity for d in decided} == {"none", "personal", "special"}
    assert any(d.plan == [] for d in decided) and any(len(d.plan) >= 4 for d in decided)
    if bundle == "edited":
        assert any(d.obligations for d in decided)
        assert any("is blocked" in r for d in decided for rs in d.denied.values() for r in rs)
