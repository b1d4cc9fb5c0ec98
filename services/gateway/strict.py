"""What every route refuses before its own dependencies run: a query
parameter it does not declare (a mistyped filter must not widen an auditor's
answer to every row), and a body that is not declared JSON."""

from __future__ import annotations

import email.message

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.gateway.errors import DouaneError


class UnsupportedMediaType(DouaneError):
    """The body is not sent as JSON (Content-Type: application/json)."""

    status_code = 415
    type = "unsupported_media_type"


def _declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters of the route and of every dependency it takes
    (a handful of dependants: cheaper to walk than to cache; routes are not hashable)."""
    names: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        names.update(param.alias for param in dependant.query_params)
        stack.extend(dependant.dependencies)
    return frozenset(names)


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def strict_request(request: Request) -> None:
    """App-wide dependency (``FastAPI(dependencies=...)``)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared_query(route))
    if unknown:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name[:100]), "msg": "this route has no such query parameter"}
                for name in unknown
            ]
        )
    if route.body_field is not None and not _is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType(
            "send the body as JSON with 'Content-Type: application/json'",
            details={"content_type": (request.headers.get("content-type") or "")[:100] or None},
        )
