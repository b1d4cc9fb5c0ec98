"""One chat completion's way through the plan, and the outcome row it
becomes: which endpoints were tried, which answered, tokens, cost, latency.
Written once, when the answer is complete (a stream: when it ends)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import anyio

from services.audit.models import DecisionRecord, OutcomeRecord
from services.gateway.runtime import Runtime
from services.providers.adapter import Usage
from services.routing.catalog import Endpoint

log = logging.getLogger("douane.providers")

DECISION_HEADER = "x-douane-decision-id"
ENDPOINT_HEADER = "x-douane-endpoint"


@dataclass
class Attempt:
    endpoint: str
    status: int | None  # the upstream's HTTP status, when it answered
    error_type: str | None  # None for the attempt that answered
    reason: str | None
    latency_ms: float


@dataclass
class Exchange:
    """One chat completion's way through the plan; becomes the outcome row."""

    runtime: Runtime
    decision: DecisionRecord
    stream: bool
    started: float = field(default_factory=time.perf_counter)
    attempts: list[Attempt] = field(default_factory=list)
    endpoint: Endpoint | None = None
    upstream_status: int | None = None
    usage: Usage | None = None
    ttft_ms: float | None = None  # from the start of forwarding, failed attempts included
    answer_started: float | None = None  # when the attempt that answered began
    # What answers that were paid for but not returned cost: a cascade's
    # first try that failed its check. Part of the outcome's cost_usd.
    discarded_cost_usd: float = 0.0
    recorded: bool = False

    def elapsed_ms(self, since: float | None = None) -> float:
        return round((time.perf_counter() - (since or self.started)) * 1000, 3)

    def remaining_s(self) -> float:
        return max(0.0, self.runtime.settings.upstream_total_timeout_s - (time.perf_counter() - self.started))

    def headers(self) -> dict[str, str]:
        headers = {DECISION_HEADER: str(self.decision.id)}
        if self.endpoint is not None:
            headers[ENDPOINT_HEADER] = self.endpoint.id
        return headers

    def discard_answer(self) -> None:
        """Forget the answer of the current attempt (a cascade escalates past
        it): the outcome is about the answer that is returned, if any."""
        self.endpoint = self.upstream_status = self.usage = self.ttft_ms = self.answer_started = None

    async def record(self, status: str) -> None:
        """Write the outcome row once; a failure to write is logged, not raised:
        the decision is already recorded and the answer may be on its way."""
        if self.recorded:
            return
        self.recorded = True
        total_ms = self.elapsed_ms()
        # Everything known to be paid for: the returned answer and any discarded
        # ones. Unknown (None) only when no answer's cost is known.
        cost = None
        if self.endpoint is not None and self.usage is not None:
            cost = round(self.endpoint.cost_usd(self.usage.input_tokens, self.usage.output_tokens)
                         + self.discarded_cost_usd, 8)
        elif self.discarded_cost_usd:
            cost = round(self.discarded_cost_usd, 8)
        outcome = OutcomeRecord(
            id=uuid.uuid4(),
            decision_id=self.decision.id,
            created_at=datetime.now(timezone.utc),
            tenant=self.decision.tenant,
            status=status,
            endpoint=self.endpoint.id if self.endpoint is not None else None,
            upstream_status=self.upstream_status,
            attempts=[asdict(a) for a in self.attempts],
            stream=self.stream,
            input_tokens=self.usage.input_tokens if self.usage else None,
            output_tokens=self.usage.output_tokens if self.usage else None,
            cost_usd=cost,
            ttft_ms=self.ttft_ms,
            total_ms=total_ms,
        )
        if self.endpoint is not None:
            # The endpoint's own latency: without the attempts that failed before it.
            offset = (self.answer_started - self.started) * 1000 if self.answer_started else 0.0
            own_ttft = round(self.ttft_ms - offset, 3) if self.ttft_ms is not None else None
            own_total = round(total_ms - offset, 3)
            if status == "ok":
                self.runtime.endpoint_health.record_success(self.endpoint.id, ttft_ms=own_ttft, total_ms=own_total)
            self.runtime.metrics.observe_upstream(
                endpoint=self.endpoint.id, ttft_ms=own_ttft, total_ms=own_total, status=status
            )
        self.runtime.metrics.observe_request(
            endpoint=outcome.endpoint, sensitivity=self.decision.sensitivity or "unknown", outcome=status
        )
        with anyio.CancelScope(shield=True):  # a client that hangs up still gets its outcome recorded
            try:
                await anyio.to_thread.run_sync(_write_outcome, self.runtime, outcome)
            except Exception as exc:  # noqa: BLE001 - logged and survived: see docstring
                log.error("decision %s: outcome not recorded: %s", self.decision.id, type(exc).__name__)


def _write_outcome(runtime: Runtime, outcome: OutcomeRecord) -> None:
    runtime.audit_writer.write(outcome)  # linked into the outcomes chain and committed
