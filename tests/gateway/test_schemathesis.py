"""The API contract, fuzzed: schemathesis reads the gateway's own OpenAPI
document over real HTTP and sends every operation generated and mutated
input with a real key of the role it needs. No answer may be a 5xx, and
every answer must be one the document declares (status, content type,
headers, body schema)."""

from __future__ import annotations

import os

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fake_upstream import start_fake

FAKE_KEY = "sk-fake-upstream-key"
KEY_ENV = "DOUANE_TEST_FAKE_UPSTREAM_KEY"

# Every answer: not a 5xx; a declared status, content type, headers and body;
# schema-violating input refused with a 4xx; a missing key refused with 401.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]

# The role each route needs, by path prefix; routes not listed need no key.
ROLES = {
    "/v1/chat/completions": "app",
    "/v1/route": "app",
    "/v1/models": "app",
    "/v1/endpoints": "app",
    "/v1/decisions": "auditor",
    "/v1/audit": "auditor",
    "/v1/policy": "dpo",
}


@pytest.fixture
def fuzzed(make_gateway, make_key, tenant, tmp_path, monkeypatch):
    """A gateway of its own whose catalog points at fake upstreams on
    loopback (nothing leaves the machine), and a key per role."""
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    fakes = [start_fake(name, api_key=FAKE_KEY) for name in ("fuzz-eu", "fuzz-us")]
    entries = [
        {
            "id": fake.name,
            "provider": "fake",
            "model": f"{fake.name}-model",
            "base_url": fake.base_url,
            "api_key_env": KEY_ENV,
            "jurisdiction": jurisdiction,
            "region": region,
            "self_hosted": False,
            "price": {"input_per_mtok": price, "output_per_mtok": price},
            "latency_p95_ms": 500,
        }
        for (fake, _stop), (jurisdiction, region, price) in zip(fakes, [("FR", "eu", 30.0), ("US", "us", 20.0)])
    ]
    catalog = tmp_path / "endpoints.yaml"
    catalog.write_text(yaml.safe_dump({"endpoints": entries}), encoding="utf-8")
    live = make_gateway({"endpoints_file": catalog})
    keys = {role: make_key(role, tenant) for role in set(ROLES.values())}
    yield live, keys
    for _fake, stop in fakes:
        stop()


# Per operation and generation mode. The default keeps the run under a minute;
# DOUANE_TEST_FUZZ_EXAMPLES=250 digs deeper (about 5 minutes).
MAX_EXAMPLES = int(os.environ.get("DOUANE_TEST_FUZZ_EXAMPLES", "30"))


def key_for(path: str, keys: dict[str, str]) -> dict[str, str]:
    for prefix, role in ROLES.items():
        if path.startswith(prefix):
            return {"Authorization": f"Bearer {keys[role]}"}
    return {}


def with_known_models(cases: st.SearchStrategy, mode: GenerationMode) -> st.SearchStrategy:
    """A generated model name is almost never in the catalog, so nearly every
    chat request would stop at 404: most valid ones get a model that exists,
    so detection, the policy, the audit log and forwarding are fuzzed too."""
    if mode is not GenerationMode.POSITIVE:
        return cases

    def swap(pair):
        case, model = pair
        chat = case.body.get("request") if isinstance(case.body, dict) and "request" in case.body else case.body
        if model is not None and isinstance(chat, dict) and "model" in chat:
            chat["model"] = model
        return case

    return st.tuples(cases, st.sampled_from(["auto", "auto", "fuzz-eu", None])).map(swap)


def test_every_operation_keeps_its_contract(fuzzed):
    """Each operation, with valid input (positive) and with input that breaks
    its schema (negative). Excluded: nothing; POST /v1/policy/reload reloads
    the repository's own policies, which is harmless."""
    # schemathesis's pytest plugin (schema.parametrize) does not run under
    # pytest 9.2 (it sets Node._nodeid, which pytest no longer has), so each
    # operation's strategies are driven by Hypothesis directly, and every
    # operation's failures are collected before the test fails.
    live, keys = fuzzed
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        headers = key_for(operation.path, keys)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            # The key goes in as an explicit header: generated, it would be mutated
            # like any other input and every answer would be a 401.
            @given(case=with_known_models(operation.as_strategy(generation_mode=mode, headers=headers), mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],  # unshrunk: a shrink over HTTP takes minutes
            )
            def run(case):
                case.call_and_validate(checks=CHECKS, timeout=30)

            try:
                run()
            except Unsatisfiable:
                # Nothing to negate: the operation takes no parameters and no body.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
