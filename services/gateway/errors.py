"""Domain errors carry their HTTP status; one set of handlers renders every
error in one shape: ``{"error": {"type", "message", "details"}}``."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("douane.gateway")


class ErrorBody(BaseModel):
    type: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class DouaneError(Exception):
    status_code = 500
    type = "internal_error"

    def __init__(self, message: str, details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(DouaneError):
    status_code = 400
    type = "invalid_request"


class AuthenticationRequired(DouaneError):
    status_code = 401
    type = "authentication_required"


class Forbidden(DouaneError):
    status_code = 403
    type = "forbidden"


class NotFound(DouaneError):
    status_code = 404
    type = "not_found"


class PayloadTooLarge(DouaneError):
    status_code = 413
    type = "payload_too_large"


class RateLimited(DouaneError):
    """The key's requests per minute are spent; Retry-After says when to retry."""

    status_code = 429
    type = "rate_limited"


class ServiceUnavailable(DouaneError):
    status_code = 503
    type = "service_unavailable"


def responses(*errors: type[DouaneError]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route, so the OpenAPI document lists its errors."""
    out: dict[int | str, dict[str, Any]] = {
        422: {"model": ErrorResponse, "description": "the body or a parameter is not valid"}
    }
    if AuthenticationRequired in errors:
        # Every route that takes a key passes its rate limit (services.gateway.deps).
        errors = (*errors, RateLimited)
    for error in errors:
        out[error.status_code] = {"model": ErrorResponse, "description": error.__doc__ or error.type}
        if error is RateLimited:
            out[error.status_code]["headers"] = {
                "Retry-After": {"description": "seconds until the key's window restarts", "schema": {"type": "integer"}}
            }
    return out


# What FastAPI says (as a 400 HTTPException) when reading the body raised
# anything but a JSON syntax error.
FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"


def error_payload(type_: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "details": details}}


def _validation_details(errors: list[dict]) -> list[dict]:
    # The input value is left out on purpose: it may be a prompt full of personal data.
    return [
        {"loc": [_text(part) for part in err.get("loc", ())], "msg": _text(err.get("msg", "")), "type": err.get("type", "")}
        for err in errors
    ]


def _text(part: Any) -> Any:
    # A loc may name a key of the body, and a key may hold a lone surrogate,
    # which cannot be encoded into the response: replaced, not a 500.
    if isinstance(part, str):
        return part.encode("utf-8", "replace").decode("utf-8")
    return part


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DouaneError)
    async def _douane_error(_request: Request, exc: DouaneError) -> JSONResponse:
        return JSONResponse(
            error_payload(exc.type, exc.message, exc.details), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(err.get("type") == "json_invalid" for err in errors):
            return JSONResponse(
                error_payload("invalid_json", "the request body is not valid JSON", _validation_details(errors)),
                status_code=400,
            )
        return JSONResponse(
            error_payload("validation_error", "the request does not match the schema", _validation_details(errors)),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_PARSE_ERROR:
            # The parser failed on something else than syntax: bytes that are not
            # UTF-8, or nesting deeper than it recurses.
            message = "the request body could not be read as JSON (it must be UTF-8, and not nested too deeply)"
            return JSONResponse(error_payload("invalid_json", message), status_code=400)
        kinds = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            error_payload(kinds.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return JSONResponse(
            error_payload("database_unavailable", "the audit database is unavailable; nothing was forwarded"),
            status_code=503,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Reached only by errors outside services.gateway.security's middleware,
        # which answers (and logs) every other one the same way.
        body, where = unexpected_error_body(exc)
        log.error("unhandled error %s at %s", type(exc).__name__, where)
        return JSONResponse(json.loads(body), status_code=500)


def unexpected_error_body(exc: BaseException) -> tuple[bytes, str]:
    """The 500 body, and where the error was raised. Where, not what: an
    exception's message may quote the request body."""
    where = " <- ".join(f"{f.name}:{f.lineno}" for f in reversed(traceback.extract_tb(exc.__traceback__)[-5:]))
    body = json.dumps(error_payload("internal_error", "internal error; nothing was forwarded")).encode()
    return body, where
