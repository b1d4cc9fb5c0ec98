"""This replica among the others serving from the same database.

douane runs as stateless replicas behind a load balancer. What they must
agree on goes through the database, synced by one background thread per
process every ``DOUANE_SYNC_INTERVAL_S``:

- rate-limit leases (services.gateway.ratelimit): always;
- the live policy revision (services.policy.shared) and opened circuit
  breakers (services.providers.shared_health): on PostgreSQL, unless
  ``DOUANE_SHARE_REPLICA_STATE`` is off (a test gateway among others on one
  database, or a replica meant to diverge);
- the audit chain needs nothing here: its writers lock the chain head row.

Nothing on the request path waits for this thread; a failed pass is logged
and retried on the next one.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from services.gateway.ratelimit import RateLimiter
from services.policy.shared import SharedRevision
from services.providers.shared_health import SharedBreakers

log = logging.getLogger("douane.fleet")

LOG_EVERY_S = 30.0


def replica_id() -> str:
    """Unique per process: a pod may run several worker processes."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class Fleet:
    def __init__(
        self,
        *,
        replica: str,
        interval_s: float,
        rate_limiter: RateLimiter,
        revision: SharedRevision | None = None,
        breakers: SharedBreakers | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.replica = replica
        self.interval_s = interval_s
        self.rate_limiter = rate_limiter
        self.revision = revision
        self.breakers = breakers
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._logged: dict[str, float] = {}
        self._clock = clock
        self._synced: dict[str, float] = {}  # part -> when it last synced

    @property
    def stale_after_s(self) -> float:
        """A replica that has not learnt the fleet's policy revision for this
        long stops saying it is ready: a revision a DPO installed elsewhere
        (a block, say) must not be missed for longer than that."""
        return max(5.0, 20 * self.interval_s)

    def parts(self) -> list[tuple[str, Callable[[], None]]]:
        parts = [("rate limits", self.rate_limiter.sync)]
        if self.revision is not None:
            parts.append(("policy revision", self.revision.sync))
        if self.breakers is not None:
            parts.append(("circuit breakers", self.breakers.sync))
        return parts

    def sync_once(self) -> bool:
        ok = True
        for name, sync in self.parts():
            try:
                sync()
                self._synced[name] = self._clock()
            except Exception as exc:  # noqa: BLE001 - the next pass retries; the request path never waits on this
                ok = False
                now = self._clock()
                if now - self._logged.get(name, -LOG_EVERY_S) >= LOG_EVERY_S:
                    self._logged[name] = now
                    log.warning(
                        "replica sync of %s failed (%s); retrying every %.2f s", name, type(exc).__name__, self.interval_s
                    )
        return ok

    def readiness(self) -> dict[str, str]:
        """Checks for GET /readyz."""
        if self.revision is None:
            return {}
        if self.revision.problem:
            return {"shared_policy": self.revision.problem}
        synced = self._synced.get("policy revision")
        if self.revision.shared is None or synced is None:
            return {"shared_policy": "not yet synced with the other replicas"}
        age = self._clock() - synced
        if age > self.stale_after_s:
            return {"shared_policy": f"the fleet's policy revision has not been read for {age:.0f} s (the database?)"}
        return {"shared_policy": "ok"}

    def start(self) -> None:
        self.sync_once()  # before serving: a starting replica knows the fleet's revision
        self._thread = threading.Thread(target=self._run, name="douane-fleet-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.revision is not None:
            try:
                self.revision.leave()
            except Exception:  # noqa: BLE001 - its heartbeat simply ages out
                pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sync_once()


def build_fleet(runtime) -> Fleet:
    """The limiter, and on PostgreSQL the shared revision and breakers, for ``runtime``."""
    from services.gateway.ratelimit import lease_store_for

    settings = runtime.settings
    replica = replica_id()
    engine = runtime.background_engine or runtime.db_engine  # not the request pool: see build_runtime
    limiter = RateLimiter(lease_store_for(engine))
    revision = breakers = None
    if settings.share_replica_state and engine.dialect.name == "postgresql":
        if runtime.policy_reloader is not None:
            revision = SharedRevision(
                engine,
                replica=replica,
                reloader=runtime.policy_reloader,
                running=lambda: runtime.policy.revision,
            )
        breakers = SharedBreakers(engine, runtime.endpoint_health, replica=replica)
    return Fleet(
        replica=replica, interval_s=settings.sync_interval_s, rate_limiter=limiter, revision=revision, breakers=breakers
    )
