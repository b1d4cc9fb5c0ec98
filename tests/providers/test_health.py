"""Live endpoint state: rolling p95 from real calls, and a circuit breaker
that takes a failing endpoint out of the policy's hands and lets it back."""

from __future__ import annotations

import threading

import pytest

from services.providers.health import EndpointHealth
from services.routing.catalog import Endpoint

ENDPOINT = Endpoint(
    id="mistral-large",
    provider="mistral",
    model="mistral-large-latest",
    base_url="https://api.mistral.ai/v1",
    jurisdiction="FR",
    region="eu",
    price={"input_per_mtok": 2.0, "output_per_mtok": 6.0},
    latency_p95_ms=900,
)


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_an_endpoint_never_called_has_its_catalog_prior_and_is_healthy():
    state = EndpointHealth().state(ENDPOINT)
    assert (state.latency_p95_ms, state.healthy, state.breaker) == (900, True, "closed")
    assert state.ttft_p95_ms is None and state.latency_samples == 0


def test_the_prior_stands_until_enough_samples_then_the_rolling_p95_replaces_it():
    health = EndpointHealth()
    for ms in range(1, EndpointHealth.MIN_SAMPLES):  # one short
        health.record_success(ENDPOINT.id, ttft_ms=ms / 2, total_ms=ms)
    assert health.state(ENDPOINT).latency_p95_ms == 900
    health.record_success(ENDPOINT.id, ttft_ms=10, total_ms=EndpointHealth.MIN_SAMPLES)
    state = health.state(ENDPOINT)
    # 1..20 ms: the nearest-rank p95 of 20 samples is the 19th.
    assert state.latency_p95_ms == 19
    assert state.ttft_p95_ms == 10
    assert state.latency_samples == 20


def test_the_window_forgets_old_calls():
    health = EndpointHealth(window=50)
    for _ in range(50):
        health.record_success(ENDPOINT.id, ttft_ms=None, total_ms=5000)
    assert health.state(ENDPOINT).latency_p95_ms == 5000
    for _ in range(50):
        health.record_success(ENDPOINT.id, ttft_ms=None, total_ms=120)
    state = health.state(ENDPOINT)
    assert state.latency_p95_ms == 120 and state.latency_samples == 50


def test_p95_ignores_the_slowest_five_percent():
    health = EndpointHealth(window=100)
    for i in range(100):
        health.record_success(ENDPOINT.id, ttft_ms=None, total_ms=10_000 if i % 20 == 0 else 300)
    assert health.state(ENDPOINT).latency_p95_ms == 300


def test_ttft_is_kept_apart_and_calls_without_it_do_not_count_for_it():
    health = EndpointHealth()
    for _ in range(30):
        health.record_success(ENDPOINT.id, ttft_ms=None, total_ms=800)
    state = health.state(ENDPOINT)
    assert state.latency_p95_ms == 800 and state.ttft_p95_ms is None
    for _ in range(20):
        health.record_success(ENDPOINT.id, ttft_ms=90, total_ms=800)
    assert health.state(ENDPOINT).ttft_p95_ms == 90


def test_a_very_fast_endpoint_still_has_a_positive_latency():
    health = EndpointHealth()
    for _ in range(20):
        health.record_success(ENDPOINT.id, ttft_ms=0.1, total_ms=0.2)
    state = health.state(ENDPOINT)
    assert state.latency_p95_ms == 1 and state.ttft_p95_ms == 1


def test_consecutive_failures_open_the_breaker(clock):
    health = EndpointHealth(failure_threshold=5, clock=clock)
    for _ in range(4):
        health.record_failure(ENDPOINT.id, reason="timeout")
    assert health.breaker(ENDPOINT.id) == "closed" and health.state(ENDPOINT).healthy
    health.record_failure(ENDPOINT.id, reason="http_503")
    state = health.state(ENDPOINT)
    assert health.breaker(ENDPOINT.id) == "open"
    assert (state.healthy, state.breaker, state.last_failure) == (False, "open", "http_503")


def test_a_success_between_failures_resets_the_count(clock):
    health = EndpointHealth(failure_threshold=3, clock=clock)
    for _ in range(2):
        health.record_failure(ENDPOINT.id, reason="timeout")
    health.record_success(ENDPOINT.id, ttft_ms=50, total_ms=400)
    for _ in range(2):
        health.record_failure(ENDPOINT.id, reason="timeout")
    assert health.breaker(ENDPOINT.id) == "closed"
    health.record_failure(ENDPOINT.id, reason="timeout")
    assert health.breaker(ENDPOINT.id) == "open"


