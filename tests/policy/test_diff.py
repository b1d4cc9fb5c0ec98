"""`douane policy diff`: replay the recorded decisions against a candidate
policy and report what would route elsewhere, without forwarding anything."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.keys.models import Role
from tests.policy.conftest import POLICY_DIR

CLEAN = ["What is the capital of Portugal?", "Translate 'good morning' into Polish.", "Explain a B-tree in two lines."]
PATIENT = "My patient Anna Schmidt was diagnosed with diabetes last week; please draft a letter."


@pytest.fixture
def recorded_tenant(gateway, make_key, tenant):
    key = make_key(Role.app, tenant)
    with gateway.client(key) as c:
        for text in [*CLEAN, PATIENT]:
            r = c.post("/v1/route", json={"model": "auto", "messages": [{"role": "user", "content": text}]})
            assert r.status_code == 200, r.text
    return tenant


def diff(database_url, *args):
    result = CliRunner().invoke(app, ["policy", "diff", *args], env={"DOUANE_DATABASE_URL": database_url})
    return result


def test_blocking_cn_would_move_the_clean_requests_and_not_the_patient_letter(recorded_tenant, database_url, policy_copy):
    path = policy_copy / "reference" / "blocklist" / "data.json"
    data = json.loads(path.read_text())
    data["jurisdictions"] = {"CN": {"reason": "sanctions"}}
    path.write_text(json.dumps(data))

    result = diff(database_url, "--candidate", str(policy_copy), "--since", "1d", "--tenant", recorded_tenant, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["replayed"] == 4 and report["changed"] == 3 and report["unchanged"] == 1 and report["failed"] == 0
    # "Explain a B-tree" is estimated a standard task, so it needs a standard
    # model: mistral-large, not the small self-hosted one (issue 9's tiers).
    assert [(t["from"], t["to"], t["count"]) for t in report["transitions"]] == [
        ("deepseek-chat", "self-hosted-eu", 2),
        ("deepseek-chat", "mistral-large", 1),
    ]
    assert report["categories"] == {"none": 3}

    text = diff(database_url, "--candidate", str(policy_copy), "--since", "1d", "--tenant", recorded_tenant)
    assert "3 would route elsewhere, 1 unchanged" in text.output
    assert "deepseek-chat" in text.output and "self-hosted-eu" in text.output


def test_the_running_policy_as_candidate_changes_nothing(recorded_tenant, database_url):
    result = diff(database_url, "--candidate", str(POLICY_DIR), "--since", "1d", "--tenant", recorded_tenant, "--json")
    report = json.loads(result.output)
    assert report["replayed"] == 4 and report["changed"] == 0 and report["fallbacks_changed"] == 0


def test_decisions_before_since_are_not_replayed(recorded_tenant, database_url):
    result = diff(database_url, "--candidate", str(POLICY_DIR), "--since", "2999-01-01", "--tenant", recorded_tenant, "--json")
    assert json.loads(result.output)["replayed"] == 0


def test_a_candidate_that_does_not_compile_and_a_bad_since_are_clear_errors(database_url, policy_copy):
    (policy_copy / "douane" / "decision.rego").write_text("package douane\n\ndecision := {\n")
    broken = diff(database_url, "--candidate", str(policy_copy))
    assert broken.exit_code == 1 and "candidate policy" in broken.output and "failed to compile" in broken.output
    bad = diff(database_url, "--candidate", str(POLICY_DIR), "--since", "last tuesday")
    assert bad.exit_code == 2 and "expected e.g. 30d" in bad.output
