"""Response hygiene for every answer the gateway gives: security headers,
CORS only when configured, and a last-resort 500 that says where, not what.

Pure ASGI (not ``BaseHTTPMiddleware``): it only edits the ``http.response.start``
message, so streamed answers (chat streams, exports) keep streaming.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.errors import unexpected_error_body
from services.providers.exchange import DECISION_HEADER, ENDPOINT_HEADER
from services.settings import Settings

log = logging.getLogger("douane.gateway")

# A JSON API renders nothing, frames nothing and loads nothing; auditor data
# (decisions, exports, reports) must not sit in a browser's or a proxy's cache.
API_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
)
# Swagger UI and ReDoc are HTML pages that the *browser* loads scripts and
# styles for from a CDN (the server downloads nothing). A resource CSP would
# break them, so they only keep the framing ban.
DOCS_CSP = b"frame-ancestors 'none'"
# The console (services/console) is HTML: its own scripts (htmx, vendored) and
# styles only, nothing inline, nothing from elsewhere. Its forms check that a
# POST comes from the console's own origin, and browsers send that Origin only
# if the referrer policy allows it ("no-referrer" makes a form POST's Origin "null").
CONSOLE_PREFIX = "/console"
CONSOLE_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
CONSOLE_REFERRER_POLICY = b"same-origin"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset()):
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        docs = path in self.docs_paths
        console = path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = with_security_headers(message.get("headers") or [], docs=docs, console=console)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - the last line: answer 500, log where, never the message
            # Caught here rather than left to Starlette's ServerErrorMiddleware,
            # which re-raises so that uvicorn logs the traceback with the
            # exception's message, and that message may quote a prompt.
            body, where = unexpected_error_body(exc)
            log.error("unhandled error %s at %s", type(exc).__name__, where)
            if started:
                return  # the answer is half sent; the server closes the connection
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": body})


def with_security_headers(headers, *, docs: bool = False, console: bool = False) -> list[tuple[bytes, bytes]]:
    """``headers`` with ours set (replacing any a route set for the same names)."""
    ours = list(API_HEADERS)
    if docs:
        ours = [(name, DOCS_CSP if name == b"content-security-policy" else value) for name, value in ours]
    if console:
        replaced = {b"content-security-policy": CONSOLE_CSP, b"referrer-policy": CONSOLE_REFERRER_POLICY}
        ours = [(name, replaced.get(name, value)) for name, value in ours]
    names = {name for name, _ in ours}
    return [(name, value) for name, value in headers if name.lower() not in names] + ours


def install_security(app: FastAPI, settings: Settings) -> None:
    """Security headers on every answer; CORS only for the configured
    origins. Call after the other middleware: the last added is the outermost,
    so 413s and CORS preflights get the headers too."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            expose_headers=[DECISION_HEADER, ENDPOINT_HEADER],
        )
    docs_paths = frozenset(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs_paths)
