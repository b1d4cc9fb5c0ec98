"""A policy that errors or answers nonsense at run time, through the proxy.

Covered elsewhere, not repeated: the validation of each malformed document
(tests/policy/test_validation.py), a policy that does not compile or fails
its own tests being refused at reload while the old one serves
(tests/policy/test_live_policy.py), and on POST /v1/route a plan naming a
non-candidate and an engine bug (tests/gateway/test_errors.py).

Here, on POST /v1/chat/completions (stream and not), where data would leave:
a Rego evaluation error that only some inputs hit (a conflict between two
complete rules), an undefined decision, an obligation the gateway cannot
carry out, an endpoint both planned and denied. Each is 503 in the one error
shape, a decision row with status ``error``, nothing forwarded; requests the
policy can decide keep being served by the same gateway.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from policy import load_engine
from services.db import make_engine
from tests.faults.conftest import assert_error_shape

CLEAN = "Name a river in France."
PERSONAL = "Write a polite reminder to jane.doe@example.org about the unpaid invoice"

HEADER = "package douane\n\nimport rego.v1\n\n"
ALL_PLANNED = '[c.id | some c in input.candidates]'

POLICIES = {
    # Two complete rules giving two values: an eval_conflict_error, only when entities were found.
    "conflict": HEADER + f"""
default sensitivity := "none"

sensitivity := "personal" if count(input.findings.entities) > 0

sensitivity := "special" if count(input.findings.entities) > 0

decision := {{
    "sensitivity": sensitivity, "gdpr_categories": [], "plan": {ALL_PLANNED},
    "denied": {{}}, "obligations": {{}}, "reasons": [],
}}
""",
    # Defined only for clean requests: data.douane.decision has no value otherwise.
    "undefined": HEADER + f"""
decision := {{
    "sensitivity": "none", "gdpr_categories": [], "plan": {ALL_PLANNED},
    "denied": {{}}, "obligations": {{}}, "reasons": [],
}} if count(input.findings.entities) == 0
""",
    # An obligation the gateway does not know how to carry out, for personal data.
    "unknown_obligation": HEADER + f"""
plan := {ALL_PLANNED}

obligations := {{}} if count(input.findings.entities) == 0

obligations := {{plan[0]: {{"encrypt": ["EMAIL_ADDRESS"]}}}} if count(input.findings.entities) > 0

decision := {{
    "sensitivity": "none", "gdpr_categories": [], "plan": plan,
    "denied": {{}}, "obligations": obligations, "reasons": [],
}}
""",
    # The first endpoint both planned and denied, for personal data.
    "planned_and_denied": HEADER + f"""
plan := {ALL_PLANNED}

denied := {{}} if count(input.findings.entities) == 0

denied := {{plan[0]: ["no personal data here"]}} if count(input.findings.entities) > 0

decision := {{
    "sensitivity": "none", "gdpr_categories": [], "plan": plan,
    "denied": denied, "obligations": {{}}, "reasons": [],
}}
""",
}


def _body(content: str, stream: bool = False) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": content}], "stream": stream}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_policy_failing_at_run_time_fails_closed_and_keeps_serving(
    name, tmp_path: Path, serve_gateway, fault_upstreams, database_url, make_key, tenant
):
    (tmp_path / "policy" / "douane").mkdir(parents=True)
    (tmp_path / "policy" / "douane" / "decision.rego").write_text(POLICIES[name])
    gateway = serve_gateway(database_url, policy=load_engine("embedded", tmp_path / "policy"))
    with gateway.client(make_key("app", tenant)) as client:
        ids = []
        for stream in (False, True):
            response = client.post("/v1/chat/completions", json=_body(PERSONAL, stream))
            error = assert_error_shape(response, 503, "service_unavailable")
            assert error["details"]["type"] == "policy_failed"
            ids.append(error["details"]["decision_id"])
            assert response.headers["x-douane-decision-id"] == ids[-1]
        assert not any(fake.take() for fake in fault_upstreams.values()), "forwarded without a valid decision"

        served = client.post("/v1/chat/completions", json=_body(CLEAN))
        assert served.status_code == 200, served.text
        assert [r.body["messages"][0]["content"] for r in fault_upstreams["fake-cn"].take()] == [CLEAN]

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT status, allowed, endpoint, plan, error FROM decisions WHERE id = ANY(:ids)"),
                {"ids": [uuid.UUID(i) for i in ids]},
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == 2
    for status, allowed, endpoint, plan, error in rows:
        assert (status, allowed, endpoint, plan) == ("error", False, None, [])
        assert error["type"] == "policy_failed"
