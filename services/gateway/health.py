"""Liveness and readiness, for load balancers and orchestrators (no key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.gateway.deps import RuntimeDep
from services.gateway.errors import responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
    policy_revision: str | None


# responses(): a 422 for a query parameter the route does not take (services.gateway.strict).
@router.get("/healthz", response_model=Health, summary="The process is alive", responses=responses())
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready to decide: database reachable, policy and detector loaded",
    responses={**responses(), 503: {"model": Readiness, "description": "a dependency is not ready"}},
)
def readyz(runtime: RuntimeDep):
    checks = {"policy": "ok", "detector": "ok", "catalog": "ok"}
    try:
        with runtime.db_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except DBAPIError as exc:
        checks["database"] = f"unavailable: {type(exc.orig or exc).__name__}"
    if runtime.fleet is not None:
        checks.update(runtime.fleet.readiness())  # the policy revision the other replicas serve
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks, policy_revision=runtime.policy.revision)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
