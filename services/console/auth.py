"""Who is using the console: the API key in a cookie, checked exactly as the
API checks a bearer key.

The console is a FastAPI app of its own (services.console.app) whose one
dependency override swaps where the key comes from: ``deps.bearer_principal``
reads ``Authorization: Bearer``; here it reads the cookie and hands it to that
same function (the key cache, the revocation check, the constant-time compare).
Everything downstream is the API's own: ``require`` checks the role and the
rate limit, ``audit_scope`` the tenant. The API never reads the cookie, so a
page on another site cannot spend it against /v1 (and SameSite=Strict keeps it
off cross-site requests to /console).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from services.gateway import deps
from services.gateway.deps import RuntimeDep
from services.gateway.errors import AuthenticationRequired, Forbidden
from services.keys.models import Role
from services.keys.service import Principal

COOKIE = "douane_console_key"
PATH = "/console"

AUDITOR_ROLES = frozenset({Role.auditor, Role.platform_auditor, Role.admin})
DPO_ROLES = frozenset({Role.dpo, Role.admin})


class LoginRequired(AuthenticationRequired):
    """No console cookie: the browser is sent to the login page."""


def authenticate(runtime, key: str) -> Principal:
    """The API's own check of a key (raises AuthenticationRequired)."""
    return deps.bearer_principal(runtime, HTTPAuthorizationCredentials(scheme="Bearer", credentials=key))


def cookie_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Overrides ``deps.bearer_principal`` in the console app."""
    key = request.cookies.get(COOKIE)
    if not key:
        raise LoginRequired("log in with an API key")
    return authenticate(runtime, key)


ConsoleUser = Annotated[Principal, Depends(cookie_principal)]
DpoUser = deps.DpoKey  # require(Role.dpo): the role check and rate limit of /v1/policy


def set_login_cookie(response: Response, request: Request, key: str) -> None:
    response.set_cookie(
        COOKIE, key, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def clear_login_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https")


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def same_origin(request: Request) -> None:
    """A POST must come from a console page (CSRF): its Origin, or failing
    that its Referer, is the console's own origin. Neither sent: refused."""
    expected = own_origin(request)
    origin = request.headers.get("origin")
    if origin is not None:
        if origin != expected:
            raise Forbidden("this form was not sent from the console's own pages", details={"origin": origin[:200]})
        return
    referer = request.headers.get("referer")
    if referer is not None:
        parts = urlsplit(referer)
        if f"{parts.scheme}://{parts.netloc}" == expected:
            return
    raise Forbidden("this form was not sent from the console's own pages (no Origin or Referer)")


SameOrigin = Depends(same_origin)


def landing(principal: Principal) -> str:
    """The first page a role has."""
    if principal.role in AUDITOR_ROLES:
        return f"{PATH}/decisions"
    if principal.role in DPO_ROLES:
        return f"{PATH}/policy"
    raise Forbidden(f"a key with role {principal.role.value} has no console pages; auditors and DPOs do")


def safe_next(value: str | None) -> str | None:
    """Where to go after login: a console path only (no open redirect)."""
    if not value or not value.startswith(PATH + "/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
