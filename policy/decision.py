"""The typed view of data.douane.decision that the gateway acts on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyDecision:
    sensitivity: str
    gdpr_categories: list[str]
    plan: list[str]
    denied: dict[str, list[str]]
    obligations: dict[str, dict]
    reasons: list[str]
    # The raw output exactly as the engine returned it, kept for the audit log
    # so a decision can be replayed and compared byte for byte.
    document: dict


@dataclass(frozen=True)
class PolicyTestResult:
    name: str  # e.g. "data.douane_test.test_patient_data_stays_in_eu"
    passed: bool
    error: str | None
    duration_ms: float
