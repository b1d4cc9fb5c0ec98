"""Bad input and refused callers get a clear error in the one error shape,
never a 500; failures of detection or policy fail closed and are recorded."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from policy import load_engine
from services.db import make_engine
from services.gateway.app import build_runtime
from services.pii import DetectionError
from tests.live import make_settings, serve_in_thread

CLEAN = {"model": "auto", "messages": [{"role": "user", "content": "What is the capital of Portugal?"}]}


def assert_error_shape(response, status: int, type_: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "details"}
    assert body["error"]["message"]
    if type_:
        assert body["error"]["type"] == type_
    return body["error"]


@pytest.mark.parametrize(
    "content, status, type_",
    [
        (b'{"model": "auto", "messages": [', 400, "invalid_json"),
        (b"not json at all", 400, "invalid_json"),
        (b'{"model": "auto", "messages": "hello"}', 422, "validation_error"),
        (b'{"model": 7, "messages": [{"role": "user", "content": "hi"}]}', 422, "validation_error"),
        (b'{"model": "auto", "messages": []}', 422, "validation_error"),
        (b'{"model": "auto"}', 422, "validation_error"),
        (b'{"model": "auto", "messages": [{"role": "wizard", "content": "hi"}]}', 422, "validation_error"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"residency": "mars"}}', 422, "validation_error"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"latency_budget_ms": -5}}', 422, "validation_error"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"colour": "red"}}', 422, "validation_error"),
        (b"[1, 2, 3]", 422, "validation_error"),
        (b'{"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}', 404, "model_not_found"),
    ],
)
def test_bad_bodies_get_clear_errors(gateway, make_key, content, status, type_):
    with gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", content=content, headers={"content-type": "application/json"})
    assert_error_shape(response, status, type_)


def test_validation_errors_do_not_echo_the_prompt(gateway, make_key):
    body = {"model": "auto", "messages": [{"role": "user", "content": "Anna Schmidt, IBAN DE89370400440532013000"}], "max_tokens": "many"}
    with gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", json=body)
    assert_error_shape(response, 422, "validation_error")
    assert "Schmidt" not in response.text and "DE89" not in response.text


@pytest.mark.parametrize(
    "headers, type_",
    [
        ({}, "authentication_required"),
        ({"Authorization": "Bearer not-a-key"}, "authentication_required"),
        ({"Authorization": "Bearer dk_k_0000000000000000_" + "A" * 43}, "authentication_required"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "authentication_required"),
    ],
)
def test_missing_or_unknown_keys_are_refused(gateway, headers, type_):
    with gateway.client() as client:
        for method, path in (("POST", "/v1/route"), ("GET", "/v1/decisions"), ("GET", "/v1/endpoints")):
            response = client.request(method, path, headers=headers, json=CLEAN if method == "POST" else None)
            assert_error_shape(response, 401, type_)


@pytest.mark.parametrize(
    "role, method, path",
    [
        ("app", "GET", "/v1/decisions"),
        ("app", "GET", f"/v1/decisions/{uuid.uuid4()}"),
        ("auditor", "POST", "/v1/route"),
        ("auditor", "GET", "/v1/endpoints"),
        ("dpo", "POST", "/v1/route"),
        ("dpo", "GET", "/v1/decisions"),
    ],
)
def test_wrong_role_is_forbidden(gateway, make_key, role, method, path):
    with gateway.client(make_key(role)) as client:
        response = client.request(method, path, json=CLEAN if method == "POST" else None)
    error = assert_error_shape(response, 403, "forbidden")
    assert role in error["message"]


def test_admin_may_use_every_route(gateway, make_key):
    with gateway.client(make_key("admin")) as client:
        assert client.post("/v1/route", json=CLEAN).status_code == 200
        assert client.get("/v1/decisions").status_code == 200


def test_an_auditor_sees_only_their_own_tenant(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        decision_id = client.post("/v1/route", json=CLEAN).json()["decision_id"]
    with gateway.client(make_key("auditor")) as other_tenant:
        assert_error_shape(other_tenant.get(f"/v1/decisions/{decision_id}"), 404, "not_found")
        assert decision_id not in {d["decision_id"] for d in other_tenant.get("/v1/decisions").json()["data"]}
    with gateway.client(make_key("auditor", tenant)) as own_tenant:
        assert own_tenant.get(f"/v1/decisions/{decision_id}").status_code == 200


@pytest.mark.parametrize(
    "query, status",
    [
        ("?limit=0", 422),
        ("?limit=abc", 422),
        ("?since=yesterday", 422),
        ("?since=2026-01-01T00:00:00", 422),  # no offset: ambiguous, refused
        ("?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", 400),
        ("?cursor=%%%", 400),
        ("?cursor=bm90IGEgY3Vyc29y", 400),
    ],
)
def test_bad_decision_queries(gateway, make_key, query, status):
    with gateway.client(make_key("auditor")) as client:
        assert_error_shape(client.get("/v1/decisions" + query), status)


def test_bad_decision_id_is_a_clear_error(gateway, make_key):
    with gateway.client(make_key("auditor")) as client:
        assert_error_shape(client.get("/v1/decisions/not-a-uuid"), 422, "validation_error")
        assert_error_shape(client.get(f"/v1/decisions/{uuid.uuid4()}"), 404, "not_found")


def test_unknown_route_and_method_use_the_error_shape(gateway):
    with gateway.client() as client:
        assert_error_shape(client.get("/v1/nothing-here"), 404, "not_found")
        assert_error_shape(client.delete("/healthz"), 405, "method_not_allowed")


def test_oversized_body_is_refused_with_413(gateway, make_key):
    limit = gateway.runtime.settings.max_body_bytes
    big = {"model": "auto", "messages": [{"role": "user", "content": "x" * (limit + 10)}]}
    with gateway.client(make_key("app")) as client:
        assert_error_shape(client.post("/v1/route", json=big), 413, "payload_too_large")

        def chunks():
            yield b'{"model": "auto", "messages": [{"role": "user", "content": "'
            for _ in range(limit // 10_000 + 2):
                yield b"y" * 10_000
            yield b'"}]}'

        chunked = client.post("/v1/route", content=chunks(), headers={"content-type": "application/json"})
        assert_error_shape(chunked, 413, "payload_too_large")


class BrokenDetector:
    def detect(self, texts):
        raise DetectionError("the NLP pipeline crashed")


def _error_row(database_url: str, decision_id: str):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT status, allowed, endpoint, error FROM decisions WHERE id = :id"),
            {"id": uuid.UUID(decision_id)},
        ).one()
    engine.dispose()
    return row


def route_once(database_url: str, key: str, detector, policy):
    """POST one clean request to a gateway built with these collaborators."""
    runtime = build_runtime(make_settings(database_url), detector=detector, policy=policy)
    live, stop = serve_in_thread(runtime)
    try:
        with live.client(key) as client:
            return client.post("/v1/route", json=CLEAN)
    finally:
        stop()


def test_detection_failure_fails_closed_and_is_recorded(database_url, policy_engine, make_key):
    response = route_once(database_url, make_key("app"), BrokenDetector(), policy_engine)
    error = assert_error_shape(response, 503, "service_unavailable")
    status, allowed, endpoint, recorded = _error_row(database_url, error["details"]["decision_id"])
    assert (status, allowed, endpoint) == ("error", False, None)
    assert recorded["type"] == "detection_failed"


MALFORMED_POLICY = """package douane

