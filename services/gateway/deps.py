"""Request dependencies. The aliases say who may call a route: a route that
takes ``AuditorKey`` can only be reached with an auditor (or admin) key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from services.gateway.errors import AuthenticationRequired, Forbidden
from services.gateway.runtime import Runtime
from services.keys.models import Role
from services.keys.service import Principal, authenticate


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


def _principal(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequired("send an API key as 'Authorization: Bearer <key>'")
    principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise AuthenticationRequired("the API key is not valid", details={"reason": "invalid_api_key"})
    return principal


def require(*roles: Role):
    allowed = set(roles) | {Role.admin}

    def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"this route needs a key with role {names}; this key has role {principal.role.value}")
        return principal

    return dependency


AppKey = Annotated[Principal, Depends(require(Role.app))]
AuditorKey = Annotated[Principal, Depends(require(Role.auditor))]
DpoKey = Annotated[Principal, Depends(require(Role.dpo))]
