"""The OPA-server engine against an OPA-compatible Data API on loopback.

No OPA binary is installed here, so tests/opa_fake.py speaks OPA's REST Data
API (POST /v1/data/<path> {"input": …} → {"result": …}, no "result" when
undefined) and evaluates the same policy files with regopy. It checks the
adapter's half of the contract: the same decisions as the embedded engine,
and every failure of the server turned into a PolicyError (fail closed).
"""

from __future__ import annotations

import pytest

from policy import PolicyError, PolicyOutputError, load_engine
from tests.opa_fake import running_opa
from tests.policy.conftest import POLICY_DIR, make_input

INPUTS = [
    make_input(),
    make_input({"PERSON": {"count": 1, "max_score": 0.85}}),
    make_input({"HEALTH_TERM": {"count": 2, "max_score": 0.85}, "PERSON": {"count": 1, "max_score": 0.9}}),
    make_input(risk_tolerance="low"),
    make_input(residency="eu", latency_budget_ms=1200),
    make_input(model="gpt-4o"),
]


@pytest.fixture
def opa():
    with running_opa(POLICY_DIR) as server:
        yield server


@pytest.mark.parametrize("policy_input", INPUTS)
def test_same_decisions_as_the_embedded_engine(opa, engine, policy_input):
    remote = load_engine("opa", POLICY_DIR, opa_url=opa.url)
    assert remote.name == "opa" and remote.revision == engine.revision
    assert remote.evaluate(policy_input) == engine.evaluate(policy_input)
    assert opa.requests[-1] == ("/douane/decision", {"input": policy_input})


@pytest.mark.parametrize(
    "mode, error, match",
    [
        ("error", PolicyError, "answered HTTP 500"),
        ("undefined", PolicyOutputError, "undefined"),
        ("garbage", PolicyError, "could not be queried"),
        ("slow", PolicyError, "could not be queried"),
        ("wrong-plan", PolicyOutputError, "somewhere-else"),
    ],
)
def test_every_server_failure_fails_closed(opa, mode, error, match):
    opa.mode = mode
    remote = load_engine("opa", POLICY_DIR, opa_url=opa.url)
    with pytest.raises(error, match=match):
        remote.evaluate(make_input())


def test_server_down_fails_closed(opa):
    url = opa.url
    opa.shutdown()
    opa.server_close()
    with pytest.raises(PolicyError, match="could not be queried"):
        load_engine("opa", POLICY_DIR, opa_url=url).evaluate(make_input())