import rego.v1

# Names an endpoint that is not a candidate: the gateway must refuse to act on it.
decision := {
    "sensitivity": "none",
    "gdpr_categories": [],
    "plan": ["exfiltration-endpoint"],
    "denied": {},
    "obligations": {},
    "reasons": [],
}
"""


def test_malformed_policy_output_fails_closed_and_is_recorded(
    tmp_path: Path, database_url, real_detector, make_key
):
    (tmp_path / "douane").mkdir()
    (tmp_path / "douane" / "decision.rego").write_text(MALFORMED_POLICY)
    policy = load_engine("embedded", tmp_path)
    response = route_once(database_url, make_key("app"), real_detector, policy)
    error = assert_error_shape(response, 503, "service_unavailable")
    assert error["details"]["type"] == "policy_failed"
    status, allowed, endpoint, recorded = _error_row(database_url, error["details"]["decision_id"])
    assert (status, allowed, endpoint) == ("error", False, None)
    assert "exfiltration-endpoint" in recorded["message"]


def test_unreachable_database_answers_503_and_forwards_nothing(real_detector, policy_engine):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    runtime = build_runtime(
        make_settings("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"),
        detector=real_detector,
        policy=policy_engine,
    )
    live, stop = serve_in_thread(runtime)
    try:
        with live.client("dk_k_0123456789abcdef_" + "A" * 43) as client:
            error = assert_error_shape(client.post("/v1/route", json=CLEAN), 503, "database_unavailable")
            ready = client.get("/readyz")
    finally:
        stop()
    assert "nothing was forwarded" in error["message"]
    assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable")


def test_openapi_document_lists_routes_errors_and_auth(gateway):
    with gateway.client() as client:
        spec = client.get("/openapi.json").json()
    route = spec["paths"]["/v1/route"]["post"]
    assert {"400", "401", "403", "404", "422", "503"} <= set(route["responses"])
    assert route["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert route["security"] == [{"HTTPBearer": []}]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"/v1/decisions", "/v1/decisions/{decision_id}", "/v1/endpoints", "/v1/models", "/healthz", "/readyz"} <= set(
        spec["paths"]
    )


class CrashingPolicy:
    """An engine with a bug: it raises something that is not a PolicyError."""

    name = "embedded"
    revision = "sha256:" + "0" * 64
    modules: list[str] = []

    def evaluate(self, policy_input):
        raise KeyError("candidates")


def test_an_engine_bug_fails_closed_and_is_recorded(database_url, real_detector, make_key):
    response = route_once(database_url, make_key("app"), real_detector, CrashingPolicy())
    error = assert_error_shape(response, 503, "service_unavailable")
    status, allowed, endpoint, recorded = _error_row(database_url, error["details"]["decision_id"])
    assert (status, allowed, endpoint) == ("error", False, None)
    assert recorded["type"] == "policy_failed" and "KeyError" in recorded["message"]


class BrokenClassifier:
    def classify(self, request, output_tokens):
        raise ValueError("the complexity rules met something they cannot read")


def test_a_failing_complexity_estimate_fails_closed_and_is_recorded(database_url, real_detector, policy_engine, make_key):
    runtime = build_runtime(make_settings(database_url), detector=real_detector, policy=policy_engine)
    runtime.complexity = BrokenClassifier()
    live, stop = serve_in_thread(runtime)
    try:
        with live.client(make_key("app")) as client:
            response = client.post("/v1/route", json=CLEAN)
    finally:
        stop()
    error = assert_error_shape(response, 503, "service_unavailable")
    status, allowed, endpoint, recorded = _error_row(database_url, error["details"]["decision_id"])
    assert (status, allowed, endpoint) == ("error", False, None)
    assert recorded["type"] == "policy_failed" and "ValueError" in recorded["message"]
