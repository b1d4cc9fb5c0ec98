"""Prometheus metrics and ``GET /metrics``.

Each app owns a ``CollectorRegistry`` (never the library's global default), so
a process can build many apps, as the tests do. Counters and histograms are
fed by the request path; circuit-breaker state and the policy revision are read
from the runtime at scrape time, since breakers move with time alone and the
policy can be hot-reloaded.

Latencies are exported in seconds, Prometheus's base unit; the ``observe_*``
methods take milliseconds like the rest of douane. Labels hold only bounded
values (endpoint ids from the catalog, sensitivity, status), never request
content.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from services.gateway.deps import RuntimeDep
from services.gateway.errors import responses

if TYPE_CHECKING:
    from services.gateway.runtime import Runtime

BREAKER_STATES = ("closed", "half_open", "open")
NO_ENDPOINT = "none"

# Decision stages run in milliseconds; upstream calls in seconds to minutes.
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UPSTREAM_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._decision_stage = Histogram(
            "douane_decision_stage_seconds",
            "Time spent deciding, by stage: detection, policy (candidates and evaluation), audit (decision row write)",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self._decisions = Counter(
            "douane_decisions",
            "Decisions made, by sensitivity and status (routed, denied, error)",
            ["sensitivity", "status"],
            registry=self.registry,
        )
        self._requests = Counter(
            "douane_requests",
            "Chat requests answered, by endpoint used, sensitivity and outcome",
            ["endpoint", "sensitivity", "outcome"],
            registry=self.registry,
        )
        self._upstream = Histogram(
            "douane_upstream_seconds",
            "Total time of calls to upstream endpoints, by endpoint and status",
            ["endpoint", "status"],
            buckets=UPSTREAM_BUCKETS,
            registry=self.registry,
        )
        self._upstream_ttft = Histogram(
            "douane_upstream_ttft_seconds",
            "Time to first token of calls to upstream endpoints",
            ["endpoint"],
            buckets=UPSTREAM_BUCKETS,
            registry=self.registry,
        )
        self._fallbacks = Counter(
            "douane_fallbacks",
            "Moves to the next endpoint of the plan; to_endpoint 'none' when the plan was exhausted",
            ["from_endpoint", "to_endpoint"],
            registry=self.registry,
        )
        self._watching = False

    def watch(self, runtime: Runtime) -> None:
        """Export ``runtime``'s breaker states and policy revision, read at each scrape."""
        if self._watching:
            raise RuntimeError("these metrics already watch a runtime")
        self.registry.register(_RuntimeCollector(runtime))
        self._watching = True

    def observe_decision(
        self, *, detection_ms: float, policy_ms: float, audit_ms: float, sensitivity: str, status: str
    ) -> None:
        self._decision_stage.labels("detection").observe(detection_ms / 1000)
        self._decision_stage.labels("policy").observe(policy_ms / 1000)
        self._decision_stage.labels("audit").observe(audit_ms / 1000)
        self._decisions.labels(sensitivity, status).inc()

    def observe_request(self, *, endpoint: str | None, sensitivity: str, outcome: str) -> None:
        self._requests.labels(endpoint or NO_ENDPOINT, sensitivity, outcome).inc()

    def observe_upstream(self, *, endpoint: str, ttft_ms: float | None, total_ms: float, status: str) -> None:
        self._upstream.labels(endpoint, status).observe(total_ms / 1000)
        if ttft_ms is not None:
            self._upstream_ttft.labels(endpoint).observe(ttft_ms / 1000)

    def observe_fallback(self, *, from_endpoint: str, to_endpoint: str | None) -> None:
        self._fallbacks.labels(from_endpoint, to_endpoint or NO_ENDPOINT).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _RuntimeCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def describe(self) -> list[Metric]:
        # Said up front so registering does not call collect() before the runtime is complete.
        return [
            GaugeMetricFamily("douane_circuit_breaker_state", ""),
            GaugeMetricFamily("douane_endpoint_healthy", ""),
            InfoMetricFamily("douane_policy", ""),
        ]

    def collect(self) -> Iterator[Metric]:
        runtime = self._runtime
        breaker = GaugeMetricFamily(
            "douane_circuit_breaker_state",
            "Circuit breaker of each endpoint: 1 for its current state, 0 for the others",
            labels=["endpoint", "state"],
        )
        healthy = GaugeMetricFamily(
            "douane_endpoint_healthy", "1 when the policy sees the endpoint as healthy", labels=["endpoint"]
        )
        for endpoint in runtime.catalog.endpoints:
            state = runtime.endpoint_health.state(endpoint)
            for name in BREAKER_STATES:
                breaker.add_metric([endpoint.id, name], 1.0 if state.breaker == name else 0.0)
            healthy.add_metric([endpoint.id], 1.0 if state.healthy else 0.0)
        yield breaker
        yield healthy
        policy = runtime.policy  # read now: a reload swaps it
        info = InfoMetricFamily("douane_policy", "The policy revision and engine in force")
        info.add_metric([], {"revision": policy.revision or "", "engine": policy.name})
        yield info


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format, no key)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        **responses(),  # 422: a query parameter it does not take (services.gateway.strict)
    },
)
def metrics(runtime: RuntimeDep) -> Response:
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
