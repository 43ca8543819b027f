"""``create_app``: the Litestar application. Domain errors become HTTP here, and only here."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from qpi import __version__
from qpi.errors import APIError, StoreError, UnavailableError
from qpi.server.api import (
    auth,
    bookings,
    connect,
    drivers,
    events,
    health,
    jobs,
    metrics,
    notifications,
    qpus,
    time_requests,
    tokens,
    users,
)
from qpi.server.api.guards import SubmitGuard
from qpi.server.api.middleware import QpiMiddleware, request_id_for
from qpi.server.context import ServerContext

__all__ = ["ROUTE_MODULES", "create_app"]

logger = logging.getLogger(__name__)

ROUTE_MODULES = (
    health,
    metrics,
    auth,
    users,
    tokens,
    qpus,
    drivers,
    connect,
    jobs,
    events,
    bookings,
    time_requests,
    notifications,
)

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_FIELD_IN_MESSAGE = re.compile(r"at `\$\.?([^`]*)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def _request_id(request: Request[Any, Any, State]) -> str:
    """Set by QpiMiddleware; requests that match no route never reach it (404/405), so derive it here."""
    state = request.scope.setdefault("state", {})
    if not state.get("request_id"):
        state["request_id"] = request_id_for(request.headers.get("x-request-id", ""))
    return str(state["request_id"])


def _schema_not_found(response: Response[Any]) -> Response[Any]:
    """The /schema router answers unknown pages with an HTML 404; use the one error shape."""
    if response.status_code != 404:
        return response
    error = APIError("no such page under /schema; the document is /schema/openapi.json", code="not_found", status=404)
    return Response(error.body(), status_code=404, media_type="application/json")


def _respond(request: Request[Any, Any, State], error: APIError) -> Response[Any]:
    headers = {"X-Request-ID": _request_id(request), **error.headers}
    return Response(error.body(), status_code=error.status_code, headers=headers, media_type="application/json")


def _api_error(request: Request[Any, Any, State], exc: APIError) -> Response[Any]:
    return _respond(request, exc)


def _validation_error(request: Request[Any, Any, State], exc: ValidationException) -> Response[Any]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    first = problems[0] if problems else {}
    message = str(first.get("message", exc.detail)) if isinstance(first, dict) else str(exc.detail)
    key = str(first.get("key", "")) if isinstance(first, dict) else ""
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        field = unknown.group(1) if key in ("", "data") else f"{key}.{unknown.group(1)}"
        return _respond(
            request, APIError(f"unknown field {field!r} in the request body", code="unknown_field", field=field)
        )
    in_message = _FIELD_IN_MESSAGE.search(message)
    field = in_message.group(1) if in_message else (key if key not in ("", "data") else None)
    missing = _MISSING_FIELD.search(message)
    if missing:
        field = f"{field}.{missing.group(1)}" if field else missing.group(1)
    clean = _FIELD_IN_MESSAGE.sub("", message).rstrip(" -")
    detail = f"{field}: {clean}" if field else clean or "the request is invalid"
    return _respond(request, APIError(detail, code="invalid_request", field=field or None))


def _http_error(request: Request[Any, Any, State], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 404:
        error = APIError(f"no route {request.method} {request.url.path}", code="not_found", status=404)
    elif status == 405:
        error = APIError(
            f"{request.method} is not allowed on {request.url.path}", code="method_not_allowed", status=405
        )
    elif status == 413:
        limit = request.app.state["ctx"].config.max_body_size
        error = APIError(
            f"the request body is larger than the limit of {limit} bytes", code="payload_too_large", status=413
        )
    elif status == 400:
        error = APIError(f"the request body is not valid JSON: {exc.detail}", code="invalid_request")
    elif status == 415:
        error = APIError(str(exc.detail), code="unsupported_media_type", status=415)
    elif status >= 500:
        return _internal(request, exc)
    else:
        error = APIError(str(exc.detail), code="invalid_request", status=status)
    return _respond(request, error)


def _store_error(request: Request[Any, Any, State], exc: StoreError) -> Response[Any]:
    logger.error("request_id=%s database error: %s", _request_id(request), exc)
    return _respond(request, UnavailableError("the database is unavailable; retry shortly", retry_after=2))


def _internal(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    request_id = _request_id(request)
    logger.error("request_id=%s unhandled error on %s %s", request_id, request.method, request.url.path, exc_info=exc)
    return _respond(request, APIError(f"internal error; request id {request_id}", code="internal_error", status=500))


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="QPI — Quantum Processing Interface",
        version=__version__,
        openapi_router=Router(
            path="/schema", route_handlers=[], after_request=_schema_not_found, include_in_schema=False
        ),
        render_plugins=[ScalarRenderPlugin()],
        components=Components(
            security_schemes={
                "apiToken": SecurityScheme(
                    type="apiKey",
                    name="X-API-Token",
                    security_scheme_in="header",
                    description="An API token: qpi_ followed by 64 hex characters",
                ),
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="An API token (qpi_…) or a session token (qps_…)"
                ),
            }
        ),
        security=[{"apiToken": []}, {"bearer": []}],
    )


def create_app(
    ctx: ServerContext,
    *,
    lifespan: Sequence[Callable[[Litestar], Any]] = (),
    extra_routes: Sequence[Any] = (),
) -> Litestar:
    """The application over ``ctx``. ``lifespan`` context managers start and stop background tasks,
    so the Litestar test client runs the same supervised loops as ``qpi serve``."""
    handlers: list[Any] = [h for m in ROUTE_MODULES for h in m.ROUTES]
    handlers.extend(extra_routes)
    cors = (
        CORSConfig(
            allow_origins=list(ctx.config.cors_origins),
            allow_credentials=True,
            allow_headers=[
                "Content-Type",
                "X-API-Token",
                "Authorization",
                "X-CSRF-Token",
                "Idempotency-Key",
                "X-Request-ID",
                "Last-Event-ID",
            ],
            expose_headers=[
                "X-Total-Count",
                "X-Page",
                "X-Per-Page",
                "X-Total-Pages",
                "Link",
                "X-Request-ID",
                "Retry-After",
                "Idempotent-Replayed",
                "Location",
            ],
        )
        if ctx.config.cors_origins
        else None
    )

    @asynccontextmanager
    async def context_state(app: Litestar) -> AsyncIterator[None]:
        app.state["ctx"] = ctx
        yield

    return Litestar(
        route_handlers=handlers,
        state=State({"ctx": ctx}),
        lifespan=[context_state, *lifespan],
        middleware=[
            DefineMiddleware(QpiMiddleware, ctx=ctx),
            DefineMiddleware(SubmitGuard, ctx=ctx),
        ],
        exception_handlers={
            APIError: _api_error,
            ValidationException: _validation_error,
            HTTPException: _http_error,
            StoreError: _store_error,
            Exception: _internal,
        },
        openapi_config=_openapi(),
        cors_config=cors,
        request_max_body_size=ctx.config.max_body_size,
        debug=False,
        logging_config=None,
    )
