"""What the gateway holds for its lifetime: built once at start-up, handed to
routes through dependencies, never a module-level global."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from policy import PolicyEngine
from policy.reload import PolicyReloader
from services.pii import Detector
from services.providers.health import EndpointHealth
from services.routing.catalog import Catalog
from services.routing.complexity import ComplexityClassifier
from services.settings import Settings

if TYPE_CHECKING:  # gateway.metrics serves /metrics through deps, which import this module
    from services.audit.writer import AuditWriter
    from services.gateway.fleet import Fleet
    from services.keys.cache import KeyCache
    from services.gateway.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    detector: Detector
    policy: PolicyEngine
    db_engine: Engine
    sessions: sessionmaker
    endpoint_health: EndpointHealth
    metrics: Metrics
    # The pooled HTTP client for upstream calls, open for the app's lifetime
    # (set by the lifespan in services.providers.client; None when not serving).
    upstream: httpx.AsyncClient | None = None
    # Live policy (set by build_runtime): reloads swap `policy` through
    # install_policy, one assignment, so a request sees the old or the new.
    policy_reloader: PolicyReloader | None = None
    policy_loaded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # Connections for the threads requests wait on (the audit writer, the
    # replica sync), apart from db_engine's request pool; None: db_engine.
    background_engine: Engine | None = None
    # Every audit row (decision, outcome) is committed through this one group-commit writer.
    audit_writer: AuditWriter | None = None
    # Recently verified keys (services.keys.cache), set by build_runtime.
    key_cache: KeyCache | None = None
    # The per-key rate limiter and what this replica shares with the others
    # on the same database (services.gateway.fleet; None: no limits, nothing shared).
    fleet: Fleet | None = None
    # The complexity estimate of a request (services.routing.complexity), set by build_runtime.
    complexity: ComplexityClassifier | None = None

    def install_policy(self, engine: PolicyEngine) -> None:
        self.policy_loaded_at = datetime.now(timezone.utc)
        self.policy = engine
