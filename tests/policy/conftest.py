from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from policy import load_engine

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"

# The app's catalog; costs are per-request estimates for a ~800-token prompt.
CATALOG = [
    {"id": "deepseek-chat", "provider": "deepseek", "jurisdiction": "CN", "region": "cn", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 1500, "estimated_cost_usd": 0.0005},
    {"id": "kimi-k2", "provider": "moonshot", "jurisdiction": "CN", "region": "cn", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 1300, "estimated_cost_usd": 0.0007},
    {"id": "glm-4-plus", "provider": "zhipu", "jurisdiction": "CN", "region": "cn", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 1100, "estimated_cost_usd": 0.0009},
    {"id": "gpt-4o", "provider": "openai", "jurisdiction": "US", "region": "us", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 900, "estimated_cost_usd": 0.0046},
    {"id": "claude-opus-4", "provider": "anthropic", "jurisdiction": "US", "region": "us", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 2500, "estimated_cost_usd": 0.0312},
    {"id": "mistral-large", "provider": "mistral", "jurisdiction": "FR", "region": "eu", "self_hosted": False,
     "healthy": True, "latency_p95_ms": 1000, "estimated_cost_usd": 0.0032},
    {"id": "self-hosted-eu", "provider": "vllm", "jurisdiction": "DE", "region": "eu", "self_hosted": True,
     "healthy": True, "latency_p95_ms": 1400, "estimated_cost_usd": 0.0012},
]


def make_input(entities: dict | None = None, candidates: list[dict] | None = None, **request) -> dict:
    req = {"tenant": "acme", "key_id": "k_1", "purpose": "general", "residency": "any",
           "latency_budget_ms": None, "risk_tolerance": "medium", "model": "auto"}
    req.update(request)
    return {
        "request": req,
        "findings": {"languages": ["en"], "entities": entities or {}},
        "candidates": copy.deepcopy(CATALOG if candidates is None else candidates),
    }


@pytest.fixture(scope="session")
def engine():
    return load_engine("embedded", POLICY_DIR)


@pytest.fixture
def policy_copy(tmp_path):
    """A copy of the shipped bundle a test may break."""
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target)
    return target
