"""Every test_* rule in policies/ runs through run_policy_tests, one pytest case each."""

from __future__ import annotations

import pytest

from policy import run_policy_tests
from policy.bundle import load_bundle
from policy.testing import discover_tests

from tests.policy.conftest import POLICY_DIR

REGO_TESTS = discover_tests(load_bundle(POLICY_DIR))


@pytest.fixture(scope="module")
def results():
    # One child run for the whole suite (compiling is the slow part), then
    # each pytest case reports the one rule it is named after.
    return {r.name: r for r in run_policy_tests(POLICY_DIR)}


def test_suite_is_not_empty():
    # At least 60 across the concerns (issue 4); each concern has its own _test.rego.
    assert len(REGO_TESTS) >= 60
    concerns = {name.split(".")[2] for name in REGO_TESTS if name.startswith("data.douane.")}
    assert {"residency_test", "risk_test", "blocklist_test", "purpose_test", "pseudonymisation_test", "latency_test",
            "ranking_test", "sensitivity_test", "availability_test"} <= concerns


@pytest.mark.parametrize("name", REGO_TESTS)
def test_rego(results, name):
    result = results[name]
    assert result.passed, f"{name} failed: {result.error or 'test body did not hold'}"


def test_run_filter_selects_by_regex():
    selected = run_policy_tests(POLICY_DIR, run=r"ranking_test\.test_empty$")
    assert [r.name for r in selected] == ["data.douane.ranking_test.test_empty"]
    assert selected[0].passed and selected[0].duration_ms >= 0