def test_after_the_cooldown_a_trial_may_go_and_a_success_closes_the_breaker(clock):
    health = EndpointHealth(failure_threshold=2, cooldown_s=30, clock=clock)
    health.record_failure(ENDPOINT.id, reason="connect_error")
    health.record_failure(ENDPOINT.id, reason="connect_error")
    clock.advance(29.9)
    assert health.breaker(ENDPOINT.id) == "open" and not health.state(ENDPOINT).healthy
    clock.advance(0.1)
    assert health.breaker(ENDPOINT.id) == "half_open" and health.state(ENDPOINT).healthy
    health.record_success(ENDPOINT.id, ttft_ms=80, total_ms=700)
    assert health.breaker(ENDPOINT.id) == "closed"
    # Closed means the count starts again: one failure does not re-open it.
    health.record_failure(ENDPOINT.id, reason="timeout")
    assert health.breaker(ENDPOINT.id) == "closed"


def test_a_failed_trial_opens_the_breaker_for_another_whole_cooldown(clock):
    health = EndpointHealth(failure_threshold=2, cooldown_s=30, clock=clock)
    health.record_failure(ENDPOINT.id, reason="timeout")
    health.record_failure(ENDPOINT.id, reason="timeout")
    clock.advance(45)
    assert health.breaker(ENDPOINT.id) == "half_open"
    health.record_failure(ENDPOINT.id, reason="http_502")  # one failure is enough when half-open
    assert health.breaker(ENDPOINT.id) == "open" and not health.state(ENDPOINT).healthy
    clock.advance(29)
    assert health.breaker(ENDPOINT.id) == "open"
    clock.advance(1)
    assert health.breaker(ENDPOINT.id) == "half_open"


def test_late_failures_while_open_do_not_push_the_cooldown_back(clock):
    health = EndpointHealth(failure_threshold=1, cooldown_s=10, clock=clock)
    health.record_failure(ENDPOINT.id, reason="timeout")
    clock.advance(9)
    health.record_failure(ENDPOINT.id, reason="timeout")  # a call that was already in flight
    clock.advance(1)
    assert health.breaker(ENDPOINT.id) == "half_open"


def test_latency_survives_the_breaker_and_is_reported_while_open(clock):
    health = EndpointHealth(failure_threshold=1, clock=clock)
    for _ in range(20):
        health.record_success(ENDPOINT.id, ttft_ms=None, total_ms=650)
    health.record_failure(ENDPOINT.id, reason="timeout")
    state = health.state(ENDPOINT)
    assert (state.healthy, state.latency_p95_ms) == (False, 650)


def test_endpoints_are_tracked_apart(clock):
    health = EndpointHealth(failure_threshold=1, clock=clock)
    other = ENDPOINT.model_copy(update={"id": "self-hosted-eu", "latency_p95_ms": 1400})
    health.record_failure(ENDPOINT.id, reason="timeout")
    assert health.breaker(ENDPOINT.id) == "open"
    assert health.breaker(other.id) == "closed" and health.state(other).healthy
    assert health.breaker("never-seen") == "closed"


def test_health_instances_share_nothing():
    first, second = EndpointHealth(failure_threshold=1), EndpointHealth(failure_threshold=1)
    first.record_failure(ENDPOINT.id, reason="timeout")
    assert first.breaker(ENDPOINT.id) == "open" and second.breaker(ENDPOINT.id) == "closed"


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"failure_threshold": 0}, {"cooldown_s": -1}])
def test_nonsense_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        EndpointHealth(**kwargs)


def test_concurrent_recording_loses_nothing():
    health = EndpointHealth(window=10_000, failure_threshold=10**9)
    threads, per_thread = 16, 500
    start = threading.Barrier(threads)

    def worker(i: int) -> None:
        start.wait()
        for n in range(per_thread):
            if n % 2:
                health.record_success(ENDPOINT.id, ttft_ms=i, total_ms=100 + i)
            else:
                health.record_failure(ENDPOINT.id, reason="timeout")
            health.state(ENDPOINT)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    state = health.state(ENDPOINT)
    assert state.latency_samples == threads * per_thread // 2
    assert state.latency_p95_ms == 100 + 15  # every thread's samples are there, the slowest last
