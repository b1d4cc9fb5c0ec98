"""Live state of each endpoint, learnt from the calls the gateway forwards:
a rolling p95 of latency and a circuit breaker on repeated failures.

The policy reads the result as ``latency_p95_ms`` and ``healthy`` in its
candidates, so an endpoint that keeps failing stops being planned without any
Python deciding where data goes.

- Latency: the p95 (nearest rank) of total latency over the last ``window``
  successful calls replaces the catalog's prior once there are at least
  ``MIN_SAMPLES`` of them; fewer samples say more about luck than about the
  endpoint. Time-to-first-token is kept the same way and shown apart.
- Breaker: ``failure_threshold`` consecutive failures open it (``healthy`` is
  false). After ``cooldown_s`` it is half-open: ``healthy`` again, so a trial
  request may go. A success closes it, a failure re-opens it for another
  cooldown. A success closes it from any state: a late answer from a call that
  was already in flight is real evidence that the endpoint works.

Half-open lets through whatever the policy plans until the first result comes
back, not exactly one request: the gateway does not reserve trial slots, since
a decision is made (and recorded) before anyone knows which plan entry will be
tried.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from services.routing.candidates import EndpointState
from services.routing.catalog import Endpoint

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


def p95(samples: deque[float]) -> float:
    """Nearest-rank 95th percentile of a non-empty sample."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class _Track:
    totals: deque[float]
    ttfts: deque[float]
    consecutive_failures: int = 0
    opened_at: float | None = None  # None while the breaker is closed
    last_failure: str | None = None
    # Every decision reads the p95s; they change only when a call succeeds.
    cached: tuple[int | None, int | None] | None = None

    def p95s(self, min_samples: int) -> tuple[int | None, int | None]:
        """(total, ttft) p95 in whole ms, at least 1; None below ``min_samples``."""
        if self.cached is None:
            self.cached = tuple(
                max(1, round(p95(samples))) if len(samples) >= min_samples else None
                for samples in (self.totals, self.ttfts)
            )
        return self.cached


class EndpointHealth:
    """Thread-safe: the proxy records from many requests while decisions and
    ``GET /v1/endpoints`` read. Holds no module-level state; ``clock`` is
    injectable so tests can move time."""

    MIN_SAMPLES = 20

    def __init__(
        self,
        *,
        window: int = 200,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window < 1 or failure_threshold < 1 or cooldown_s < 0:
            raise ValueError("window and failure_threshold must be >= 1 and cooldown_s >= 0")
        self.window = window
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tracks: dict[str, _Track] = {}
        self._on_open: list[Callable[[str, float, str | None], None]] = []

    def on_open(self, listener: Callable[[str, float, str | None], None]) -> None:
        """Call ``listener(endpoint_id, cooldown_s, reason)`` whenever a failure
        opens (or re-opens) a breaker here; services.providers.shared_health
        tells the other replicas."""
        self._on_open.append(listener)

    def open_for(self, endpoint_id: str, seconds: float, reason: str | None) -> None:
        """Open the breaker for ``seconds`` (then half-open), on another
        replica's word. Never shortens a breaker already open for longer."""
        with self._lock:
            track = self._track(endpoint_id)
            opened_at = self._clock() - max(0.0, self.cooldown_s - seconds)
            if track.opened_at is None or track.opened_at < opened_at:
                track.opened_at = opened_at
                track.last_failure = reason

    def record_success(self, endpoint_id: str, *, ttft_ms: float | None, total_ms: float) -> None:
        with self._lock:
            track = self._track(endpoint_id)
            track.totals.append(float(total_ms))
            if ttft_ms is not None:
                track.ttfts.append(float(ttft_ms))
            track.cached = None
            track.consecutive_failures = 0
            track.opened_at = None

    def record_failure(self, endpoint_id: str, *, reason: str) -> None:
        """``reason`` is a short kind ("timeout", "http_503"), never upstream text."""
        with self._lock:
            opened = self._record_failure(endpoint_id, reason)
        if opened:
            for listener in self._on_open:
                listener(endpoint_id, self.cooldown_s, reason)

    def _record_failure(self, endpoint_id: str, reason: str) -> bool:
        """True when this failure opened the breaker."""
        track = self._track(endpoint_id)
        track.last_failure = reason
        state = self._breaker(track)
        if state == HALF_OPEN:
            # The trial failed: open again for a whole cooldown.
            track.opened_at = self._clock()
            return True
        if state == OPEN:
            # A call that was in flight when the breaker opened; the
            # cooldown still counts from the opening.
            return False
        track.consecutive_failures += 1
        if track.consecutive_failures >= self.failure_threshold:
            track.opened_at = self._clock()
            return True
        return False

    def breaker(self, endpoint_id: str) -> str:
        with self._lock:
            track = self._tracks.get(endpoint_id)
            return CLOSED if track is None else self._breaker(track)

    def state(self, endpoint: Endpoint) -> EndpointState:
        with self._lock:
            track = self._tracks.get(endpoint.id)
            if track is None:
                return EndpointState(latency_p95_ms=endpoint.latency_p95_ms, healthy=True)
            breaker = self._breaker(track)
            total_p95, ttft_p95 = track.p95s(self.MIN_SAMPLES)
            return EndpointState(
                # At least 1 ms: the catalog's contract is a positive latency.
                latency_p95_ms=endpoint.latency_p95_ms if total_p95 is None else total_p95,
                healthy=breaker != OPEN,
                breaker=breaker,
                ttft_p95_ms=ttft_p95,
                latency_samples=len(track.totals),
                consecutive_failures=track.consecutive_failures,
                last_failure=track.last_failure,
            )

    def _track(self, endpoint_id: str) -> _Track:
        track = self._tracks.get(endpoint_id)
        if track is None:
            track = _Track(totals=deque(maxlen=self.window), ttfts=deque(maxlen=self.window))
            self._tracks[endpoint_id] = track
        return track

    def _breaker(self, track: _Track) -> str:
        if track.opened_at is None:
            return CLOSED
        if self._clock() - track.opened_at >= self.cooldown_s:
            return HALF_OPEN
        return OPEN
