"""The FastAPI application: built by ``create_app`` from settings and the
collaborators it needs, nothing at import time."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from policy import PolicyEngine, load_engine
from policy.reload import PolicyReloader, PolicyWatcher
from services.audit.chain_endpoints import router as audit_chain_router
from services.audit.endpoints import router as audit_router
from services.audit.report_endpoints import router as audit_report_router
from services.audit.writer import AuditWriter
from services.console.app import create_console
from services.db import make_engine, make_sessionmaker
from services.gateway import health
from services.gateway.body_limit import BodyLimitMiddleware
from services.gateway.errors import install_error_handlers
from services.gateway.fleet import build_fleet
from services.gateway.metrics import Metrics
from services.gateway.metrics import router as metrics_router
from services.gateway.runtime import Runtime
from services.gateway.security import install_security
from services.gateway.strict import strict_request
from services.keys.cache import KeyCache
from services.pii import Detector, build_detector
from services.providers.client import upstream_lifespan
from services.providers.endpoints import router as providers_router
from services.providers.health import EndpointHealth
from services.policy.endpoints import router as policy_router
from services.routing.candidates import build_candidates
from services.routing.complexity import ComplexityClassifier
from services.routing.catalog import load_catalog
from services.routing.endpoints import router as routing_router
from services.routing.schemas import UsageEstimate
from services.settings import Settings

log = logging.getLogger("douane.gateway")

DESCRIPTION = """\
douane decides, for every LLM request, where its data may go: it detects
personal data, asks the DPO's Rego policy which endpoints are eligible, routes
to the cheapest of them and records every decision in an append-only audit log.

Authenticate with `Authorization: Bearer <key>` (keys come from
`douane keys create`). Every error has one shape:
`{"error": {"type": "…", "message": "…", "details": …}}`.
"""


def build_runtime(
    settings: Settings, *, detector: Detector | None = None, policy: PolicyEngine | None = None
) -> Runtime:
    """Load everything a request needs. Any failure here stops start-up:
    a gateway that cannot detect, decide or record must not serve."""
    catalog = load_catalog(settings.endpoints_file)
    policy = policy or load_engine(settings.policy_engine, settings.policy_dir, settings.opa_url)
    detector = detector or build_detector()
    db_engine = make_engine(settings.database_url)
    # The audit writer and the replica sync get connections of their own: when
    # every request thread holds or waits for one of db_engine's, the decision
    # rows those requests wait for must still be committed (it used to wedge
    # the gateway under load until the pool timeout).
    background_engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
    runtime = Runtime(
        settings=settings,
        catalog=catalog,
        detector=detector,
        policy=policy,
        db_engine=db_engine,
        sessions=make_sessionmaker(db_engine),
        endpoint_health=EndpointHealth(),
        metrics=Metrics(),
        background_engine=background_engine,
        audit_writer=AuditWriter(background_engine),
    )
    runtime.key_cache = KeyCache(settings.key_cache_ttl_s)
    runtime.complexity = ComplexityClassifier.load(settings.complexity_file)
    runtime.metrics.watch(runtime)
    runtime.policy_reloader = PolicyReloader(
        policy_dir=settings.policy_dir,
        build=lambda directory: load_engine(settings.policy_engine, directory, settings.opa_url),
        current=lambda: runtime.policy,
        install=runtime.install_policy,
        # Offline candidates (catalog priors, all healthy) for the reload's fixture check.
        fixture_candidates=build_candidates(catalog, UsageEstimate(input_tokens=500, output_tokens=300), EndpointHealth()),
    )
    # Rate limits, live policy revision and breakers shared with other replicas (started by the lifespan).
    runtime.fleet = build_fleet(runtime)
    return runtime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The upstream client for the app's lifetime, and the policy file watch
    when DOUANE_POLICY_WATCH is on."""
    runtime: Runtime = app.state.runtime
    watcher = None
    if runtime.settings.policy_watch and runtime.policy_reloader is not None:
        watcher = PolicyWatcher(runtime.settings.policy_dir, runtime.policy_reloader)
        watcher.start()
    if runtime.fleet is not None:
        runtime.fleet.start()
    # Everything built so far (spaCy models, name lists, the compiled policy,
    # the catalog) lives as long as the process: moved out of the collector's
    # reach, a full collection no longer walks it. Measured on the console's
    # pages: full collections went from ~155 ms to ~6 ms, and with them the
    # p95 tail of every route. Once per process: frozen objects are never
    # collected, so a process that builds several apps (the tests) must not
    # freeze the ones it has dropped.
    if gc.get_freeze_count() == 0:
        gc.freeze()
    try:
        async with upstream_lifespan(app):
            yield
    finally:
        if runtime.fleet is not None:
            runtime.fleet.stop()
        if watcher is not None:
            watcher.stop()
        if runtime.audit_writer is not None:
            runtime.audit_writer.close()


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="douane",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(strict_request)],
    )
    app.state.runtime = runtime
    install_error_handlers(app)

    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_body_bytes)
    install_security(app, runtime.settings)  # last: outermost, so 413s and preflights get the headers
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(routing_router)
    app.include_router(audit_router)
    app.include_router(audit_report_router)
    app.include_router(audit_chain_router)
    app.include_router(providers_router)
    app.include_router(policy_router)
    # The console: HTML pages for auditors and DPOs, behind the same keys (services/console).
    app.mount("/console", create_console(runtime))
    return app
