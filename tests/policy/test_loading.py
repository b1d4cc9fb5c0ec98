"""Loading, revisions, compile errors, crash isolation and the engine factory."""

from __future__ import annotations


import pytest

from policy import PolicyError, load_engine, run_policy_tests
from policy.bundle import load_bundle

from tests.policy.conftest import POLICY_DIR


def test_data_is_mounted_at_its_directory():
    bundle = load_bundle(POLICY_DIR)
    assert bundle.data["reference"]["risk"]["jurisdictions"]["CN"] == "high"
    assert "eu" in bundle.data["reference"]["geography"]["eu_regions"]
    for name in ("gdpr", "geography", "risk"):
        assert bundle.data["reference"][name]["updated"] == "2026-11-28"
        assert bundle.data["reference"][name]["source"]


def test_revision_covers_tests_and_data(policy_copy):
    before = load_bundle(policy_copy).revision
    assert before == load_bundle(POLICY_DIR).revision  # content, not location
    test_file = policy_copy / "douane" / "ranking" / "ranking_test.rego"
    test_file.write_text(test_file.read_text() + "\n")
    after_test = load_bundle(policy_copy).revision
    data_file = policy_copy / "reference" / "risk" / "data.json"
    data_file.write_text(data_file.read_text().replace('"US": "medium"', '"US": "high"'))
    after_data = load_bundle(policy_copy).revision
    assert len({before, after_test, after_data}) == 3


def test_compile_error_names_the_file(policy_copy):
    broken = policy_copy / "douane" / "latency" / "latency.rego"
    broken.write_text(broken.read_text() + "\nbroken_rule if { input.x ==  }\n")
    with pytest.raises(PolicyError, match="douane/latency/latency.rego"):
        load_engine("embedded", policy_copy)


def test_bad_data_file_names_the_file(policy_copy):
    (policy_copy / "reference" / "risk" / "data.json").write_text("{not json")
    with pytest.raises(PolicyError, match="reference/risk/data.json"):
        load_engine("embedded", policy_copy)


def test_crashing_rego_test_is_a_failure_not_a_dead_runner(policy_copy):
    # `with input as {...}` over a rule that calls a builtin crashes
    # regopy 1.5.2 while compiling. The runner survives and reports failures;
    # since regopy compiles the whole bundle for any query, no test can pass.
    (policy_copy / "crash").mkdir()
    (policy_copy / "crash" / "crash_test.rego").write_text(
        "package crash_test\n\nimport rego.v1\n\n"
        "n := count(input.cs)\n\n"
        "test_a_crashes if {\n\tn == 2 with input as {\"cs\": [1, 2]}\n}\n\n"
        "test_b_fine if {\n\tcount([1]) == 1\n}\n"
    )
    results = {r.name: r for r in run_policy_tests(policy_copy, run=r"^data\.crash_test\.")}
    assert not results["data.crash_test.test_a_crashes"].passed
    assert "crashed" in results["data.crash_test.test_a_crashes"].error
    assert not results["data.crash_test.test_b_fine"].passed


def test_failing_rego_test_is_reported(policy_copy):
    (policy_copy / "douane" / "fail_test.rego").write_text(
        "package douane.fail_test\n\nimport rego.v1\n\ntest_wrong if {\n\t1 == 2\n}\n"
    )
    [result] = run_policy_tests(policy_copy, run="fail_test")
    assert result.name == "data.douane.fail_test.test_wrong" and not result.passed


@pytest.mark.parametrize("url", [None, "", "opa:8181", "ftp://opa:8181", "http://opa:8181/v1/data"])
def test_opa_engine_needs_a_plain_http_url(url):
    with pytest.raises(PolicyError, match="OPA"):
        load_engine("opa", POLICY_DIR, opa_url=url)


def test_unknown_engine_kind():
    with pytest.raises(PolicyError, match="unknown policy engine"):
        load_engine("wasm", POLICY_DIR)


def test_missing_directory(tmp_path):
    with pytest.raises(PolicyError, match="does not exist"):
        load_engine("embedded", tmp_path / "nope")
