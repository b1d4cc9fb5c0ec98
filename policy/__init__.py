"""douane's policy engine: Rego decides where a request may go, Python checks the answer.

Any PolicyError (including PolicyOutputError) means no decision: callers fail
closed and forward nothing.
"""

from policy.decision import PolicyDecision, PolicyTestResult
from policy.engine import PolicyEngine, load_engine
from policy.errors import PolicyError, PolicyOutputError
from policy.testing import run_policy_tests

__all__ = [
    "PolicyDecision",
    "PolicyEngine",
    "PolicyError",
    "PolicyOutputError",
    "PolicyTestResult",
    "load_engine",
    "run_policy_tests",
]
