"""Circuit breakers shared by the replicas on one database.

When a replica's breaker opens on an endpoint (repeated failures, or a failed
half-open trial) it writes ``endpoint_breakers``: the endpoint, until when it
is open (now + the cooldown), by whom and why. Every replica reads the rows
of the others on each sync and opens its own breaker until the same time, so
an endpoint one replica found down stops being planned everywhere within one
sync interval (``DOUANE_SYNC_INTERVAL_S``, plus the time of a database round
trip). When the shared time runs out each replica is half-open and finds out
for itself; a success anywhere closes that replica's breaker (real evidence),
but not the others': they wait out the cooldown, which errs on the side of
fewer endpoints, not more.

Latency is not shared: each replica's rolling p95 is already a sample of the
same upstream, and a few hundred calls make it converge on its own.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Engine, text

from services.providers.health import EndpointHealth

_PUBLISH = text(
    """
    INSERT INTO endpoint_breakers AS b (endpoint_id, open_until, replica, reason)
    VALUES (:endpoint_id, now() + make_interval(secs => :seconds), :replica, :reason)
    ON CONFLICT (endpoint_id) DO UPDATE
        SET open_until = EXCLUDED.open_until, replica = EXCLUDED.replica, reason = EXCLUDED.reason
        WHERE b.open_until < EXCLUDED.open_until
    """
)
_READ = text(
    """
    SELECT endpoint_id, open_until, EXTRACT(EPOCH FROM open_until - now()), reason
    FROM endpoint_breakers WHERE open_until > now() AND replica <> :replica
    """
)


class SharedBreakers:
    def __init__(self, engine: Engine, health: EndpointHealth, *, replica: str):
        self._engine = engine
        self._health = health
        self._replica = replica
        self._lock = threading.Lock()
        self._opened: list[tuple[str, float, str | None]] = []
        self._applied: set[tuple[str, datetime]] = set()
        health.on_open(self._record_open)

    def _record_open(self, endpoint_id: str, seconds: float, reason: str | None) -> None:
        with self._lock:
            self._opened.append((endpoint_id, seconds, reason))

    def sync(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        try:
            with self._engine.begin() as connection:
                for endpoint_id, seconds, reason in opened:
                    connection.execute(
                        _PUBLISH,
                        {"endpoint_id": endpoint_id, "seconds": seconds, "replica": self._replica, "reason": reason},
                    )
                rows = connection.execute(_READ, {"replica": self._replica}).all()
        except Exception:
            with self._lock:  # told next time
                self._opened = opened + self._opened
            raise
        current = set()
        for endpoint_id, open_until, remaining_s, reason in rows:
            current.add((endpoint_id, open_until))
            if (endpoint_id, open_until) not in self._applied:
                # Once per opening: a success here afterwards may close it.
                self._health.open_for(endpoint_id, float(remaining_s), f"another replica: {reason or 'failures'}")
        self._applied = current
