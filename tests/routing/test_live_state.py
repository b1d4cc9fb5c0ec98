"""Live endpoint state reaches the policy and the catalog route: an endpoint
whose breaker is open is not planned, a measured p95 replaces the prior."""

from __future__ import annotations

from services.providers.health import EndpointHealth
from services.routing.candidates import build_candidates
from services.routing.catalog import load_catalog
from services.routing.schemas import UsageEstimate
from tests.live import ROOT

CLEAN = {"model": "auto", "messages": [{"role": "user", "content": "What is the capital of Portugal?"}]}
USAGE = UsageEstimate(input_tokens=500, output_tokens=300)


def open_breaker(health: EndpointHealth, endpoint_id: str) -> None:
    for _ in range(health.failure_threshold):
        health.record_failure(endpoint_id, reason="connect_error")


def test_candidates_carry_live_latency_and_health():
    catalog = load_catalog(ROOT / "config" / "endpoints.yaml")
    health = EndpointHealth()
    for _ in range(EndpointHealth.MIN_SAMPLES):
        health.record_success("gpt-4o", ttft_ms=150, total_ms=2345)
    open_breaker(health, "deepseek-chat")
    by_id = {c["id"]: c for c in build_candidates(catalog, USAGE, health)}
    assert by_id["gpt-4o"]["latency_p95_ms"] == 2345 and by_id["gpt-4o"]["healthy"] is True
    assert by_id["deepseek-chat"]["healthy"] is False
    mistral = catalog.get("mistral-large")
    assert by_id["mistral-large"]["latency_p95_ms"] == mistral.latency_p95_ms  # no calls: the prior


def test_candidates_without_calls_are_the_catalog():
    catalog = load_catalog(ROOT / "config" / "endpoints.yaml")
    candidates = build_candidates(catalog, USAGE, EndpointHealth())
    assert [c["id"] for c in candidates] == catalog.ids
    assert all(c["healthy"] for c in candidates)
    assert [c["latency_p95_ms"] for c in candidates] == [e.latency_p95_ms for e in catalog.endpoints]


def test_an_open_breaker_takes_the_endpoint_out_of_the_plan_and_says_why(make_gateway, make_key):
    live = make_gateway()
    with live.client(make_key("app")) as client:
        before = client.post("/v1/route", json=CLEAN).json()
        assert before["route"]["endpoint"] == "deepseek-chat"  # the cheapest, when healthy
        open_breaker(live.runtime.endpoint_health, "deepseek-chat")
        after = client.post("/v1/route", json=CLEAN).json()
    plan = [after["route"]["endpoint"], *after["route"]["fallbacks"]]
    assert "deepseek-chat" not in plan and after["allowed"]
    deepseek = next(c for c in after["candidates"] if c["endpoint"] == "deepseek-chat")
    assert deepseek["eligible"] is False
    assert deepseek["reasons"] == ["endpoint is marked unhealthy"]


def test_a_measured_p95_over_the_budget_excludes_an_endpoint_its_prior_would_allow(make_gateway, make_key):
    live = make_gateway()
    budget = {"routing": {"latency_budget_ms": 1500}}
    with live.client(make_key("app")) as client:
        before = client.post("/v1/route", json={**CLEAN, **budget}).json()
        assert before["route"]["endpoint"] == "deepseek-chat"
        for _ in range(EndpointHealth.MIN_SAMPLES):
            live.runtime.endpoint_health.record_success("deepseek-chat", ttft_ms=900, total_ms=4000)
        after = client.post("/v1/route", json={**CLEAN, **budget}).json()
    deepseek = next(c for c in after["candidates"] if c["endpoint"] == "deepseek-chat")
    assert deepseek["latency_p95_ms"] == 4000 and deepseek["eligible"] is False
    assert after["route"]["endpoint"] != "deepseek-chat"


def test_endpoints_route_shows_live_latency_health_and_breaker(make_gateway, make_key):
    live = make_gateway()
    health = live.runtime.endpoint_health
    for _ in range(EndpointHealth.MIN_SAMPLES):
        health.record_success("mistral-large", ttft_ms=210, total_ms=1800)
    open_breaker(health, "gpt-4o")
    with live.client(make_key("app")) as client:
        data = {e["id"]: e for e in client.get("/v1/endpoints").json()["data"]}
    assert data["mistral-large"]["latency_p95_ms"] == 1800
    assert data["mistral-large"]["ttft_p95_ms"] == 210
    assert data["mistral-large"]["latency_samples"] == EndpointHealth.MIN_SAMPLES
    assert (data["mistral-large"]["healthy"], data["mistral-large"]["breaker"]) == (True, "closed")
    assert (data["gpt-4o"]["healthy"], data["gpt-4o"]["breaker"]) == (False, "open")
    catalog_prior = live.runtime.catalog.get("claude-opus-4").latency_p95_ms
    assert data["claude-opus-4"]["latency_p95_ms"] == catalog_prior
    assert data["claude-opus-4"]["ttft_p95_ms"] is None and data["claude-opus-4"]["latency_samples"] == 0
