"""The live policy revision, shared by the replicas on one database.

``policy_revisions`` records every install a person asked for (POST
/v1/policy/reload, the file watch), newest last; the newest row is the
revision every replica must serve. Each replica, every sync interval, writes
its heartbeat (``gateway_replicas``: the revision it serves) and reads the
newest row. When that differs from its own it reloads its policy directory
through the same ``PolicyReloader``, installing only if the directory holds
that very revision: compile and ``policy check`` run again (the check uses
this replica's catalog); the policy's tests do not, since they passed on the
replica that installed these same bytes (``PolicyReloader.reload(expect=)``). If it does not
(a volume not yet updated, a different ConfigMap), the replica keeps its
revision but reports not ready in GET /readyz, with both revisions, rather
than serving a different policy silently; it retries every ``RETRY_S`` and
whenever the shared revision changes.

Bound: a replica serves a newly shared revision within one sync interval
plus one follow (snapshot, compile, check: well under a second).

At start-up a replica publishes the revision it loaded only if no revision
was ever published, or if no live replica (heartbeat within ``LIVE_S``)
serves the published one, as after a full restart with new files. Otherwise
it follows the fleet: a stale pod that restarts cannot drag the others back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from policy.reload import PolicyReloader, ReloadOutcome

RETRY_S = 5.0
LIVE_S = 5.0

_HEARTBEAT = text(
    """
    INSERT INTO gateway_replicas AS r (replica, started_at, seen_at, policy_revision)
    VALUES (:replica, now(), now(), :revision)
    ON CONFLICT (replica) DO UPDATE SET seen_at = now(), policy_revision = EXCLUDED.policy_revision
    """
)
_SHARED = text("SELECT revision FROM policy_revisions ORDER BY id DESC LIMIT 1")
_SERVED_ELSEWHERE = text(
    """
    SELECT count(*) FROM gateway_replicas
    WHERE policy_revision = :revision AND replica <> :replica
      AND seen_at > now() - make_interval(secs => :live_s)
    """
)
_LEAVE = text("DELETE FROM gateway_replicas WHERE replica = :replica")
_PUBLISH = text(
    """
    INSERT INTO policy_revisions (revision, replica, source)
    SELECT CAST(:revision AS varchar), CAST(:replica AS varchar), CAST(:source AS varchar)
    WHERE CAST(:revision AS varchar) IS DISTINCT FROM (SELECT revision FROM policy_revisions ORDER BY id DESC LIMIT 1)
    """
)


class SharedRevision:
    def __init__(
        self,
        engine: Engine,
        *,
        replica: str,
        reloader: PolicyReloader,
        running: Callable[[], str],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._engine = engine
        self._replica = replica
        self._reloader = reloader
        self._running = running
        self._clock = clock
        self._started = False
        self._attempt: tuple[str, float] | None = None  # (shared revision, when) of the last follow attempt
        self.shared: str | None = None
        self.problem: str | None = None
        reloader.subscribe(self._published)

    def _published(self, outcome: ReloadOutcome) -> None:
        """A reload someone asked for on this replica: its revision is now the fleet's."""
        self._publish(outcome.revision, "reload")

    def _publish(self, revision: str, source: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(_PUBLISH, {"revision": revision, "replica": self._replica, "source": source})
        self.shared = revision

    def sync(self) -> None:
        running = self._running()
        with self._engine.begin() as connection:
            connection.execute(_HEARTBEAT, {"replica": self._replica, "revision": running})
            shared = connection.scalar(_SHARED)
            served = 0
            if not self._started and shared is not None and shared != running:
                served = connection.scalar(
                    _SERVED_ELSEWHERE, {"revision": shared, "replica": self._replica, "live_s": LIVE_S}
                )
        if not self._started:
            if shared is None or (shared != running and not served):
                self._publish(running, "startup")
                shared = running
            self._started = True
        self.shared = shared
        if shared == running:
            self.problem = None
            return
        now = self._clock()
        if self._attempt is not None and self._attempt[0] == shared and now - self._attempt[1] < RETRY_S:
            return
        self._attempt = (shared, now)
        outcome = self._reloader.reload(expect=shared)
        if outcome.revision == shared or self._read_shared() == outcome.revision:
            # Followed; or a reload asked for here installed and published a
            # newer revision while this pass read the older one.
            self.problem = None
            return
        why = "; ".join(outcome.errors + [f"test failed: {name}" for name in outcome.tests_failed])
        self.problem = (
            f"the replicas serve policy {shared}; this one serves {outcome.revision} "
            f"and could not load the shared revision from its policy directory ({why})"
        )

    def _read_shared(self) -> str | None:
        with self._engine.connect() as connection:
            self.shared = connection.scalar(_SHARED)
        return self.shared

    def leave(self) -> None:
        with self._engine.begin() as connection:
            connection.execute(_LEAVE, {"replica": self._replica})
