"""The console: a FastAPI app of its own, mounted at /console by the gateway.

Of its own so that it can (1) take the key from a cookie instead of the
Authorization header (one dependency override, see services.console.auth),
(2) answer errors as HTML pages instead of the API's JSON, and (3) read what a
plain HTML form sends: empty fields and ``datetime-local`` times.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.audit.cost import usd
from services.console.auth import LoginRequired, clear_login_cookie, cookie_principal
from services.console.endpoints import form_time, htmx, render, router
from services.console.service import PolicyTestResults
from services.gateway import deps
from services.gateway.errors import AuthenticationRequired, DouaneError, unexpected_error_body
from services.gateway.runtime import Runtime
from services.gateway.strict import strict_request

log = logging.getLogger("douane.console")

HERE = Path(__file__).resolve().parent
TIME_FIELDS = frozenset({"since", "until"})


class FormQuery:
    """A GET form sends every field, the empty ones too: an empty field is no
    filter (the API would refuse ``endpoint=`` as not an endpoint id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(k, form_time(v) if k in TIME_FIELDS else v) for k, v in pairs if v.strip() != ""]
            scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        await self.app(scope, receive, send)


def create_console(runtime: Runtime) -> FastAPI:
    console = FastAPI(
        title="douane console",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(strict_request)],
    )
    console.state.runtime = runtime
    console.state.templates = Jinja2Templates(directory=HERE / "templates")
    console.state.templates.env.filters["usd"] = usd  # money as `douane report cost` prints it
    console.state.policy_tests = PolicyTestResults()
    # The one difference from the API: where the key comes from.
    console.dependency_overrides[deps.bearer_principal] = cookie_principal
    _install_error_pages(console)
    console.add_middleware(FormQuery)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    console.include_router(router)
    return console


def _install_error_pages(console: FastAPI) -> None:
    @console.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return _to_login(request)

    @console.exception_handler(AuthenticationRequired)
    async def _bad_key(request: Request, exc: AuthenticationRequired) -> Response:
        # The cookie's key is no longer valid (revoked, say): forget it.
        response = _to_login(request)
        clear_login_cookie(response, request)
        return response

    @console.exception_handler(DouaneError)
    async def _douane_error(request: Request, exc: DouaneError) -> Response:
        return error_page(request, exc.status_code, exc.message, exc.details, exc.headers)

    @console.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p not in ('query', 'path'))}: {err.get('msg', '')}"
            for err in exc.errors()
        ]
        return error_page(request, 400, "the page was asked for with values it does not take", problems)

    @console.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "there is no such console page", 405: "this page does not take that method"}
        return error_page(request, exc.status_code, message.get(exc.status_code, str(exc.detail)), None, exc.headers)

    @console.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        log.error("database error: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return error_page(request, 503, "the audit database is unavailable")

    @console.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        _body, where = unexpected_error_body(exc)
        log.error("unhandled console error %s at %s", type(exc).__name__, where)
        return error_page(request, 500, "internal error")


def _to_login(request: Request) -> Response:
    base = request.scope.get("root_path", "")
    target = f"{base}/login"
    if request.method == "GET":
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?" + urlencode({"next": path})
    if request.headers.get("hx-request") == "true":
        # htmx follows a redirect inside the fetch and would swap the login
        # page into a fragment: it is told to load the page instead.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(
    request: Request, status: int, message: str, details=None, headers: dict[str, str] | None = None
) -> HTMLResponse:
    if htmx(request):
        # htmx swaps error answers too: inside the target, which must stay for the next try.
        return render(
            request, "_error.html", {"status": status, "message": message, "details": details},
            status_code=status, headers={**(headers or {}), "HX-Reswap": "innerHTML"}, principal=None,
        )
    return render(
        request, "error.html", {"status": status, "message": message, "details": details},
        status_code=status, headers=headers, principal=None,
    )
