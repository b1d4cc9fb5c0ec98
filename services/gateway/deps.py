"""Request dependencies. The aliases say who may call a route: a route that
takes ``AuditorKey`` can only be reached with an auditor, platform auditor
(or admin) key; ``AuditScope`` also says which tenants' rows it may read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden
from services.gateway.runtime import Runtime
from services.keys.models import Role
from services.keys.service import TENANT_PATTERN, Principal, authenticate


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One session per request. Routes that write commit explicitly at the
    point the design demands (the decision row before anything is forwarded);
    whatever was not committed is rolled back here."""
    session = runtime.sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="an API key from `douane keys create`")


def bearer_principal(
    runtime: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The key in ``Authorization: Bearer`` checked (the key cache, the
    revocation check, the constant-time compare): who is calling. The
    console overrides this one dependency to read its cookie instead."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequired("send an API key as 'Authorization: Bearer <key>'")
    # A session of its own, closed before the route runs: the request's
    # session would keep its connection until the response is sent, and a
    # route that waits on the audit writer must hold none (a cached key
    # needs no connection at all).
    with runtime.sessions() as session:
        if runtime.key_cache is not None:
            principal = runtime.key_cache.authenticate(session, credentials.credentials)
        else:
            principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise AuthenticationRequired("the API key is not valid", details={"reason": "invalid_api_key"})
    return principal


def require(*roles: Role):
    allowed = set(roles) | {Role.admin}

    def dependency(principal: Annotated[Principal, Depends(bearer_principal)], runtime: RuntimeDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"this route needs a key with role {names}; this key has role {principal.role.value}")
        _rate_limit(runtime, principal)
        return principal

    return dependency


def _rate_limit(runtime: Runtime, principal: Principal) -> None:
    """Every keyed route counts against the key's limit (its own, else the
    default); a refused role does not, so a wrong key cannot spend a budget."""
    if runtime.fleet is None:
        return
    limit = principal.rate_limit_per_minute
    if limit is None:
        limit = runtime.settings.rate_limit_per_minute
    runtime.fleet.rate_limiter.admit(principal.key_id, limit)


AppKey = Annotated[Principal, Depends(require(Role.app))]
AuditorKey = Annotated[Principal, Depends(require(Role.auditor, Role.platform_auditor))]
DpoKey = Annotated[Principal, Depends(require(Role.dpo))]


@dataclass(frozen=True)
class Scope:
    """Whose audit rows a request reads: one tenant, or every tenant (``None``)."""

    principal: Principal
    tenant: str | None


def audit_scope(
    principal: AuditorKey,
    tenant: Annotated[
        str | None,
        Query(description="platform auditors only: read this tenant's rows (default: every tenant)"),
    ] = None,
) -> Scope:
    """A platform auditor reads every tenant, or the one it names; any other
    auditor (and an admin) reads its own tenant only, and naming another is
    refused rather than silently ignored."""
    if tenant is not None and not TENANT_PATTERN.match(tenant):
        raise BadRequest("'tenant' is not a tenant name", details={"parameter": "tenant"})
    if principal.role == Role.platform_auditor:
        return Scope(principal=principal, tenant=tenant)
    if tenant is not None and tenant != principal.tenant:
        raise Forbidden(
            "only a platform auditor may read another tenant's log", details={"parameter": "tenant"}
        )
    return Scope(principal=principal, tenant=principal.tenant)


AuditScope = Annotated[Scope, Depends(audit_scope)]
