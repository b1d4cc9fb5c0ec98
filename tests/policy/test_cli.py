"""`douane policy test` and `douane policy eval` as a DPO runs them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from services.cli import app
from tests.policy.conftest import POLICY_DIR, make_input


def run(*args, policy_dir=POLICY_DIR):
    return CliRunner().invoke(app, ["policy", *args], env={"DOUANE_POLICY_DIR": str(policy_dir)})


def test_policy_test_reports_each_test_and_passes():
    result = run("test")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if ": PASS" in line]
    assert len(lines) >= 60 and result.output.rstrip().endswith(f"PASS: {len(lines)}/{len(lines)}")


def test_policy_test_fails_on_a_failing_test_and_on_no_tests(policy_copy):
    path = policy_copy / "douane" / "ranking" / "ranking_test.rego"
    path.write_text(path.read_text().replace('== ["cheap", "fast", "a", "b"]', '== ["b"]'))
    failed = run("test", "--run", "ranking", policy_dir=policy_copy)
    assert failed.exit_code == 1
    assert "data.douane.ranking_test.test_cheapest_first_then_latency_then_id: FAIL" in failed.output
    none = run("test", "--run", "no_such_test_anywhere", policy_dir=policy_copy)
    assert none.exit_code != 0 and "no test" in none.output.lower()


def test_policy_eval_prints_the_decision_and_why(tmp_path):
    policy_input = make_input({"HEALTH_TERM": {"count": 1, "max_score": 0.9}, "PERSON": {"count": 1, "max_score": 0.9}})
    path = tmp_path / "input.json"
    path.write_text(json.dumps(policy_input))
    result = run("eval", "--input", str(path))
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["decision"]["plan"] == ["self-hosted-eu", "mistral-large"]
    assert body["summary"].startswith("sensitivity special (personal, special:health); routed to self-hosted-eu")
    denied = {e["endpoint"]: e["reasons"] for e in body["endpoints"] if not e["eligible"]}
    assert denied["gpt-4o"][0].startswith("special-category data (special:health) may only go to EU-region")
    assert body["policy"]["revision"].startswith("sha256:")
