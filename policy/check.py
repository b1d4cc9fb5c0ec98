"""`douane policy check`: would this bundle serve, before it goes live?

Three questions, each answered with problems a DPO can act on:
- does it use a builtin the embedded engine (regopy) lacks, which would make
  the embedded and OPA engines disagree;
- does it compile;
- does it return a well-formed decision on representative inputs (no
  findings, personal data, special-category data, criminal data; EU
  residency, low risk tolerance, a latency budget, a pinned model).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from policy.bundle import load_bundle
from policy.embedded import EmbeddedEngine
from policy.errors import PolicyError

# regopy evaluates Rego v1 without these; OPA has them. A policy using one
# would decide differently under the two engines, so it is refused.
UNSUPPORTED_BUILTINS = re.compile(r"\b(http\.send|net\.[a-z_]+|json\.match_schema|rego\.metadata\.[a-z_]+)\s*\(")

FINDINGS = {
    "no findings": {},
    "personal": {"PERSON": {"count": 1, "max_score": 0.85}, "EMAIL_ADDRESS": {"count": 1, "max_score": 0.95}},
    "special": {"PERSON": {"count": 1, "max_score": 0.85}, "HEALTH_TERM": {"count": 1, "max_score": 0.85}},
    "criminal": {"CRIMINAL_TERM": {"count": 1, "max_score": 0.85}},
    "unclassified type": {"SOME_NEW_IDENTIFIER": {"count": 1, "max_score": 0.9}},
}
REQUESTS = {
    "defaults": {},
    "EU residency": {"residency": "eu"},
    "low risk tolerance": {"risk_tolerance": "low"},
    "latency budget 1000 ms": {"latency_budget_ms": 1000},
}


@dataclass(frozen=True)
class CheckProblem:
    where: str  # a file:line, "compile", or the fixture that failed
    message: str


def unsupported_builtins(policy_dir: Path) -> list[CheckProblem]:
    bundle = load_bundle(policy_dir)
    problems = []
    for rel, source in sorted(bundle.all_modules().items()):
        for number, line in enumerate(source.splitlines(), start=1):
            code = line.split("#", 1)[0]
            for match in UNSUPPORTED_BUILTINS.finditer(code):
                problems.append(
                    CheckProblem(f"{rel}:{number}", f"{match.group(1)} is not available in the embedded engine (regopy)")
                )
    return problems


def fixture_inputs(candidates: list[dict]) -> dict[str, dict]:
    base_request = {
        "tenant": "policy-check", "key_id": "k_check", "purpose": "general", "residency": "any",
        "latency_budget_ms": None, "risk_tolerance": "medium", "model": "auto",
    }
    inputs = {}
    for finding_name, entities in FINDINGS.items():
        for request_name, hints in REQUESTS.items():
            inputs[f"{finding_name}, {request_name}"] = {
                "request": {**base_request, **hints},
                "findings": {"languages": ["en"], "entities": copy.deepcopy(entities)},
                "candidates": copy.deepcopy(candidates),
            }
    if candidates:
        pinned = {**base_request, "model": candidates[0]["id"]}
        inputs[f"model pinned to {candidates[0]['id']}"] = {
            "request": pinned, "findings": {"languages": ["en"], "entities": {}}, "candidates": copy.deepcopy(candidates),
        }
    return inputs


def check_policy(policy_dir: Path, candidates: list[dict]) -> list[CheckProblem]:
    """Every problem found; an empty list means the bundle may serve."""
    try:
        problems = unsupported_builtins(policy_dir)
        # One slot: the fixtures run one after another, and a reload checks
        # before it compiles the engine it installs.
        engine = EmbeddedEngine.from_dir(policy_dir, slots=1)
    except PolicyError as exc:
        return [CheckProblem("compile", str(exc))]
    for name, policy_input in fixture_inputs(candidates).items():
        try:
            engine.evaluate(policy_input)
        except PolicyError as exc:
            problems.append(CheckProblem(f"fixture '{name}'", str(exc)))
    return problems
