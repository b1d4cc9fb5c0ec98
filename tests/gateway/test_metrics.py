"""GET /metrics: what Prometheus scrapes, over real HTTP, with the counters
fed by real decisions and the gauges read from the runtime at scrape time."""

from __future__ import annotations

import shutil
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from policy import load_engine
from services.gateway.metrics import Metrics
from tests.live import ROOT

PATIENT = "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"


def chat(content: str) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": content}]}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by name and labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(live) -> dict:
    with live.client() as client:  # no key: Prometheus does not authenticate
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


def test_metrics_need_no_key_and_name_the_policy_in_force(make_gateway):
    live = make_gateway()
    found = scrape(live)
    revision = live.runtime.policy.revision
    assert value(found, "douane_policy_info", engine="embedded", revision=revision) == 1.0
    for endpoint_id in live.runtime.catalog.ids:
        assert value(found, "douane_circuit_breaker_state", endpoint=endpoint_id, state="closed") == 1.0
        assert value(found, "douane_circuit_breaker_state", endpoint=endpoint_id, state="open") == 0.0
        assert value(found, "douane_endpoint_healthy", endpoint=endpoint_id) == 1.0


def test_a_decision_is_counted_with_its_stages_timed_apart(make_gateway, make_key):
    live = make_gateway()
    with live.client(make_key("app")) as client:
        assert client.post("/v1/route", json=chat(PATIENT)).status_code == 200
        assert client.post("/v1/route", json=chat("What is the capital of Portugal?")).status_code == 200
    found = scrape(live)
    assert value(found, "douane_decisions_total", sensitivity="special", status="routed") == 1.0
    assert value(found, "douane_decisions_total", sensitivity="none", status="routed") == 1.0
    for stage in ("detection", "policy", "audit"):
        assert value(found, "douane_decision_stage_seconds_count", stage=stage) == 2.0
        assert value(found, "douane_decision_stage_seconds_sum", stage=stage) > 0


def test_a_failed_decision_is_counted_as_an_error(make_gateway, make_key):
    from tests.gateway.test_errors import BrokenDetector

    live = make_gateway(detector=BrokenDetector())
    with live.client(make_key("app")) as client:
        assert client.post("/v1/route", json=chat(PATIENT)).status_code == 503
    found = scrape(live)
    assert value(found, "douane_decisions_total", sensitivity="unknown", status="error") == 1.0
    # Detection failed, so the policy never ran; the error row was still written.
    assert value(found, "douane_decision_stage_seconds_sum", stage="policy") == 0.0
    assert value(found, "douane_decision_stage_seconds_count", stage="audit") == 1.0


def test_breaker_state_is_read_at_scrape_time(make_gateway):
    live = make_gateway()
    health = live.runtime.endpoint_health
    for _ in range(health.failure_threshold):
        health.record_failure("deepseek-chat", reason="timeout")
    found = scrape(live)
    assert value(found, "douane_circuit_breaker_state", endpoint="deepseek-chat", state="open") == 1.0
    assert value(found, "douane_circuit_breaker_state", endpoint="deepseek-chat", state="closed") == 0.0
    assert value(found, "douane_endpoint_healthy", endpoint="deepseek-chat") == 0.0
    assert value(found, "douane_endpoint_healthy", endpoint="gpt-4o") == 1.0


def test_a_policy_reload_shows_at_the_next_scrape(make_gateway, tmp_path: Path):
    live = make_gateway()
    before = live.runtime.policy.revision
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    rego = next((tmp_path / "policies").rglob("decision.rego"))
    rego.write_text(rego.read_text() + "\n# reviewed by the DPO\n")
    live.runtime.policy = load_engine("embedded", tmp_path / "policies")  # what a hot reload does
    after = live.runtime.policy.revision
    assert after != before
    found = scrape(live)
    assert value(found, "douane_policy_info", engine="embedded", revision=after) == 1.0
    assert value(found, "douane_policy_info", engine="embedded", revision=before) == 0.0


def test_request_upstream_and_fallback_observations():
    metrics = Metrics()
    metrics.observe_request(endpoint="mistral-large", sensitivity="personal", outcome="ok")
    metrics.observe_request(endpoint=None, sensitivity="special", outcome="denied")
    metrics.observe_upstream(endpoint="mistral-large", ttft_ms=120, total_ms=900, status="200")
    metrics.observe_upstream(endpoint="self-hosted-eu", ttft_ms=None, total_ms=30_000, status="timeout")
    metrics.observe_fallback(from_endpoint="self-hosted-eu", to_endpoint="mistral-large")
    metrics.observe_fallback(from_endpoint="mistral-large", to_endpoint=None)
    found = samples(metrics.exposition().decode())
    assert value(found, "douane_requests_total", endpoint="mistral-large", sensitivity="personal", outcome="ok") == 1
    assert value(found, "douane_requests_total", endpoint="none", sensitivity="special", outcome="denied") == 1
    assert value(found, "douane_upstream_seconds_sum", endpoint="mistral-large", status="200") == 0.9
    assert value(found, "douane_upstream_seconds_count", endpoint="self-hosted-eu", status="timeout") == 1
    assert value(found, "douane_upstream_ttft_seconds_sum", endpoint="mistral-large") == 0.12
    assert value(found, "douane_upstream_ttft_seconds_count", endpoint="self-hosted-eu") == 0
    assert value(found, "douane_fallbacks_total", from_endpoint="self-hosted-eu", to_endpoint="mistral-large") == 1
    assert value(found, "douane_fallbacks_total", from_endpoint="mistral-large", to_endpoint="none") == 1


def test_each_app_has_its_own_registry():
    first, second = Metrics(), Metrics()
    first.observe_fallback(from_endpoint="a", to_endpoint="b")
    assert value(samples(first.exposition().decode()), "douane_fallbacks_total", from_endpoint="a", to_endpoint="b") == 1
    assert value(samples(second.exposition().decode()), "douane_fallbacks_total", from_endpoint="a", to_endpoint="b") == 0


def test_metrics_route_is_in_the_openapi_document(make_gateway):
    with make_gateway().client() as client:
        spec = client.get("/openapi.json").json()
    assert "/metrics" in spec["paths"]
