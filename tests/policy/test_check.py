"""`douane policy check` refuses a bundle that would not serve, and says why."""

from __future__ import annotations

import os
import subprocess
import sys


from policy.check import check_policy
from tests.policy.conftest import CATALOG, POLICY_DIR


def test_the_shipped_policy_passes():
    assert check_policy(POLICY_DIR, CATALOG) == []


def test_a_builtin_regopy_lacks_is_refused_with_its_place(policy_copy):
    (policy_copy / "douane" / "fetch.rego").write_text(
        "package douane.fetch\n\nimport rego.v1\n\n# http.send( in a comment is fine\n"
        'answer := http.send({"method": "GET", "url": "https://example.org"})\n'
    )
    problems = check_policy(policy_copy, CATALOG)
    assert [(p.where, "http.send" in p.message) for p in problems] == [("douane/fetch.rego:6", True)]


def test_a_compile_error_is_refused(policy_copy):
    (policy_copy / "douane" / "broken.rego").write_text("package douane.broken\n\nimport rego.v1\n\nx := {\n")
    [problem] = check_policy(policy_copy, CATALOG)
    assert problem.where == "compile" and "broken.rego" in problem.message


def test_a_malformed_decision_on_a_fixture_is_refused(policy_copy):
    # The ranking now invents an endpoint: every fixture must catch it.
    (policy_copy / "douane" / "ranking" / "ranking.rego").write_text(
        "package douane.ranking\n\nimport rego.v1\n\nplan(candidates) := [\"nowhere\"]\n"
    )
    for test_file in (policy_copy / "douane" / "ranking").glob("*_test.rego"):
        test_file.unlink()
    problems = check_policy(policy_copy, CATALOG)
    assert problems and all(p.where.startswith("fixture") and "nowhere" in p.message for p in problems)


def test_cli_exit_codes(policy_copy):
    env = {**os.environ, "DOUANE_POLICY_DIR": str(policy_copy)}
    command = [sys.executable, "-m", "services.cli", "policy", "check"]
    assert subprocess.run(command, env=env, capture_output=True, timeout=120).returncode == 0
    (policy_copy / "douane" / "broken.rego").write_text("package douane.broken\n\nx := {\n")
    failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "compile" in failed.stdout and "must not go live" in failed.stderr
