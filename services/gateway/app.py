"""The FastAPI application: built by ``create_app`` from settings and the
collaborators it needs, nothing at import time."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from policy import PolicyEngine, load_engine
from services.audit.endpoints import router as audit_router
from services.db import make_engine, make_sessionmaker
from services.gateway import health
from services.gateway.body_limit import BodyLimitMiddleware
from services.gateway.errors import install_error_handlers
from services.gateway.runtime import Runtime
from services.pii import Detector, build_detector
from services.routing.catalog import load_catalog
from services.routing.endpoints import router as routing_router
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
    return Runtime(
        settings=settings,
        catalog=catalog,
        detector=detector,
        policy=policy,
        db_engine=db_engine,
        sessions=make_sessionmaker(db_engine),
    )


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="douane", version="0.1.0", description=DESCRIPTION)
    app.state.runtime = runtime
    install_error_handlers(app)

    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(routing_router)
    app.include_router(audit_router)
    return app
